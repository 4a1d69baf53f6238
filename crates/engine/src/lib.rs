//! The check engine: probe → observation → result → rule → monitor state.
//!
//! [`Checker`] runs one monitor's checks now (used by `POST …/check` and by
//! the scheduler). A region with probe agents is theirs: the server leaves
//! its uptime and TCP checks out and the agents' uploads come in through
//! [`Checker::ingest_uploaded`]; every other region is served here, its
//! checks labelled with the region. Either way the results meet in the
//! outage rule's shared state ([`quorum`]).

pub mod agents;
pub mod alerts;
pub mod checker;
pub mod grading;
pub mod heartbeats;
pub mod incidents;
pub mod quorum;
pub mod regions;
pub mod results;
pub mod scheduler;
pub mod writer;

pub use checker::Checker;
pub use writer::CheckWriter;

use std::sync::Arc;
use std::time::Duration;

use certsentry_domain::time::now_ms;
use certsentry_store::Store;

/// How long raw check results are kept.
pub const RESULT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

/// Deletes results, finished deliveries and events older than
/// [`RESULT_RETENTION`] every `every`, forever.
pub async fn prune_results_forever(store: Arc<dyn Store>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let cutoff = now_ms() - RESULT_RETENTION.as_millis() as i64;
        match store.prune_results(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned check results older than 90 days"),
            Err(e) => tracing::warn!(error = %e, "pruning check results failed"),
        }
        match store.prune_alerts(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                deleted = n,
                "pruned events and deliveries older than 90 days"
            ),
            Err(e) => tracing::warn!(error = %e, "pruning events and deliveries failed"),
        }
    }
}

/// Finalizes past days' rollups (percentiles) every `every`, forever.
pub async fn finalize_stats_forever(store: Arc<dyn Store>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let today = certsentry_domain::time::day_of(now_ms());
        match store.finalize_daily_stats(&today).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(days = n, "finalized daily stats"),
            Err(e) => tracing::warn!(error = %e, "finalizing daily stats failed"),
        }
    }
}
