//! `GET /status/:slug`: a public status page, rendered on the server at
//! most once per [`RENDER_EVERY`] per page and answered from that render
//! (with `ETag` and `Last-Modified`, and 304 to a conditional request) in
//! between. An unknown or disabled slug gets a 404 page in the same style,
//! which says nothing about any organization.

pub mod view;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use certsentry_domain::time::{http_date, now_ms};
use certsentry_store::Store;
use sha2::{Digest, Sha256};

/// A page is rendered at most this often; `Cache-Control` says the same.
pub const RENDER_EVERY: Duration = Duration::from_secs(10);

/// Pages as served: scripts none, styles and images ours only, and no
/// framing (until a page lists the origins that may embed it).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One rendered page.
#[derive(Clone)]
struct Rendered {
    status: StatusCode,
    html: Arc<str>,
    etag: String,
    last_modified: String,
    at: Instant,
}

/// The last render of each slug.
#[derive(Default)]
pub struct RenderCache {
    pages: Mutex<HashMap<String, Rendered>>,
}

impl RenderCache {
    fn fresh(&self, slug: &str) -> Option<Rendered> {
        let pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        pages
            .get(slug)
            .filter(|r| r.at.elapsed() < RENDER_EVERY)
            .cloned()
    }

    fn keep(&self, slug: &str, rendered: Rendered) {
        let mut pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        // Unknown slugs are cached too (a 404 is cheap to keep and costly to
        // recompute under a scan); forget stale ones once there are many.
        if pages.len() > 10_000 {
            pages.retain(|_, r| r.at.elapsed() < RENDER_EVERY);
        }
        pages.insert(slug.to_string(), rendered);
    }
}

#[derive(Clone)]
pub struct StatusPages {
    pub store: Arc<dyn Store>,
    pub cache: Arc<RenderCache>,
}

async fn render(store: &dyn Store, slug: &str) -> Result<(StatusCode, String), String> {
    let page = store
        .get_status_page_by_slug(slug)
        .await
        .map_err(|e| e.to_string())?
        .filter(|p| p.spec.enabled);
    let Some(page) = page else {
        let html = view::NotFoundTemplate.render().map_err(|e| e.to_string())?;
        return Ok((StatusCode::NOT_FOUND, html));
    };
    let template = view::page_view(store, &page, now_ms())
        .await
        .map_err(|e| e.to_string())?;
    Ok((
        StatusCode::OK,
        template.render().map_err(|e| e.to_string())?,
    ))
}

pub async fn page(
    State(pages): State<StatusPages>,
    Path(slug): Path<String>,
    request: HeaderMap,
) -> Response {
    let rendered = match pages.cache.fresh(&slug) {
        Some(rendered) => rendered,
        None => match render(&*pages.store, &slug).await {
            Ok((status, html)) => {
                let rendered = Rendered {
                    status,
                    etag: format!(
                        "\"{}\"",
                        &hex::encode(Sha256::digest(html.as_bytes()))[..32]
                    ),
                    html: html.into(),
                    last_modified: http_date(now_ms()),
                    at: Instant::now(),
                };
                pages.cache.keep(&slug, rendered.clone());
                rendered
            }
            Err(e) => {
                tracing::warn!(%slug, error = %e, "could not render a status page");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "10")],
                    "This status page is unavailable for a moment.",
                )
                    .into_response();
            }
        },
    };
    let not_modified = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|t| t.trim() == rendered.etag || t.trim() == "*")
        });
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (rendered.status, rendered.html.to_string()).into_response()
    };
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(header::CONTENT_TYPE, "text/html; charset=utf-8");
    set(header::CACHE_CONTROL, "public, max-age=10");
    set(header::ETAG, &rendered.etag);
    set(header::LAST_MODIFIED, &rendered.last_modified);
    set(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    response
}
