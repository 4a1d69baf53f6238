//! Test support for the API alone (its own tests and the benchmarks). The
//! server's test seam is `certsentry::runtime::Runtime::launch_with_tcp_listener`.

use crate::state::AppState;

/// The API alone over `store`, with its own checker and registry, for
/// tests and benchmarks of the API itself. The server wires these in
/// `certsentry::runtime`; its harness boots that instead.
pub fn state(
    store: std::sync::Arc<dyn certsentry_store::Store>,
    config: crate::ApiConfig,
) -> AppState {
    let checker = certsentry_engine::Checker::new(
        store.clone(),
        certsentry_probes::Prober::new(config.probe_config()),
    );
    let metrics = crate::metrics::Metrics::new(prometheus_client::registry::Registry::with_prefix(
        "certsentry",
    ));
    let dmarc = std::sync::Arc::new(certsentry_dmarc::Intake::new(
        store.clone(),
        certsentry_dmarc::Limits::default(),
    ));
    AppState::new(
        store,
        config,
        std::sync::Arc::new(checker),
        metrics,
        None,
        dmarc,
    )
}
