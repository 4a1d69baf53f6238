//! Test seam (the atuin habit): boot the real server on `127.0.0.1:0`.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::state::AppState;

/// A running server; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    /// `http://127.0.0.1:PORT/api/v1`
    pub fn api_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The API alone over `store`, with its own checker and registry, for
/// tests and benchmarks of the API itself. The server wires these in
/// `certsentry::runtime`; its harness boots that instead.
pub fn state(
    store: std::sync::Arc<dyn certsentry_store::Store>,
    config: crate::ApiConfig,
) -> AppState {
    let probe = certsentry_probes::ProbeConfig {
        allow_private_targets: config.allow_private_targets,
        ..config.probe.clone()
    };
    let checker =
        certsentry_engine::Checker::new(store.clone(), certsentry_probes::Prober::new(probe));
    let metrics = crate::metrics::Metrics::new(prometheus_client::registry::Registry::with_prefix(
        "certsentry",
    ));
    AppState::new(store, config, std::sync::Arc::new(checker), metrics, None)
}

/// Serves `state` on an ephemeral loopback port.
pub async fn spawn(state: AppState) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let served = state.clone();
    tokio::spawn(async move {
        let _ = crate::serve(listener, served, async {
            let _ = stopped.await;
        })
        .await;
    });
    TestServer {
        addr,
        state,
        stop: Some(stop),
    }
}
