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

    /// Stores an upload of agents' results, per monitor, and applies
    /// them: the keys and rows in one transaction, the outage rule's states
    /// read in one query and written where they move, then each monitor's
    /// new state and the uptime alert where its status changed or a check
    /// failed (a steady, passing monitor costs no further write).
    pub async fn ingest_uploaded(
        &self,
        uploads: Vec<(Monitor, Vec<KeyedResult>)>,
        now: Millis,
    ) -> StoreResult<Ingested> {
        let all: Vec<KeyedResult> = uploads
            .iter()
            .flat_map(|(_, r)| r.iter().cloned())
            .collect();
        let new = self
            .store()
            .record_keyed_results(&all, now - KEY_MEMORY_MS)
            .await?;
        let stored = new.iter().filter(|n| **n).count();
        let outcome = Ingested {
            stored,
            duplicates: new.len() - stored,
        };
        let mut flags = new.into_iter();
        let mut fresh: Vec<(&Monitor, Vec<CheckResult>)> = Vec::new();
        for (monitor, keyed) in &uploads {
            let mut results: Vec<CheckResult> = keyed
                .iter()
                .filter(|_| flags.next().unwrap_or(false))
                .map(|k| k.result.clone())
                .filter(quorum::is_availability)
                .collect();
            if !results.is_empty() {
                results.sort_by_key(|r| r.created_at);
                fresh.push((monitor, results));
            }
        }
        let batch: Vec<(&Monitor, Vec<&CheckResult>)> = fresh
            .iter()
            .map(|(m, results)| (*m, results.iter().collect()))
            .collect();
        let statuses = quorum::feed_many(&**self.store(), &batch, now).await?;
        for ((monitor, results), status) in batch.iter().zip(statuses) {
            let Some(status) = status else { continue };
            let last_error = results
                .iter()
                .rev()
                .find(|r| r.status != CheckStatus::Ok)
                .and_then(|r| r.error.as_deref());
            if status == monitor.last_status && last_error.is_none() {
                continue;
            }
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
                        certificate: None,
                    })
                    .await?;
            }
            self.alerter().uptime(monitor, status, last_error).await?;
        }
        Ok(outcome)
    }
}
