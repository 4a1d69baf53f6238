//! What checks produce: results with monitor state, heartbeats, domain
//! registrations, daily stats and served certificates.

use async_trait::async_trait;
use certsentry_domain::check::CheckResult;
use certsentry_domain::stats::DailyStats;
use certsentry_domain::time::Millis;
use certsentry_domain::{MonitorId, OrgId};

use crate::*;

/// A run's outcome: its results and the monitor's new state, written together.
#[async_trait]
pub trait CheckStore: Send + Sync {
    /// Stores one run's results (possibly none) and the monitor's new state in
    /// one transaction. Engine state is not audited: it is not a user action.
    async fn record_check(
        &self,
        results: &[CheckResult],
        org: &OrgId,
        monitor: &MonitorId,
        state: &MonitorState,
    ) -> StoreResult<()>;
    /// Writes many monitors' outcomes in one transaction (the batching
    /// writer's path). Outcomes of monitors deleted meanwhile are dropped.
    async fn record_checks(&self, batch: &[CheckRecord]) -> StoreResult<()>;
}

/// Check results, the time series behind `/results` and the stats.
#[async_trait]
pub trait ResultStore: Send + Sync {
    async fn insert_results(&self, results: &[CheckResult]) -> StoreResult<()>;
    /// Newest first, before `cursor`.
    async fn list_results(
        &self,
        org: &OrgId,
        monitor: &MonitorId,
        query: &ResultQuery,
    ) -> StoreResult<Page<CheckResult>>;
    /// Deletes results created before `before`; returns how many.
    async fn prune_results(&self, before: Millis) -> StoreResult<u64>;
    /// When each of `monitors` was last checked (monitors never checked
    /// are left out): one indexed lookup per monitor, for a page of a list.
    async fn last_checked_at(
        &self,
        monitors: &[MonitorId],
    ) -> StoreResult<Vec<(MonitorId, Millis)>>;
}

/// Heartbeat pings and the claim on each missed ping.
#[async_trait]
pub trait HeartbeatStore: Send + Sync {
    /// Records a ping (arming the monitor) and clears any recorded miss.
    async fn record_heartbeat_ping(&self, state: &HeartbeatState) -> StoreResult<()>;
    /// Every armed heartbeat monitor's ping state.
    async fn list_heartbeat_states(&self) -> StoreResult<Vec<HeartbeatState>>;
    /// Claims the missed transition for the ping seen at `last_ping_at`;
    /// `true` for exactly one caller.
    async fn claim_heartbeat_missed(
        &self,
        monitor: &MonitorId,
        last_ping_at: Millis,
    ) -> StoreResult<bool>;
}

/// Domain registrations, looked up at most once per domain across nodes.
#[async_trait]
pub trait RegistrationStore: Send + Sync {
    async fn get_domain_registration(
        &self,
        domain: &str,
    ) -> StoreResult<Option<DomainRegistration>>;
    /// Claims the lookup of `domain` at `now` when no lookup started at or
    /// after `stale_before`; `true` for exactly one caller.
    async fn claim_domain_lookup(
        &self,
        domain: &str,
        now: Millis,
        stale_before: Millis,
    ) -> StoreResult<bool>;
    /// Stores a claimed lookup's outcome (keeps `checked_at`).
    async fn finish_domain_lookup(&self, registration: &DomainRegistration) -> StoreResult<()>;
}

/// Daily rollups (bumped by `insert_results` for uptime and TCP results).
#[async_trait]
pub trait StatsStore: Send + Sync {
    /// The monitor's rollups for days `from..=to` (`YYYY-MM-DD`), oldest first.
    async fn list_daily_stats(
        &self,
        org: &OrgId,
        monitor: &MonitorId,
        from: &str,
        to: &str,
    ) -> StoreResult<Vec<DailyStats>>;
    /// The checks and failures per day of `monitors` for days `from..=to`,
    /// as (monitor, day, checks, failed): the four columns a status page
    /// draws, in one query per thousand monitors.
    async fn list_daily_checks(
        &self,
        monitors: &[MonitorId],
        from: &str,
        to: &str,
    ) -> StoreResult<Vec<(MonitorId, String, u64, u64)>>;
    /// Computes percentiles for every unfinalized day before `today` and
    /// marks it finalized; returns how many days were finalized.
    async fn finalize_daily_stats(&self, today: &str) -> StoreResult<u64>;
}

/// The certificates monitors see served, and the organization's inventory
/// of them. They are written by [`CheckStore::record_checks`], in the
/// check's record (see [`crate::CertificateSeen`]), so that a check's
/// certificate shares its batch's transaction.
#[async_trait]
pub trait CertificateStore: Send + Sync {
    async fn list_monitor_certificates(&self, org: &OrgId) -> StoreResult<Vec<MonitorCertificate>>;
    /// Whether a certificate with this SHA-256 was ever seen served for the organization.
    async fn is_served_certificate(&self, org: &OrgId, sha256: &str) -> StoreResult<bool>;
}
