//! Signing in and out, and the routes of everything reached before signing
//! in (the one-time links live in `links`). The contract scripts and
//! password managers rely on: `GET/POST /login` with the fields `email` and
//! `password`, then `POST /login/totp` with `totp` when two-factor sign-in
//! is on, a hidden `csrf_token` in every form, and `POST /logout`.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use certsentry_domain::people::normalize_email;
use certsentry_domain::people::password::{decoy_hash, hash_password, verify_password};
use certsentry_domain::people::recovery::{hash_recovery_code, looks_like_recovery_code};
use certsentry_domain::time::now_ms;
use certsentry_domain::{OrgId, UserId};
use serde::Deserialize;
use tower_sessions::Session;

use super::two_factor::{TotpPage, code_matches};
use super::views::{render, unavailable};
use super::{Dashboard, ORG_KEY, SEEN_KEY, SINCE_KEY, csrf, links, sessions::USER_KEY};

pub fn router(dashboard: Dashboard) -> Router<Dashboard> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/login/totp", get(login_page).post(login_totp))
        .route("/login/oidc", get(super::oidc::start))
        .route("/login/oidc/callback", get(super::oidc::callback))
        .route("/login/github", get(super::github::start))
        .route("/login/github/callback", get(super::github::callback))
        .route("/logout", post(logout))
        .route("/setup/{token}", get(links::setup_page).post(links::setup))
        .route(
            "/password/forgot",
            get(links::forgot_page).post(links::forgot),
        )
        .route(
            "/password/{token}",
            get(links::password_page).post(links::set_password),
        )
        .route("/join/{token}", get(links::join_page).post(links::join))
        .route_layer(middleware::from_fn_with_state(dashboard, anonymous_guard))
}

/// The forms here are posted before anyone is signed in, so their CSRF
/// token is the anonymous session's, made when the form was shown.
async fn anonymous_guard(
    State(dashboard): State<Dashboard>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        return next.run(request).await;
    }
    let Ok(expected) = csrf::token(&session).await else {
        return unavailable();
    };
    let (parts, body) = request.into_parts();
    match csrf::checked(&dashboard, &expected, parts, body).await {
        Ok(request) => next.run(request).await,
        Err(refused) => refused,
    }
}

#[derive(Template)]
#[template(path = "dashboard/login.html")]
struct LoginPage {
    csrf: String,
    email: String,
    error: Option<String>,
    /// Offer "Sign in with GitHub".
    github: bool,
    /// Offer single sign-on.
    oidc: bool,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn login_page(State(dashboard): State<Dashboard>, session: Session) -> Response {
    if session
        .get::<String>(USER_KEY)
        .await
        .ok()
        .flatten()
        .is_some()
    {
        return Redirect::to("/").into_response();
    }
    let Ok(csrf) = csrf::token(&session).await else {
        return unavailable();
    };
    render(&LoginPage {
        csrf,
        email: String::new(),
        error: None,
        github: dashboard.github.is_some(),
        oidc: dashboard.oidc.is_some(),
    })
}

fn login_again(
    dashboard: &Dashboard,
    status: StatusCode,
    csrf: String,
    email: String,
    error: &str,
) -> Response {
    let mut page = render(&LoginPage {
        csrf,
        email,
        error: Some(error.into()),
        github: dashboard.github.is_some(),
        oidc: dashboard.oidc.is_some(),
    });
    *page.status_mut() = status;
    page
}

async fn login(
    State(dashboard): State<Dashboard>,
    session: Session,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Form(form): Form<LoginForm>,
) -> Response {
    let Ok(csrf) = csrf::token(&session).await else {
        return unavailable();
    };
    let address = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    let email = normalize_email(&form.email).unwrap_or_default();
    const WRONG: &str = "Wrong email or password.";
    if !dashboard.throttle.allows(&email, address) {
        return login_again(
            &dashboard,
            StatusCode::TOO_MANY_REQUESTS,
            csrf,
            form.email,
            "Too many failed sign-ins. Wait 15 minutes and try again.",
        );
    }
    let user = match dashboard.store.find_user_by_email(&email).await {
        Ok(user) => user,
        Err(_) => return unavailable(),
    };
    let stored = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| decoy_hash().to_string());
    let matches = verify_in_background(form.password.clone(), stored).await;
    let user = match user {
        Some(user) if matches && user.password_hash.is_some() => user,
        _ => {
            dashboard.throttle.failed(&email, address);
            return login_again(
                &dashboard,
                StatusCode::UNAUTHORIZED,
                csrf,
                form.email,
                WRONG,
            );
        }
    };
    let org = match first_org(&dashboard, &user.id).await {
        Ok(org) => org,
        Err(response) => return response,
    };
    let Some(org) = org else {
        return login_again(
            &dashboard,
            StatusCode::FORBIDDEN,
            csrf,
            form.email,
            "Your account does not belong to any organization any more.",
        );
    };
    if user.two_factor.is_some() {
        // The password was right; the second step decides. Nothing is
        // signed in until then.
        let pending = session.insert(PENDING_USER_KEY, user.id.as_str()).await;
        let at = session.insert(PENDING_AT_KEY, now_ms()).await;
        if pending.is_err() || at.is_err() {
            return unavailable();
        }
        return render(&TotpPage { csrf, error: None });
    }
    enter(&session, &user.id, &org).await
}

/// Session keys of a sign-in waiting for its second factor.
const PENDING_USER_KEY: &str = "pending_user";
const PENDING_AT_KEY: &str = "pending_at";
/// How long the second step may take after the password.
const PENDING_MS: i64 = 5 * 60_000;

#[derive(Deserialize)]
pub struct TotpForm {
    #[serde(default)]
    totp: String,
}

/// The second step: a code from the authenticator, or a recovery code
/// (spent once). Failures count towards the same throttle as passwords.
async fn login_totp(
    State(dashboard): State<Dashboard>,
    session: Session,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Form(form): Form<TotpForm>,
) -> Response {
    let Ok(csrf) = csrf::token(&session).await else {
        return unavailable();
    };
    let pending: Option<String> = session.get(PENDING_USER_KEY).await.ok().flatten();
    let at: i64 = session
        .get(PENDING_AT_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or(0);
    let Some(user_id) = pending.filter(|_| now_ms() - at < PENDING_MS) else {
        return Redirect::to("/login").into_response();
    };
    let store = &dashboard.store;
    let user = match store.get_user(&UserId::from_string(user_id)).await {
        Ok(Some(user)) => user,
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(_) => return unavailable(),
    };
    let Some(two_factor) = user.two_factor.clone() else {
        return Redirect::to("/login").into_response();
    };
    let address = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    let again = |status, error: &str| {
        let mut page = render(&TotpPage {
            csrf: csrf.clone(),
            error: Some(error.into()),
        });
        *page.status_mut() = status;
        page
    };
    if !dashboard.throttle.allows(&user.email, address) {
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed sign-ins. Wait 15 minutes and try again.",
        );
    }
    let accepted = if looks_like_recovery_code(&form.totp) {
        match store
            .use_recovery_code(&user.id, &hash_recovery_code(&form.totp))
            .await
        {
            Ok(used) => used,
            Err(_) => return unavailable(),
        }
    } else {
        code_matches(&two_factor.secret, &user.email, &form.totp)
    };
    if !accepted {
        dashboard.throttle.failed(&user.email, address);
        return again(StatusCode::UNAUTHORIZED, "That code is not right.");
    }
    let org = match first_org(&dashboard, &user.id).await {
        Ok(org) => org,
        Err(response) => return response,
    };
    let Some(org) = org else {
        return Redirect::to("/login").into_response();
    };
    let _ = session.remove::<String>(PENDING_USER_KEY).await;
    let _ = session.remove::<i64>(PENDING_AT_KEY).await;
    enter(&session, &user.id, &org).await
}

/// Signs `user` in: a new session id (so an id planted before sign-in is
/// worth nothing), the user, the organization and the time.
pub(crate) async fn start_session(
    session: &Session,
    user: &UserId,
    org: &OrgId,
) -> Result<(), Response> {
    let failed = |_| unavailable();
    session.cycle_id().await.map_err(failed)?;
    session
        .insert(USER_KEY, user.as_str())
        .await
        .map_err(failed)?;
    session
        .insert(ORG_KEY, org.as_str())
        .await
        .map_err(failed)?;
    session.insert(SINCE_KEY, now_ms()).await.map_err(failed)?;
    session.insert(SEEN_KEY, now_ms()).await.map_err(failed)?;
    Ok(())
}

/// Signs `user` into `org` and sends the browser to the dashboard.
pub(crate) async fn enter(session: &Session, user: &UserId, org: &OrgId) -> Response {
    match start_session(session, user, org).await {
        Ok(()) => Redirect::to("/").into_response(),
        Err(response) => response,
    }
}

/// The organization `user` starts in after signing in: their first, by
/// name. `None` when they no longer belong to any.
pub(crate) async fn first_org(
    dashboard: &Dashboard,
    user: &UserId,
) -> Result<Option<OrgId>, Response> {
    let memberships = dashboard
        .store
        .list_memberships(user)
        .await
        .map_err(|_| unavailable())?;
    Ok(memberships.first().map(|m| m.org_id.clone()))
}

/// Checks `password` against a stored argon2id hash, off the async
/// threads (it takes tens of milliseconds on purpose).
pub(crate) async fn verify_in_background(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .unwrap_or(false)
}

/// Ends the session on the server, not only the cookie.
async fn logout(session: Session) -> Response {
    match session.flush().await {
        Ok(()) => Redirect::to("/login").into_response(),
        Err(_) => unavailable(),
    }
}

/// argon2id takes tens of milliseconds: off the async threads.
pub(crate) async fn hash_in_background(password: String) -> String {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .expect("hashing a password does not panic")
}
