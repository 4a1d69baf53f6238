//! Storage for Certificate Transparency: the known-certificate inventory,
//! findings (deduplicated per organization by `tbs_sha256`), and each log's
//! read position, so a restart neither misses nor repeats entries.

use async_trait::async_trait;
use certsentry_domain::alert::Event;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::check::CheckResult;
use certsentry_domain::ct::{CtFinding, FindingState, KnownCertificate};
use certsentry_domain::time::Millis;
use certsentry_domain::{CtCertificateId, KnownCertificateId, MonitorId, OrgId};

use crate::{Page, StoreResult};

#[derive(Debug, Clone, Default)]
pub struct FindingQuery {
    pub monitor_id: Option<MonitorId>,
    /// `Some(true)`: known only; `Some(false)`: suspicious only.
    pub known: Option<bool>,
    pub since: Option<Millis>,
    pub cursor: Option<String>,
    pub limit: u32,
}

/// A log's persisted position: the next index to read, and the tailer's
/// Merkle state as the tailer serializes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPosition {
    pub position: u64,
    pub state: String,
}

/// A stored log position, as `certsentry ct logs` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLogPosition {
    pub log_id: String,
    pub position: LogPosition,
    pub updated_at: Millis,
}

/// Certificate Transparency: the known-certificate inventory and findings (deduplicated per organization by `tbs_sha256`).
#[async_trait]
pub trait CtStore: Send + Sync {
    async fn create_known_certificate(
        &self,
        known: &KnownCertificate,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Newest first.
    async fn list_known_certificates(
        &self,
        org: &OrgId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<KnownCertificate>>;
    /// `NotFound` when the organization has no such entry.
    async fn delete_known_certificate(
        &self,
        org: &OrgId,
        id: &KnownCertificateId,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Whether the organization's inventory (known certificates and served
    /// certificates) holds either hash.
    async fn is_known_issuance(
        &self,
        org: &OrgId,
        cert_sha256: &str,
        tbs_sha256: &str,
    ) -> StoreResult<bool>;
    /// Stores a new finding unless the organization already has one for its
    /// `tbs_sha256`; returns whether it was new.
    async fn insert_ct_finding(&self, finding: &CtFinding) -> StoreResult<bool>;
    /// Pending findings found at or before `due`, oldest first.
    async fn due_ct_findings(&self, due: Millis, limit: u32) -> StoreResult<Vec<CtFinding>>;
    /// Moves a pending finding to `state` and stores `event` (with one
    /// pending delivery per routed channel) and the monitor's `ct` check
    /// `result` in the same transaction, so a decision never lacks either.
    /// Returns `false` if it was already decided (another node won).
    async fn decide_ct_finding(
        &self,
        org: &OrgId,
        id: &CtCertificateId,
        state: FindingState,
        decided_at: Millis,
        event: Option<&Event>,
        result: Option<&CheckResult>,
    ) -> StoreResult<bool>;
    /// Decided findings, newest first.
    async fn list_ct_findings(
        &self,
        org: &OrgId,
        query: &FindingQuery,
    ) -> StoreResult<Page<CtFinding>>;
    async fn get_ct_finding(
        &self,
        org: &OrgId,
        id: &CtCertificateId,
    ) -> StoreResult<Option<CtFinding>>;
}

/// Each CT log's read position, so a restart neither misses nor repeats entries.
#[async_trait]
pub trait LogPositionStore: Send + Sync {
    async fn get_log_position(&self, log_id: &str) -> StoreResult<Option<LogPosition>>;
    async fn put_log_position(&self, log_id: &str, position: &LogPosition) -> StoreResult<()>;
    /// Every stored position, by log id.
    async fn list_log_positions(&self) -> StoreResult<Vec<StoredLogPosition>>;
    /// Forgets a log's position, so that its next start follows the start
    /// rules again; `false` if none was stored.
    async fn delete_log_position(&self, log_id: &str) -> StoreResult<bool>;
}
