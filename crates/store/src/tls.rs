//! TLS configuration grades per endpoint (`host:port`), shared by every
//! monitor and organization that checks it: a scan takes dozens of
//! handshakes, so one endpoint is scanned at most once a day (an hour
//! apart at most for manual checks, and again when the served certificate
//! changes), whoever asks and on whichever node.

use async_trait::async_trait;
use certsentry_domain::time::Millis;

use crate::StoreResult;

/// One endpoint's latest scan.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsScanRecord {
    /// `host:port` (`[v6]:port` for IPv6).
    pub endpoint: String,
    /// When the running or last scan was claimed.
    pub claimed_at: Millis,
    pub graded_at: Option<Millis>,
    /// The served leaf's SHA-256 when the scan was claimed.
    pub cert_sha256: Option<String>,
    pub grade: Option<String>,
    pub grade_ignoring_trust: Option<String>,
    /// The findings, grade and reasons as the API shows them.
    pub report: Option<serde_json::Value>,
    /// Why the last scan found nothing to grade.
    pub error: Option<String>,
}

#[async_trait]
pub trait TlsScanStore: Send + Sync {
    async fn get_tls_scan(&self, endpoint: &str) -> StoreResult<Option<TlsScanRecord>>;
    /// The grades of `endpoints` that have one, as (endpoint, grade).
    async fn list_tls_grades(&self, endpoints: &[String]) -> StoreResult<Vec<(String, String)>>;
    /// Claims a scan of `endpoint` at `now` when none was claimed at or
    /// after `stale_before`, or when the served certificate is no longer
    /// `cert_sha256`'s predecessor; `true` for exactly one caller.
    async fn claim_tls_scan(
        &self,
        endpoint: &str,
        now: Millis,
        stale_before: Millis,
        cert_sha256: Option<&str>,
    ) -> StoreResult<bool>;
    /// Stores a claimed scan's outcome (keeps `claimed_at` and the certificate).
    async fn finish_tls_scan(&self, record: &TlsScanRecord) -> StoreResult<()>;
}
