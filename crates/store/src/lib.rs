//! The persistence boundary. Every backend implements [`Store`]; the API and,
//! later, the engine only ever see `Arc<dyn Store>`.
//!
//! Both SQL backends share their query code through [`sql_store_impl!`]: the
//! queries use `$N` placeholders, which SQLite and Postgres both accept, and
//! only connection setup, migrations and row locking differ per backend.

pub mod alerts;
pub mod cached;
pub mod certwatch;
pub mod ct;
mod records;
#[doc(hidden)]
pub mod sql;
pub mod sql_alerts;
pub mod sql_ct;

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "conformance")]
pub use conformance::conformance_support_impl as conformance_support;

use async_trait::async_trait;
use certsentry_domain::apikey::ApiKey;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::check::CheckResult;
use certsentry_domain::monitor::{Monitor, MonitorStatus};
use certsentry_domain::org::{Environment, Org};
use certsentry_domain::status_page::StatusPage;
use certsentry_domain::time::Millis;
use certsentry_domain::{ApiKeyId, EnvironmentId, MonitorId, OrgId, StatusPageId};

pub use alerts::*;
pub use cached::CachedStore;
pub use ct::*;
pub use records::*;

/// Errors every backend maps into.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was hit; the string names which (`externalId`, `slug`, `name`).
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// The write would exceed a quota passed in by the caller.
    #[error("quota of {limit} exceeded")]
    QuotaExceeded { limit: u32 },
    #[error("not found")]
    NotFound,
    /// Stored data that does not decode (a bug or a hand-edited database).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Every enabled monitor of every organization (the scheduler's and the CT
/// watch list's view).
pub async fn enabled_monitors(store: &dyn Store) -> StoreResult<Vec<Monitor>> {
    let mut all = Vec::new();
    for org in store.list_orgs().await? {
        let mut query = MonitorQuery {
            enabled: Some(true),
            limit: 1000,
            ..Default::default()
        };
        loop {
            let page = store.list_monitors(&org.id, &query).await?;
            all.extend(page.items);
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => break,
            }
        }
    }
    Ok(all)
}

/// Everything CertSentry persists. Methods that change data take the audit
/// event describing the change and write it in the same transaction.
#[async_trait]
pub trait Store: alerts::AlertStore + ct::CtStore + Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Cheap round trip, for `/healthz`.
    async fn ping(&self) -> StoreResult<()>;

    // Organizations.
    async fn create_org(&self, org: &Org, audit: &AuditEvent) -> StoreResult<()>;
    async fn get_org(&self, id: &OrgId) -> StoreResult<Option<Org>>;
    async fn list_orgs(&self) -> StoreResult<Vec<Org>>;

    // API keys.
    async fn create_api_key(&self, key: &ApiKey, audit: &AuditEvent) -> StoreResult<()>;
    async fn find_api_key_by_hash(&self, hash: &str) -> StoreResult<Option<ApiKey>>;
    async fn list_api_keys(&self, org: Option<&OrgId>) -> StoreResult<Vec<ApiKey>>;
    /// Marks a key revoked; `NotFound` if it does not exist or was already revoked.
    async fn revoke_api_key(
        &self,
        id: &ApiKeyId,
        at: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<ApiKey>;
    /// Records last use, batched by the caller (never on the request path).
    async fn touch_api_keys(&self, used: &[(ApiKeyId, Millis)]) -> StoreResult<()>;

    // Environments.
    async fn create_environment(&self, env: &Environment, audit: &AuditEvent) -> StoreResult<()>;
    async fn list_environments(&self, org: &OrgId) -> StoreResult<Vec<Environment>>;
    async fn get_environment(
        &self,
        org: &OrgId,
        id: &EnvironmentId,
    ) -> StoreResult<Option<Environment>>;
    /// Deletes an environment and detaches its monitors.
    async fn delete_environment(
        &self,
        org: &OrgId,
        id: &EnvironmentId,
        audit: &AuditEvent,
    ) -> StoreResult<()>;

    // Monitors.
    /// Inserts unless the organization already has `max_monitors`.
    async fn create_monitor(
        &self,
        monitor: &Monitor,
        max_monitors: u32,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn get_monitor(&self, org: &OrgId, id: &MonitorId) -> StoreResult<Option<Monitor>>;
    async fn list_monitors(&self, org: &OrgId, query: &MonitorQuery) -> StoreResult<Page<Monitor>>;
    /// Replaces the definition (spec, updated_at) of an existing monitor.
    async fn update_monitor(&self, monitor: &Monitor, audit: &AuditEvent) -> StoreResult<()>;
    /// Deletes a monitor, its status-page entries and (later) its history.
    async fn delete_monitor(
        &self,
        org: &OrgId,
        id: &MonitorId,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Every monitor of the organization that has an externalId.
    async fn list_managed_monitors(&self, org: &OrgId) -> StoreResult<Vec<Monitor>>;
    async fn count_monitors(&self, org: &OrgId) -> StoreResult<u64>;
    /// Applies a declarative sync atomically, enforcing `max_monitors` on the result.
    async fn apply_sync(
        &self,
        org: &OrgId,
        plan: &SyncChanges,
        max_monitors: u32,
        audit: &[AuditEvent],
    ) -> StoreResult<()>;
    /// The heartbeat monitor whose ping URL carries `token`.
    async fn find_heartbeat_monitor(&self, token: &str) -> StoreResult<Option<Monitor>>;

    // Check results.
    async fn insert_results(&self, results: &[CheckResult]) -> StoreResult<()>;
    /// Stores one run's results (possibly none) and the monitor's new state in
    /// one transaction. Engine state is not audited: it is not a user action.
    async fn record_check(
        &self,
        results: &[CheckResult],
        org: &OrgId,
        monitor: &MonitorId,
        state: &MonitorState,
    ) -> StoreResult<()>;
    /// Newest first, before `cursor`.
    async fn list_results(
        &self,
        org: &OrgId,
        monitor: &MonitorId,
        query: &ResultQuery,
    ) -> StoreResult<Page<CheckResult>>;
    /// Deletes results created before `before`; returns how many.
    async fn prune_results(&self, before: Millis) -> StoreResult<u64>;

    /// Writes many monitors' outcomes in one transaction (the batching
    /// writer's path). Outcomes of monitors deleted meanwhile are dropped.
    async fn record_checks(&self, batch: &[CheckRecord]) -> StoreResult<()>;

    // Heartbeats.
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

    // Domain registrations.
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

    // Daily stats (bumped by `insert_results` for uptime and TCP results).
    /// The monitor's rollups for days `from..=to` (`YYYY-MM-DD`), oldest first.
    async fn list_daily_stats(
        &self,
        org: &OrgId,
        monitor: &MonitorId,
        from: &str,
        to: &str,
    ) -> StoreResult<Vec<certsentry_domain::stats::DailyStats>>;
    /// Computes percentiles for every unfinalized day before `today` and
    /// marks it finalized; returns how many days were finalized.
    async fn finalize_daily_stats(&self, today: &str) -> StoreResult<u64>;

    // Certificates.
    /// Replaces a monitor's certificate verdict and adds the served chain's
    /// leaf (if any) to the organization's inventory.
    async fn record_certificate(
        &self,
        cert: &MonitorCertificate,
        served: Option<&ServedCertificate>,
    ) -> StoreResult<()>;
    async fn list_monitor_certificates(&self, org: &OrgId) -> StoreResult<Vec<MonitorCertificate>>;
    /// Whether a certificate with this SHA-256 was ever seen served for the organization.
    async fn is_served_certificate(&self, org: &OrgId, sha256: &str) -> StoreResult<bool>;

    // Status pages.
    async fn create_status_page(
        &self,
        page: &StatusPage,
        max_pages: u32,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn get_status_page(
        &self,
        org: &OrgId,
        id: &StatusPageId,
    ) -> StoreResult<Option<StatusPage>>;
    async fn list_status_pages(&self, org: &OrgId) -> StoreResult<Vec<StatusPage>>;
    async fn update_status_page(&self, page: &StatusPage, audit: &AuditEvent) -> StoreResult<()>;
    async fn delete_status_page(
        &self,
        org: &OrgId,
        id: &StatusPageId,
        audit: &AuditEvent,
    ) -> StoreResult<()>;

    // Audit log.
    /// For events with no other write to ride along with.
    async fn record_audit(&self, event: &AuditEvent) -> StoreResult<()>;
    async fn list_audit(&self, org: &OrgId, query: &AuditQuery) -> StoreResult<Page<AuditEvent>>;
}

/// The state the check engine keeps on a monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorState {
    pub last_status: MonitorStatus,
    pub ssl_not_after: Option<Millis>,
    pub domain_expiry: Option<Millis>,
}
