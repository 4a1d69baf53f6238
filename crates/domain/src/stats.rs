//! Per-UTC-day uptime and latency rollups.

/// One monitor's day. Counters grow as checks land; percentiles are filled
/// once, when the day is finalized.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyStats {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub total_checks: u64,
    pub failed_checks: u64,
    pub degraded_checks: u64,
    pub latency_sum_ms: u64,
    /// Checks that reported a latency (the average's denominator).
    pub latency_count: u64,
    pub max_latency_ms: u32,
    pub p50_latency_ms: Option<u32>,
    pub p95_latency_ms: Option<u32>,
    pub finalized: bool,
}

impl DailyStats {
    pub fn avg_latency_ms(&self) -> Option<u32> {
        (self.latency_count > 0).then(|| (self.latency_sum_ms / self.latency_count) as u32)
    }

    /// Share of checks that passed, to two decimals.
    pub fn uptime_percent(&self) -> Option<f64> {
        (self.total_checks > 0).then(|| {
            let up =
                (self.total_checks - self.failed_checks) as f64 / self.total_checks as f64 * 100.0;
            (up * 100.0).round() / 100.0
        })
    }
}

/// Nearest-rank percentile of sorted values (`p` in 0..=100).
pub fn percentile(sorted: &[u32], p: u32) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p as f64 / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&values, 50), Some(50));
        assert_eq!(percentile(&values, 95), Some(95));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[10, 20, 30], 50), Some(20));
    }

    #[test]
    fn uptime_and_average() {
        let day = DailyStats {
            day: "2026-05-01".into(),
            total_checks: 288,
            failed_checks: 1,
            degraded_checks: 4,
            latency_sum_ms: 288 * 212,
            latency_count: 288,
            max_latency_ms: 1043,
            p50_latency_ms: None,
            p95_latency_ms: None,
            finalized: false,
        };
        assert_eq!(day.uptime_percent(), Some(99.65));
        assert_eq!(day.avg_latency_ms(), Some(212));
    }
}
