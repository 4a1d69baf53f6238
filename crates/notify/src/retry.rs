//! When to try a failed delivery again.

use std::time::Duration;

use rand::RngExt;

/// The default schedule after the first, immediate attempt.
pub const DEFAULT_DELAYS: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// The longest `Retry-After` we wait for.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Delay before attempt 2, 3, …; its length bounds the attempts.
    pub delays: Vec<Duration>,
    /// ± this fraction of each delay, so retries from one outage spread out.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            delays: DEFAULT_DELAYS.to_vec(),
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// The wait before the next attempt after `attempts_made` attempts, or
    /// `None` when they are exhausted. A `Retry-After` from the receiver is
    /// honoured when it asks for longer, up to [`MAX_RETRY_AFTER`].
    pub fn next_delay(
        &self,
        attempts_made: u32,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let base = *self.delays.get(attempts_made.checked_sub(1)? as usize)?;
        let factor = 1.0 + rand::rng().random_range(-self.jitter..=self.jitter);
        let jittered = base.mul_f64(factor.max(0.0));
        Some(match retry_after {
            Some(asked) => jittered.max(asked.min(MAX_RETRY_AFTER)),
            None => jittered,
        })
    }

    /// Parses `5s,5m,30m,2h` (the configuration form).
    pub fn parse(list: &str) -> Result<Self, String> {
        let delays = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(parse_duration)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            delays,
            ..Self::default()
        })
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("invalid duration {s:?}: expected e.g. 5s, 5m, 2h"))?;
    let seconds = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "s" | "" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("invalid duration unit in {s:?}")),
    };
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_with_jitter_and_retry_after() {
        let policy = RetryPolicy::default();
        for _ in 0..100 {
            let d = policy.next_delay(1, None).unwrap();
            assert!(
                d >= Duration::from_secs(4) && d <= Duration::from_secs(6),
                "{d:?}"
            );
        }
        let last = policy.next_delay(7, None).unwrap();
        assert!(last >= Duration::from_secs(8 * 3600));
        assert_eq!(policy.next_delay(8, None), None, "8 attempts in all");
        assert_eq!(policy.next_delay(0, None), None);
        let asked = policy.next_delay(1, Some(Duration::from_secs(60))).unwrap();
        assert_eq!(asked, Duration::from_secs(60));
        let capped = policy
            .next_delay(1, Some(Duration::from_secs(10 * 86_400)))
            .unwrap();
        assert_eq!(capped, MAX_RETRY_AFTER);
    }

    #[test]
    fn configurable_schedule() {
        let p = RetryPolicy::parse("1s, 2m,3h,100ms").unwrap();
        assert_eq!(
            p.delays,
            vec![
                Duration::from_secs(1),
                Duration::from_secs(120),
                Duration::from_secs(3 * 3600),
                Duration::from_millis(100)
            ]
        );
        assert!(RetryPolicy::parse("5 parsecs").is_err());
    }
}
