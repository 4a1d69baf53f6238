//! TLS scans per endpoint, claimed once across nodes.

use certsentry_domain as d;

use super::*;
use crate::tls::{TlsScanRecord, TlsScanStore};
use crate::*;

/// A changed certificate re-grades at once, but not more than once a
/// minute, so a server rotating between two certificates cannot set off
/// a scan per check.
const CERTIFICATE_CHANGE_SPACING_MS: i64 = 60_000;

#[async_trait::async_trait]
impl<B: SqlBackend> TlsScanStore for SqlStore<B> {
    async fn get_tls_scan(&self, endpoint: &str) -> StoreResult<Option<TlsScanRecord>> {
        let row = query::<B>(
            "SELECT endpoint, claimed_at, graded_at, cert_sha256, grade, grade_ignoring_trust, \
             report, error FROM tls_scans WHERE endpoint = $1",
        )
        .bind(endpoint)
        .fetch_optional(self.read_pool())
        .await?;
        row.map(|row| -> StoreResult<TlsScanRecord> {
            Ok(TlsScanRecord {
                endpoint: row.get("endpoint")?,
                claimed_at: row.get("claimed_at")?,
                graded_at: row.get("graded_at")?,
                cert_sha256: row.get("cert_sha256")?,
                grade: row.get("grade")?,
                grade_ignoring_trust: row.get("grade_ignoring_trust")?,
                report: row
                    .get::<Option<String>>("report")?
                    .map(|json| decode_json(&json))
                    .transpose()?,
                error: row.get("error")?,
            })
        })
        .transpose()
    }

    async fn list_tls_grades(&self, endpoints: &[String]) -> StoreResult<Vec<(String, String)>> {
        let mut grades = Vec::new();
        for chunk in endpoints.chunks(500) {
            let rows = fetch_in::<B, _>(
                self.read_pool(),
                "endpoint, grade",
                "tls_scans",
                "endpoint",
                chunk,
            )
            .await?;
            for row in rows {
                if let Some(grade) = row.get::<Option<String>>("grade")? {
                    grades.push((row.get("endpoint")?, grade));
                }
            }
        }
        Ok(grades)
    }

    async fn claim_tls_scan(
        &self,
        endpoint: &str,
        now: d::time::Millis,
        stale_before: d::time::Millis,
        cert_sha256: Option<&str>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let done = query::<B>(
            "INSERT INTO tls_scans (endpoint, claimed_at, cert_sha256) VALUES ($1, $2, $4) \
             ON CONFLICT (endpoint) DO UPDATE SET claimed_at = $2, cert_sha256 = $4 \
             WHERE tls_scans.claimed_at < $3 \
             OR ($4 IS NOT NULL AND COALESCE(tls_scans.cert_sha256, '') <> $4 \
                 AND tls_scans.claimed_at < $5)",
        )
        .bind(endpoint)
        .bind(now)
        .bind(stale_before)
        .bind(cert_sha256)
        .bind(now - CERTIFICATE_CHANGE_SPACING_MS)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish_tls_scan(&self, r: &TlsScanRecord) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        query::<B>(
            "UPDATE tls_scans SET graded_at = $2, grade = $3, grade_ignoring_trust = $4, \
             report = $5, error = $6 WHERE endpoint = $1",
        )
        .bind(&r.endpoint)
        .bind(r.graded_at)
        .bind(r.grade.as_deref())
        .bind(r.grade_ignoring_trust.as_deref())
        .bind(r.report.as_ref().map(|v| v.to_string()))
        .bind(r.error.as_deref())
        .execute(&mut tx)
        .await?;
        tx.commit().await.map_err(StoreError::from)
    }
}
