//! Storage for DMARC: the domains (with their hashed reporting-address
//! tokens), the aggregate reports (deduplicated by their identity), the
//! sources seen per domain, refused imports, and TLS reports.

use std::net::IpAddr;

use async_trait::async_trait;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::dmarc::{DmarcDomain, DmarcReport, DmarcSource, RejectedImport};
use certsentry_domain::time::Millis;
use certsentry_domain::{DmarcDomainId, DmarcReportId, OrgId};

use crate::{Page, StoreResult};

/// What importing a report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Stored; `events` alerts were raised with it.
    Stored { id: DmarcReportId, events: usize },
    /// The same report (reporter, report id, policy domain, date range) was
    /// already stored for the organization; nothing was counted again.
    Duplicate { id: DmarcReportId },
}

/// A TLS report (RFC 8460), kept as its own kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsReport {
    pub org_id: OrgId,
    pub domain_id: DmarcDomainId,
    pub organization: String,
    pub report_id: String,
    pub begin: String,
    pub end: String,
    pub successful_sessions: u64,
    pub failed_sessions: u64,
    pub received_at: Millis,
}

/// DMARC domains, their reports and sources.
#[async_trait]
pub trait DmarcStore: Send + Sync {
    /// `Conflict("domain")` if the organization has it already;
    /// `QuotaExceeded` past `max_domains`.
    async fn create_dmarc_domain(
        &self,
        domain: &DmarcDomain,
        token_hash: &str,
        max_domains: u32,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Oldest first.
    async fn list_dmarc_domains(&self, org: &OrgId) -> StoreResult<Vec<DmarcDomain>>;
    async fn get_dmarc_domain(
        &self,
        org: &OrgId,
        id: &DmarcDomainId,
    ) -> StoreResult<Option<DmarcDomain>>;
    /// Saves the threshold (the only field that changes).
    async fn update_dmarc_domain(
        &self,
        domain: &DmarcDomain,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Deletes the domain with its reports, sources and imports.
    async fn delete_dmarc_domain(
        &self,
        org: &OrgId,
        id: &DmarcDomainId,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// Replaces the token; the previous one stays valid until
    /// `previous_valid_until`.
    async fn rotate_dmarc_token(
        &self,
        org: &OrgId,
        id: &DmarcDomainId,
        token_hash: &str,
        previous_valid_until: Millis,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    /// The domain whose current token, or previous token still in its grace
    /// period at `now`, has this hash.
    async fn dmarc_domain_by_token(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> StoreResult<Option<DmarcDomain>>;
    /// Stores a report once, adds its sources to the domain's, and raises
    /// its alerts (a new failing source, unless this is the domain's first
    /// report; the failure rate, at most once a day by compare-and-swap on
    /// `last_failure_rate_alert_at`), all in one transaction.
    async fn import_dmarc_report(
        &self,
        domain: &DmarcDomain,
        report: &DmarcReport,
    ) -> StoreResult<ImportOutcome>;
    /// Newest first.
    async fn list_dmarc_reports(
        &self,
        org: &OrgId,
        domain: &DmarcDomainId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<DmarcReport>>;
    /// Most recently active first.
    async fn list_dmarc_sources(
        &self,
        org: &OrgId,
        domain: &DmarcDomainId,
        limit: u32,
    ) -> StoreResult<Vec<DmarcSource>>;
    async fn record_rejected_import(&self, import: &RejectedImport) -> StoreResult<()>;
    /// Newest first.
    async fn list_rejected_imports(
        &self,
        org: &OrgId,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<RejectedImport>>;
    /// Stores a TLS report once; `false` if it was already stored.
    async fn insert_tls_report(&self, report: &TlsReport) -> StoreResult<bool>;
    /// Deletes the organization's reports that ended before `before`.
    async fn prune_dmarc_reports(&self, org: &OrgId, before: Millis) -> StoreResult<u64>;
    /// Source IPs with no reverse name checked since `stale_before`.
    async fn ips_needing_ptr(&self, stale_before: Millis, limit: u32) -> StoreResult<Vec<IpAddr>>;
    /// Records an IP's reverse name (`None`: it has none) as of `checked_at`.
    async fn record_ptr(
        &self,
        ip: IpAddr,
        name: Option<&str>,
        checked_at: Millis,
    ) -> StoreResult<()>;
}
