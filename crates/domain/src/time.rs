//! Timestamps: stored as milliseconds since the Unix epoch (portable across
//! SQLite and Postgres), shown as `2026-05-02T11:08:41.310Z` like the seed.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

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
