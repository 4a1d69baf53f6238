//! From received bytes to stored reports, for every way in (SMTP, the
//! HTTP upload, IMAP): extract and parse off the async threads, store each
//! report once with its alerts, keep TLS reports as their own kind, and
//! keep a file that cannot be read as a refused import with its reason.

use std::sync::Arc;

use certsentry_domain::dmarc::{DmarcDomain, DmarcReport, RejectedImport, ReportSummary};
use certsentry_domain::time::now_ms;
use certsentry_domain::{DmarcImportId, DmarcReportId, OrgId};
use certsentry_store::{ImportOutcome, Store, StoreError, TlsReport};
use prometheus_client::metrics::counter::Counter;

use crate::{Extracted, Limits, extract};

/// Counters for `/metrics`: what arrived and what became of it.
#[derive(Debug, Default)]
pub struct IntakeStats {
    pub reports_stored: Counter,
    pub reports_duplicate: Counter,
    pub files_refused: Counter,
    pub rows_skipped: Counter,
    pub tls_reports: Counter,
}

impl IntakeStats {
    /// Registers the counters under `dmarc_` in the one registry.
    pub fn register(&self, registry: &mut prometheus_client::registry::Registry) {
        let dmarc = registry.sub_registry_with_prefix("dmarc");
        let families = [
            (
                "reports_stored",
                "Aggregate reports stored.",
                &self.reports_stored,
            ),
            (
                "reports_duplicate",
                "Aggregate reports received again and not counted twice.",
                &self.reports_duplicate,
            ),
            (
                "files_refused",
                "Received files with no readable report.",
                &self.files_refused,
            ),
            (
                "rows_skipped",
                "Report rows that could not be read (skipped).",
                &self.rows_skipped,
            ),
            (
                "tls_reports",
                "SMTP TLS reports (RFC 8460) stored.",
                &self.tls_reports,
            ),
        ];
        for (name, help, counter) in families {
            dmarc.register(name, help, counter.clone());
        }
    }
}

/// One report of a file, and whether it was already stored.
#[derive(Debug, Clone)]
pub struct ImportedReport {
    pub report: DmarcReport,
    pub duplicate: bool,
}

#[derive(Debug, Default)]
pub struct Imported {
    pub reports: Vec<ImportedReport>,
    pub tls_reports: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The file holds no report that could be read; it was recorded as a
    /// refused import with this reason.
    #[error("{0}")]
    Unreadable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The shared way from bytes to stored reports.
pub struct Intake {
    store: Arc<dyn Store>,
    limits: Limits,
    pub stats: Arc<IntakeStats>,
}

impl Intake {
    pub fn new(store: Arc<dyn Store>, limits: Limits) -> Self {
        Self {
            store,
            limits,
            stats: Arc::default(),
        }
    }

    /// Imports every report in `bytes` for `domain`. `via` says how it came
    /// (`smtp`, `upload`). Returns once everything is committed.
    pub async fn import(
        &self,
        domain: &DmarcDomain,
        bytes: Vec<u8>,
        via: &str,
    ) -> Result<Imported, IntakeError> {
        let size = bytes.len() as u64;
        let found = match self.extract(bytes).await {
            Ok(found) => found,
            Err(reason) => return Err(self.refuse(domain, via, size, reason).await),
        };
        let choose = |policy: Option<&str>| belongs_to(policy, domain).map(|()| domain.clone());
        match self.store_found(found, choose).await? {
            Ok(imported) => Ok(imported),
            Err(reason) => Err(self.refuse(domain, via, size, reason).await),
        }
    }

    /// Imports every report in `bytes` for whichever of `org`'s domains
    /// each is about (IMAP: one mailbox may hold reports for several).
    pub async fn import_for_org(
        &self,
        org: &OrgId,
        bytes: Vec<u8>,
        via: &str,
    ) -> Result<Imported, IntakeError> {
        let domains = self.store.list_dmarc_domains(org).await?;
        let found = match self.extract(bytes).await {
            Ok(found) => found,
            Err(reason) => {
                self.stats.files_refused.inc_by(1);
                return Err(IntakeError::Unreadable(reason));
            }
        };
        let choose = |policy: Option<&str>| {
            // The domain itself first, then a parent or a subdomain of it.
            let exact = domains.iter().find(|d| Some(d.domain.as_str()) == policy);
            exact
                .or_else(|| domains.iter().find(|d| belongs_to(policy, d).is_ok()))
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "no DMARC domain of the organization for {}",
                        policy.unwrap_or("a report without a policy domain")
                    )
                })
        };
        match self.store_found(found, choose).await? {
            Ok(imported) => Ok(imported),
            Err(reason) => {
                self.stats.files_refused.inc_by(1);
                tracing::warn!(via, %reason, "DMARC mail refused");
                Err(IntakeError::Unreadable(reason))
            }
        }
    }

    /// Extraction, off the async threads.
    async fn extract(&self, bytes: Vec<u8>) -> Result<Vec<Extracted>, String> {
        let limits = self.limits;
        tokio::task::spawn_blocking(move || extract(&bytes, &limits))
            .await
            .map_err(|e| format!("the parser stopped: {e}"))?
            .map_err(|e| e.to_string())
    }

    /// Stores each found report for the domain `choose` gives its policy
    /// domain. `Ok(Err(reason))` when nothing could be stored.
    async fn store_found(
        &self,
        found: Vec<Extracted>,
        choose: impl Fn(Option<&str>) -> Result<DmarcDomain, String>,
    ) -> Result<Result<Imported, String>, IntakeError> {
        let mut imported = Imported::default();
        let mut problems = Vec::new();
        for item in found {
            match item {
                Extracted::Aggregate(summary) => {
                    let domain = match choose(summary.policy.domain.as_deref()) {
                        Ok(domain) => domain,
                        Err(reason) => {
                            problems.push(format!(
                                "the report {} from {}: {reason}",
                                summary.external_id, summary.reporter_org
                            ));
                            continue;
                        }
                    };
                    imported
                        .reports
                        .push(self.store_report(&domain, summary).await?);
                }
                Extracted::TlsRpt(tls) => {
                    let domain = match choose(tls.policy_domain.as_deref()) {
                        Ok(domain) => domain,
                        Err(reason) => {
                            problems.push(format!("the TLS report {}: {reason}", tls.report_id));
                            continue;
                        }
                    };
                    let report = TlsReport {
                        org_id: domain.org_id.clone(),
                        domain_id: domain.id.clone(),
                        organization: tls.organization,
                        report_id: tls.report_id,
                        begin: tls.begin,
                        end: tls.end,
                        successful_sessions: tls.successful_sessions,
                        failed_sessions: tls.failed_sessions,
                        received_at: now_ms(),
                    };
                    self.store.insert_tls_report(&report).await?;
                    self.stats.tls_reports.inc_by(1);
                    imported.tls_reports += 1;
                }
            }
        }
        if imported.reports.is_empty() && imported.tls_reports == 0 {
            let reason = problems
                .into_iter()
                .next()
                .unwrap_or_else(|| "no report in the file".into());
            return Ok(Err(reason));
        }
        Ok(Ok(imported))
    }

    async fn store_report(
        &self,
        domain: &DmarcDomain,
        summary: ReportSummary,
    ) -> Result<ImportedReport, IntakeError> {
        self.stats.rows_skipped.inc_by(summary.rows_skipped);
        let mut report = DmarcReport {
            id: DmarcReportId::generate(),
            org_id: domain.org_id.clone(),
            domain_id: domain.id.clone(),
            summary,
            received_at: now_ms(),
        };
        let duplicate = match self.store.import_dmarc_report(domain, &report).await? {
            ImportOutcome::Stored { .. } => {
                self.stats.reports_stored.inc_by(1);
                false
            }
            ImportOutcome::Duplicate { id } => {
                self.stats.reports_duplicate.inc_by(1);
                report.id = id;
                true
            }
        };
        Ok(ImportedReport { report, duplicate })
    }

    /// Records a refused file; a failure to record it is logged, and the
    /// reason still goes back to the sender.
    async fn refuse(
        &self,
        domain: &DmarcDomain,
        via: &str,
        size: u64,
        reason: String,
    ) -> IntakeError {
        self.stats.files_refused.inc_by(1);
        tracing::warn!(domain = %domain.domain, via, %reason, "DMARC file refused");
        let import = RejectedImport {
            id: DmarcImportId::generate(),
            org_id: domain.org_id.clone(),
            domain_id: domain.id.clone(),
            via: via.into(),
            reason: reason.clone(),
            size_bytes: size,
            received_at: now_ms(),
        };
        if let Err(e) = self.store.record_rejected_import(&import).await {
            tracing::error!(error = %e, "recording a refused DMARC file failed");
        }
        IntakeError::Unreadable(reason)
    }
}

/// A report belongs to a domain when its policy domain is the domain, a
/// subdomain of it, or its parent (reports name the organizational domain).
fn belongs_to(policy: Option<&str>, domain: &DmarcDomain) -> Result<(), String> {
    let Some(policy) = policy else {
        return Ok(());
    };
    let policy = policy.trim_end_matches('.');
    let ours = domain.domain.as_str();
    let related = policy == ours
        || policy.ends_with(&format!(".{ours}"))
        || ours.ends_with(&format!(".{policy}"));
    if related {
        Ok(())
    } else {
        Err(format!("it is about {policy}, not {ours}"))
    }
}
