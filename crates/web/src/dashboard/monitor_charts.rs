//! What a monitor's page draws, computed here and drawn by the template
//! as inline SVG (no chart script): the response time of its recent
//! checks per region, 90 days of uptime bars from the daily rollups, the
//! certificate chain its latest SSL check was served, and the DNS changes
//! its checks confirmed, before and after.

use std::collections::BTreeMap;

use certsentry_domain::check::CheckResult;
use certsentry_domain::stats::DailyStats;
use certsentry_domain::time::{Millis, format_ms};
use serde_json::Value;

use super::views::minute;

/// The chart's drawing area, in SVG units.
pub const CHART_WIDTH: u32 = 600;
pub const CHART_HEIGHT: u32 = 160;
/// One line colour per region, in the order regions first appear.
const COLOURS: [&str; 5] = ["#2f6fde", "#d9822b", "#1e9e6a", "#9b59b6", "#c0392b"];

/// One region's line: SVG `points` and its colour.
pub struct ChartLine {
    pub region: String,
    pub points: String,
    pub colour: &'static str,
}

pub struct Chart {
    pub lines: Vec<ChartLine>,
    /// The top of the scale, in milliseconds.
    pub max_ms: u32,
    pub from: String,
    pub to: String,
}

/// The response times of `results` (any order), one line per region, or
/// `None` without a timed result.
pub fn response_chart(results: &[CheckResult]) -> Option<Chart> {
    let timed: Vec<(&str, Millis, u32)> = results
        .iter()
        .filter_map(|r| {
            Some((
                r.region.as_deref().unwrap_or("local"),
                r.created_at,
                r.latency_ms?,
            ))
        })
        .collect();
    let first = timed.iter().map(|t| t.1).min()?;
    let last = timed.iter().map(|t| t.1).max()?;
    let max_ms = timed.iter().map(|t| t.2).max()?.max(1);
    let span = (last - first).max(1) as f64;
    let mut by_region: BTreeMap<&str, Vec<(Millis, u32)>> = BTreeMap::new();
    for (region, at, ms) in &timed {
        by_region.entry(region).or_default().push((*at, *ms));
    }
    let lines = by_region
        .into_iter()
        .enumerate()
        .map(|(i, (region, mut points))| {
            points.sort_unstable();
            let points = points
                .iter()
                .map(|(at, ms)| {
                    let x = (at - first) as f64 / span * f64::from(CHART_WIDTH);
                    let y = f64::from(CHART_HEIGHT)
                        - f64::from(*ms) / f64::from(max_ms) * f64::from(CHART_HEIGHT - 4);
                    format!("{x:.1},{y:.1}")
                })
                .collect::<Vec<_>>()
                .join(" ");
            ChartLine {
                region: region.to_string(),
                points,
                colour: COLOURS[i % COLOURS.len()],
            }
        })
        .collect();
    Some(Chart {
        lines,
        max_ms,
        from: minute(first),
        to: minute(last),
    })
}

/// One day's bar.
pub struct DayBar {
    pub x: u32,
    pub colour: &'static str,
    /// What hovering says: the day and its uptime.
    pub title: String,
}

/// The bars of `days` (`YYYY-MM-DD`, oldest first) from their rollups:
/// green at 99.9 % and up, amber from 99 %, red below, grey without checks.
pub fn uptime_bars(days: &[String], stats: &[DailyStats]) -> Vec<DayBar> {
    let by_day: BTreeMap<&str, &DailyStats> = stats.iter().map(|s| (s.day.as_str(), s)).collect();
    days.iter()
        .enumerate()
        .map(|(i, day)| {
            let (colour, text) = match by_day.get(day.as_str()).filter(|s| s.total_checks > 0) {
                None => ("#b8bec6", "no checks".to_string()),
                Some(s) => {
                    let up =
                        (s.total_checks - s.failed_checks) as f64 / s.total_checks as f64 * 100.0;
                    let colour = if up >= 99.9 {
                        "#1e9e6a"
                    } else if up >= 99.0 {
                        "#d9822b"
                    } else {
                        "#c0392b"
                    };
                    (colour, format!("{up:.2} % up, {} checks", s.total_checks))
                }
            };
            DayBar {
                x: i as u32 * 4,
                colour,
                title: format!("{day}: {text}"),
            }
        })
        .collect()
}

/// One certificate of a served chain.
pub struct ChainRow {
    pub subject: String,
    pub issuer: String,
    pub not_after: String,
}

/// The chain in an SSL result's details, leaf first.
pub fn chain_of(ssl: &CheckResult) -> Vec<ChainRow> {
    ssl.details["chain"]
        .as_array()
        .map(|chain| {
            chain
                .iter()
                .map(|cert| ChainRow {
                    subject: cert["subject"].as_str().unwrap_or("").to_string(),
                    issuer: cert["issuerDn"].as_str().unwrap_or("").to_string(),
                    not_after: cert["notAfter"]
                        .as_i64()
                        .map_or_else(String::new, |at| format_ms(at)[..10].to_string()),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A confirmed DNS change, as before and after.
pub struct DnsChange {
    pub at: String,
    pub before: String,
    pub after: String,
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// The changes confirmed by `dns` results (their `details.change`).
pub fn dns_changes(dns: &[CheckResult]) -> Vec<DnsChange> {
    dns.iter()
        .filter(|r| r.details["change"].is_object())
        .map(|r| DnsChange {
            at: minute(r.created_at),
            before: pretty(&r.details["change"]["before"]),
            after: pretty(&r.details["change"]["after"]),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use certsentry_domain::OrgId;
    use certsentry_domain::check::{CheckStatus, CheckType};
    use certsentry_domain::monitor::{Monitor, MonitorSpec};

    fn result(region: &str, at: Millis, ms: u32) -> CheckResult {
        let monitor = Monitor::new(
            OrgId::generate(),
            MonitorSpec::standard("m", "acme.example", vec![region.into()]),
        );
        CheckResult {
            status: CheckStatus::Ok,
            latency_ms: Some(ms),
            created_at: at,
            ..CheckResult::blank(&monitor, CheckType::Uptime, Some(region))
        }
    }

    #[test]
    fn a_line_per_region_scaled_to_the_slowest() {
        let chart = response_chart(&[
            result("dublin", 1_000, 50),
            result("virginia", 2_000, 100),
            result("dublin", 3_000, 100),
        ])
        .unwrap();
        assert_eq!(chart.max_ms, 100);
        assert_eq!(chart.lines.len(), 2);
        assert_eq!(chart.lines[0].region, "dublin");
        assert_eq!(chart.lines[0].points, "0.0,82.0 600.0,4.0");
        assert!(response_chart(&[]).is_none());
    }

    #[test]
    fn dns_changes_show_before_and_after() {
        let mut changed = result("virginia", 5_000, 3);
        changed.check_type = CheckType::Dns;
        changed.details = serde_json::json!({"change": {"before": {"A": ["192.0.2.1"]},
                                                       "after": {"A": ["192.0.2.9"]}}});
        let mut quiet = result("virginia", 6_000, 3);
        quiet.check_type = CheckType::Dns;
        let changes = dns_changes(&[changed, quiet]);
        assert_eq!(changes.len(), 1, "only confirmed changes");
        assert!(changes[0].before.contains("192.0.2.1") && changes[0].after.contains("192.0.2.9"));
    }

    #[test]
    fn bars_colour_by_uptime() {
        let day = |d: &str, total, failed| DailyStats {
            day: d.into(),
            total_checks: total,
            failed_checks: failed,
            degraded_checks: 0,
            latency_sum_ms: 0,
            latency_count: 0,
            max_latency_ms: 0,
            p50_latency_ms: None,
            p95_latency_ms: None,
            finalized: false,
        };
        let bars = uptime_bars(
            &[
                "2026-12-01".into(),
                "2026-12-02".into(),
                "2026-12-03".into(),
            ],
            &[day("2026-12-01", 1000, 0), day("2026-12-03", 100, 5)],
        );
        assert_eq!(bars[0].colour, "#1e9e6a");
        assert_eq!(bars[1].colour, "#b8bec6", "no checks");
        assert_eq!(bars[2].colour, "#c0392b");
        assert_eq!(bars[2].x, 8);
        assert!(bars[2].title.contains("95.00 %"));
    }
}
