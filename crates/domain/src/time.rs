//! Timestamps: stored as milliseconds since the Unix epoch (portable across
//! SQLite and Postgres), shown as `2026-05-02T11:08:41.310Z` like the API reference.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// A calendar day (UTC).
pub type Day = NaiveDate;

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

pub fn now_ms() -> Millis {
    Utc::now().timestamp_millis()
}

/// Formats as RFC 3339 with millisecond precision and a `Z` suffix.
pub fn format_ms(ms: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an ISO 8601 / RFC 3339 datetime, or a bare `YYYY-MM-DD` (midnight UTC).
pub fn parse_datetime(s: &str) -> Option<Millis> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_millis());
    }
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_millis_and_z() {
        let ms = parse_datetime("2026-05-02T11:08:41.310Z").unwrap();
        assert_eq!(format_ms(ms), "2026-05-02T11:08:41.310Z");
        assert_eq!(
            parse_datetime("2026-06-01T02:00:00+02:00"),
            parse_datetime("2026-06-01")
        );
        assert_eq!(parse_datetime("yesterday"), None);
    }
}

/// The UTC day (`YYYY-MM-DD`) a timestamp falls on.
pub fn day_of(ms: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

/// A span of days, for day arithmetic without naming chrono elsewhere.
pub type DayDelta = chrono::TimeDelta;

/// Parses a `YYYY-MM-DD` day.
pub fn parse_day(s: &str) -> Option<Day> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// `[start, end)` of a UTC day in milliseconds.
pub fn day_bounds(day: Day) -> (Millis, Millis) {
    let start = day
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp_millis();
    (start, start + 86_400_000)
}

#[cfg(test)]
mod day_tests {
    use super::*;

    #[test]
    fn days_and_bounds() {
        let ms = parse_datetime("2026-05-01T23:59:59.999Z").unwrap();
        assert_eq!(day_of(ms), "2026-05-01");
        assert_eq!(day_of(ms + 1), "2026-05-02");
        let (start, end) = day_bounds(parse_day("2026-05-01").unwrap());
        assert!(start <= ms && ms < end);
        assert_eq!(parse_day("2026-13-01"), None);
    }
}

/// The HTTP date form (RFC 9110's IMF-fixdate): `Sat, 05 Dec 2026 04:01:23 GMT`.
pub fn http_date(ms: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// The days `count` back to `today`, oldest first.
pub fn last_days(today: Day, count: i64) -> Vec<Day> {
    (0..count)
        .rev()
        .map(|back| today - DayDelta::days(back))
        .collect()
}
