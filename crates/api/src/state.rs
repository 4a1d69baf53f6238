//! Shared application state and the API's configuration.

use std::sync::Arc;
use std::time::Instant;

use certsentry_domain::plan::Plans;
use certsentry_engine::Checker;
use certsentry_probes::ProbeConfig;
use certsentry_store::Store;

use crate::key_cache::KeyCache;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;

/// What the API needs to know about the deployment.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Region names monitors may run in.
    pub regions: Vec<String>,
    pub plans: Plans,
    /// Lets monitor targets resolve to private, loopback and link-local addresses.
    pub allow_private_targets: bool,
    /// Timeouts and extra trust anchors for probes (`allow_private_targets` is copied in).
    pub probe: ProbeConfig,
    /// The domain of DMARC reporting addresses (`dmarc+TOKEN@this`).
    pub dmarc_mail_domain: String,
}

impl ApiConfig {
    /// The probes' settings, with `allow_private_targets` the API's: the
    /// check at save time and the check at connect time follow one setting.
    pub fn probe_config(&self) -> ProbeConfig {
        ProbeConfig {
            allow_private_targets: self.allow_private_targets,
            ..self.probe.clone()
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            regions: vec!["virginia".into(), "dublin".into(), "singapore".into()],
            plans: Plans::default(),
            allow_private_targets: false,
            probe: ProbeConfig::default(),
            dmarc_mail_domain: "localhost".into(),
        }
    }
}

/// Lets `/metrics` and the timing layer take just the metrics, so that
/// `metrics` need not know the state.
impl axum::extract::FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}

/// What every handler reads: one `Arc`, so that the clones axum makes for
/// each layer and extractor of every request cost one atomic increment
/// each, not one per field (a tenth of a cached read's own time before).
/// Fields are read through `Deref`.
#[derive(Clone)]
pub struct AppState(Arc<AppStateParts>);

impl std::ops::Deref for AppState {
    type Target = AppStateParts;

    fn deref(&self) -> &AppStateParts {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct AppStateParts {
    pub store: Arc<dyn Store>,
    pub config: Arc<ApiConfig>,
    pub keys: Arc<KeyCache>,
    pub limiter: Arc<RateLimiter>,
    pub metrics: Arc<Metrics>,
    /// Runs a monitor's checks on demand (`POST …/check`); the scheduler
    /// shares it.
    pub checker: Arc<Checker>,
    /// The CT sources and pipeline, when any source is configured.
    pub ct: Option<certsentry_ct::sources::CtRuntime>,
    /// Where DMARC report files go, from the upload as from SMTP.
    pub dmarc: Arc<certsentry_dmarc::Intake>,
    pub started: Instant,
    /// This server node, as `/healthz` describes it.
    pub node: Arc<NodeStatus>,
    /// Monitors' JSON, kept while the store's copy is unchanged.
    pub monitor_json: Arc<crate::monitor_json::MonitorJson>,
}

/// This server node: its id among the nodes sharing the database, whether
/// it leads CT tailing, and its scheduler's figures.
#[derive(Debug, Default)]
pub struct NodeStatus {
    pub id: String,
    /// Set while this node holds CT leadership (one tailing node at a time).
    pub ct_leader: std::sync::atomic::AtomicBool,
    /// The scheduler's counters, when this node schedules checks.
    pub scheduler: Option<Arc<certsentry_engine::scheduler::SchedulerStats>>,
}

impl AppState {
    /// After a monitor write that may change what CT watches (a `checkCt`
    /// monitor created, edited, disabled or deleted; any sync): the watch
    /// list is rebuilt before the API answers, so a certificate logged the
    /// next moment is matched. Other nodes of a shared database pick the
    /// change up at their next periodic rebuild.
    pub async fn refresh_ct_watch(&self, touched_ct: bool) {
        let Some(ct) = self.ct.as_ref().filter(|_| touched_ct) else {
            return;
        };
        if let Err(e) = ct.pipeline.refresh_watch_list().await {
            tracing::warn!(error = %e, "rebuilding the CT watch list after a monitor write failed");
        }
    }

    /// The API over parts built elsewhere: the composition root
    /// (`certsentry::runtime`) owns the engine, the outbox, CT and the
    /// metrics registry, and hands the API what it serves.
    pub fn new(
        store: Arc<dyn Store>,
        config: ApiConfig,
        checker: Arc<Checker>,
        metrics: Metrics,
        ct: Option<certsentry_ct::sources::CtRuntime>,
        dmarc: Arc<certsentry_dmarc::Intake>,
    ) -> Self {
        Self(Arc::new(AppStateParts {
            monitor_json: Arc::new(crate::monitor_json::MonitorJson::new(
                store.shares_monitors(),
            )),
            dmarc,
            metrics: Arc::new(metrics),
            ct,
            checker,
            store,
            config: Arc::new(config),
            keys: Arc::new(KeyCache::default()),
            limiter: Arc::new(RateLimiter::new()),
            started: Instant::now(),
            node: Arc::new(NodeStatus {
                id: "local".into(),
                ..NodeStatus::default()
            }),
        }))
    }

    /// This state as the node `node` (the composition root names it once
    /// it has registered with the other nodes), before it is shared.
    pub fn with_node(mut self, node: Arc<NodeStatus>) -> Self {
        Arc::get_mut(&mut self.0)
            .expect("the node is set before the state is shared")
            .node = node;
        self
    }
}
