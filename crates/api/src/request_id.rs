//! `x-request-id` on every HTTP request: kept from the request when the
//! client (or a proxy) sent one, generated otherwise, echoed in the
//! response, and a field of the request's span, so every log line written
//! while handling it carries it.

use axum::extract::MatchedPath;
use axum::http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

/// Generates an id of the same shape as every other CertSentry id.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&certsentry_domain::id::new_id())
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
