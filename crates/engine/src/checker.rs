//! Runs a monitor's checks and applies their outcome.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use certsentry_domain::MonitorId;
use certsentry_domain::check::{CheckResult, CheckStatus, UptimeTracker};
use certsentry_domain::dns::DnsChangeTracker;
use certsentry_domain::monitor::{Monitor, MonitorKind, MonitorStatus, TargetHost};
use certsentry_probes::Prober;
use certsentry_probes::http::HttpCheck;
use certsentry_store::{MonitorState, Store, StoreResult};

use crate::results;

pub struct Checker {
    store: Arc<dyn Store>,
    prober: Prober,
    /// The outage rule's state per monitor. In memory: after a restart a
    /// monitor needs fresh consecutive failures before it is called down.
    trackers: Mutex<HashMap<MonitorId, UptimeTracker>>,
    /// Last confirmed DNS answers per monitor (in memory, like `trackers`).
    dns_trackers: Mutex<HashMap<MonitorId, DnsChangeTracker>>,
}

/// The host and port an SSL check handshakes with: the target's host, and
/// the URL's explicit port or 443 (an `http://` target is still checked on 443).
fn tls_endpoint(monitor: &Monitor) -> Option<(String, u16)> {
    let host = match monitor.spec.target_host()? {
        TargetHost::Ip(ip) => ip.to_string(),
        TargetHost::Name(name) => name,
    };
    let target = monitor.spec.target.as_deref()?;
    let port = if target.contains("://") {
        url::Url::parse(target).ok()?.port()
    } else {
        None
    };
    Some((host, port.unwrap_or(443)))
}

impl Checker {
    pub fn new(store: Arc<dyn Store>, prober: Prober) -> Self {
        Self {
            store,
            prober,
            trackers: Mutex::new(HashMap::new()),
            dns_trackers: Mutex::new(HashMap::new()),
        }
    }

    /// Runs every active check of `monitor` in each of its regions, stores the
    /// results and updates the monitor's state. Heartbeat monitors are passive.
    pub async fn run(&self, monitor: &Monitor) -> StoreResult<Vec<CheckResult>> {
        let spec = &monitor.spec;
        let mut out = Vec::new();
        let mut certificate = None;
        let regions: Vec<&str> = spec.regions.iter().map(String::as_str).collect();
        match spec.kind {
            MonitorKind::Standard => {
                if spec.check_uptime
                    && let Some(check) = HttpCheck::from_spec(spec)
                {
                    for region in &regions {
                        out.push(results::uptime(
                            monitor,
                            region,
                            &self.prober.http(&check).await,
                        ));
                    }
                }
                if spec.check_ssl
                    && let (Some((host, port)), Some(region)) =
                        (tls_endpoint(monitor), regions.first())
                {
                    let seen = self.prober.tls(&host, port).await;
                    out.push(results::ssl(monitor, region, &seen));
                    certificate = Some(seen);
                }
                if spec.check_dns
                    && let (Some(TargetHost::Name(name)), Some(region)) =
                        (spec.target_host(), regions.first())
                {
                    out.push(self.check_dns(monitor, region, &name).await);
                }
            }
            MonitorKind::Tcp => {
                if let (Some(target), Some(port)) = (spec.target.as_deref(), spec.tcp_port) {
                    for region in &regions {
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
        if out.is_empty() {
            return Ok(out);
        }
        let state = self.next_state(monitor, &out);
        self.store
            .record_check(&out, &monitor.org_id, &monitor.id, &state)
            .await?;
        if let Some(seen) = &certificate {
            let (record, served) = results::certificate_records(monitor, seen);
            self.store
                .record_certificate(&record, served.as_ref())
                .await?;
        }
        Ok(out)
    }

    /// Asks every record type and confirms changes seen twice in a row.
    async fn check_dns(&self, monitor: &Monitor, region: &str, name: &str) -> CheckResult {
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
        results::dns(monitor, region, &seen, change.as_ref(), latency)
    }

    /// Applies the outage rule to uptime/TCP results and keeps sslNotAfter current.
    fn next_state(&self, monitor: &Monitor, results: &[CheckResult]) -> MonitorState {
        use certsentry_domain::check::CheckType;
        let mut state = MonitorState {
            last_status: monitor.last_status,
            ssl_not_after: monitor.ssl_not_after,
            domain_expiry: monitor.domain_expiry,
        };
        let configured = monitor.spec.regions.len();
        let mut trackers = self.trackers.lock().unwrap_or_else(|p| p.into_inner());
        let tracker = trackers.entry(monitor.id.clone()).or_default();
        let mut availability_checked = false;
        for result in results {
            match result.check_type {
                CheckType::Uptime | CheckType::Tcp => {
                    availability_checked = true;
                    let region = result.region.as_deref().unwrap_or("local");
                    if let Some(transition) = tracker.observe(
                        region,
                        result.status == CheckStatus::Ok,
                        result.degraded,
                        configured,
                    ) {
                        tracing::info!(monitor = %monitor.id, ?transition, "uptime transition");
                    }
                }
                CheckType::Ssl => {
                    if let Some(not_after) = result.details["notAfter"]
                        .as_str()
                        .and_then(certsentry_domain::time::parse_datetime)
                    {
                        state.ssl_not_after = Some(not_after);
                    }
                }
                _ => {}
            }
        }
        state.last_status = if availability_checked {
            tracker.status()
        } else if results.iter().all(|r| r.status == CheckStatus::Ok) {
            MonitorStatus::Up
        } else {
            MonitorStatus::Down
        };
        state
    }
}

#[cfg(test)]
mod tests {
    use certsentry_domain::OrgId;
    use certsentry_domain::monitor::{Monitor, MonitorSpec};

    use super::tls_endpoint;

    #[test]
    fn tls_endpoints_from_targets() {
        let endpoint = |target: &str| {
            let spec = MonitorSpec::standard("m", target, vec!["virginia".into()]);
            tls_endpoint(&Monitor::new(OrgId::from_string("org"), spec))
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
    }
}
