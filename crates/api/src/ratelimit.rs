//! Per-key request budgets: a fixed one-minute window per key and class
//! (reads, writes), opened by the first request after the previous window
//! ends. Each window is one `AtomicU64` updated by compare-and-swap, so no
//! request ever waits on a lock held by another.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use certsentry_domain::{ApiKeyId, MonitorId};
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
    /// By API key id. Only verified keys get here, so it is bounded by the
    /// keys that exist.
    keys: DashMap<String, Arc<KeyWindows>>,
    /// Heartbeat pings, by monitor id (a monitor has one ping token), for
    /// the same reason: a token that matches no monitor is answered before
    /// it is counted, and a flood of invented tokens adds nothing here.
    pings: DashMap<String, Arc<KeyWindows>>,
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
            pings: DashMap::new(),
        }
    }

    fn windows(budgets: &DashMap<String, Arc<KeyWindows>>, key: &str) -> Arc<KeyWindows> {
        if let Some(found) = budgets.get(key) {
            return found.clone();
        }
        budgets.entry(key.to_string()).or_default().clone()
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64 + 1
    }

    /// Counts one request against the key's budget.
    pub fn check(&self, key: &ApiKeyId, class: Class, limit: u32) -> Decision {
        self.check_at(key.as_str(), class, limit, self.now_ms())
    }

    /// Counts one heartbeat ping against its monitor's budget.
    pub fn check_ping(&self, monitor: &MonitorId, limit: u32) -> Decision {
        let windows = Self::windows(&self.pings, monitor.as_str());
        self.count(&windows, Class::Write, limit, self.now_ms())
    }

    /// `now_ms` is milliseconds since the limiter started (>0); split out for tests.
    fn check_at(&self, key: &str, class: Class, limit: u32, now_ms: u64) -> Decision {
        let windows = Self::windows(&self.keys, key);
        self.count(&windows, class, limit, now_ms)
    }

    fn count(&self, windows: &KeyWindows, class: Class, limit: u32, now_ms: u64) -> Decision {
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
    fn a_monitors_pings_have_their_own_budget() {
        let limiter = RateLimiter::new();
        let monitor = MonitorId::from_string("same-id".to_string());
        let key = ApiKeyId::from_string("same-id".to_string());
        for _ in 0..3 {
            limiter.check(&key, Class::Write, 2);
        }
        assert!(!limiter.check(&key, Class::Write, 2).allowed);
        let decisions: Vec<bool> = (0..3)
            .map(|_| limiter.check_ping(&monitor, 2).allowed)
            .collect();
        assert_eq!(decisions, [true, true, false]);
        assert_eq!(limiter.pings.len(), 1);
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
