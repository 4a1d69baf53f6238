//! A loopback HTTP target that answers each probe by the region its
//! `User-Agent` names (agents name theirs; the server's own checks name
//! none and count as `server`), and counts what it answered.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;

/// The target: fails for the regions in `failing`, counts every request
/// per region.
#[derive(Clone, Default)]
pub struct Target {
    failing: Arc<Mutex<HashSet<String>>>,
    seen: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl Target {
    pub async fn start(&self) -> String {
        async fn answer(State(target): State<Target>, headers: HeaderMap) -> StatusCode {
            let agent = headers
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let region = agent
                .split("region ")
                .nth(1)
                .map(|r| r.trim_end_matches(')').to_string())
                .unwrap_or_else(|| "server".into());
            *target
                .seen
                .lock()
                .unwrap()
                .entry(region.clone())
                .or_default() += 1;
            if target.failing.lock().unwrap().contains(&region) {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            }
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/health", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/health", get(answer))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    pub fn fail_in(&self, regions: &[&str]) {
        *self.failing.lock().unwrap() = regions.iter().map(|r| r.to_string()).collect();
    }

    pub fn seen_in(&self, region: &str) -> usize {
        self.seen.lock().unwrap().get(region).copied().unwrap_or(0)
    }
}
