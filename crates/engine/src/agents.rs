//! Results uploaded by probe agents, on the same spine as the server's own
//! checks: stored once per idempotency key, fed to the shared outage rule
//! unless stale, then the monitor's state and the uptime alert.

use std::collections::HashSet;

use certsentry_domain::check::{CheckResult, CheckStatus};
use certsentry_domain::monitor::Monitor;
use certsentry_domain::time::Millis;
use certsentry_store::{CheckRecord, KeyedResult, MonitorState, StoreResult};

use crate::Checker;
use crate::quorum;

/// How long an upload's idempotency key is remembered: longer than an
/// agent keeps results in its offline buffer (24 hours).
pub const KEY_MEMORY_MS: Millis = 48 * 3_600_000;

/// What became of one upload for one monitor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ingested {
    /// Stored now (their key was new).
    pub stored: usize,
    /// Already stored by an earlier upload.
    pub duplicates: usize,
}

impl Checker {
    /// The regions whose uptime and TCP checks agents run; the server's
    /// own runs leave them out. The runtime refreshes it from the store.
    pub fn set_agent_regions(&self, regions: HashSet<String>) {
        *self.agent_regions_lock() = regions;
    }

    /// Stores an agent's results for `monitor` and applies them.
    pub async fn ingest_uploaded(
        &self,
        monitor: &Monitor,
        uploaded: Vec<KeyedResult>,
        now: Millis,
    ) -> StoreResult<Ingested> {
        let new = self
            .store()
            .record_keyed_results(&uploaded, now - KEY_MEMORY_MS)
            .await?;
        let mut fresh: Vec<CheckResult> = uploaded
            .into_iter()
            .zip(&new)
            .filter(|(_, is_new)| **is_new)
            .map(|(keyed, _)| keyed.result)
            .collect();
        let outcome = Ingested {
            stored: fresh.len(),
            duplicates: new.len() - fresh.len(),
        };
        fresh.sort_by_key(|r| r.created_at);
        let availability: Vec<&CheckResult> = fresh
            .iter()
            .filter(|r| quorum::is_availability(r))
            .collect();
        if availability.is_empty() {
            return Ok(outcome);
        }
        let Some(status) = quorum::feed(&**self.store(), monitor, &availability, now).await? else {
            return Ok(outcome);
        };
        if status != monitor.last_status {
            self.writer()
                .write(CheckRecord {
                    org_id: monitor.org_id.clone(),
                    monitor_id: monitor.id.clone(),
                    results: Vec::new(),
                    state: Some(MonitorState {
                        last_status: status,
                        ssl_not_after: monitor.ssl_not_after,
                        domain_expiry: monitor.domain_expiry,
                    }),
                    ping: None,
                })
                .await?;
        }
        let last_error = availability
            .iter()
            .rev()
            .find(|r| r.status != CheckStatus::Ok)
            .and_then(|r| r.error.as_deref());
        self.alerter().uptime(monitor, status, last_error).await?;
        Ok(outcome)
    }
}
