//! The two anonymous endpoints of `certsentry certwatch`, as certwatch
//! serves them: `GET /healthz` (`{ok, watch_entries, last_ct_event_at}`)
//! and `GET /metrics`. certwatch has no other HTTP surface.

use std::future::Future;
use std::sync::Arc;

use crate::service::Certwatch;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;

pub fn router(service: Arc<Certwatch>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(service)
}

async fn healthz(State(service): State<Arc<Certwatch>>) -> impl IntoResponse {
    Json(service.health())
}

async fn metrics(State(service): State<Arc<Certwatch>>) -> Response {
    let mut response = service.metrics_text().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    service: Arc<Certwatch>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(service))
        .with_graceful_shutdown(shutdown)
        .await
}
