//! CertSentry's HTTP API.
//!
//! Each module under `/api/v1` exposes its own `router()`; [`app`] merges
//! them behind the key layer ([`auth::RequireKey`]) and adds the anonymous endpoints
//! (`/healthz`, `/metrics`, `/api/v1/openapi.json`).

pub mod agents;
pub mod audit_logs;
pub mod auth;
pub mod certificates;
pub mod channels;
pub mod ct;
pub mod dmarc;
pub mod environments;
pub mod error;
pub mod events;
pub mod heartbeat;
pub mod inputs;
mod key_cache;
pub mod metrics;
mod monitor_json;
pub mod monitors;
pub mod observe;
pub mod openapi;
pub mod query;
pub mod ratelimit;
pub mod regions;
pub mod results;
pub mod state;
pub mod stats;
pub mod status_notices;
pub mod status_pages;
pub mod sync;
pub mod targets;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;
pub mod views;

use std::future::Future;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tower::layer::layer_fn;

pub use error::{ApiError, ApiResult};
pub use state::{ApiConfig, AppState};

/// Request bodies above this are refused with `invalid_input`.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How often batched API-key last-use times are written.
const TOUCH_FLUSH_INTERVAL: Duration = Duration::from_secs(10);

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    app_with_pages(state, Router::new().route("/", get(home)))
}

/// The application with the web pages (`certsentry-web`'s router) beside
/// the API, sharing its body limit, metrics and 404/405 answers.
pub fn app_with_pages(state: AppState, pages: Router) -> Router {
    // Each module's routes carry the whole `/api/v1/…` path and are merged,
    // not nested: axum gives every route under `nest` two more layers that
    // rewrite the request's URI and record the nest's path, on every call.
    let v1 = Router::new()
        .merge(monitors::router())
        .merge(results::router())
        .merge(stats::router())
        .merge(certificates::router())
        .merge(sync::router())
        .merge(environments::router())
        .merge(channels::router())
        .merge(events::router())
        .merge(ct::router())
        .merge(status_pages::router())
        .merge(status_notices::router())
        .merge(audit_logs::router())
        .merge(dmarc::router())
        .merge(tls::router())
        .merge(regions::router())
        .route_layer(layer_fn({
            let state = state.clone();
            move |route| auth::RequireKey::new(state.clone(), route)
        }));
    let metrics = state.metrics.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::render))
        .route("/api/v1/openapi.json", get(openapi::serve_document))
        .merge(v1)
        .merge(heartbeat::router())
        .merge(agents::router(state.clone()))
        .with_state(state)
        .merge(pages)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(layer_fn(move |route| {
            observe::Observe::new(metrics.clone(), route)
        }))
}

/// `GET /` of the API served alone (without the dashboard): a plain page
/// that names the product and says where its API is documented.
async fn home() -> axum::response::Html<String> {
    axum::response::Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>CertSentry</title></head><body>\
         <h1>CertSentry {version}</h1>\
         <p>Self-hosted monitoring for uptime, certificates, domains and DNS.</p>\
         <ul><li>The API: see the README's section <em>The API</em>, and the \
         <a href=\"/api/v1/openapi.json\">OpenAPI document</a>.</li>\
         <li><a href=\"/healthz\">Health</a> and <a href=\"/metrics\">metrics</a>.</li></ul>\
         </body></html>\n",
        version = env!("CARGO_PKG_VERSION")
    ))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("No such endpoint.".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// How long `/healthz` waits for the database.
const HEALTH_DEADLINE: std::time::Duration = std::time::Duration::from_millis(1500);

/// `GET /healthz`: `{ok, version, database, uptimeSeconds}` (and `ct`
/// per source when CT is on); 503 with `unavailable` naming the dependency
/// if the store does not answer within [`HEALTH_DEADLINE`].
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    // A load balancer needs an answer, not a hang: a database that does not
    // answer within the deadline counts as down.
    let database_error = match tokio::time::timeout(HEALTH_DEADLINE, state.store.ping()).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!(
            "no answer within {} ms",
            HEALTH_DEADLINE.as_millis()
        )),
    };
    let database_ok = database_error.is_none();
    let status = if database_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = json!({
        "ok": database_ok,
        "version": env!("CARGO_PKG_VERSION"),
        "database": state.store.backend(),
        "uptimeSeconds": state.started.elapsed().as_secs(),
    });
    if let Some(error) = database_error {
        body["unavailable"] = json!([{ "dependency": "database", "error": error }]);
    }
    if let Some(ct) = &state.ct {
        body["ct"] = ct.health();
    }
    body["node"] = node_health(&state).await;
    (status, Json(body))
}

/// This node among the nodes sharing the database: its id, its role
/// (`ct-leader` while it tails CT, else `worker`), its scheduler's start
/// lag, and the probe agents the database knows.
async fn node_health(state: &AppState) -> serde_json::Value {
    use std::sync::atomic::Ordering;
    let node = &state.node;
    let role = if node.ct_leader.load(Ordering::Relaxed) {
        "ct-leader"
    } else {
        "worker"
    };
    let mut health = json!({ "id": node.id, "role": role });
    if let Some(scheduler) = &node.scheduler {
        health["scheduledMonitors"] = json!(scheduler.scheduled_monitors.load(Ordering::Relaxed));
        health["startLagP99Ms"] = json!(scheduler.lag_quantile_ms(0.99));
    }
    let seen = tokio::time::timeout(HEALTH_DEADLINE, state.store.list_agent_tokens()).await;
    if let Ok(Ok(tokens)) = seen {
        health["agents"] = tokens
            .iter()
            .filter(|t| t.revoked_at.is_none())
            .map(|t| {
                json!({"id": t.id, "region": t.region,
                       "lastSeenAt": t.last_seen_at.map(certsentry_domain::time::format_ms)})
            })
            .collect();
    }
    health
}

/// Writes batched API-key last-use times until the process ends.
async fn flush_key_touches(state: AppState) {
    let mut tick = tokio::time::interval(TOUCH_FLUSH_INTERVAL);
    loop {
        tick.tick().await;
        flush_touches_once(&state).await;
    }
}

/// Writes the API-key last-use times gathered so far (also run every 10 s and at shutdown).
pub async fn flush_touches_once(state: &AppState) {
    let _one_at_a_time = state.keys.flushing.lock().await;
    let touches = state.keys.take_touches();
    if let Err(e) = state.store.touch_api_keys(&touches).await {
        tracing::warn!(error = %e, "could not record API key last use");
    }
}

/// Serves until `shutdown` resolves, then drains in-flight requests and
/// writes pending key last-use times.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_pages(listener, state, Router::new(), shutdown).await
}

/// As [`serve`], with the web pages beside the API.
pub async fn serve_with_pages(
    listener: TcpListener,
    state: AppState,
    pages: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let flusher = tokio::spawn(flush_key_touches(state.clone()));
    // The peer's address reaches handlers that need it (login throttling).
    let app = app_with_pages(state.clone(), pages)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    flusher.abort();
    flush_touches_once(&state).await;
    result
}
