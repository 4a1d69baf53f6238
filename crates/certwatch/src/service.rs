//! `certsentry certwatch`: the drop-in replacement for the certwatch
//! service. It reads a certstream feed, matches each certificate's names
//! against `public.intent_current`, tells known from suspicious by
//! `public.certs`, writes `public.alerts`, and POSTs certwatch's alert JSON
//! to `WEBHOOK_URL` (every match: `info` doubles as a heartbeat).
//!
//! Where it goes beyond certwatch:
//! - a precertificate and its certificate are one issuance (Cert Spotter's
//!   `tbs_sha256`), deduplicated in memory and by the table's unique index,
//!   so a restart does not alert twice;
//! - either half of the pair, or its `tbs_sha256`, being in the inventory
//!   makes the issuance known;
//! - a match is written before its grace window starts, so a restart inside
//!   the window still decides and delivers it;
//! - rows whose three attempts failed are swept and retried later, with
//!   growing waits, instead of staying undelivered.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use certsentry_domain::OrgId;
use certsentry_domain::ct::{Endpoint, FindingState};
use certsentry_domain::time::now_ms;
use certsentry_notify::http::WebhookSender;
use certsentry_notify::retry::RetryPolicy;
use certsentry_store::StoreResult;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::sync::Notify;

use certsentry_ct::certstream::StreamEntry;
use certsentry_ct::certstream_client::CertstreamConfig;
use certsentry_ct::issuance::{Issuance, parse_stream_entry};
use certsentry_ct::metrics::SourcesCollector;
use certsentry_ct::pipeline::finding_of;
use certsentry_ct::sources::{Source, Sources, consume_certstream};
use certsentry_ct::watch::WatchList;

use crate::tables::{CertKeys, CertwatchTables, NewAlert, StoredAlert};

/// certwatch's settings (its env vars), plus CertSentry's sweep.
#[derive(Debug, Clone)]
pub struct CertwatchConfig {
    pub certstream_url: String,
    /// Unset: observer mode, alerts are logged and stored but not sent.
    pub webhook_url: Option<String>,
    pub webhook_timeout: Duration,
    pub cleanup_interval: Duration,
    pub alert_retention: Duration,
    pub grace: Duration,
    pub watch_refresh: Duration,
    /// The wait after each failed attempt of a round (certwatch: 1 s, 4 s,
    /// 16 s, so three attempts); after the last, the row waits that long,
    /// growing fourfold per round up to an hour, for the sweep.
    pub retry_delays: Vec<Duration>,
    /// How often undelivered rows are looked for.
    pub sweep_interval: Duration,
}

impl CertwatchConfig {
    pub fn new(certstream_url: impl Into<String>) -> Self {
        Self {
            certstream_url: certstream_url.into(),
            webhook_url: None,
            webhook_timeout: Duration::from_secs(10),
            cleanup_interval: Duration::from_secs(3600),
            alert_retention: Duration::from_secs(2_592_000),
            grace: Duration::from_secs(10),
            watch_refresh: Duration::from_secs(60),
            retry_delays: [1, 4, 16].map(Duration::from_secs).to_vec(),
            sweep_interval: Duration::from_secs(30),
        }
    }

    /// The sweep's wait after `rounds` failed rounds of attempts.
    fn sweep_wait(&self, rounds: u32) -> Duration {
        let base = self
            .retry_delays
            .last()
            .copied()
            .unwrap_or(Duration::from_secs(16));
        base.saturating_mul(4u32.saturating_pow(rounds.saturating_sub(1)))
            .min(Duration::from_secs(3600))
    }
}

/// The last 2048 issuance keys seen, as certwatch's LRU: the other half of
/// a precert/certificate pair (or a replayed entry) is recognised in memory.
struct RecentKeys {
    order: VecDeque<String>,
    set: HashSet<String>,
}

const RECENT_CAPACITY: usize = 2048;

impl RecentKeys {
    fn new() -> Self {
        Self {
            order: VecDeque::with_capacity(RECENT_CAPACITY),
            set: HashSet::with_capacity(RECENT_CAPACITY),
        }
    }

    /// `true` if `key` is new (and now remembered).
    fn insert(&mut self, key: &str) -> bool {
        if self.set.contains(key) {
            return false;
        }
        if self.order.len() == RECENT_CAPACITY
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
        self.order.push_back(key.to_string());
        self.set.insert(key.to_string());
        true
    }

    fn len(&self) -> usize {
        self.order.len()
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SeverityLabel {
    severity: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

/// What the scrape-time collector reads.
#[derive(Debug, Default)]
struct Gauges {
    watch_entries: AtomicU64,
    dedupe_size: AtomicU64,
}

/// certwatch's gauges and `certwatch_ct_messages_total`, read from the
/// feed's counters at scrape time.
#[derive(Debug)]
struct FeedCollector {
    source: Arc<Source>,
    gauges: Arc<Gauges>,
    in_flight: Arc<Mutex<HashSet<i64>>>,
}

impl Collector for FeedCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = &self.source.stats;
        let mut by_type: Vec<(String, u64)> = vec![
            (
                "certificate_update".into(),
                stats.entries.load(Ordering::Relaxed),
            ),
            ("heartbeat".into(), stats.heartbeats.load(Ordering::Relaxed)),
        ];
        by_type.extend(
            stats
                .other_messages
                .lock()
                .expect("message counts")
                .iter()
                .map(|(k, v)| (k.clone(), *v)),
        );
        let counter = ConstCounter::new(0u64);
        let mut family = encoder.encode_descriptor(
            "certwatch_ct_messages",
            "certstream messages received, by message_type",
            None,
            counter.metric_type(),
        )?;
        for (kind, count) in by_type {
            ConstCounter::new(count).encode(family.encode_family(&[("type", kind)])?)?;
        }
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed) as i64;
        let gauges: [(&str, &str, f64); 5] = [
            (
                "certwatch_watch_entries",
                "Entries in the watch list",
                load(&self.gauges.watch_entries) as f64,
            ),
            (
                "certwatch_last_ct_event_timestamp_seconds",
                "When the last certificate arrived from the feed",
                stats.last_entry_at.load(Ordering::Relaxed) as f64 / 1000.0,
            ),
            (
                "certwatch_ws_connected",
                "Whether the certstream websocket is connected (0/1)",
                f64::from(u8::from(stats.connected.load(Ordering::Relaxed))),
            ),
            (
                "certwatch_dedupe_cache_size",
                "Issuances in the in-memory dedupe cache",
                load(&self.gauges.dedupe_size) as f64,
            ),
            (
                "certsentry_certwatch_deliveries_in_flight",
                "Alerts being sent to the webhook now",
                self.in_flight.lock().expect("in flight").len() as f64,
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

struct Metrics {
    registry: Registry,
    alerts: Family<SeverityLabel, Counter>,
    webhook: Family<ResultLabel, Counter>,
    webhook_duration: Histogram,
}

impl Metrics {
    fn new(
        sources: &Arc<Sources>,
        source: Arc<Source>,
        gauges: Arc<Gauges>,
        in_flight: Arc<Mutex<HashSet<i64>>>,
    ) -> Self {
        let mut registry = Registry::default();
        // CertSentry's per-source CT series follow certwatch's own.
        registry
            .sub_registry_with_prefix("certsentry_ct")
            .register_collector(Box::new(SourcesCollector(sources.clone())));
        let alerts = Family::<SeverityLabel, Counter>::default();
        let webhook = Family::<ResultLabel, Counter>::default();
        // 5 ms .. ~20 s
        let webhook_duration = Histogram::new(exponential_buckets(0.005, 2.0, 13));
        registry.register(
            "certwatch_alerts",
            "Matched certificates, by severity",
            alerts.clone(),
        );
        registry.register(
            "certwatch_webhook",
            "Webhook delivery attempts, by result",
            webhook.clone(),
        );
        registry.register(
            "certwatch_webhook_duration_seconds",
            "Webhook attempt latency",
            webhook_duration.clone(),
        );
        // Every series exists from the start, so alert rules on rates see zeros.
        for severity in ["info", "suspicious"] {
            alerts.get_or_create(&SeverityLabel { severity }).inc_by(0);
        }
        for result in ["success", "failure"] {
            webhook.get_or_create(&ResultLabel { result }).inc_by(0);
        }
        registry.register_collector(Box::new(FeedCollector {
            source,
            gauges,
            in_flight,
        }));
        Self {
            registry,
            alerts,
            webhook,
            webhook_duration,
        }
    }
}

/// The running service.
pub struct Certwatch {
    config: CertwatchConfig,
    tables: Arc<dyn CertwatchTables>,
    sender: WebhookSender,
    watch: RwLock<Arc<WatchList<()>>>,
    recent: Mutex<RecentKeys>,
    /// Keys of the other halves of pairs still in their grace window.
    other_halves: Mutex<HashMap<String, Vec<CertKeys>>>,
    in_flight: Arc<Mutex<HashSet<i64>>>,
    decide_soon: Notify,
    sources: Arc<Sources>,
    source: Arc<Source>,
    gauges: Arc<Gauges>,
    metrics: Metrics,
}

/// The org every certwatch finding belongs to: there is only one.
fn certwatch_org() -> OrgId {
    OrgId::from_string("certwatch".to_string())
}

impl Certwatch {
    pub fn new(config: CertwatchConfig, tables: Arc<dyn CertwatchTables>) -> Arc<Self> {
        let sources = Arc::new(Sources::default());
        let source = sources.add("certstream".into(), "certstream");
        let gauges = Arc::new(Gauges::default());
        let in_flight = Arc::new(Mutex::new(HashSet::new()));
        let sender = WebhookSender::new(config.webhook_timeout, true);
        Arc::new(Self {
            metrics: Metrics::new(&sources, source.clone(), gauges.clone(), in_flight.clone()),
            config,
            tables,
            sender,
            watch: RwLock::new(Arc::new(WatchList::new())),
            recent: Mutex::new(RecentKeys::new()),
            other_halves: Mutex::new(HashMap::new()),
            in_flight,
            decide_soon: Notify::new(),
            sources,
            source,
            gauges,
        })
    }

    /// Re-reads `public.intent_current`; returns the number of entries.
    pub async fn refresh_watch_list(&self) -> StoreResult<usize> {
        let mut watch = WatchList::new();
        for name in self.tables.watched_names().await? {
            if !watch.insert_for(&name, ()) {
                tracing::warn!(fqdn = %name, "intent_current: not a DNS name; skipped");
            }
        }
        let size = watch.len();
        *self.watch.write().expect("watch list lock") = Arc::new(watch);
        self.gauges
            .watch_entries
            .store(size as u64, Ordering::Relaxed);
        Ok(size)
    }

    /// Runs until the process ends: the feed (in this task), the decider,
    /// the sweep, the cleanup and the watch refresh.
    pub async fn run(self: Arc<Self>) {
        let tasks = [
            tokio::spawn(self.clone().run_decider()),
            tokio::spawn(self.clone().run_sweep()),
            tokio::spawn(self.clone().run_cleanup()),
            tokio::spawn(self.clone().run_watch_refresh()),
            tokio::spawn(self.sources.clone().run_sampler(Duration::from_secs(10))),
        ];
        let feed = CertstreamConfig::new(self.config.certstream_url.clone());
        let tls = certsentry_ct::certstream_client::webpki_tls();
        consume_certstream(feed, tls, self.source.stats.clone(), |entry| {
            let service = self.clone();
            async move {
                if let Err(e) = service.handle(&entry).await {
                    tracing::warn!(error = %e, "could not record a CT match");
                }
            }
        })
        .await;
        for task in tasks {
            task.abort();
        }
    }

    /// One certstream entry: matched, deduplicated, recorded.
    pub async fn handle(&self, entry: &StreamEntry) -> StoreResult<()> {
        let parsed = match parse_stream_entry(entry) {
            Ok(parsed) => parsed,
            Err(e) => {
                self.source.stats.malformed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(error = %e, "skipping an unparseable certificate");
                return Ok(());
            }
        };
        let watch = self.watch.read().expect("watch list lock").clone();
        let mut endpoints: Vec<Endpoint> = Vec::new();
        for name in parsed.dns_names() {
            for hit in watch.hits(name) {
                let endpoint = Endpoint {
                    dns_name: hit.dns_name.to_string(),
                    monitored_domain: hit.entry.to_string(),
                    wildcard: hit.wildcard,
                };
                if !endpoints.contains(&endpoint) {
                    endpoints.push(endpoint);
                }
            }
        }
        if endpoints.is_empty() {
            return Ok(());
        }
        let issuance = Issuance::from_stream_entry(entry, parsed);
        let keys = CertKeys {
            fingerprint_sha1: issuance.fingerprint_sha1.clone(),
            cert_sha256: issuance.cert_sha256.clone(),
            tbs_sha256: issuance.tbs_sha256.clone(),
        };
        let new = {
            let mut recent = self.recent.lock().expect("dedupe cache");
            let new = recent.insert(&keys.tbs_sha256);
            self.gauges
                .dedupe_size
                .store(recent.len() as u64, Ordering::Relaxed);
            new
        };
        if !new {
            return self.other_half(keys).await;
        }
        let known = self.tables.in_inventory(&keys).await?;
        let state = if known {
            FindingState::Known
        } else {
            FindingState::Suspicious
        };
        let mut finding = finding_of(&issuance, certwatch_org(), None, endpoints, now_ms());
        finding.state = state;
        let payload =
            certsentry_notify::format::certwatch::payload(&finding, issuance.provenance.seen_at);
        let deliver = known && self.config.webhook_url.is_some();
        let alert = NewAlert {
            keys: keys.clone(),
            payload: payload.clone(),
            decided: known,
            deliver,
        };
        let Some(id) = self.tables.insert_alert(&alert).await? else {
            return Ok(()); // alerted before a restart
        };
        if known {
            self.announce(id, &payload, deliver);
        } else {
            self.other_halves
                .lock()
                .expect("pending pairs")
                .insert(keys.tbs_sha256.clone(), Vec::new());
            self.decide_soon.notify_one();
        }
        Ok(())
    }

    /// The second half of a pair still in its grace window: remember its
    /// hashes, and if the inventory knows it, decide the issuance now.
    async fn other_half(&self, keys: CertKeys) -> StoreResult<()> {
        let pending = self
            .other_halves
            .lock()
            .expect("pending pairs")
            .get_mut(&keys.tbs_sha256)
            .map(|halves| halves.push(keys.clone()))
            .is_some();
        if pending && self.tables.in_inventory(&keys).await? {
            self.decide_soon.notify_one();
        }
        Ok(())
    }

    /// Counts, logs and (unless in observer mode) sends a decided alert.
    fn announce(&self, id: i64, payload: &serde_json::Value, deliver: bool) {
        let severity = if payload["severity"] == "info" {
            "info"
        } else {
            "suspicious"
        };
        self.metrics
            .alerts
            .get_or_create(&SeverityLabel { severity })
            .inc();
        let sans = payload["matched_sans"].to_string();
        if severity == "suspicious" {
            tracing::warn!(id, severity, matched_sans = %sans, fingerprint_sha1 = %payload["fingerprint_sha1"], "CT alert");
        } else {
            tracing::info!(id, severity, matched_sans = %sans, "CT alert");
        }
        if deliver {
            self.deliver_in_background(StoredAlert {
                id,
                keys: CertKeys::default(),
                payload: payload.clone(),
                attempts: 0,
            });
        }
    }

    /// Decides every alert whose grace window has ended (also those an
    /// earlier run left undecided). Returns how many.
    pub async fn decide_due(&self) -> StoreResult<usize> {
        let due = self.tables.undecided_alerts(self.config.grace, 256).await?;
        let mut decided = 0;
        for alert in due {
            let halves = self
                .other_halves
                .lock()
                .expect("pending pairs")
                .remove(&alert.keys.tbs_sha256)
                .unwrap_or_default();
            let mut known = self.tables.in_inventory(&alert.keys).await?;
            for half in &halves {
                known = known || self.tables.in_inventory(half).await?;
            }
            let mut payload = alert.payload.clone();
            payload["severity"] = if known { "info" } else { "suspicious" }.into();
            let deliver = self.config.webhook_url.is_some();
            if self
                .tables
                .decide_alert(alert.id, &payload, deliver)
                .await?
            {
                decided += 1;
                self.announce(alert.id, &payload, deliver);
            }
        }
        Ok(decided)
    }

    async fn run_decider(self: Arc<Self>) {
        let tick =
            (self.config.grace / 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
        loop {
            if let Err(e) = self.decide_due().await {
                tracing::warn!(error = %e, "deciding CT alerts failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = self.decide_soon.notified() => {}
            }
        }
    }

    fn deliver_in_background(&self, alert: StoredAlert) {
        let Some(url) = self.config.webhook_url.clone() else {
            return;
        };
        if !self.in_flight.lock().expect("in flight").insert(alert.id) {
            return;
        }
        let sender = self.sender.clone();
        let tables = self.tables.clone();
        let config = self.config.clone();
        let webhook = self.metrics.webhook.clone();
        let duration = self.metrics.webhook_duration.clone();
        let in_flight = self.in_flight.clone();
        tokio::spawn(async move {
            let outcome = deliver(&sender, &url, &alert, &config, &webhook, &duration).await;
            let (attempts, error) = outcome;
            let rounds =
                (alert.attempts + attempts).div_ceil(config.retry_delays.len().max(1) as u32);
            if let Err(e) = tables
                .record_delivery(
                    alert.id,
                    attempts,
                    error.as_deref(),
                    config.sweep_wait(rounds),
                )
                .await
            {
                tracing::warn!(id = alert.id, error = %e, "could not record a webhook delivery");
            }
            if let Some(error) = error {
                tracing::error!(id = alert.id, error = %error, "webhook delivery failed; the sweep retries it later");
            }
            in_flight.lock().expect("in flight").remove(&alert.id);
        });
    }

    /// Retries undelivered rows whose wait is over, for ever.
    async fn run_sweep(self: Arc<Self>) {
        if self.config.webhook_url.is_none() {
            return;
        }
        loop {
            match self.tables.due_deliveries(100).await {
                Ok(due) => {
                    for alert in due {
                        self.deliver_in_background(alert);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "the delivery sweep failed"),
            }
            tokio::time::sleep(self.config.sweep_interval).await;
        }
    }

    async fn run_cleanup(self: Arc<Self>) {
        loop {
            match self.tables.prune_alerts(self.config.alert_retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(pruned = n, "old alerts pruned"),
                Err(e) => tracing::warn!(error = %e, "pruning alerts failed"),
            }
            tokio::time::sleep(self.config.cleanup_interval).await;
        }
    }

    async fn run_watch_refresh(self: Arc<Self>) {
        loop {
            tokio::time::sleep(self.config.watch_refresh).await;
            match self.refresh_watch_list().await {
                Ok(n) => tracing::debug!(entries = n, "watch list refreshed"),
                Err(e) => tracing::warn!(error = %e, "re-reading intent_current failed"),
            }
        }
    }

    /// `/healthz`: `{ok, watch_entries, last_ct_event_at}` (seconds since
    /// the epoch, or null before the first event).
    pub fn health(&self) -> serde_json::Value {
        let last = self.source.stats.last_entry_at.load(Ordering::Relaxed);
        serde_json::json!({
            "ok": true,
            "watch_entries": self.gauges.watch_entries.load(Ordering::Relaxed),
            "last_ct_event_at": (last > 0).then(|| last as f64 / 1000.0),
        })
    }

    /// `/metrics`: certwatch's metric names and labels, then CertSentry's
    /// per-source CT series.
    pub fn metrics_text(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.metrics.registry)
            .expect("writing to a String");
        text
    }
}

/// Sends one alert: a round of one attempt per retry delay, waiting each
/// delay but the last after a failure (the last is the sweep's first wait).
/// The sender is the webhook sender every channel uses, in operator mode:
/// `WEBHOOK_URL` is the operator's own setting, so private addresses are
/// allowed, and redirects are still failures. Returns the attempts made and
/// the last error (`None`: delivered).
async fn deliver(
    sender: &WebhookSender,
    url: &str,
    alert: &StoredAlert,
    config: &CertwatchConfig,
    results: &Family<ResultLabel, Counter>,
    duration: &Histogram,
) -> (u32, Option<String>) {
    let within_round = config
        .retry_delays
        .split_last()
        .map_or(&[][..], |(_, rest)| rest);
    let policy = RetryPolicy {
        delays: within_round.to_vec(),
        jitter: 0.0,
    };
    // Rendered once; each retry sends the same bytes.
    let body = bytes::Bytes::from(
        serde_json::to_vec(&certsentry_notify::format::certwatch::ordered(
            &alert.payload,
        ))
        .expect("a JSON value always serializes"),
    );
    let mut made = 0;
    loop {
        let attempt = sender.send(url, &[], body.clone()).await;
        made += 1;
        duration.observe(attempt.duration.as_secs_f64());
        let result = if attempt.error.is_none() {
            "success"
        } else {
            "failure"
        };
        results.get_or_create(&ResultLabel { result }).inc();
        let Some(error) = attempt.error else {
            return (made, None);
        };
        tracing::warn!(id = alert.id, attempt = made, error = %error, "webhook attempt failed");
        match policy.next_delay(made, None) {
            Some(wait) => tokio::time::sleep(wait).await,
            None => return (made, Some(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dedupe_cache_keeps_the_last_2048_keys() {
        let mut recent = RecentKeys::new();
        assert!(recent.insert("a"));
        assert!(!recent.insert("a"), "the other half of a pair");
        for i in 0..RECENT_CAPACITY {
            recent.insert(&i.to_string());
        }
        assert_eq!(recent.len(), RECENT_CAPACITY);
        assert!(recent.insert("a"), "the oldest key was evicted");
        assert!(!recent.insert(&(RECENT_CAPACITY - 1).to_string()));
    }

    #[test]
    fn swept_rows_wait_longer_each_round() {
        let config = CertwatchConfig::new("ws://localhost:8080/full-stream");
        assert_eq!(
            config.retry_delays,
            [1, 4, 16].map(Duration::from_secs).to_vec()
        );
        let waits: Vec<u64> = (1..=5).map(|r| config.sweep_wait(r).as_secs()).collect();
        assert_eq!(waits, vec![16, 64, 256, 1024, 3600]);
        assert_eq!(config.sweep_wait(40), Duration::from_secs(3600));
    }
}
