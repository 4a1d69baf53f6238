//! Prometheus metrics: requests by route and status, and a latency
//! histogram, registered in the one registry the composition root builds
//! (which also holds the outbox's and CT's families). `/metrics` encodes
//! that registry; no text is written by hand.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};

use axum::extract::State;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: &'static str,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms .. ~8 s
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    /// Every route pattern seen, kept for the life of the process so that
    /// labels borrow it instead of copying it twice per request. Bounded:
    /// patterns come from the router (plus `unmatched`), never from paths.
    routes: RwLock<HashSet<&'static str>>,
}

/// The method as a label. Methods outside the standard ones are all
/// `OTHER`: a client can send any token as a method, and each distinct
/// label set is a series kept for the life of the process.
pub(crate) fn method_label(method: &Method) -> &'static str {
    const STANDARD: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    ];
    STANDARD
        .into_iter()
        .find(|name| *name == method.as_str())
        .unwrap_or("OTHER")
}

impl Metrics {
    /// Adds the HTTP families to `registry` and serves all of it.
    pub fn new(mut registry: Registry) -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            routes: RwLock::default(),
        }
    }

    /// The route pattern as a `'static` label (see [`Metrics::routes`]).
    pub(crate) fn route_label(&self, route: &str) -> &'static str {
        if let Some(known) = self
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(route)
        {
            return known;
        }
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(known) = routes.get(route) {
            return known;
        }
        let leaked: &'static str = Box::leak(route.into());
        routes.insert(leaked);
        leaked
    }

    pub(crate) fn observe(
        &self,
        method: &'static str,
        route: &'static str,
        status: u16,
        seconds: f64,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { method, route })
            .observe(seconds);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String");
        out
    }
}

/// `GET /metrics`
pub async fn render(State(metrics): State<Arc<Metrics>>) -> Response {
    let mut response = metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded_and_routes_are_kept_once() {
        let metrics = Metrics::new(Registry::default());
        let first = metrics.route_label(&String::from("/api/v1/monitors/{id}"));
        let again = metrics.route_label(&String::from("/api/v1/monitors/{id}"));
        assert!(std::ptr::eq(first, again), "one copy per route pattern");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let invented = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&invented), "OTHER");

        metrics.observe(method_label(&invented), first, 404, 0.001);
        metrics.observe("GET", first, 200, 0.001);
        let text = metrics.render();
        assert!(
            text.contains(
                r#"http_requests_total{method="OTHER",route="/api/v1/monitors/{id}",status="404"} 1"#
            ),
            "{text}"
        );
        assert!(!text.contains("BREW"), "{text}");
    }
}
