//! Per-key request budgets: a fixed one-minute window per key and class
//! (reads, writes), opened by the first request after the previous window
//! ends. Each window is one `AtomicU64` updated by compare-and-swap, so no
//! request ever waits on a lock held by another.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use certsentry_domain::ApiKeyId;
use dashmap::DashMap;

const WINDOW_MS: u64 = 60_000;
const COUNT_BITS: u32 = 20;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

/// Whether a request is a read (GET/HEAD) or a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Read,
    Write,
}

/// The outcome, with what the `X-RateLimit-*` headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Unix time (seconds) when the current window ends.
    pub reset_at: u64,
    /// Whole seconds until then, at least 1.
    pub retry_after: u64,
}

#[derive(Default)]
struct KeyWindows {
    read: AtomicU64,
    write: AtomicU64,
}

pub struct RateLimiter {
    started: Instant,
    started_unix_ms: u64,
    keys: DashMap<String, Arc<KeyWindows>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl RateLimiter {
    pub fn new() -> Self {
        let started_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis() as u64;
        Self {
            started: Instant::now(),
            started_unix_ms,
            keys: DashMap::new(),
        }
    }

    fn windows(&self, key: &str) -> Arc<KeyWindows> {
        if let Some(found) = self.keys.get(key) {
            return found.clone();
        }
        self.keys.entry(key.to_string()).or_default().clone()
    }

    /// Counts one request against the key's budget.
    pub fn check(&self, key: &ApiKeyId, class: Class, limit: u32) -> Decision {
        self.check_named(key.as_str(), class, limit)
    }

    /// Like [`check`](Self::check) for budgets that are not API keys (`ping:<token>`).
    pub fn check_named(&self, key: &str, class: Class, limit: u32) -> Decision {
        let now = self.started.elapsed().as_millis() as u64 + 1;
        self.check_at(key, class, limit, now)
    }

    /// `now_ms` is milliseconds since the limiter started (>0); split out for tests.
    fn check_at(&self, key: &str, class: Class, limit: u32, now_ms: u64) -> Decision {
        let windows = self.windows(key);
        let cell = match class {
            Class::Read => &windows.read,
            Class::Write => &windows.write,
        };
        let mut current = cell.load(Ordering::Acquire);
        loop {
            let (start, count) = (current >> COUNT_BITS, current & COUNT_MASK);
            let (start, count) = if start == 0 || now_ms >= start + WINDOW_MS {
                (now_ms, 0)
            } else {
                (start, count)
            };
            let allowed = count < limit as u64;
            let next_count = if allowed { count + 1 } else { count };
            let next = (start << COUNT_BITS) | next_count.min(COUNT_MASK);
            match cell.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    let ends = start + WINDOW_MS;
                    let retry_after = (ends.saturating_sub(now_ms)).div_ceil(1000).max(1);
                    return Decision {
                        allowed,
                        limit,
                        remaining: (limit as u64).saturating_sub(next_count) as u32,
                        reset_at: (self.started_unix_ms + ends).div_ceil(1000),
                        retry_after,
                    };
                }
                Err(actual) => current = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_first_write_in_a_minute_is_refused() {
        let limiter = RateLimiter::new();
        let key = "k";
        for i in 0..30 {
            let d = limiter.check_at(key, Class::Write, 30, 1_000 + i);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 29 - i as u32);
        }
        let refused = limiter.check_at(key, Class::Write, 30, 2_000);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.retry_after, 59);
        // Reads have their own budget.
        assert!(limiter.check_at(key, Class::Read, 120, 2_000).allowed);
        // A new window opens a minute after the first request.
        assert!(limiter.check_at(key, Class::Write, 30, 61_000).allowed);
    }

    #[test]
    fn concurrent_requests_never_exceed_the_budget() {
        let limiter = Arc::new(RateLimiter::new());
        let allowed: usize = (0..4)
            .map(|_| {
                let limiter = limiter.clone();
                std::thread::spawn(move || {
                    (0..500)
                        .filter(|_| limiter.check_at("k", Class::Read, 1000, 10).allowed)
                        .count()
                })
            })
            .map(|t| t.join().unwrap())
            .sum();
        assert_eq!(allowed, 1000);
    }
}
