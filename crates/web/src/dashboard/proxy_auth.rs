//! Sign-in by an authenticating proxy (`--trusted-header`, such as
//! `X-Forwarded-Email`, with `--trusted-proxies`): a request from one of
//! the trusted addresses that carries the header is signed in as the user
//! with that email. The header is ignored from anywhere else, so a client
//! reaching the server directly cannot claim to be someone. Only existing
//! users are signed in this way: people still join by invitation (or
//! `certsentry user create`), with their role.

use std::net::SocketAddr;

use axum::extract::Request;
use axum::extract::connect_info::ConnectInfo;
use axum::response::Response;
use certsentry_domain::people::normalize_email;
use tower_sessions::Session;

use super::Dashboard;
use super::sessions::USER_KEY;
use super::sign_in::{first_org, start_session};
use super::views::unavailable;
use crate::TrustedHeader;

/// The email a trusted proxy vouches for on this request, if any.
pub fn vouched_email(trusted: &TrustedHeader, request: &Request) -> Option<String> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()?
        .0
        .ip();
    if !trusted.proxies.iter().any(|range| range.contains(&peer)) {
        return None;
    }
    let value = request.headers().get(&trusted.header)?.to_str().ok()?;
    normalize_email(value).ok()
}

/// Makes the session the vouched-for user's, unless it already is (the
/// proxy decides who is signed in; a session of someone else is replaced).
pub async fn follow_proxy(
    dashboard: &Dashboard,
    session: &Session,
    email: &str,
) -> Result<(), Response> {
    let store = &dashboard.store;
    let Some(user) = store
        .find_user_by_email(email)
        .await
        .map_err(|_| unavailable())?
    else {
        return Ok(());
    };
    let current: Option<String> = session.get(USER_KEY).await.map_err(|_| unavailable())?;
    if current.as_deref() == Some(user.id.as_str()) {
        return Ok(());
    }
    match first_org(dashboard, &user.id).await? {
        Some(org) => start_session(session, &user.id, &org).await,
        None => Ok(()),
    }
}
