//! The dashboard: where an organization's people sign in and manage what
//! the API manages. Rendered on the server (askama), working without
//! JavaScript, under `/`.
//!
//! Every route is listed once in [`routes`] with the [`Permission`] it
//! needs; the router is built from that list and one middleware
//! ([`guard`]) enforces it, so the permission table in the domain
//! (`people::role::PERMISSIONS`) is the only place a rule is written. A
//! state-changing request must also carry the session's CSRF token and no
//! foreign `Origin`.

pub mod account;
pub mod account_sessions;
pub mod certificates;
pub mod channel_form;
pub mod channels;
pub mod csrf;
pub mod dmarc;
pub mod events;
pub mod github;
pub mod keys;
pub mod known_certificates;
pub mod links;
pub mod members;
pub mod monitor_charts;
pub mod monitor_edit;
pub mod monitor_form;
pub mod monitor_tls;
pub mod monitors;
pub mod oidc;
pub mod proxy_auth;
pub mod sessions;
pub mod settings;
pub mod sign_in;
pub mod status_notices;
pub mod status_pages;
pub mod throttle;
pub mod two_factor;
pub mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use certsentry_domain::people::token::{LinkPurpose, UserLink};
use certsentry_domain::people::{Membership, Permission, User};
use certsentry_domain::{OrgId, UserId};
use certsentry_store::Store;
use tower_sessions::Session;

use throttle::LoginThrottle;

/// What the dashboard's handlers share.
#[derive(Clone)]
pub struct Dashboard {
    pub store: Arc<dyn Store>,
    /// The API's state: monitors are created through the API's operations.
    pub api: certsentry_api::AppState,
    /// The server's public base URL (`--public-url`), for the links it
    /// hands out and the origin forms must come from.
    pub public_url: String,
    /// Where invitations and reset links are emailed from, if anywhere.
    pub mail: Option<certsentry_notify::email::OperatorMail>,
    /// Sign-in by an authenticating proxy's header, when configured.
    pub trusted_header: Option<crate::TrustedHeader>,
    /// Sign-in with GitHub, when an OAuth app is configured.
    pub github: Option<github::GithubSignIn>,
    /// Single sign-on with an OpenID Connect provider, when configured.
    pub oidc: Option<oidc::OidcSignIn>,
    pub throttle: Arc<LoginThrottle>,
}

impl Dashboard {
    /// The signed-in person as the API's caller, with their organization
    /// and its plan: the dashboard acts through the API's operations, so
    /// the same rules, quotas and audit entries (with the person's email)
    /// apply.
    pub async fn caller(&self, signed: &Signed) -> Result<certsentry_api::auth::Caller, Response> {
        let org = self
            .store
            .get_org(signed.org_id())
            .await
            .map_err(|_| views::unavailable())?
            .ok_or_else(views::unavailable)?;
        let plan = self
            .api
            .config
            .plans
            .get(&org.plan)
            .cloned()
            .ok_or_else(|| {
                views::error_page(
                    StatusCode::CONFLICT,
                    "Unknown plan",
                    "This organization's plan is not configured on this server; ask the operator.",
                )
            })?;
        Ok(certsentry_api::auth::Caller {
            key_id: certsentry_domain::ApiKeyId::from_string(signed.user.id.to_string()),
            key_name: signed.user.email.clone(),
            email: Some(signed.user.email.clone()),
            org,
            plan,
        })
    }
}

impl Dashboard {
    /// Calls an API handler that acts on one thing by its id (delete,
    /// test, check now), as the signed-in person, then sends the browser to
    /// `then`. A missing thing is the 404 page; the API's other refusals are
    /// said in words.
    pub async fn act_on<T, Fut>(
        &self,
        signed: &Signed,
        id: String,
        handler: impl FnOnce(
            axum::extract::State<certsentry_api::AppState>,
            axum::Extension<Arc<certsentry_api::auth::Caller>>,
            axum::extract::Path<String>,
        ) -> Fut,
        then: &str,
    ) -> Response
    where
        Fut: std::future::Future<Output = certsentry_api::ApiResult<T>>,
    {
        let caller = match self.caller(signed).await {
            Ok(caller) => Arc::new(caller),
            Err(response) => return response,
        };
        let done = handler(
            axum::extract::State(self.api.clone()),
            axum::Extension(caller),
            axum::extract::Path(id),
        )
        .await;
        match done {
            Ok(_) => Redirect::to(then).into_response(),
            Err(certsentry_api::ApiError::NotFound(_)) => views::not_found(),
            Err(certsentry_api::ApiError::Unavailable { .. }) => views::unavailable(),
            Err(e) => views::error_page(StatusCode::CONFLICT, "Not done", &e.to_string()),
        }
    }
}

/// How long sending one email may take.
const MAIL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

impl Dashboard {
    /// Emails `text` to `to` from the operator's address; `Err` with the
    /// reason when there is no mail server or it refused.
    pub async fn email(&self, to: &str, subject: &str, text: String) -> Result<(), String> {
        let Some(mail) = &self.mail else {
            return Err("no outgoing mail is configured".into());
        };
        certsentry_notify::email::send_from_operator(mail, to, subject, text, MAIL_TIMEOUT).await
    }
}

/// How long a session lasts at most, however active.
pub const SESSION_MAX_MS: i64 = 30 * 24 * 3_600_000;
/// How long a session lasts without a request.
pub const SESSION_IDLE: time::Duration = time::Duration::hours(12);

/// Session keys.
pub(crate) const ORG_KEY: &str = "org";
pub(crate) const SINCE_KEY: &str = "since";
pub(crate) const SEEN_KEY: &str = "seen";
/// The session's browser (its `User-Agent`, cut to 200 characters).
pub(crate) const DEVICE_KEY: &str = "device";

/// A signed-in request: the person, the organization they are working in
/// and their role there, and the session's CSRF token for the page's forms.
#[derive(Clone)]
pub struct Signed {
    pub user: User,
    pub membership: Membership,
    /// Every organization the user belongs to (the switcher).
    pub memberships: Vec<Membership>,
    pub csrf: String,
}

impl Signed {
    pub fn org_id(&self) -> &OrgId {
        &self.membership.org_id
    }

    pub fn may(&self, permission: Permission) -> bool {
        self.membership.role.may(permission)
    }

    pub fn actor(&self) -> certsentry_domain::audit::Actor {
        certsentry_domain::audit::Actor::user(&self.user.id, &self.user.email)
    }
}

/// One dashboard route and what it needs.
pub struct RouteRule {
    pub method: Method,
    /// An axum path, `{id}` for a parameter.
    pub path: &'static str,
    pub permission: Permission,
}

/// Every signed-in route, with its permission. Sign-in, setup, invitation
/// and password links are outside it: they are open to anyone holding the
/// link or the password.
#[rustfmt::skip] // one route per line: this is a table
pub fn routes() -> Vec<(RouteRule, MethodRouter<Dashboard>)> {
    use Permission::*;
    let rule = |method: Method, path, permission| RouteRule { method, path, permission };
    let (get_, post_) = (Method::GET, Method::POST);
    vec![
        (rule(get_.clone(), "/", Read), get(monitors::home)),
        (rule(get_.clone(), "/monitors", Read), get(monitors::list)),
        (rule(get_.clone(), "/monitors/new", ManageMonitors), get(monitor_form::form)),
        (rule(post_.clone(), "/monitors", ManageMonitors), post(monitor_form::create)),
        (rule(get_.clone(), "/monitors/{id}", Read), get(monitors::detail)),
        (rule(get_.clone(), "/monitors/{id}/edit", ManageMonitors), get(monitor_edit::edit_form)),
        (rule(get_.clone(), "/monitors/{id}/tls", Read), get(monitor_tls::page)),
        (rule(post_.clone(), "/monitors/{id}", ManageMonitors), post(monitor_edit::update)),
        (rule(post_.clone(), "/monitors/{id}/delete", ManageMonitors), post(monitor_edit::delete)),
        (rule(post_.clone(), "/monitors/{id}/check", ManageMonitors), post(monitor_edit::check_now)),
        (rule(post_.clone(), "/monitors/{id}/heartbeat-token", ManageMonitors), post(monitor_edit::rotate_heartbeat_token)),
        (rule(post_.clone(), "/orgs/switch", Read), post(account::switch_org)),
        (rule(get_.clone(), "/account", Read), get(account::page)),
        (rule(post_.clone(), "/account/password", Read), post(account::change_password)),
        (rule(post_.clone(), "/account/sign-out-everywhere", Read), post(account::sign_out_everywhere)),
        (rule(get_.clone(), "/account/sessions", Read), get(account_sessions::page)),
        (rule(post_.clone(), "/account/sessions/end", Read), post(account_sessions::end)),
        (rule(post_.clone(), "/account/two-factor/start", Read), post(two_factor::start)),
        (rule(post_.clone(), "/account/two-factor/enable", Read), post(two_factor::enable)),
        (rule(post_.clone(), "/account/two-factor/disable", Read), post(two_factor::disable)),
        (rule(get_.clone(), "/status-pages", Read), get(status_pages::list)),
        (rule(get_.clone(), "/status-pages/new", ManageStatusPages), get(status_pages::new_form)),
        (rule(post_.clone(), "/status-pages", ManageStatusPages), post(status_pages::create)),
        (rule(post_.clone(), "/status-pages/preview", ManageStatusPages), post(status_pages::preview)),
        (rule(get_.clone(), "/status-pages/{id}", Read), get(status_pages::edit_form)),
        (rule(post_.clone(), "/status-pages/{id}", ManageStatusPages), post(status_pages::update)),
        (rule(post_.clone(), "/status-pages/{id}/delete", ManageStatusPages), post(status_pages::delete)),
        (rule(get_.clone(), "/status-pages/{id}/notices", Read), get(status_notices::page)),
        (rule(post_.clone(), "/status-pages/{id}/incidents", ManageStatusPages), post(status_notices::open_incident)),
        (rule(post_.clone(), "/status-pages/{id}/incidents/{iid}/updates", ManageStatusPages), post(status_notices::add_update)),
        (rule(post_.clone(), "/status-pages/{id}/maintenance", ManageStatusPages), post(status_notices::schedule)),
        (rule(post_.clone(), "/status-pages/{id}/maintenance/{mid}/end", ManageStatusPages), post(status_notices::end_now)),
        (rule(post_.clone(), "/status-pages/{id}/maintenance/{mid}/delete", ManageStatusPages), post(status_notices::cancel)),
        (rule(get_.clone(), "/events", Read), get(events::page)),
        (rule(get_.clone(), "/certificates", Read), get(certificates::page)),
        (rule(post_.clone(), "/certificates/known", ManageCertificates), post(certificates::mark_known)),
        (rule(get_.clone(), "/certificates/known", Read), get(known_certificates::page)),
        (rule(post_.clone(), "/certificates/known/add", ManageCertificates), post(known_certificates::add)),
        (rule(post_.clone(), "/certificates/known/{id}/remove", ManageCertificates), post(known_certificates::remove)),
        (rule(get_.clone(), "/dmarc", Read), get(dmarc::page)),
        (rule(post_.clone(), "/dmarc", ManageDmarc), post(dmarc::add)),
        (rule(get_.clone(), "/dmarc/{id}", Read), get(dmarc::domain)),
        (rule(post_.clone(), "/dmarc/{id}/rotate", ManageDmarc), post(dmarc::rotate)),
        (rule(post_.clone(), "/dmarc/{id}/reports", ManageDmarc), post(dmarc::upload)),
        (rule(post_.clone(), "/dmarc/{id}/threshold", ManageDmarc), post(dmarc::threshold)),
        (rule(post_.clone(), "/dmarc/{id}/delete", ManageDmarc), post(dmarc::delete)),
        (rule(get_.clone(), "/settings/members", Read), get(members::page)),
        (rule(post_.clone(), "/settings/members/invite", ManageMembers), post(members::invite)),
        (rule(post_.clone(), "/settings/members/{id}/role", ManageMembers), post(members::change_role)),
        (rule(post_.clone(), "/settings/members/{id}/remove", ManageMembers), post(members::remove)),
        (rule(post_.clone(), "/settings/invitations/{id}/revoke", ManageMembers), post(members::revoke_invitation)),
        (rule(post_.clone(), "/settings/security/two-factor", ManageSecurity), post(two_factor::require)),
        (rule(get_.clone(), "/settings/channels", Read), get(channels::page)),
        (rule(post_.clone(), "/settings/channels", ManageChannels), post(channels::create)),
        (rule(get_.clone(), "/settings/channels/{id}", Read), get(channels::channel)),
        (rule(post_.clone(), "/settings/channels/{id}", ManageChannels), post(channels::update)),
        (rule(post_.clone(), "/settings/channels/{id}/rotate-secret", ManageChannels), post(channels::rotate_secret)),
        (rule(post_.clone(), "/settings/channels/{id}/test", ManageChannels), post(channels::send_test)),
        (rule(post_.clone(), "/settings/channels/{id}/delete", ManageChannels), post(channels::delete)),
        (rule(post_.clone(), "/settings/deliveries/{id}/redeliver", ManageChannels), post(channels::redeliver)),
        (rule(get_.clone(), "/settings/environments", Read), get(settings::environments)),
        (rule(post_.clone(), "/settings/environments", ManageEnvironments), post(settings::create_environment)),
        (rule(post_.clone(), "/settings/environments/{id}/delete", ManageEnvironments), post(settings::delete_environment)),
        (rule(get_.clone(), "/settings/audit", Read), get(settings::audit)),
        (rule(get_.clone(), "/settings/api-keys", Read), get(keys::page)),
        (rule(post_.clone(), "/settings/api-keys", ManageApiKeys), post(keys::create)),
        (rule(post_, "/settings/api-keys/{id}/revoke", ManageApiKeys), post(keys::revoke)),
    ]
}

/// The dashboard's router: the signed-in routes behind [`guard`], the
/// sign-in pages, and the session layer over both.
pub fn router(dashboard: Dashboard) -> Router {
    let mut signed_in = Router::new();
    for (rule, handler) in routes() {
        let permission = rule.permission;
        let guarded = handler.route_layer(middleware::from_fn_with_state(
            (dashboard.clone(), permission),
            guard,
        ));
        signed_in = signed_in.route(rule.path, guarded);
    }
    let sessions = tower_sessions::SessionManagerLayer::new(sessions::StoredSessions {
        store: dashboard.store.clone(),
    })
    .with_name("certsentry_session")
    .with_http_only(true)
    .with_same_site(tower_sessions::cookie::SameSite::Lax)
    .with_secure(dashboard.public_url.starts_with("https://"))
    .with_expiry(tower_sessions::Expiry::OnInactivity(SESSION_IDLE));
    signed_in
        .merge(sign_in::router(dashboard.clone()))
        .with_state(dashboard)
        .layer(sessions)
        .layer(middleware::from_fn(security_headers))
}

/// Dashboard pages may not be framed, and load nothing from elsewhere.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Not `no-referrer`: under it browsers send `Origin: null` with a
    // form's POST, and the origin check must see the real one. Links that
    // carry a token (setup, invitations) still never leave for elsewhere.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Signs the request in from its session, or sends it to `/login`; then
/// refuses a role without `permission` (403), and a state-changing request
/// without the session's CSRF token or from a foreign origin (403).
async fn guard(
    State((dashboard, permission)): State<(Dashboard, Permission)>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    if let Some(trusted) = &dashboard.trusted_header
        && let Some(email) = proxy_auth::vouched_email(trusted, &request)
        && let Err(response) = proxy_auth::follow_proxy(&dashboard, &session, &email).await
    {
        return response;
    }
    let signed = match signed_in(&dashboard, &session).await {
        Ok(Some(signed)) => signed,
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(response) => return response,
    };
    if keep_alive(&session, request.headers()).await.is_err() {
        return views::unavailable();
    }
    // An organization that requires a second factor lets a member without
    // one reach only their account page, where they turn it on.
    if signed.membership.two_factor_required
        && signed.user.two_factor.is_none()
        && !request.uri().path().starts_with("/account")
    {
        return Redirect::to("/account").into_response();
    }
    if !signed.may(permission) {
        return views::error_page(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Your role in this organization does not allow this.",
        );
    }
    let (parts, body) = request.into_parts();
    let request = if parts.method == Method::GET || parts.method == Method::HEAD {
        Request::from_parts(parts, body)
    } else {
        match csrf::checked(&dashboard, &signed.csrf, parts, body).await {
            Ok(request) => request,
            Err(response) => return response,
        }
    };
    let mut request = request;
    request.extensions_mut().insert(signed);
    next.run(request).await
}

/// Pushes an active session's idle expiry back. tower-sessions saves a
/// session (and so its expiry) only when it changed, so without this an
/// active session would end 12 hours after its last change; marking it
/// seen at most once an hour keeps that to one write an hour per session.
async fn keep_alive(
    session: &Session,
    headers: &axum::http::HeaderMap,
) -> Result<(), tower_sessions::session::Error> {
    let now = certsentry_domain::time::now_ms();
    // The browser, so that the account page can tell sessions apart.
    if session.get::<String>(DEVICE_KEY).await?.is_none() {
        let agent = headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("an unknown browser");
        let agent: String = agent.chars().take(200).collect();
        session.insert(DEVICE_KEY, agent).await?;
    }
    let seen: i64 = session.get(SEEN_KEY).await?.unwrap_or(0);
    if now - seen > KEEP_ALIVE_EVERY_MS {
        session.insert(SEEN_KEY, now).await?;
    }
    Ok(())
}

/// How often an active session's expiry is pushed back.
const KEEP_ALIVE_EVERY_MS: i64 = 3_600_000;

/// The session's person and organization; `None` when nobody is signed
/// in, the session has outlived [`SESSION_MAX_MS`], or the user no longer
/// belongs to any organization.
async fn signed_in(dashboard: &Dashboard, session: &Session) -> Result<Option<Signed>, Response> {
    let failed = |_| views::unavailable();
    let Some(user_id) = session
        .get::<String>(sessions::USER_KEY)
        .await
        .map_err(failed)?
    else {
        return Ok(None);
    };
    let since: i64 = session.get(SINCE_KEY).await.map_err(failed)?.unwrap_or(0);
    if certsentry_domain::time::now_ms() - since > SESSION_MAX_MS {
        session.flush().await.map_err(failed)?;
        return Ok(None);
    }
    let store = &dashboard.store;
    let user_id = UserId::from_string(user_id);
    let Some(user) = store
        .get_user(&user_id)
        .await
        .map_err(|_| views::unavailable())?
    else {
        session.flush().await.map_err(failed)?;
        return Ok(None);
    };
    let memberships = store
        .list_memberships(&user.id)
        .await
        .map_err(|_| views::unavailable())?;
    let current: Option<String> = session.get(ORG_KEY).await.map_err(failed)?;
    let membership = memberships
        .iter()
        .find(|m| Some(m.org_id.as_str()) == current.as_deref())
        .or(memberships.first())
        .cloned();
    let Some(membership) = membership else {
        session.flush().await.map_err(failed)?;
        return Ok(None);
    };
    let csrf = csrf::token(session).await.map_err(failed)?;
    Ok(Some(Signed {
        user,
        membership,
        memberships,
        csrf,
    }))
}

/// Drops expired sessions every `every` (they are refused once expired
/// anyway; this keeps the table small).
pub async fn prune_sessions_forever(store: Arc<dyn Store>, every: std::time::Duration) {
    loop {
        match store
            .prune_sessions(certsentry_domain::time::now_ms())
            .await
        {
            Ok(0) => {}
            Ok(pruned) => tracing::debug!(pruned, "expired dashboard sessions dropped"),
            Err(e) => tracing::warn!(error = %e, "pruning dashboard sessions"),
        }
        tokio::time::sleep(every).await;
    }
}

/// A link's address: the public URL, the purpose's path, the token.
pub fn link_url(public_url: &str, purpose: LinkPurpose, token: &str) -> String {
    format!(
        "{}{}{token}",
        public_url.trim_end_matches('/'),
        purpose.path()
    )
}

/// While no user exists, a fresh one-time link that makes its first user
/// the owner of the `default` organization (or of the oldest one, on a
/// database from before the dashboard). `serve` prints a new one at each
/// start until someone has used one.
pub async fn setup_link_if_needed(
    store: &dyn Store,
    public_url: &str,
) -> certsentry_store::StoreResult<Option<String>> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let orgs = store.list_orgs().await?;
    let Some(org) = orgs
        .iter()
        .find(|o| o.name == "default")
        .or_else(|| orgs.iter().min_by_key(|o| o.created_at))
    else {
        return Ok(None);
    };
    let (mut link, token) = UserLink::new(LinkPurpose::Setup, certsentry_domain::time::now_ms());
    link.org_id = Some(org.id.clone());
    store.create_link(&link, None).await?;
    Ok(Some(link_url(public_url, LinkPurpose::Setup, &token)))
}
