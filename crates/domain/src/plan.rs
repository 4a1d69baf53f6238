//! Plans are operator-configured quotas. The defaults mirror the API reference's
//! SaaS tiers so that its examples and error messages read the same.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One plan's quotas and features.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Plan {
    /// Name shown in messages ("The Starter plan allows ...").
    pub display_name: String,
    /// Whether API keys of this plan may call `/api/v1` at all.
    pub api_access: bool,
    pub max_monitors: u32,
    /// How many regions one monitor may run in.
    pub max_regions: u32,
    /// The shortest check or heartbeat interval a monitor may have. An
    /// operator tightening it leaves existing monitors as they are; their
    /// next edit must comply.
    pub min_interval_seconds: u32,
    /// Certificate Transparency monitoring (`checkCt`).
    pub ct: bool,
    /// The audit log endpoint and audit webhook.
    pub audit_logs: bool,
    pub max_status_pages: u32,
    /// How many monitors one status page may show (the API reference's
    /// 1-20 unless the operator raises it).
    pub max_status_page_monitors: u32,
    /// DMARC domains whose reports are collected.
    pub max_dmarc_domains: u32,
    /// Days DMARC reports are kept.
    pub dmarc_retention_days: u32,
    /// Per-key request budget for GET/HEAD, per minute.
    pub reads_per_minute: u32,
    /// Per-key request budget for everything else, per minute.
    pub writes_per_minute: u32,
}

impl Default for Plan {
    fn default() -> Self {
        Self {
            display_name: "Custom".into(),
            api_access: true,
            max_monitors: 10,
            max_regions: 1,
            min_interval_seconds: 60,
            ct: false,
            audit_logs: false,
            max_status_pages: 1,
            max_status_page_monitors: 20,
            max_dmarc_domains: 0,
            dmarc_retention_days: 90,
            reads_per_minute: 120,
            writes_per_minute: 30,
        }
    }
}

/// The plan names every install knows, in upgrade order.
pub const BUILTIN_PLANS: [&str; 4] = ["free", "starter", "pro", "agency"];

/// All plans by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Plans(BTreeMap<String, Plan>);

impl Default for Plans {
    fn default() -> Self {
        let base = Plan::default();
        let mut plans = BTreeMap::new();
        plans.insert(
            "free".into(),
            Plan {
                display_name: "Free".into(),
                api_access: false,
                max_monitors: 3,
                min_interval_seconds: 86_400,
                max_status_pages: 0,
                ..base.clone()
            },
        );
        plans.insert(
            "starter".into(),
            Plan {
                display_name: "Starter".into(),
                min_interval_seconds: 300,
                ..base.clone()
            },
        );
        plans.insert(
            "pro".into(),
            Plan {
                display_name: "Pro".into(),
                max_monitors: 100,
                max_regions: 3,
                ct: true,
                max_status_pages: 5,
                max_dmarc_domains: 1,
                dmarc_retention_days: 90,
                ..base.clone()
            },
        );
        plans.insert(
            "agency".into(),
            Plan {
                display_name: "Agency".into(),
                max_monitors: 1000,
                max_regions: 3,
                ct: true,
                audit_logs: true,
                max_status_pages: 50,
                max_dmarc_domains: 5,
                dmarc_retention_days: 365,
                ..base
            },
        );
        Self(plans)
    }
}

impl Plans {
    pub fn get(&self, name: &str) -> Option<&Plan> {
        self.0.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Overlays operator settings on the defaults: a configured plan replaces
    /// the built-in of the same name field by field (missing fields keep the
    /// `Plan::default()` values, so operators should spell out what they change).
    pub fn with_overrides(mut self, overrides: BTreeMap<String, Plan>) -> Self {
        for (name, plan) in overrides {
            self.0.insert(name, plan);
        }
        self
    }

    /// Raises every plan's rate limits (benchmarks and load tests).
    pub fn set_rate_limits(&mut self, reads_per_minute: u32, writes_per_minute: u32) {
        for plan in self.0.values_mut() {
            plan.reads_per_minute = reads_per_minute;
            plan.writes_per_minute = writes_per_minute;
        }
    }

    /// Sets every plan's DMARC report retention (tests that import old
    /// real reports, which the retention pass would otherwise prune).
    pub fn set_dmarc_retention_days(&mut self, days: u32) {
        for plan in self.0.values_mut() {
            plan.dmarc_retention_days = days;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_issue() {
        let plans = Plans::default();
        let free = plans.get("free").unwrap();
        assert!(!free.api_access);
        assert_eq!(free.max_monitors, 3);
        let starter = plans.get("starter").unwrap();
        assert_eq!((starter.max_monitors, starter.max_regions), (10, 1));
        assert!(!starter.ct && !starter.audit_logs);
        assert_eq!(starter.max_status_pages, 1);
        let pro = plans.get("pro").unwrap();
        assert_eq!(
            (pro.max_monitors, pro.max_regions, pro.max_status_pages),
            (100, 3, 5)
        );
        assert!(pro.ct && !pro.audit_logs);
        let agency = plans.get("agency").unwrap();
        assert_eq!(
            (
                agency.max_monitors,
                agency.max_regions,
                agency.max_status_pages
            ),
            (1000, 3, 50)
        );
        assert!(agency.ct && agency.audit_logs);
        assert_eq!(
            (agency.reads_per_minute, agency.writes_per_minute),
            (120, 30)
        );
    }
}
