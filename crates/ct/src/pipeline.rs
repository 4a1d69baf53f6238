//! From CT entries to alerts, on the same spine as every other check:
//! entry → facts → watch-list match → finding → `ct.new_certificate` event
//! → the outbox.
//!
//! A match is stored at once as a *pending* finding (the unique index on
//! organization and `tbs_sha256` deduplicates precert/certificate pairs and
//! replays, across restarts). If the inventory already knows it, it is
//! decided `known` at once; otherwise the decider looks again when the grace
//! window has passed and decides `known` or `suspicious`. Because pending
//! findings are stored, a restart during the grace window loses nothing.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use certsentry_domain::alert::Event;
use certsentry_domain::check::{CheckResult, CheckStatus, CheckType};
use certsentry_domain::ct::{CtFinding, Endpoint, FindingState};
use certsentry_domain::monitor::{Monitor, TargetHost};
use certsentry_domain::registration::registrable_domain;
use certsentry_domain::time::now_ms;
use certsentry_domain::{CtCertificateId, MonitorId, OrgId};
use certsentry_store::{Store, StoreResult};
use tokio::sync::Notify;

use crate::certstream::StreamEntry;
use crate::facts::FactsError;
use crate::issuance::{Issuance, Parsed, Provenance, parse_log_entry, parse_stream_entry};
use crate::leaf::LogEntry;
use crate::watch::WatchList;

/// Who watches a name: a monitor with `checkCt`.
#[derive(Debug, Clone)]
pub struct Watcher {
    pub monitor: Arc<Monitor>,
}

#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// How long a match waits for the inventory before it is suspicious.
    pub grace: Duration,
    /// Where findings can be read (`html_url` of the Cert Spotter format).
    pub public_url: String,
    /// How often the watch list is rebuilt from the monitors.
    pub watch_refresh: Duration,
}

/// Counters for `/metrics` and `/healthz` (entries and malformed ones are
/// counted per source, in `sources::SourceStats`).
#[derive(Debug, Default)]
pub struct PipelineStats {
    pub findings_known: AtomicU64,
    pub findings_suspicious: AtomicU64,
    pub watch_entries: AtomicU64,
}

pub struct Pipeline {
    store: Arc<dyn Store>,
    config: PipelineConfig,
    watch: RwLock<Arc<WatchList<Watcher>>>,
    outbox: Arc<Notify>,
    decide_soon: Notify,
    pub stats: PipelineStats,
}

/// What one entry matched, per organization.
pub type Matches = BTreeMap<OrgId, (Arc<Monitor>, Vec<Endpoint>)>;

/// The watch list's hits for `names`, grouped by organization; the first
/// matching monitor of an organization is the finding's monitor.
pub fn match_names(watch: &WatchList<Watcher>, names: &[String]) -> Matches {
    let mut out: Matches = BTreeMap::new();
    for name in names {
        for hit in watch.hits(name) {
            for watcher in hit.watchers {
                let org = &watcher.monitor.org_id;
                let (_, endpoints) = out
                    .entry(org.clone())
                    .or_insert_with(|| (watcher.monitor.clone(), Vec::new()));
                if !endpoints.iter().any(|e| e.dns_name == hit.dns_name) {
                    endpoints.push(Endpoint {
                        dns_name: hit.dns_name.to_string(),
                        monitored_domain: hit.entry.to_string(),
                        wildcard: hit.wildcard,
                    });
                }
            }
        }
    }
    out
}

/// The watch list of these monitors: each `checkCt` monitor watches its
/// target's registrable domain and every subdomain.
pub fn watch_list_of(monitors: impl IntoIterator<Item = Monitor>) -> WatchList<Watcher> {
    let mut watch = WatchList::new();
    for monitor in monitors {
        if !monitor.spec.check_ct || !monitor.spec.enabled {
            continue;
        }
        let Some(TargetHost::Name(host)) = monitor.spec.target_host() else {
            continue;
        };
        let Some(domain) = registrable_domain(&host) else {
            continue;
        };
        watch.insert_for(
            &domain,
            Watcher {
                monitor: Arc::new(monitor),
            },
        );
    }
    watch
}

impl Pipeline {
    pub fn new(store: Arc<dyn Store>, config: PipelineConfig, outbox: Arc<Notify>) -> Self {
        Self {
            store,
            config,
            watch: RwLock::new(Arc::new(WatchList::new())),
            outbox,
            decide_soon: Notify::new(),
            stats: PipelineStats::default(),
        }
    }

    pub fn watch_list(&self) -> Arc<WatchList<Watcher>> {
        self.watch.read().expect("watch list lock").clone()
    }

    /// Replaces the watch list (benchmarks and tests build their own).
    pub fn replace_watch_list(&self, watch: WatchList<Watcher>) {
        self.stats
            .watch_entries
            .store(watch.len() as u64, Ordering::Relaxed);
        *self.watch.write().expect("watch list lock") = Arc::new(watch);
    }

    /// Rebuilds the watch list from the monitors; returns its size.
    pub async fn refresh_watch_list(&self) -> StoreResult<usize> {
        let monitors = certsentry_store::enabled_monitors(&*self.store).await?;
        let watch = Arc::new(watch_list_of(monitors));
        let size = watch.len();
        *self.watch.write().expect("watch list lock") = watch;
        self.stats
            .watch_entries
            .store(size as u64, Ordering::Relaxed);
        Ok(size)
    }

    fn parsed_or_log(&self, parsed: Result<Parsed, FactsError>) -> Option<Parsed> {
        match parsed {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::debug!(error = %e, "skipping an unparseable CT entry");
                None
            }
        }
    }

    /// Handles one RFC 6962 or tiled log entry; `false` if its
    /// certificate does not parse (counted and skipped).
    pub async fn log_entry(&self, entry: &LogEntry, provenance: Provenance) -> StoreResult<bool> {
        let Some(parsed) = self.parsed_or_log(parse_log_entry(entry)) else {
            return Ok(false);
        };
        let matches = match_names(&self.watch_list(), parsed.dns_names());
        if !matches.is_empty() {
            let issuance = Issuance::from_log_entry(entry, parsed, provenance);
            self.record(issuance, matches).await?;
        }
        Ok(true)
    }

    /// Handles one certstream entry; `false` if its certificate does not parse.
    pub async fn stream_entry(&self, entry: &StreamEntry) -> StoreResult<bool> {
        let Some(parsed) = self.parsed_or_log(parse_stream_entry(entry)) else {
            return Ok(false);
        };
        let matches = match_names(&self.watch_list(), parsed.dns_names());
        if !matches.is_empty() {
            let issuance = Issuance::from_stream_entry(entry, parsed);
            self.record(issuance, matches).await?;
        }
        Ok(true)
    }

    /// Stores a pending finding per matching organization; a finding the
    /// inventory already knows is decided at once.
    async fn record(&self, issuance: Issuance, matches: Matches) -> StoreResult<()> {
        let now = now_ms();
        for (org_id, (monitor, endpoints)) in matches {
            let finding = finding_of(&issuance, org_id, Some(monitor.id.clone()), endpoints, now);
            if !self.store.insert_ct_finding(&finding).await? {
                continue; // this issuance is already on record
            }
            tracing::info!(
                org = %finding.org_id,
                names = %finding.dns_names.join(","),
                tbs_sha256 = %finding.tbs_sha256,
                "CT match"
            );
            if self.is_known(&finding).await? {
                self.decide(finding, FindingState::Known).await?;
            } else {
                self.decide_soon.notify_one();
            }
        }
        Ok(())
    }

    async fn is_known(&self, finding: &CtFinding) -> StoreResult<bool> {
        self.store
            .is_known_issuance(&finding.org_id, &finding.cert_sha256, &finding.tbs_sha256)
            .await
    }

    /// Decides every pending finding whose grace window has passed.
    pub async fn decide_due(&self) -> StoreResult<usize> {
        let grace = self.config.grace.as_millis() as i64;
        let due = self.store.due_ct_findings(now_ms() - grace, 256).await?;
        let mut decided = 0;
        for finding in due {
            let state = if self.is_known(&finding).await? {
                FindingState::Known
            } else {
                FindingState::Suspicious
            };
            decided += usize::from(self.decide(finding, state).await?);
        }
        Ok(decided)
    }

    async fn decide(&self, mut finding: CtFinding, state: FindingState) -> StoreResult<bool> {
        let now = now_ms();
        finding.state = state;
        finding.decided_at = Some(now);
        let monitor = match &finding.monitor_id {
            Some(id) => self.store.get_monitor(&finding.org_id, id).await?,
            None => None,
        };
        let html_url = format!(
            "{}/api/v1/ct/certificates/{}",
            self.config.public_url.trim_end_matches('/'),
            finding.id
        );
        let event = Event::about_ct_finding(&finding, monitor.as_ref(), html_url, now);
        let result = monitor
            .as_ref()
            .map(|monitor| ct_result(monitor, &finding, now));
        let moved = self
            .store
            .decide_ct_finding(
                &finding.org_id,
                &finding.id,
                state,
                now,
                Some(&event),
                result.as_ref(),
            )
            .await?;
        if !moved {
            return Ok(false);
        }
        match state {
            FindingState::Known => &self.stats.findings_known,
            _ => &self.stats.findings_suspicious,
        }
        .fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            org = %finding.org_id,
            state = state.as_str(),
            names = %finding.dns_names.join(","),
            "CT finding decided"
        );
        self.outbox.notify_one();
        Ok(true)
    }

    /// Decides pending findings as their grace windows end, for ever.
    pub async fn run_decider(self: Arc<Self>) {
        let tick =
            (self.config.grace / 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
        loop {
            if let Err(e) = self.decide_due().await {
                tracing::warn!(error = %e, "deciding CT findings failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = self.decide_soon.notified() => {
                    // A new pending finding: its window ends `grace` from now.
                    tokio::time::sleep(self.config.grace.min(tick)).await;
                }
            }
        }
    }

    /// Rebuilds the watch list every `watch_refresh`, so monitors created,
    /// changed or deleted take effect without a restart.
    pub async fn run_watch_refresh(self: Arc<Self>) {
        // On a database other nodes write to, their monitor writes are
        // seen within a second: the monitors' version is polled every
        // second and the list rebuilt when it moves. A single node's own
        // writes rebuild it before the API answers.
        let shared = self.store.backend() != "sqlite";
        let mut version = None;
        loop {
            match self.refresh_watch_list().await {
                Ok(size) => tracing::debug!(entries = size, "CT watch list refreshed"),
                Err(e) => tracing::warn!(error = %e, "CT watch list refresh failed"),
            }
            if !shared {
                tokio::time::sleep(self.config.watch_refresh).await;
                continue;
            }
            let rebuilt_at = tokio::time::Instant::now();
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                let now = self.store.monitors_version().await.ok();
                let moved = now.is_some() && now != version;
                if moved || rebuilt_at.elapsed() >= self.config.watch_refresh {
                    version = now;
                    break;
                }
            }
        }
    }
}

/// A pending finding of `issuance` for an organization (and the monitor
/// whose watch entry matched, if any).
pub fn finding_of(
    issuance: &Issuance,
    org_id: OrgId,
    monitor_id: Option<MonitorId>,
    endpoints: Vec<Endpoint>,
    now: i64,
) -> CtFinding {
    CtFinding {
        id: CtCertificateId::generated_at(now),
        org_id,
        monitor_id,
        tbs_sha256: issuance.tbs_sha256.clone(),
        cert_sha256: issuance.cert_sha256.clone(),
        fingerprint_sha1: issuance.fingerprint_sha1.clone(),
        pubkey_sha256: issuance.pubkey_sha256.clone(),
        dns_names: issuance.dns_names.clone(),
        endpoints,
        issuer: issuance.issuer.clone(),
        not_before: issuance.not_before,
        not_after: issuance.not_after,
        serial: issuance.serial.clone(),
        precert: issuance.precert,
        cert_der: issuance.cert_der_base64(),
        source: issuance.provenance.source.clone(),
        cert_link: issuance.provenance.cert_link.clone(),
        log_index: issuance.provenance.index,
        state: FindingState::Pending,
        found_at: now,
        decided_at: None,
    }
}

/// The monitor's `ct` check result for a decided finding: `fail` when
/// suspicious, `ok` when known.
fn ct_result(monitor: &Monitor, finding: &CtFinding, now: i64) -> CheckResult {
    let suspicious = finding.state == FindingState::Suspicious;
    CheckResult {
        status: if suspicious {
            CheckStatus::Fail
        } else {
            CheckStatus::Ok
        },
        error: suspicious.then(|| {
            format!(
                "unknown certificate for {} logged",
                finding.dns_names.join(", ")
            )
        }),
        details: serde_json::json!({
            "certificateId": finding.id.as_str(),
            "state": finding.state.as_str(),
            "dnsNames": finding.dns_names,
            "tbsSha256": finding.tbs_sha256,
            "certSha256": finding.cert_sha256,
            "source": finding.source,
        }),
        created_at: now,
        ..CheckResult::blank(monitor, CheckType::Ct, None)
    }
}
