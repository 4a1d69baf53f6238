//! Login throttling with `governor` (GCRA): at most 10 failed sign-ins per
//! account and 50 per client address in 15 minutes. Only failures count.
//! Once a key is over its budget, every attempt is refused until its
//! budget refills (one failure every 90 s per account), without checking
//! the password, so a throttled attacker learns nothing more.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The window both budgets are counted over.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
pub const PER_ACCOUNT: u32 = 10;
pub const PER_ADDRESS: u32 = 50;

pub struct LoginThrottle {
    accounts: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    /// When each throttled key may try again.
    blocked: Mutex<HashMap<String, Instant>>,
}

fn quota(per_window: u32) -> Quota {
    let per = NonZeroU32::new(per_window).expect("a budget above zero");
    Quota::with_period(WINDOW / per_window)
        .expect("a period above zero")
        .allow_burst(per)
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            accounts: RateLimiter::keyed(quota(PER_ACCOUNT)),
            addresses: RateLimiter::keyed(quota(PER_ADDRESS)),
            blocked: Mutex::new(HashMap::new()),
        }
    }
}

fn account_key(email: &str) -> String {
    format!("account:{email}")
}

fn address_key(address: IpAddr) -> String {
    format!("address:{address}")
}

impl LoginThrottle {
    /// Whether a sign-in for `email` from `address` may be tried now.
    pub fn allows(&self, email: &str, address: Option<IpAddr>) -> bool {
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        blocked.retain(|_, until| *until > now);
        !blocked.contains_key(&account_key(email))
            && !address.is_some_and(|a| blocked.contains_key(&address_key(a)))
    }

    /// Counts a failed sign-in; a key over its budget is blocked until it
    /// refills.
    pub fn failed(&self, email: &str, address: Option<IpAddr>) {
        let clock = DefaultClock::default();
        let mut over = Vec::new();
        if let Err(not_until) = self.accounts.check_key(&email.to_string()) {
            over.push((account_key(email), not_until.wait_time_from(clock.now())));
        }
        if let Some(address) = address
            && let Err(not_until) = self.addresses.check_key(&address)
        {
            over.push((address_key(address), not_until.wait_time_from(clock.now())));
        }
        if !over.is_empty() {
            let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
            for (key, wait) in over {
                blocked.insert(key, Instant::now() + wait.max(Duration::from_secs(1)));
            }
        }
        self.accounts.retain_recent();
        self.addresses.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_per_account_are_allowed_and_the_eleventh_blocks() {
        let throttle = LoginThrottle::default();
        let address: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..PER_ACCOUNT {
            assert!(throttle.allows("ann@example.com", Some(address)));
            throttle.failed("ann@example.com", Some(address));
        }
        assert!(throttle.allows("ann@example.com", Some(address)));
        throttle.failed("ann@example.com", Some(address));
        assert!(!throttle.allows("ann@example.com", Some(address)));
        assert!(!throttle.allows("ann@example.com", None), "from anywhere");
        assert!(
            throttle.allows("bob@example.com", Some(address)),
            "other accounts"
        );
    }

    #[test]
    fn fifty_failures_from_one_address_block_it_for_every_account() {
        let throttle = LoginThrottle::default();
        let address: IpAddr = "192.0.2.2".parse().unwrap();
        for i in 0..=PER_ADDRESS {
            throttle.failed(&format!("user{i}@example.com"), Some(address));
        }
        assert!(!throttle.allows("new@example.com", Some(address)));
        assert!(throttle.allows("new@example.com", Some("192.0.2.3".parse().unwrap())));
    }
}
