//! Check results and the rules that turn a stream of them into a monitor status.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::id::{MonitorId, OrgId, ResultId};
use crate::monitor::{Monitor, MonitorStatus};
use crate::string_enum::string_enum;
use crate::time::Millis;

string_enum!(plain
    #[derive(Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(rename_all = "lowercase")]
    CheckType {
        Ssl = "ssl",
        Domain = "domain",
        Dns = "dns",
        Uptime = "uptime",
        Heartbeat = "heartbeat",
        Tcp = "tcp",
        Ct = "ct",
    }
);

string_enum!(plain
    #[derive(Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[serde(rename_all = "lowercase")]
    CheckStatus {
        Ok = "ok",
        Fail = "fail",
        Unknown = "unknown",
    }
);

/// One check's outcome, as stored and as `GET /monitors/:id/results` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    pub id: ResultId,
    pub org_id: OrgId,
    pub monitor_id: MonitorId,
    pub check_type: CheckType,
    pub status: CheckStatus,
    /// A passing check slower than the monitor's degraded threshold.
    pub degraded: bool,
    pub region: Option<String>,
    pub latency_ms: Option<u32>,
    pub http_status: Option<u16>,
    /// Precise and human: `connect timeout`, `HTTP 503`, `keyword "x" absent`.
    pub error: Option<String>,
    /// Check-specific detail (phase timings, certificate facts, record sets).
    pub details: serde_json::Value,
    pub created_at: Millis,
}

impl CheckResult {
    /// A result of `check_type` for `monitor`, made now, with nothing
    /// observed yet: the one builder the checker, heartbeats and CT fill in.
    pub fn blank(monitor: &Monitor, check_type: CheckType, region: Option<&str>) -> Self {
        Self {
            id: ResultId::generate(),
            org_id: monitor.org_id.clone(),
            monitor_id: monitor.id.clone(),
            check_type,
            status: CheckStatus::Unknown,
            degraded: false,
            region: region.map(str::to_string),
            latency_ms: None,
            http_status: None,
            error: None,
            details: serde_json::json!({}),
            created_at: crate::time::now_ms(),
        }
    }
}

/// A change of the uptime state worth an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UptimeTransition {
    /// Outage confirmed; the regions that confirmed it.
    Down { regions: Vec<String> },
    /// Recovered from an outage.
    Up,
    /// A degraded episode began (once per episode).
    Degraded,
}

/// The API reference's outage rule for one monitor:
/// - down is confirmed when at least 2 regions have each failed 2 consecutive
///   checks (with a single configured region: 2 consecutive failures there);
/// - up again when every region that confirmed the outage has passed.
///
/// Pure: the caller feeds results in the order they complete. Its state is
/// stored (as alert state [`UptimeTracker::KEY`]) so that results from
/// every region, whichever agent or server node ran them, meet in one rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UptimeTracker {
    consecutive_failures: BTreeMap<String, u32>,
    /// Regions that confirmed the current outage and have not passed since.
    confirming: BTreeSet<String>,
    down: bool,
    degraded: bool,
    observed: bool,
}

impl UptimeTracker {
    /// The alert-state key the shared tracker is stored under.
    pub const KEY: &'static str = "uptime_quorum";
}

impl crate::alert::AlertState for UptimeTracker {
    fn encode(&self) -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Owned(serde_json::to_string(self).unwrap_or_default())
    }
    fn decode(stored: &str) -> Option<Self> {
        serde_json::from_str(stored).ok()
    }
}

/// Consecutive failures a region needs before it counts toward an outage.
pub const FAILURES_PER_REGION: u32 = 2;
/// Regions that must agree when a monitor runs in several.
pub const CONFIRMING_REGIONS: usize = 2;

impl UptimeTracker {
    /// Feeds one uptime (or TCP) result from `region`. `configured_regions`
    /// is how many regions the monitor runs in.
    pub fn observe(
        &mut self,
        region: &str,
        passed: bool,
        degraded: bool,
        configured_regions: usize,
    ) -> Option<UptimeTransition> {
        self.observed = true;
        if passed {
            // A passing region has no count: the stored state of a healthy
            // monitor stays the same from one result to the next.
            self.consecutive_failures.remove(region);
            if self.down {
                self.confirming.remove(region);
                if self.confirming.is_empty() {
                    self.down = false;
                    self.degraded = degraded;
                    return Some(UptimeTransition::Up);
                }
                return None;
            }
            let entering = degraded && !self.degraded;
            self.degraded = degraded;
            return entering.then_some(UptimeTransition::Degraded);
        }
        let failures = self
            .consecutive_failures
            .entry(region.to_string())
            .or_insert(0);
        *failures += 1;
        if self.down {
            if *failures >= FAILURES_PER_REGION {
                self.confirming.insert(region.to_string());
            }
            return None;
        }
        let needed = CONFIRMING_REGIONS.min(configured_regions.max(1));
        let failing: Vec<String> = self
            .consecutive_failures
            .iter()
            .filter(|(_, n)| **n >= FAILURES_PER_REGION)
            .map(|(r, _)| r.clone())
            .collect();
        if failing.len() >= needed {
            self.down = true;
            self.degraded = false;
            self.confirming = failing.iter().cloned().collect();
            return Some(UptimeTransition::Down { regions: failing });
        }
        None
    }

    /// The monitor's `lastStatus` as far as uptime is concerned.
    pub fn status(&self) -> MonitorStatus {
        if !self.observed {
            MonitorStatus::Unknown
        } else if self.down {
            MonitorStatus::Down
        } else if self.degraded {
            MonitorStatus::Degraded
        } else {
            MonitorStatus::Up
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tracker_is_stored_as_text() {
        use crate::alert::AlertState;
        let mut t = UptimeTracker::default();
        assert_eq!(t.observe("dublin", false, false, 2), None);
        let stored = UptimeTracker::decode(&t.encode()).unwrap();
        assert_eq!(stored, t);
        let mut t = stored;
        t.observe("dublin", false, false, 2);
        t.observe("virginia", false, false, 2);
        assert!(matches!(
            t.observe("virginia", false, false, 2),
            Some(UptimeTransition::Down { .. })
        ));
        let passing = UptimeTracker::default();
        let mut again = passing.clone();
        again.observe("dublin", true, false, 1);
        again.observe("dublin", true, false, 1);
        let mut once = passing;
        once.observe("dublin", true, false, 1);
        assert_eq!(
            again.encode(),
            once.encode(),
            "a steady state is written once"
        );
        assert_eq!(UptimeTracker::decode("up"), None, "not a tracker's text");
    }

    #[test]
    fn two_regions_must_each_fail_twice() {
        let mut t = UptimeTracker::default();
        assert_eq!(t.status(), MonitorStatus::Unknown);
        assert_eq!(t.observe("virginia", false, false, 3), None);
        assert_eq!(
            t.observe("virginia", false, false, 3),
            None,
            "one region is not enough"
        );
        assert_eq!(
            t.observe("dublin", false, false, 3),
            None,
            "dublin failed only once"
        );
        assert_eq!(t.status(), MonitorStatus::Up);
        let down = t.observe("dublin", false, false, 3);
        assert_eq!(
            down,
            Some(UptimeTransition::Down {
                regions: vec!["dublin".into(), "virginia".into()]
            })
        );
        assert_eq!(t.status(), MonitorStatus::Down);
        assert_eq!(
            t.observe("dublin", false, false, 3),
            None,
            "no repeated down"
        );
        // Up again only when both confirming regions pass.
        assert_eq!(t.observe("virginia", true, false, 3), None);
        assert_eq!(t.observe("singapore", true, false, 3), None);
        assert_eq!(
            t.observe("dublin", true, false, 3),
            Some(UptimeTransition::Up)
        );
        assert_eq!(t.status(), MonitorStatus::Up);
    }

    #[test]
    fn a_pass_in_between_resets_the_count() {
        let mut t = UptimeTracker::default();
        for region in ["virginia", "dublin"] {
            t.observe(region, false, false, 2);
            t.observe(region, true, false, 2);
            t.observe(region, false, false, 2);
        }
        assert_eq!(
            t.status(),
            MonitorStatus::Up,
            "no region failed twice in a row"
        );
    }

    #[test]
    fn single_region_needs_two_consecutive_failures() {
        let mut t = UptimeTracker::default();
        assert_eq!(t.observe("virginia", false, false, 1), None);
        assert!(matches!(
            t.observe("virginia", false, false, 1),
            Some(UptimeTransition::Down { .. })
        ));
        assert_eq!(
            t.observe("virginia", true, false, 1),
            Some(UptimeTransition::Up)
        );
    }

    #[test]
    fn degraded_fires_once_per_episode() {
        let mut t = UptimeTracker::default();
        assert_eq!(
            t.observe("virginia", true, true, 1),
            Some(UptimeTransition::Degraded)
        );
        assert_eq!(t.observe("virginia", true, true, 1), None);
        assert_eq!(t.status(), MonitorStatus::Degraded);
        assert_eq!(t.observe("virginia", true, false, 1), None);
        assert_eq!(t.status(), MonitorStatus::Up);
        assert_eq!(
            t.observe("virginia", true, true, 1),
            Some(UptimeTransition::Degraded),
            "a new episode"
        );
    }

    #[test]
    fn check_names_round_trip() {
        for t in CheckType::ALL {
            assert_eq!(CheckType::parse(t.as_str()), Some(*t));
        }
        assert_eq!(CheckStatus::parse("fail"), Some(CheckStatus::Fail));
        assert_eq!(CheckType::parse("smtp"), None);
    }
}
