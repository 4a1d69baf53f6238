//! The public status page and its machine-readable forms:
//! - `GET /status/:slug`: the page;
//! - `GET /status/:slug/history`: 90 days of incidents and maintenance;
//! - `GET /status/:slug/summary.json`: Statuspage's summary shape;
//! - `GET /status/:slug/feed.atom`: incidents and maintenance as Atom;
//! - `GET /status/:slug/badge.svg` and `GET /status/:slug/monitors/:n/badge.svg?metric=…`.
//!
//! A page is read and rendered at most once per [`RENDER_EVERY`] per slug,
//! and every form is answered from that read, with `ETag`, `Last-Modified`
//! and 304 to a conditional request. An unknown or disabled slug gets a
//! 404 in the same style, which says nothing about any organization.

pub mod badge;
pub mod data;
pub mod feed;
pub mod finished_days;
pub mod notices;
pub mod summary;
pub mod view;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use certsentry_domain::status_page::StatusPage;
use certsentry_domain::time::{http_date, now_ms};
use certsentry_store::Store;
use sha2::{Digest, Sha256};

use data::PageData;

/// A page is rendered at most this often; `Cache-Control` says the same.
pub const RENDER_EVERY: Duration = Duration::from_secs(10);

/// Pages as served: scripts none, styles and images ours only, and no
/// framing but by the origins the page lists (`embedOrigins`).
fn content_security_policy(embed_origins: &[String]) -> String {
    let ancestors = if embed_origins.is_empty() {
        "'none'".to_string()
    } else {
        embed_origins.join(" ")
    };
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; \
         form-action 'none'; frame-ancestors {ancestors}"
    )
}

/// One read of a slug, and its page rendered.
struct Rendered {
    /// `None`: no enabled page has this slug.
    data: Option<PageData>,
    status: StatusCode,
    html: String,
    etag: String,
    last_modified: String,
    at: Instant,
}

/// The last render of each slug, and the slugs being rendered again.
#[derive(Default)]
pub struct RenderCache {
    pages: Mutex<HashMap<String, Arc<Rendered>>>,
    /// The finished days of the pages' monitors, kept between renders.
    finished: finished_days::FinishedDays,
    refreshing: Mutex<std::collections::HashSet<String>>,
}

impl RenderCache {
    /// The last render, and whether it is still fresh.
    fn last(&self, slug: &str) -> Option<(Arc<Rendered>, bool)> {
        let pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        pages
            .get(slug)
            .map(|r| (r.clone(), r.at.elapsed() < RENDER_EVERY))
    }

    /// Claims the re-render of `slug`; `false` when another request has it.
    fn begin_refresh(&self, slug: &str) -> bool {
        let mut refreshing = self.refreshing.lock().unwrap_or_else(|p| p.into_inner());
        refreshing.insert(slug.to_string())
    }

    fn end_refresh(&self, slug: &str) {
        let mut refreshing = self.refreshing.lock().unwrap_or_else(|p| p.into_inner());
        refreshing.remove(slug);
    }

    fn keep(&self, slug: &str, rendered: Arc<Rendered>) {
        let mut pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        // Unknown slugs are kept too (a 404 is cheap to keep and costly to
        // recompute under a scan); stale ones go once there are many.
        if pages.len() > 10_000 {
            pages.retain(|_, r| r.at.elapsed() < RENDER_EVERY);
        }
        pages.insert(slug.to_string(), rendered);
    }
}

/// A claimed re-render, given back when dropped.
struct RefreshClaim<'a> {
    cache: &'a RenderCache,
    slug: &'a str,
}

impl Drop for RefreshClaim<'_> {
    fn drop(&mut self) {
        self.cache.end_refresh(self.slug);
    }
}

#[derive(Clone)]
pub struct StatusPages {
    pub store: Arc<dyn Store>,
    pub cache: Arc<RenderCache>,
}

/// A weak tag: the same page may go out gzipped or not.
fn etag_of(body: &[u8]) -> String {
    format!("W/\"{}\"", &hex::encode(Sha256::digest(body))[..32])
}

async fn render(
    store: &dyn Store,
    slug: &str,
    finished: &finished_days::FinishedDays,
) -> Result<Rendered, String> {
    let page = store
        .get_status_page_by_slug(slug)
        .await
        .map_err(|e| e.to_string())?
        .filter(|p| p.spec.enabled);
    let now = now_ms();
    let (data, status, html) = match page {
        None => {
            let html = view::NotFoundTemplate.render().map_err(|e| e.to_string())?;
            (None, StatusCode::NOT_FOUND, html)
        }
        Some(page) => {
            let data = data::load(store, &page, now, finished)
                .await
                .map_err(|e| e.to_string())?;
            let html = view::StatusTemplate::of(&data)
                .render()
                .map_err(|e| e.to_string())?;
            (Some(data), StatusCode::OK, html)
        }
    };
    Ok(Rendered {
        etag: etag_of(html.as_bytes()),
        data,
        status,
        html,
        last_modified: http_date(now),
        at: Instant::now(),
    })
}

/// Reads and renders `slug`'s page, bypassing the render cache, with the
/// finished days kept in `finished` (benchmarks: a fresh one for a cold
/// render, a kept one for the re-render every 10 s).
pub async fn render_uncached(
    store: &dyn Store,
    slug: &str,
    finished: &finished_days::FinishedDays,
) -> Result<String, String> {
    render(store, slug, finished).await.map(|r| r.html)
}

/// A page that is not stored (the editor's preview of a draft), read and
/// rendered as its public page would be, with its strict CSP.
pub async fn render_draft(
    store: &dyn Store,
    page: &StatusPage,
) -> Result<(String, String), String> {
    let data = data::load(
        store,
        page,
        now_ms(),
        &finished_days::FinishedDays::default(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let html = view::StatusTemplate::of(&data)
        .render()
        .map_err(|e| e.to_string())?;
    Ok((html, content_security_policy(&[])))
}

impl StatusPages {
    /// The slug's render: fresh, or made now. Once a page is stale, one
    /// request renders it again while the others are answered from the
    /// stale copy, so a busy page is still rendered at most once per
    /// [`RENDER_EVERY`] and no request queues behind a render.
    async fn rendered(&self, slug: &str) -> Result<Arc<Rendered>, Response> {
        let stale = match self.cache.last(slug) {
            Some((rendered, true)) => return Ok(rendered),
            Some((rendered, false)) => Some(rendered),
            None => None,
        };
        // Released when this request is done, or dropped (a client gone).
        let _refresh = match &stale {
            Some(stale) if !self.cache.begin_refresh(slug) => return Ok(stale.clone()),
            Some(_) => Some(RefreshClaim {
                cache: &self.cache,
                slug,
            }),
            None => None,
        };
        match render(&*self.store, slug, &self.cache.finished).await {
            Ok(rendered) => {
                let rendered = Arc::new(rendered);
                self.cache.keep(slug, rendered.clone());
                Ok(rendered)
            }
            Err(e) => {
                tracing::warn!(%slug, error = %e, "could not render a status page");
                Err((
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "10")],
                    "This status page is unavailable for a moment.",
                )
                    .into_response())
            }
        }
    }
}

/// The answer with the caching and security headers every form shares,
/// or a 304 when the client already has this version.
fn respond(
    request: &HeaderMap,
    rendered: &Rendered,
    status: StatusCode,
    content_type: &str,
    body: String,
    etag: &str,
) -> Response {
    let csp = &content_security_policy(
        rendered
            .data
            .as_ref()
            .map_or(&[][..], |d| d.embed_origins.as_slice()),
    );
    let last_modified = &rendered.last_modified;
    let not_modified = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (status, body).into_response()
    };
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(header::CONTENT_TYPE, content_type);
    set(header::CACHE_CONTROL, "public, max-age=10");
    set(header::ETAG, etag);
    set(header::LAST_MODIFIED, last_modified);
    set(header::CONTENT_SECURITY_POLICY, csp);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    response
}

/// A form derived from the page's data, answered like the page.
fn respond_with(
    request: &HeaderMap,
    rendered: &Rendered,
    content_type: &str,
    form: impl FnOnce(&PageData) -> Option<String>,
) -> Response {
    let Some(body) = rendered.data.as_ref().and_then(form) else {
        return respond(
            request,
            rendered,
            StatusCode::NOT_FOUND,
            "text/html; charset=utf-8",
            view::NotFoundTemplate.render().unwrap_or_default(),
            "W/\"not-found\"",
        );
    };
    let etag = etag_of(body.as_bytes());
    respond(request, rendered, StatusCode::OK, content_type, body, &etag)
}

pub async fn page(
    State(pages): State<StatusPages>,
    Path(slug): Path<String>,
    request: HeaderMap,
) -> Response {
    match pages.rendered(&slug).await {
        Ok(r) => respond(
            &request,
            &r,
            r.status,
            "text/html; charset=utf-8",
            r.html.clone(),
            &r.etag,
        ),
        Err(unavailable) => unavailable,
    }
}

pub async fn summary_json(
    State(pages): State<StatusPages>,
    Path(slug): Path<String>,
    request: HeaderMap,
) -> Response {
    match pages.rendered(&slug).await {
        Ok(r) => respond_with(&request, &r, "application/json", |data| {
            Some(summary::summary(data, &format!("/status/{}", data.slug)).to_string())
        }),
        Err(unavailable) => unavailable,
    }
}

pub async fn history(
    State(pages): State<StatusPages>,
    Path(slug): Path<String>,
    request: HeaderMap,
) -> Response {
    match pages.rendered(&slug).await {
        Ok(r) => respond_with(&request, &r, "text/html; charset=utf-8", |data| {
            view::HistoryTemplate::of(data).render().ok()
        }),
        Err(unavailable) => unavailable,
    }
}

pub async fn feed_atom(
    State(pages): State<StatusPages>,
    Path(slug): Path<String>,
    request: HeaderMap,
) -> Response {
    match pages.rendered(&slug).await {
        Ok(r) => respond_with(&request, &r, "application/atom+xml", |data| {
            Some(feed::atom(data))
        }),
        Err(unavailable) => unavailable,
    }
}

pub async fn page_badge(
    State(pages): State<StatusPages>,
    Path(slug): Path<String>,
    request: HeaderMap,
) -> Response {
    match pages.rendered(&slug).await {
        Ok(r) => respond_with(&request, &r, "image/svg+xml", |data| {
            Some(badge::page(data.overall))
        }),
        Err(unavailable) => unavailable,
    }
}

#[derive(serde::Deserialize)]
pub struct BadgeQuery {
    metric: Option<String>,
}

pub async fn monitor_badge(
    State(pages): State<StatusPages>,
    Path((slug, position)): Path<(String, String)>,
    Query(query): Query<BadgeQuery>,
    request: HeaderMap,
) -> Response {
    let metric = query.metric.unwrap_or_else(|| "status".into());
    match pages.rendered(&slug).await {
        Ok(r) => respond_with(&request, &r, "image/svg+xml", |data| {
            let n: usize = position.parse().ok()?;
            let component = data.components.iter().find(|c| c.position == n)?;
            badge::component(component, &metric)
        }),
        Err(unavailable) => unavailable,
    }
}
