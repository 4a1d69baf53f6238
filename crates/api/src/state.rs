//! Shared application state and the API's configuration.

use std::sync::Arc;
use std::time::Instant;

use certsentry_domain::plan::Plans;
use certsentry_engine::Checker;
use certsentry_probes::{ProbeConfig, Prober};
use certsentry_store::Store;

use crate::auth::KeyCache;
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
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            regions: vec!["virginia".into(), "dublin".into(), "singapore".into()],
            plans: Plans::default(),
            allow_private_targets: false,
            probe: ProbeConfig::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ApiConfig>,
    pub keys: Arc<KeyCache>,
    pub limiter: Arc<RateLimiter>,
    pub metrics: Arc<Metrics>,
    /// Runs a monitor's checks on demand (`POST …/check`) and for the scheduler.
    pub checker: Arc<Checker>,
    /// The outbox worker's metrics (the worker reports into these).
    pub outbox_stats: Arc<certsentry_notify::OutboxStats>,
    /// The CT sources and pipeline, when any source is configured.
    pub ct: Option<certsentry_ct::sources::CtRuntime>,
    pub started: Instant,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: ApiConfig) -> Self {
        let probe = ProbeConfig {
            allow_private_targets: config.allow_private_targets,
            ..config.probe.clone()
        };
        let checker = Arc::new(Checker::new(store.clone(), Prober::new(probe)));
        let outbox_stats = Arc::new(certsentry_notify::OutboxStats::default());
        Self {
            metrics: Arc::new(Metrics::new(&outbox_stats)),
            outbox_stats,
            ct: None,
            checker,
            store,
            config: Arc::new(config),
            keys: Arc::new(KeyCache::default()),
            limiter: Arc::new(RateLimiter::new()),
            started: Instant::now(),
        }
    }
}
