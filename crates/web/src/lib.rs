//! CertSentry's web pages, rendered on the server with askama (templates
//! checked at compile time, under `templates/`) and working without
//! JavaScript. Everything a page needs is served from here: no fonts,
//! scripts or styles from anywhere else.
//!
//! Today: the public status pages at `/status/:slug` (with `summary.json`
//! and SVG badges), and their stylesheet.

pub mod markdown;
pub mod status;

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use certsentry_store::Store;

/// The pages' one stylesheet, compiled into the binary.
const STATUS_CSS: &str = include_str!("../assets/status.css");

async fn status_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STATUS_CSS,
    )
}

/// The public pages, ready to merge into the server's router.
pub fn router(store: Arc<dyn Store>) -> Router {
    let pages = status::StatusPages {
        store,
        cache: Arc::new(status::RenderCache::default()),
    };
    // HTML with 90 days per monitor compresses well: gzip when the client
    // accepts it (images and small bodies are left alone).
    Router::new()
        .route("/status/{slug}", get(status::page))
        .route("/status/{slug}/history", get(status::history))
        .route("/status/{slug}/summary.json", get(status::summary_json))
        .route("/status/{slug}/feed.atom", get(status::feed_atom))
        .route("/status/{slug}/badge.svg", get(status::page_badge))
        .route(
            "/status/{slug}/monitors/{n}/badge.svg",
            get(status::monitor_badge),
        )
        .with_state(pages)
        .route("/assets/status.css", get(status_css))
        .layer(tower_http::compression::CompressionLayer::new())
}
