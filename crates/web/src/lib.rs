//! CertSentry's web pages, rendered on the server with askama (templates
//! checked at compile time, under `templates/`) and working without
//! JavaScript. Everything a page needs is served from here: no fonts,
//! scripts or styles from anywhere else.
//!
//! - `status`: the public status pages at `/status/:slug` (with
//!   `summary.json`, the Atom feed and SVG badges);
//! - `dashboard`: where an organization's people sign in and work, under `/`.

pub mod dashboard;
pub mod markdown;
pub mod status;

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use certsentry_store::Store;

/// The status pages' stylesheet and the dashboard's, compiled into the
/// binary.
const STATUS_CSS: &str = include_str!("../assets/status.css");
const DASHBOARD_CSS: &str = include_str!("../assets/dashboard.css");

fn stylesheet(css: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        css,
    )
}

/// What the pages need beyond the store.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The server's public base URL, for the links the dashboard hands out
    /// (invitations) and the origin its forms must come from.
    pub public_url: String,
    /// The operator's SMTP settings (`--operator-smtp-url`,
    /// `--operator-email`): invitations and password-reset links are
    /// emailed through them. Without them an invitation's link is shown
    /// for copying, and passwords are reset by an admin.
    pub mail: Option<certsentry_notify::email::OperatorMail>,
    /// Sign-in by an authenticating proxy's header, when configured.
    pub trusted_header: Option<TrustedHeader>,
    /// Sign-in with GitHub, when an OAuth app is configured.
    pub github: Option<dashboard::github::GithubSignIn>,
    /// Single sign-on with an OpenID Connect provider, when configured.
    pub oidc: Option<dashboard::oidc::OidcSignIn>,
}

/// An authenticating proxy in front of the dashboard (`--trusted-header`,
/// `--trusted-proxies`): a request from one of `proxies` carrying `header`
/// is signed in as the user with that email, if there is one.
#[derive(Debug, Clone)]
pub struct TrustedHeader {
    pub header: axum::http::HeaderName,
    pub proxies: Vec<ipnet::IpNet>,
}

impl TrustedHeader {
    /// From a header name and addresses or CIDR ranges (`10.0.0.1`,
    /// `10.0.0.0/8`); the error names what does not parse.
    pub fn new(header: &str, proxies: &[&str]) -> Result<Self, String> {
        let header = axum::http::HeaderName::try_from(header.trim())
            .map_err(|_| format!("--trusted-header {header:?} is not a header name"))?;
        let proxies = proxies
            .iter()
            .map(|text| {
                text.parse::<ipnet::IpNet>()
                    .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        format!("--trusted-proxies: {text:?} is not an address or CIDR range")
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if proxies.is_empty() {
            return Err("--trusted-proxies names no address".into());
        }
        Ok(Self { header, proxies })
    }
}

/// The public pages and the dashboard, ready to merge into the server's
/// router. The dashboard acts through the API's own operations (`api`), so
/// a form and the API validate alike.
pub fn router(api: certsentry_api::AppState, config: WebConfig) -> Router {
    let dashboard = dashboard::router(dashboard::Dashboard {
        store: api.store.clone(),
        api: api.clone(),
        public_url: config.public_url,
        mail: config.mail,
        trusted_header: config.trusted_header,
        github: config.github,
        oidc: config.oidc,
        throttle: Arc::new(dashboard::throttle::LoginThrottle::default()),
    });
    status_pages(api.store.clone())
        .merge(dashboard.layer(tower_http::compression::CompressionLayer::new()))
}

/// The public status pages and the stylesheets alone (benchmarks).
pub fn status_pages(store: Arc<dyn Store>) -> Router {
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
        .route(
            "/assets/status.css",
            get(|| async { stylesheet(STATUS_CSS) }),
        )
        .route(
            "/assets/dashboard.css",
            get(|| async { stylesheet(DASHBOARD_CSS) }),
        )
        .layer(tower_http::compression::CompressionLayer::new())
}
