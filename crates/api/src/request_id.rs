//! `x-request-id` on every HTTP request: kept from the request when the
//! client (or a proxy) sent one, generated otherwise, echoed in the
//! response, and a field of the request's span, so every log line written
//! while handling it carries it.

use axum::extract::MatchedPath;
use axum::http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

/// Generates `req-<process>-<n>`: a random prefix chosen once per process
/// and a counter, so that ids are unique across restarts and nodes without
/// a lock or a random draw on the hot path.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        use std::sync::LazyLock;
        use std::sync::atomic::{AtomicU64, Ordering};
        static PROCESS: LazyLock<String> =
            LazyLock::new(|| format!("{:08x}", rand::random::<u32>()));
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        HeaderValue::try_from(format!("req-{}-{n:x}", *PROCESS))
            .ok()
            .map(RequestId::new)
    }
}

/// The request's span. The route is the matched pattern, never the raw
/// path: a ping URL's path is its secret token.
pub fn span_for<B>(request: &Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!("request", request_id = %id, method = %request.method(), route = %route)
}
