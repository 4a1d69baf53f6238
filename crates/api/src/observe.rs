//! The one layer every HTTP request passes: its `x-request-id`, its span,
//! and its metrics.
//!
//! - The request id is kept from the request when the client (or a proxy)
//!   sent a usable one, generated otherwise, and echoed in the response.
//! - Every log line written while handling the request sits in a span with
//!   that id, the method and the route, and a 5xx is logged there.
//! - The request counter and latency histogram are labelled by the matched
//!   route pattern (`/api/v1/monitors/{id}`), never the raw path: a ping
//!   URL's path is its secret token, and raw paths have no bounded set.
//!
//! One middleware rather than tower-http's three layers (set id, propagate
//! id, trace): they cost a sixth of `GET /monitors/:id`'s throughput in the
//! API benchmark, this costs nothing measurable.

use std::sync::Arc;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::metrics::{Metrics, method_label};

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A client-sent id is kept when it is short printable ASCII.
fn usable(id: &HeaderValue) -> bool {
    (1..=128).contains(&id.len()) && id.as_bytes().iter().all(|b| b.is_ascii_graphic())
}

/// `req-<process>-<n>`: a random prefix chosen once per process and a
/// counter, unique across restarts and nodes without a lock on the hot path.
fn new_request_id() -> HeaderValue {
    static PROCESS: LazyLock<String> = LazyLock::new(|| format!("{:08x}", rand::random::<u32>()));
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    HeaderValue::try_from(format!("req-{}-{n:x}", *PROCESS)).expect("an ASCII id is a header value")
}

/// The middleware (`Router::layer`, so that it also sees 404s and 405s).
pub async fn observe(
    State(metrics): State<Arc<Metrics>>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .filter(|id| usable(id))
        .cloned()
        .unwrap_or_else(new_request_id);
    request.headers_mut().insert(X_REQUEST_ID, id.clone());
    let route = metrics.route_label(
        request
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str),
    );
    let method = method_label(request.method());
    // The log line names the method as sent; only the metric label is
    // bounded to the standard ones.
    let span = tracing::info_span!(
        "request",
        request_id = id.to_str().unwrap_or_default(),
        method = %request.method(),
        route,
    );
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    metrics.observe(
        method,
        route,
        status.as_u16(),
        started.elapsed().as_secs_f64(),
    );
    if status.is_server_error() {
        span.in_scope(|| tracing::error!(status = status.as_u16(), "request failed"));
    }
    response.headers_mut().insert(X_REQUEST_ID, id);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_client_ids_are_checked() {
        assert_ne!(new_request_id(), new_request_id());
        assert!(usable(&HeaderValue::from_static("abc-123")));
        assert!(!usable(&HeaderValue::from_static("")));
        assert!(!usable(&HeaderValue::from_static("has space")));
        assert!(!usable(&HeaderValue::from_str(&"x".repeat(129)).unwrap()));
    }
}
