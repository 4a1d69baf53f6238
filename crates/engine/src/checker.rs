//! Runs a monitor's checks and applies their outcome.

use std::collections::{HashMap, HashSet};

use sha2::Digest;
use std::sync::{Arc, Mutex, RwLock};

use certsentry_domain::MonitorId;
use certsentry_domain::check::{CheckResult, CheckStatus};
use certsentry_domain::dns::DnsChangeTracker;
use certsentry_domain::monitor::{Monitor, MonitorKind, MonitorStatus, TargetHost};
use certsentry_domain::registration::registrable_domain;
use certsentry_domain::time::{Millis, now_ms};
use certsentry_probes::Prober;
use certsentry_probes::http::HttpCheck;
use certsentry_store::{
    CertificateSeen, CheckRecord, DomainRegistration, MonitorState, Store, StoreResult,
};

use crate::alerts::Alerter;
use crate::grading::{Grader, Seen};
use crate::quorum;
use crate::results;
use crate::writer::CheckWriter;

/// How often one registrable domain's registration is looked up.
pub const DOMAIN_RECHECK: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

/// Who asked for a run: how soon its outcome is committed, and how fresh a
/// TLS grade it wants, depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// The scheduler: nobody waits on the outcome.
    Scheduler,
    /// A caller of [`Checker::run`] awaiting the stored outcome.
    Caller,
    /// A person's "check now".
    Person,
}

pub struct Checker {
    store: Arc<dyn Store>,
    /// Results and state changes go through the batching writer.
    writer: CheckWriter,
    /// Turns outcomes into alert events.
    alerter: Alerter,
    prober: Prober,
    /// Regions whose uptime and TCP checks agents run: the server leaves
    /// them out of its own runs (`certsentry agent`).
    agent_regions: RwLock<HashSet<String>>,
    /// Last confirmed DNS answers per monitor (in memory: after a restart a
    /// change must be seen twice again).
    dns_trackers: Mutex<HashMap<MonitorId, DnsChangeTracker>>,
    /// TLS grades, scanned in the background after SSL checks.
    grader: Grader,
}

impl Checker {
    /// Starts a [`CheckWriter`] too, so call it inside a tokio runtime.
    /// A checker whose events wake nobody (tests and benchmarks without an
    /// outbox worker).
    pub fn new(store: Arc<dyn Store>, prober: Prober) -> Self {
        Self::with_outbox(store, prober, Arc::new(tokio::sync::Notify::new()))
    }

    /// A checker whose stored events wake the outbox worker through `outbox`.
    pub fn with_outbox(
        store: Arc<dyn Store>,
        prober: Prober,
        outbox: Arc<tokio::sync::Notify>,
    ) -> Self {
        let alerter = Alerter::new(store.clone(), outbox);
        Self {
            writer: CheckWriter::spawn(store.clone()),
            grader: Grader::new(store.clone(), alerter.clone(), prober.config().clone()),
            alerter,
            store,
            prober,
            agent_regions: RwLock::new(HashSet::new()),
            dns_trackers: Mutex::new(HashMap::new()),
        }
    }

    /// Runs every active check of `monitor` in each of its regions, stores the
    /// results and updates the monitor's state. Heartbeat monitors are passive.
    pub async fn run(&self, monitor: &Monitor) -> StoreResult<Vec<CheckResult>> {
        self.run_with(monitor, Trigger::Caller).await
    }

    /// As [`Checker::run`], asked for by a person (`POST …/check`): the TLS
    /// grade may be refreshed hourly rather than daily.
    pub async fn run_now(&self, monitor: &Monitor) -> StoreResult<Vec<CheckResult>> {
        self.run_with(monitor, Trigger::Person).await
    }

    /// As [`Checker::run`], from the scheduler: nobody waits on the
    /// outcome, so its write may wait longer for company.
    pub(crate) async fn run_scheduled(&self, monitor: &Monitor) -> StoreResult<Vec<CheckResult>> {
        self.run_with(monitor, Trigger::Scheduler).await
    }

    async fn run_with(&self, monitor: &Monitor, trigger: Trigger) -> StoreResult<Vec<CheckResult>> {
        let spec = &monitor.spec;
        let mut out = Vec::new();
        let mut hsts_max_age = None;
        let mut certificate = None;
        let mut dns_change = None;
        // `Some(expiry)` when a registration lookup (fresh or shared) applies.
        let mut domain_expiry = None;
        // The first uptime handshake, which the SSL check reads instead of
        // making its own when it went to the same endpoint.
        let mut served_tls = None;
        let regions: Vec<&str> = spec.regions.iter().map(String::as_str).collect();
        // Uptime and TCP checks of regions with agents are theirs to run.
        let local_regions: Vec<&str> = {
            let agents = self.agent_regions.read().unwrap_or_else(|p| p.into_inner());
            regions
                .iter()
                .copied()
                .filter(|r| !agents.contains(*r))
                .collect()
        };
        match spec.kind {
            MonitorKind::Standard => {
                if spec.check_uptime
                    && let Some(check) = HttpCheck::from_spec(spec)
                {
                    let check = HttpCheck {
                        keep_served_tls: spec.check_ssl,
                        ..check
                    };
                    for region in &local_regions {
                        let mut seen = self.prober.http(&check).await;
                        hsts_max_age = hsts_max_age.or(seen.hsts_max_age);
                        served_tls = served_tls.or(seen.served_tls.take());
                        out.push(results::uptime(monitor, region, &seen));
                    }
                }
                if spec.check_ssl
                    && let (Some((host, port)), Some(region)) =
                        (spec.tls_endpoint(), regions.first())
                {
                    let seen = match served_tls.filter(|s| s.host == host && s.port == port) {
                        Some(served) => certsentry_probes::tls::served(served),
                        None => self.prober.tls(&host, port).await,
                    };
                    out.push(results::ssl(monitor, region, &seen));
                    certificate = Some(seen);
                }
                if spec.check_dns
                    && let (Some(TargetHost::Name(name)), Some(region)) =
                        (spec.target_host(), regions.first())
                {
                    let (result, change) = self.check_dns(monitor, region, &name).await;
                    out.push(result);
                    dns_change = change;
                }
                if spec.check_domain
                    && let (Some(TargetHost::Name(name)), Some(region)) =
                        (spec.target_host(), regions.first())
                {
                    let (result, expiry) = self.check_domain(monitor, region, &name).await?;
                    out.extend(result);
                    domain_expiry = expiry;
                }
            }
            MonitorKind::Tcp => {
                if let (Some(target), Some(port)) = (spec.target.as_deref(), spec.tcp_port) {
                    for region in &local_regions {
                        out.push(results::tcp(
                            monitor,
                            region,
                            port,
                            &self.prober.tcp(target, port).await,
                        ));
                    }
                }
            }
            MonitorKind::Heartbeat => {}
        }
        let mut state = self.next_state(monitor, &out).await?;
        if let Some(expiry) = domain_expiry {
            state.domain_expiry = expiry;
        }
        let changed = state.last_status != monitor.last_status
            || state.ssl_not_after != monitor.ssl_not_after
            || state.domain_expiry != monitor.domain_expiry;
        if out.is_empty() && !changed {
            return Ok(out);
        }
        let record = CheckRecord {
            org_id: monitor.org_id.clone(),
            monitor_id: monitor.id.clone(),
            results: out.clone(),
            state: changed.then(|| state.clone()),
            ping: None,
            certificate: certificate.as_ref().map(|seen| {
                let (verdict, served) = results::certificate_records(monitor, seen);
                CertificateSeen { verdict, served }
            }),
        };
        match trigger {
            Trigger::Scheduler => self.writer.write_unattended(record).await?,
            Trigger::Caller | Trigger::Person => self.writer.write(record).await?,
        }
        self.raise_alerts(monitor, &out, &state, certificate.as_ref(), dns_change)
            .await?;
        let cert_sha256 = certificate
            .as_ref()
            .and_then(|c| c.leaf())
            .map(|leaf| leaf.sha256.clone());
        self.grader
            .after_check(
                monitor,
                Seen {
                    cert_sha256,
                    hsts_max_age,
                    manual: trigger == Trigger::Person,
                },
            )
            .await?;
        Ok(out)
    }

    /// Applies every alert rule to one run's outcome.
    async fn raise_alerts(
        &self,
        monitor: &Monitor,
        out: &[CheckResult],
        state: &MonitorState,
        certificate: Option<&certsentry_probes::tls::TlsObservation>,
        dns_change: Option<certsentry_domain::dns::DnsChange>,
    ) -> StoreResult<()> {
        use certsentry_domain::alert::{self, Decision, EventType};
        use certsentry_domain::check::CheckType;
        let availability: Vec<&CheckResult> = out
            .iter()
            .filter(|r| matches!(r.check_type, CheckType::Uptime | CheckType::Tcp))
            .collect();
        if !availability.is_empty() {
            let last_error = availability.iter().find_map(|r| r.error.as_deref());
            self.alerter
                .uptime(monitor, state.last_status, last_error)
                .await?;
        }
        if let Some(seen) = certificate {
            self.alerter
                .apply(monitor, alert::SslAlertState::KEY, |previous| {
                    alert::ssl_validity(previous, seen.valid, seen.error.as_deref())
                })
                .await?;
            if let Some(leaf) = seen.leaf() {
                self.alerter
                    .expiring(
                        monitor,
                        EventType::SslExpiring,
                        &leaf.sha256,
                        leaf.not_after,
                        serde_json::json!({ "Fingerprint": leaf.sha256, "Issuer": leaf.issuer }),
                    )
                    .await?;
            }
        }
        if let Some(expiry) = state.domain_expiry
            && monitor.spec.check_domain
            && let Some(TargetHost::Name(host)) = monitor.spec.target_host()
            && let Some(domain) = registrable_domain(&host)
        {
            self.alerter
                .expiring(
                    monitor,
                    EventType::DomainExpiring,
                    &format!("{domain}:{expiry}"),
                    expiry,
                    serde_json::json!({ "Domain": domain }),
                )
                .await?;
        }
        if let Some(change) = dns_change {
            let after = serde_json::to_string(&change.after).unwrap_or_default();
            let fingerprint = hex::encode(&sha2::Sha256::digest(after.as_bytes())[..12]);
            let fingerprint = alert::DnsFingerprint(fingerprint);
            self.alerter
                .apply(monitor, alert::DnsFingerprint::KEY, |previous| Decision {
                    event: (previous.as_ref() != Some(&fingerprint)).then(|| alert::Draft {
                        event_type: EventType::DnsChanged,
                        severity: alert::Severity::Warning,
                        status: "changed".into(),
                        details: serde_json::json!({ "before": change.before, "after": change.after }),
                    }),
                    next: fingerprint.clone(),
                })
                .await?;
        }
        Ok(())
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub(crate) fn agent_regions_lock(&self) -> std::sync::RwLockWriteGuard<'_, HashSet<String>> {
        self.agent_regions
            .write()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Raises alerts; shared with heartbeat ingestion and the outbox.
    pub fn alerter(&self) -> &Alerter {
        &self.alerter
    }

    /// The batching writer, shared with heartbeat ingestion.
    pub fn writer(&self) -> &CheckWriter {
        &self.writer
    }

    /// Asks every record type and confirms changes seen twice in a row.
    async fn check_dns(
        &self,
        monitor: &Monitor,
        region: &str,
        name: &str,
    ) -> (CheckResult, Option<certsentry_domain::dns::DnsChange>) {
        let started = std::time::Instant::now();
        let seen = self.prober.dns(name).await;
        let latency = started.elapsed().as_millis().min(u32::MAX as u128) as u32;
        let change = match &seen {
            Ok(snapshot) => {
                let mut trackers = self.dns_trackers.lock().unwrap_or_else(|p| p.into_inner());
                trackers
                    .entry(monitor.id.clone())
                    .or_default()
                    .observe(snapshot)
            }
            Err(_) => None,
        };
        if let Some(change) = &change {
            tracing::info!(monitor = %monitor.id, ?change, "DNS change confirmed");
        }
        let result = results::dns(monitor, region, &seen, change.as_ref(), latency);
        (result, change)
    }

    /// Looks the registration up at most once per [`DOMAIN_RECHECK`] per
    /// registrable domain (whatever the interval, and shared by every monitor
    /// and node); in between, the stored answer fills `domainExpiry`.
    /// Returns the result when a lookup ran, and the expiry to keep.
    async fn check_domain(
        &self,
        monitor: &Monitor,
        region: &str,
        host: &str,
    ) -> StoreResult<(Option<CheckResult>, Option<Option<Millis>>)> {
        let Some(domain) = registrable_domain(host) else {
            return Ok((None, None));
        };
        let now = now_ms();
        let stale_before = now - DOMAIN_RECHECK.as_millis() as i64;
        if let Some(known) = self.store.get_domain_registration(&domain).await?
            && known.checked_at >= stale_before
        {
            return Ok((None, Some(known.expires_at.or(monitor.domain_expiry))));
        }
        if !self
            .store
            .claim_domain_lookup(&domain, now, stale_before)
            .await?
        {
            // Another check claimed it a moment ago; its answer comes next run.
            return Ok((None, None));
        }
        let seen = self.prober.registration(&domain).await;
        self.store
            .finish_domain_lookup(&DomainRegistration {
                domain: domain.clone(),
                checked_at: now,
                expires_at: seen.expires_at,
                source: seen.source.map(str::to_string),
                server: seen.server.clone(),
                error: seen.error.clone(),
            })
            .await?;
        let result = results::domain(monitor, region, &seen);
        // An unknown answer keeps the last known expiry rather than erasing it.
        Ok((
            Some(result),
            Some(seen.expires_at.or(monitor.domain_expiry)),
        ))
    }

    /// Applies the outage rule to uptime/TCP results and keeps sslNotAfter
    /// current. A monitor with an uptime or TCP check takes its status from
    /// the shared outage rule, whether this run or an agent fed it.
    async fn next_state(
        &self,
        monitor: &Monitor,
        results: &[CheckResult],
    ) -> StoreResult<MonitorState> {
        use certsentry_domain::check::CheckType;
        let mut state = MonitorState {
            last_status: monitor.last_status,
            ssl_not_after: monitor.ssl_not_after,
            domain_expiry: monitor.domain_expiry,
        };
        for result in results {
            if result.check_type == CheckType::Ssl
                && let Some(not_after) = result.details["notAfter"]
                    .as_str()
                    .and_then(certsentry_domain::time::parse_datetime)
            {
                state.ssl_not_after = Some(not_after);
            }
        }
        let availability: Vec<&CheckResult> = results
            .iter()
            .filter(|r| quorum::is_availability(r))
            .collect();
        let has_uptime = certsentry_domain::agent::agent_check(&monitor.spec).is_some();
        state.last_status = if !availability.is_empty() || has_uptime {
            quorum::feed(&*self.store, monitor, &availability, now_ms())
                .await?
                .unwrap_or(monitor.last_status)
        } else {
            // Unknown outcomes (a registry with no data) say nothing about health.
            let decided: Vec<_> = results
                .iter()
                .filter(|r| r.status != CheckStatus::Unknown)
                .collect();
            if decided.is_empty() {
                monitor.last_status
            } else if decided.iter().all(|r| r.status == CheckStatus::Ok) {
                MonitorStatus::Up
            } else {
                MonitorStatus::Down
            }
        };
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use certsentry_domain::monitor::MonitorSpec;

    #[test]
    fn tls_endpoints_from_targets() {
        let endpoint = |target: &str| {
            MonitorSpec::standard("m", target, vec!["virginia".into()]).tls_endpoint()
        };
        assert_eq!(
            endpoint("https://Acme.example.com/health"),
            Some(("acme.example.com".into(), 443))
        );
        assert_eq!(
            endpoint("https://acme.example.com:8443"),
            Some(("acme.example.com".into(), 8443))
        );
        assert_eq!(endpoint("https://[::1]:9443/x"), Some(("::1".into(), 9443)));
        assert_eq!(
            endpoint("http://127.0.0.1/"),
            Some(("127.0.0.1".into(), 443))
        );
        assert_eq!(
            endpoint("acme.example.com"),
            Some(("acme.example.com".into(), 443))
        );
        let graded = MonitorSpec::standard("m", "https://[::1]:9443/x", vec!["virginia".into()]);
        assert_eq!(graded.graded_endpoint().as_deref(), Some("[::1]:9443"));
    }
}
