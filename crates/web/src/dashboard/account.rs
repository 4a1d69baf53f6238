//! The signed-in person's own settings: their password, signing out
//! everywhere, and which organization they are working in.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use certsentry_domain::people::password::check_password;
use serde::Deserialize;
use tower_sessions::Session;

use super::sign_in::{hash_in_background, start_session, verify_in_background};
use super::two_factor::Enrolment;
use super::views::{Frame, error_page, render_form, unavailable};
use super::{Dashboard, ORG_KEY, Signed};

#[derive(Template)]
#[template(path = "dashboard/account.html")]
struct AccountPage {
    frame: Frame,
    error: Option<String>,
    two_factor_on: bool,
    /// An organization of the user requires a second factor.
    two_factor_required: bool,
    recovery_codes_left: usize,
    /// A secret being enrolled: its QR code and text.
    enrolment: Option<Enrolment>,
    /// Recovery codes just made: shown this once.
    recovery_codes: Vec<String>,
}

/// The account page, with what just happened on it.
pub(crate) fn account_page(
    signed: &Signed,
    enrolment: Option<Enrolment>,
    recovery_codes: Vec<String>,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let failed = error.is_some();
    render_form(
        &AccountPage {
            frame: Frame::new(signed, "Account", "account").with_notice(notice),
            error,
            two_factor_on: signed.user.two_factor.is_some(),
            two_factor_required: signed.memberships.iter().any(|m| m.two_factor_required),
            recovery_codes_left: signed
                .user
                .two_factor
                .as_ref()
                .map_or(0, |t| t.recovery_hashes.len()),
            enrolment,
            recovery_codes,
        },
        failed,
    )
}

pub async fn page(Extension(signed): Extension<Signed>) -> Response {
    let notice =
        (signed.membership.two_factor_required && signed.user.two_factor.is_none()).then(|| {
            format!(
                "{} requires two-factor sign-in. Turn it on below to continue.",
                signed.membership.org_name
            )
        });
    account_page(&signed, None, Vec::new(), notice, None)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// Changes the password after checking the current one; every other
/// session of the account ends, this one goes on under a new id.
pub async fn change_password(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    session: Session,
    Form(form): Form<PasswordForm>,
) -> Response {
    let stored = signed.user.password_hash.clone().unwrap_or_default();
    let matches = verify_in_background(form.current.clone(), stored).await;
    if !matches {
        return account_page(
            &signed,
            None,
            Vec::new(),
            None,
            Some("The current password is wrong.".into()),
        );
    }
    if let Err(errors) = check_password(&form.password) {
        let message = errors.get("password").unwrap_or("is not acceptable");
        return account_page(
            &signed,
            None,
            Vec::new(),
            None,
            Some(format!("The new password {message}.")),
        );
    }
    if form.password != form.confirm {
        return account_page(
            &signed,
            None,
            Vec::new(),
            None,
            Some("The two new passwords differ.".into()),
        );
    }
    let hash = hash_in_background(form.password).await;
    let store = &dashboard.store;
    if store.set_password(&signed.user.id, &hash).await.is_err()
        || store.delete_user_sessions(&signed.user.id).await.is_err()
    {
        return unavailable();
    }
    if let Err(response) = start_session(&session, &signed.user.id, signed.org_id()).await {
        return response;
    }
    account_page(
        &signed,
        None,
        Vec::new(),
        Some("Password changed. Other sessions were signed out.".into()),
        None,
    )
}

/// Ends every session of the account, this one included.
pub async fn sign_out_everywhere(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    session: Session,
) -> Response {
    if dashboard
        .store
        .delete_user_sessions(&signed.user.id)
        .await
        .is_err()
    {
        return unavailable();
    }
    let _ = session.flush().await;
    Redirect::to("/login").into_response()
}

#[derive(Deserialize)]
pub struct SwitchForm {
    #[serde(default)]
    org: String,
}

pub async fn switch_org(
    Extension(signed): Extension<Signed>,
    session: Session,
    Form(form): Form<SwitchForm>,
) -> Response {
    if !signed
        .memberships
        .iter()
        .any(|m| m.org_id.as_str() == form.org)
    {
        // Not 403: the role is not what is wrong, the organization is.
        return error_page(
            StatusCode::NOT_FOUND,
            "Not a member",
            "You do not belong to that organization.",
        );
    }
    match session.insert(ORG_KEY, &form.org).await {
        Ok(()) => Redirect::to("/monitors").into_response(),
        Err(_) => unavailable(),
    }
}
