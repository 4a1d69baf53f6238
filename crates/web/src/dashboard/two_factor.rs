//! TOTP two-factor sign-in (`totp-rs`, RFC 6238: SHA-1, 6 digits, 30 s,
//! one step of clock skew either way), with ten recovery codes shown once.
//!
//! Turning it on takes two steps, so nobody locks themselves out with a
//! secret their authenticator never saw: `start` makes a secret and keeps
//! it in the session; `enable` stores it only once a code from it checks.
//! An owner can require it of every member (`ManageSecurity`); a member
//! without it is then sent to their account page until it is on.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::people::TwoFactor;
use certsentry_domain::people::recovery::new_recovery_codes;
use rand::RngExt;
use serde::Deserialize;
use serde_json::json;
use totp_rs::{Algorithm, Secret, Totp};
use tower_sessions::Session;

use super::account::account_page;
use super::sign_in::verify_in_background;
use super::views::{error_page, unavailable};
use super::{Dashboard, Signed};

/// The session key of a secret being enrolled.
const SETUP_KEY: &str = "totp_setup";
pub const ISSUER: &str = "CertSentry";

/// The authenticator's view of `secret` for `email`.
pub fn totp(secret: &str, email: &str) -> Option<Totp> {
    let bytes = Secret::try_from_base32(secret).ok()?;
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(bytes.as_bytes().to_vec())
        .with_account_name(email)
        .with_issuer(Some(ISSUER))
        .build()
        .ok()
}

/// Whether `code` is the current code of `secret` (or one step off).
pub fn code_matches(secret: &str, email: &str, code: &str) -> bool {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    totp(secret, email).is_some_and(|t| t.check_current(&code).is_some())
}

/// 160 random bits, as RFC 4226 recommends, in base32.
fn new_secret() -> String {
    let bytes: [u8; 20] = rand::rng().random();
    Secret::from(bytes).to_base32()
}

/// A QR code of `text` as an inline SVG (no image request, no script).
pub fn qr_svg(text: &str) -> Option<String> {
    let qr = qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Medium).ok()?;
    let size = qr.size();
    let border = 2;
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    let full = size + 2 * border;
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {full} {full}\" \
         width=\"200\" height=\"200\" role=\"img\" aria-label=\"QR code of the secret\" \
         shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\
         <path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

/// What the account page shows while a secret is being enrolled.
pub struct Enrolment {
    pub secret: String,
    pub url: String,
    pub qr: String,
}

pub fn enrolment(secret: &str, email: &str) -> Option<Enrolment> {
    let url = totp(secret, email)?.to_url().ok()?;
    Some(Enrolment {
        secret: secret.to_string(),
        qr: qr_svg(&url)?,
        url,
    })
}

/// `POST /account/two-factor/start`: a new secret, kept in the session
/// until a code from it proves the authenticator has it.
pub async fn start(Extension(signed): Extension<Signed>, session: Session) -> Response {
    if signed.user.two_factor.is_some() {
        return Redirect::to("/account").into_response();
    }
    let secret = new_secret();
    if session.insert(SETUP_KEY, &secret).await.is_err() {
        return unavailable();
    }
    account_page(
        &signed,
        enrolment(&secret, &signed.user.email),
        Vec::new(),
        None,
        None,
    )
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// `POST /account/two-factor/enable`: stores the secret once `code` checks,
/// and shows the recovery codes once.
pub async fn enable(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    session: Session,
    Form(form): Form<CodeForm>,
) -> Response {
    let Ok(Some(secret)) = session.get::<String>(SETUP_KEY).await else {
        return account_page(
            &signed,
            None,
            Vec::new(),
            None,
            Some("Start again: the setup has expired.".into()),
        );
    };
    let email = &signed.user.email;
    if !code_matches(&secret, email, &form.code) {
        let mut page = account_page(
            &signed,
            enrolment(&secret, email),
            Vec::new(),
            None,
            Some("That code does not match. Check the authenticator's clock and try the newest code.".into()),
        );
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return page;
    }
    let (codes, hashes) = new_recovery_codes();
    let two_factor = TwoFactor {
        secret,
        recovery_hashes: hashes,
    };
    if dashboard
        .store
        .set_two_factor(&signed.user.id, Some(&two_factor))
        .await
        .is_err()
    {
        return unavailable();
    }
    let _ = session.remove::<String>(SETUP_KEY).await;
    let mut signed = signed;
    signed.user.two_factor = Some(two_factor);
    account_page(
        &signed,
        None,
        codes,
        Some("Two-factor sign-in is on.".into()),
        None,
    )
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
}

/// `POST /account/two-factor/disable`, with the password; refused while an
/// organization of the user requires a second factor.
pub async fn disable(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Form(form): Form<PasswordForm>,
) -> Response {
    if signed.memberships.iter().any(|m| m.two_factor_required) {
        return error_page(
            StatusCode::CONFLICT,
            "Two-factor sign-in is required",
            "An organization you belong to requires it, so it stays on.",
        );
    }
    let stored = signed.user.password_hash.clone().unwrap_or_default();
    let ok = verify_in_background(form.password, stored).await;
    if !ok {
        let mut page = account_page(
            &signed,
            None,
            Vec::new(),
            None,
            Some("The password is wrong.".into()),
        );
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return page;
    }
    if dashboard
        .store
        .set_two_factor(&signed.user.id, None)
        .await
        .is_err()
    {
        return unavailable();
    }
    let mut signed = signed;
    signed.user.two_factor = None;
    account_page(
        &signed,
        None,
        Vec::new(),
        Some("Two-factor sign-in is off.".into()),
        None,
    )
}

#[derive(Deserialize)]
pub struct RequireForm {
    /// A checkbox: present when ticked.
    #[serde(default)]
    required: Option<String>,
}

/// `POST /settings/security/two-factor`: an owner requires (or stops
/// requiring) a second factor of every member.
pub async fn require(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Form(form): Form<RequireForm>,
) -> Response {
    let required = form.required.is_some();
    let audit = AuditEvent::new(
        signed.org_id(),
        &signed.actor(),
        "organization.twoFactor.require",
        "organization",
        signed.org_id().as_str(),
        json!({"required": required}),
    );
    match dashboard
        .store
        .set_two_factor_required(signed.org_id(), required, &audit)
        .await
    {
        Ok(()) => Redirect::to("/settings/members").into_response(),
        Err(_) => unavailable(),
    }
}

#[derive(Template)]
#[template(path = "dashboard/totp.html")]
pub struct TotpPage {
    pub csrf: String,
    pub error: Option<String>,
}
