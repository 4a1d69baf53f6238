//! Query and page shapes shared by the trait's callers and backends.

use certsentry_domain::MonitorId;
use certsentry_domain::check::{CheckStatus, CheckType};
use certsentry_domain::monitor::{Monitor, MonitorKind};
use certsentry_domain::time::Millis;

/// One page of a cursor-paginated list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Id to pass as the next `cursor`; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// `GET /monitors`: oldest first, after `cursor`.
#[derive(Debug, Clone, Default)]
pub struct MonitorQuery {
    pub kind: Option<MonitorKind>,
    pub enabled: Option<bool>,
    pub cursor: Option<String>,
    pub limit: u32,
}

/// `GET /audit-logs`: newest first, before `cursor`.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub since: Option<Millis>,
    pub cursor: Option<String>,
    pub limit: u32,
}

/// What a sync will do, already validated.
#[derive(Debug, Clone, Default)]
pub struct SyncChanges {
    pub create: Vec<Monitor>,
    pub update: Vec<Monitor>,
    pub delete: Vec<MonitorId>,
}

/// `GET /monitors/:id/results`: newest first, before `cursor`.
#[derive(Debug, Clone, Default)]
pub struct ResultQuery {
    pub check_type: Option<CheckType>,
    pub status: Option<CheckStatus>,
    pub since: Option<Millis>,
    pub cursor: Option<String>,
    pub limit: u32,
}

/// The latest SSL check's verdict on a monitor's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorCertificate {
    pub monitor_id: MonitorId,
    pub org_id: certsentry_domain::OrgId,
    pub valid: bool,
    pub error: Option<String>,
    /// Issuer organization, e.g. "Let's Encrypt".
    pub issuer: Option<String>,
    pub not_after: Option<Millis>,
    pub sha256: Option<String>,
    pub checked_at: Millis,
}

/// A certificate seen served by one of the organization's endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedCertificate {
    pub sha256: String,
    /// Cert Spotter's `tbs_sha256`, so CT matches its precertificate too.
    pub tbs_sha256: Option<String>,
    pub spki_sha256: String,
    pub not_after: Millis,
    pub first_seen_at: Millis,
    pub last_seen_at: Millis,
}

/// A heartbeat monitor's last ping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatState {
    pub monitor_id: MonitorId,
    pub org_id: certsentry_domain::OrgId,
    pub last_ping_at: Millis,
    pub last_ping_ok: bool,
    /// A miss was recorded since the last ping.
    pub missed: bool,
}

/// The last registration lookup of a registrable domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRegistration {
    pub domain: String,
    /// When the lookup was claimed (started).
    pub checked_at: Millis,
    pub expires_at: Option<Millis>,
    /// `rdap` or `whois`.
    pub source: Option<String>,
    pub server: Option<String>,
    /// Why the expiry is unknown.
    pub error: Option<String>,
}

/// One monitor's outcome, as the batching writer queues it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRecord {
    pub org_id: certsentry_domain::OrgId,
    pub monitor_id: MonitorId,
    pub results: Vec<certsentry_domain::check::CheckResult>,
    /// The monitor's new state, when it changed.
    pub state: Option<crate::MonitorState>,
    /// A heartbeat ping to record (and clear any recorded miss).
    pub ping: Option<HeartbeatState>,
    /// What an SSL check saw, written in the batch's transaction rather
    /// than one of its own (see [`CertificateSeen`]).
    pub certificate: Option<CertificateSeen>,
}

/// An SSL check's verdict on the monitor's certificate, and the leaf for
/// the organization's inventory of served certificates.
///
/// Why it rides in the check's record: written alone it was a transaction
/// per SSL check, the largest part of what an SSL check added to a
/// check's CPU (`certsentry-bench engine --ssl`); in the writer's batch it
/// shares the commit of the checks around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSeen {
    pub verdict: MonitorCertificate,
    pub served: Option<ServedCertificate>,
}
