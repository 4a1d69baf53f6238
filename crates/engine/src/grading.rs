//! TLS grades, as part of the SSL check: an endpoint is scanned at most
//! once a day (once an hour when someone asks for a check, and again when
//! the served certificate changes), whoever watches it, with the same
//! claim-once pattern as domain lookups. The scan runs in the background,
//! so a check never waits for it; when it ends, the grade is stored and
//! the grade rule runs for the monitor that set it off. Every other
//! monitor of the endpoint meets the new grade on its next check.

use std::sync::Arc;
use std::time::Duration;

use certsentry_domain::monitor::{Monitor, MonitorKind, endpoint_key};
use certsentry_domain::time::now_ms;
use certsentry_domain::tls::grade::grade;
use certsentry_domain::tls::rule::{GradeState, grade_changed};
use certsentry_domain::tls::{TlsReport, mozilla};
use certsentry_probes::ProbeConfig;
use certsentry_probes::tls_scan::{ScanConfig, Starttls, judge_certificate, scan};
use certsentry_store::{Store, StoreResult, TlsScanRecord};
use tokio::sync::Semaphore;

use crate::alerts::Alerter;

/// How often one endpoint is graded by scheduled checks.
pub const GRADE_RECHECK: Duration = Duration::from_secs(24 * 3600);
/// How often a manual check may re-grade one endpoint.
pub const MANUAL_REGRADE: Duration = Duration::from_secs(3600);
/// Scans running at once on one node.
const CONCURRENT_SCANS: usize = 4;

/// What a check saw that the grade needs.
pub struct Seen {
    /// The served leaf's SHA-256 (a change re-grades).
    pub cert_sha256: Option<String>,
    /// HSTS `max-age` from the uptime check's HTTPS response.
    pub hsts_max_age: Option<u64>,
    pub manual: bool,
}

#[derive(Clone)]
pub struct Grader {
    store: Arc<dyn Store>,
    alerter: Alerter,
    probe: ProbeConfig,
    config: ScanConfig,
    running: Arc<Semaphore>,
}

impl Grader {
    pub fn new(store: Arc<dyn Store>, alerter: Alerter, probe: ProbeConfig) -> Self {
        Self {
            store,
            alerter,
            config: ScanConfig {
                timeout: probe.timeout,
                gap: probe.tls_scan_gap,
            },
            probe,
            running: Arc::new(Semaphore::new(CONCURRENT_SCANS)),
        }
    }

    /// After a check of `monitor`: tells it the endpoint's current grade,
    /// and starts a scan when one is due.
    pub async fn after_check(&self, monitor: &Monitor, seen: Seen) -> StoreResult<()> {
        let Some((host, port)) = monitor.spec.graded_target() else {
            return Ok(());
        };
        let endpoint = endpoint_key(&host, port);
        let known = self.store.get_tls_scan(&endpoint).await?;
        if let Some(known) = &known {
            self.tell(monitor, known).await?;
        }
        let now = now_ms();
        let every = if seen.manual {
            MANUAL_REGRADE
        } else {
            GRADE_RECHECK
        };
        let stale_before = now - every.as_millis() as i64;
        // A claim that cannot succeed is not attempted: it would be a write
        // transaction on every check of every SSL-checked monitor. Claims
        // only move forward, so a claim that fails on what was just read
        // fails on anything newer; a changed certificate is the store's to
        // judge.
        let current = known.as_ref().is_some_and(|known| {
            known.claimed_at >= stale_before
                && (seen.cert_sha256.is_none() || known.cert_sha256 == seen.cert_sha256)
        });
        if current {
            return Ok(());
        }
        if !self
            .store
            .claim_tls_scan(&endpoint, now, stale_before, seen.cert_sha256.as_deref())
            .await?
        {
            return Ok(());
        }
        let grader = self.clone();
        let monitor = monitor.clone();
        tokio::spawn(async move {
            let _permit = grader.running.acquire().await;
            // A `tcp` monitor's mail port is scanned through STARTTLS.
            let starttls = match monitor.spec.kind {
                MonitorKind::Tcp => Starttls::for_port(port),
                _ => None,
            };
            let record = grader
                .scan(&host, port, starttls, &endpoint, seen, now)
                .await;
            let finished = async {
                grader.store.finish_tls_scan(&record).await?;
                grader.tell(&monitor, &record).await
            };
            if let Err(e) = finished.await {
                tracing::warn!(%endpoint, error = %e, "could not store a TLS grade");
            }
        });
        Ok(())
    }

    async fn scan(
        &self,
        host: &str,
        port: u16,
        starttls: Option<Starttls>,
        endpoint: &str,
        seen: Seen,
        claimed_at: i64,
    ) -> TlsScanRecord {
        let mut record = TlsScanRecord {
            endpoint: endpoint.to_string(),
            claimed_at,
            graded_at: None,
            cert_sha256: seen.cert_sha256,
            grade: None,
            grade_ignoring_trust: None,
            report: None,
            error: None,
        };
        let mut found = match scan(host, port, starttls, &self.probe, &self.config).await {
            Ok(found) => found,
            Err(e) => {
                record.error = Some(e);
                return record;
            }
        };
        judge_certificate(&mut found, host, &self.probe);
        found.findings.hsts_max_age = seen.hsts_max_age;
        let Some(graded) = grade(&found.findings) else {
            record.error = Some("the server speaks no TLS".into());
            return record;
        };
        let graded_at = now_ms();
        record.graded_at = Some(graded_at);
        record.grade = Some(graded.grade.clone());
        record.grade_ignoring_trust = Some(graded.grade_ignoring_trust.clone());
        let report = TlsReport {
            endpoint: endpoint.to_string(),
            starttls: starttls.map(|s| format!("{s:?}").to_lowercase()),
            graded_at,
            mozilla: mozilla::profiles(&found.findings),
            grade: graded,
            findings: found.findings,
        };
        record.report = serde_json::to_value(&report).ok();
        record
    }

    /// Runs the grade rule for `monitor` with the endpoint's stored grade.
    async fn tell(&self, monitor: &Monitor, known: &TlsScanRecord) -> StoreResult<()> {
        let Some(grade) = known.grade.clone() else {
            return Ok(());
        };
        let caps: Vec<String> = known
            .report
            .as_ref()
            .and_then(|r| serde_json::from_value::<TlsReport>(r.clone()).ok())
            .map(|r| {
                r.grade
                    .reasons
                    .into_iter()
                    .filter(|reason| reason.cap.is_some())
                    .map(|reason| reason.message)
                    .collect()
            })
            .unwrap_or_default();
        self.alerter
            .apply(monitor, GradeState::KEY, |previous| {
                grade_changed(previous, &grade, &caps)
            })
            .await
            .map(|_| ())
    }
}
