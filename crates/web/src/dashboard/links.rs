//! The one-time links that let someone in for the first time, and the
//! forgotten-password form: the setup link (the first owner), invitations
//! (`/join/…`), set- and reset-password links (`/password/…`), and
//! `/password/forgot`, which emails a reset link. Their routes are in
//! `sign_in::router`, behind the same anonymous CSRF check.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use certsentry_domain::audit::{Actor, AuditEvent};
use certsentry_domain::people::password::check_password;
use certsentry_domain::people::token::{LinkPurpose, UserLink, hash_link_token};
use certsentry_domain::people::{Role, User, normalize_email};
use certsentry_domain::time::now_ms;
use certsentry_domain::{OrgId, UserId};
use certsentry_store::StoreError;
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;

use super::sign_in::{enter, first_org, hash_in_background, verify_in_background};
use super::views::{error_page, render, unavailable};
use super::{Dashboard, csrf};

/// One form behind a one-time link.
#[derive(Template)]
#[template(path = "dashboard/link.html")]
struct LinkPage {
    title: String,
    intro: String,
    action: String,
    csrf: String,
    /// The email field: `None` hides it (the address is known already).
    email: Option<String>,
    /// Ask for a new password (with confirmation), or the existing one.
    new_password: bool,
    button: String,
    error: Option<String>,
}

/// The link `token` names, if it is one of `purposes` and still usable.
async fn usable_link(
    dashboard: &Dashboard,
    token: &str,
    purposes: &[LinkPurpose],
) -> Result<UserLink, Response> {
    let link = dashboard
        .store
        .find_link(&hash_link_token(token))
        .await
        .map_err(|_| unavailable())?;
    match link {
        Some(link) if purposes.contains(&link.purpose) && link.usable_at(now_ms()) => Ok(link),
        _ => Err(error_page(
            StatusCode::NOT_FOUND,
            "This link does not work",
            "It has expired, was used already, or was never valid. Ask for a new one.",
        )),
    }
}

fn link_form(page: LinkPage, status: StatusCode) -> Response {
    let mut response = render(&page);
    *response.status_mut() = status;
    response
}

#[derive(Deserialize)]
pub struct NewAccountForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// The first owner's form, behind the link `serve` prints on first start.
fn setup_form(token: &str, csrf: String, email: String, error: Option<String>) -> LinkPage {
    LinkPage {
        title: "Set up CertSentry".into(),
        intro: "Create the first account. It becomes the owner of the default organization.".into(),
        action: format!("/setup/{token}"),
        csrf,
        email: Some(email),
        new_password: true,
        button: "Create the owner account".into(),
        error,
    }
}

pub(crate) async fn setup_page(
    State(dashboard): State<Dashboard>,
    session: Session,
    Path(token): Path<String>,
) -> Response {
    if let Err(response) = usable_link(&dashboard, &token, &[LinkPurpose::Setup]).await {
        return response;
    }
    let Ok(csrf) = csrf::token(&session).await else {
        return unavailable();
    };
    render(&setup_form(&token, csrf, String::new(), None))
}

/// The password rules and the confirmation, as one message.
fn new_password_error(form: &NewAccountForm) -> Option<String> {
    if let Err(errors) = check_password(&form.password) {
        return errors.get("password").map(|m| format!("The password {m}."));
    }
    (form.password != form.confirm).then(|| "The two passwords differ.".to_string())
}

pub(crate) async fn setup(
    State(dashboard): State<Dashboard>,
    session: Session,
    Path(token): Path<String>,
    Form(form): Form<NewAccountForm>,
) -> Response {
    let link = match usable_link(&dashboard, &token, &[LinkPurpose::Setup]).await {
        Ok(link) => link,
        Err(response) => return response,
    };
    let Ok(csrf) = csrf::token(&session).await else {
        return unavailable();
    };
    let email = match normalize_email(&form.email) {
        Ok(email) => email,
        Err(_) => {
            let page = setup_form(
                &token,
                csrf,
                form.email.clone(),
                Some("Enter an email address.".into()),
            );
            return link_form(page, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    if let Some(error) = new_password_error(&form) {
        return link_form(
            setup_form(&token, csrf, email, Some(error)),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let Some(org) = link.org_id.clone() else {
        return unavailable();
    };
    let mut user = User::new(&email);
    user.password_hash = Some(hash_in_background(form.password).await);
    match join_as_new_user(&dashboard, &link, &user, &org, Role::Owner).await {
        Ok(()) => enter(&session, &user.id, &org).await,
        Err(response) => response,
    }
}

/// Uses `link` and stores `user` as a new member of `org` with `role`,
/// audited as the reference's `member.join` by the new member.
async fn join_as_new_user(
    dashboard: &Dashboard,
    link: &UserLink,
    user: &User,
    org: &OrgId,
    role: Role,
) -> Result<(), Response> {
    use_once(dashboard, link).await?;
    let audit = join_audit(org, &Actor::user(&user.id, &user.email), &user.id, role);
    match dashboard
        .store
        .create_user(user, Some((org, role)), Some(&audit))
        .await
    {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict(_)) => Err(error_page(
            StatusCode::CONFLICT,
            "This email has an account",
            "An account with this email exists already. Sign in with it instead.",
        )),
        Err(_) => Err(unavailable()),
    }
}

fn join_audit(org: &OrgId, actor: &Actor, user: &UserId, role: Role) -> AuditEvent {
    AuditEvent::new(
        org,
        actor,
        "member.join",
        "member",
        user.as_str(),
        json!({"role": role.as_str()}),
    )
}

fn password_form(token: &str, csrf: String, error: Option<String>) -> LinkPage {
    LinkPage {
        title: "Choose a password".into(),
        intro: "Choose the password you will sign in with. Other sessions of this account end."
            .into(),
        action: format!("/password/{token}"),
        csrf,
        email: None,
        new_password: true,
        button: "Save the password".into(),
        error,
    }
}

const PASSWORD_LINKS: &[LinkPurpose] = &[LinkPurpose::SetPassword, LinkPurpose::PasswordReset];

pub(crate) async fn password_page(
    State(dashboard): State<Dashboard>,
    session: Session,
    Path(token): Path<String>,
) -> Response {
    if let Err(response) = usable_link(&dashboard, &token, PASSWORD_LINKS).await {
        return response;
    }
    let Ok(csrf) = csrf::token(&session).await else {
        return unavailable();
    };
    render(&password_form(&token, csrf, None))
}

pub(crate) async fn set_password(
    State(dashboard): State<Dashboard>,
    session: Session,
    Path(token): Path<String>,
    Form(form): Form<NewAccountForm>,
) -> Response {
    let link = match usable_link(&dashboard, &token, PASSWORD_LINKS).await {
        Ok(link) => link,
        Err(response) => return response,
    };
    let Ok(csrf) = csrf::token(&session).await else {
        return unavailable();
    };
    if let Some(error) = new_password_error(&form) {
        return link_form(
            password_form(&token, csrf, Some(error)),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let Some(user) = link.user_id.clone() else {
        return unavailable();
    };
    let store = &dashboard.store;
    if let Err(response) = use_once(&dashboard, &link).await {
        return response;
    }
    let hash = hash_in_background(form.password).await;
    if store.set_password(&user, &hash).await.is_err()
        || store.delete_user_sessions(&user).await.is_err()
    {
        return unavailable();
    }
    match first_org(&dashboard, &user).await {
        Ok(Some(org)) => enter(&session, &user, &org).await,
        Ok(None) => Redirect::to("/login").into_response(),
        Err(response) => response,
    }
}

fn join_form(
    token: &str,
    link: &UserLink,
    org_name: &str,
    has_account: bool,
    csrf: String,
    error: Option<String>,
) -> LinkPage {
    let role = link.role.map(|r| r.as_str()).unwrap_or("viewer");
    let email = link.email.clone().unwrap_or_default();
    LinkPage {
        title: format!("Join {org_name}"),
        intro: if has_account {
            format!(
                "You are invited to {org_name} as {role}. Enter the password of {email} to accept."
            )
        } else {
            format!(
                "You are invited to {org_name} as {role}. Choose a password for {email} to accept."
            )
        },
        action: format!("/join/{token}"),
        csrf,
        email: None,
        new_password: !has_account,
        button: "Accept the invitation".into(),
        error,
    }
}

/// The invitation's organization name and the invited person's account,
/// if they have one.
async fn invitation_context(
    dashboard: &Dashboard,
    link: &UserLink,
) -> Result<(OrgId, String, Option<User>), Response> {
    let store = &dashboard.store;
    let org_id = link.org_id.clone().ok_or_else(unavailable)?;
    let org = store
        .get_org(&org_id)
        .await
        .map_err(|_| unavailable())?
        .ok_or_else(super::views::not_found)?;
    let email = link.email.clone().unwrap_or_default();
    let user = store
        .find_user_by_email(&email)
        .await
        .map_err(|_| unavailable())?;
    Ok((org_id, org.name, user))
}

/// An open invitation behind `token`: the link, its organization's id and
/// name, the invited person's account if any, and the form's CSRF token.
struct Invitation {
    link: UserLink,
    org: OrgId,
    org_name: String,
    existing: Option<User>,
    csrf: String,
}

async fn open_invitation(
    dashboard: &Dashboard,
    session: &Session,
    token: &str,
) -> Result<Invitation, Response> {
    let link = usable_link(dashboard, token, &[LinkPurpose::Invitation]).await?;
    let (org, org_name, existing) = invitation_context(dashboard, &link).await?;
    let csrf = csrf::token(session).await.map_err(|_| unavailable())?;
    Ok(Invitation {
        link,
        org,
        org_name,
        existing,
        csrf,
    })
}

pub(crate) async fn join_page(
    State(dashboard): State<Dashboard>,
    session: Session,
    Path(token): Path<String>,
) -> Response {
    let Invitation {
        link,
        org_name,
        existing: user,
        csrf,
        ..
    } = match open_invitation(&dashboard, &session, &token).await {
        Ok(invitation) => invitation,
        Err(response) => return response,
    };
    let has_account = user.is_some_and(|u| u.password_hash.is_some());
    render(&join_form(
        &token,
        &link,
        &org_name,
        has_account,
        csrf,
        None,
    ))
}

pub(crate) async fn join(
    State(dashboard): State<Dashboard>,
    session: Session,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Path(token): Path<String>,
    Form(form): Form<NewAccountForm>,
) -> Response {
    let Invitation {
        link,
        org,
        org_name,
        existing,
        csrf,
    } = match open_invitation(&dashboard, &session, &token).await {
        Ok(invitation) => invitation,
        Err(response) => return response,
    };
    let role = link.role.unwrap_or(Role::Viewer);
    let email = link.email.clone().unwrap_or_default();
    let user = match existing {
        Some(user) if user.password_hash.is_some() => {
            let address = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
            if !dashboard.throttle.allows(&email, address) {
                let page = join_form(
                    &token,
                    &link,
                    &org_name,
                    true,
                    csrf,
                    Some("Too many failed attempts. Wait 15 minutes and try again.".into()),
                );
                return link_form(page, StatusCode::TOO_MANY_REQUESTS);
            }
            let stored = user.password_hash.clone().unwrap_or_default();
            let ok = verify_in_background(form.password.clone(), stored).await;
            if !ok {
                dashboard.throttle.failed(&email, address);
                let page = join_form(
                    &token,
                    &link,
                    &org_name,
                    true,
                    csrf,
                    Some("Wrong password.".into()),
                );
                return link_form(page, StatusCode::UNAUTHORIZED);
            }
            if let Err(response) = join_existing(&dashboard, &link, &user, &org, role).await {
                return response;
            }
            user
        }
        existing => {
            if let Some(error) = new_password_error(&form) {
                let page = join_form(&token, &link, &org_name, false, csrf, Some(error));
                return link_form(page, StatusCode::UNPROCESSABLE_ENTITY);
            }
            let hash = hash_in_background(form.password).await;
            match existing {
                // An account made by the CLI without a password yet.
                Some(user) => {
                    if dashboard.store.set_password(&user.id, &hash).await.is_err() {
                        return unavailable();
                    }
                    if let Err(response) = join_existing(&dashboard, &link, &user, &org, role).await
                    {
                        return response;
                    }
                    user
                }
                None => {
                    let mut user = User::new(&email);
                    user.password_hash = Some(hash);
                    if let Err(response) =
                        join_as_new_user(&dashboard, &link, &user, &org, role).await
                    {
                        return response;
                    }
                    user
                }
            }
        }
    };
    enter(&session, &user.id, &org).await
}

async fn join_existing(
    dashboard: &Dashboard,
    link: &UserLink,
    user: &User,
    org: &OrgId,
    role: Role,
) -> Result<(), Response> {
    use_once(dashboard, link).await?;
    let audit = join_audit(org, &Actor::user(&user.id, &user.email), &user.id, role);
    match dashboard
        .store
        .add_member(org, &user.id, role, &audit)
        .await
    {
        Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(_) => Err(unavailable()),
    }
}

/// Marks `link` used; when two requests race for it, the loser is told.
async fn use_once(dashboard: &Dashboard, link: &UserLink) -> Result<(), Response> {
    match dashboard.store.use_link(&link.id, now_ms()).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(error_page(
            StatusCode::CONFLICT,
            "This link was just used",
            "Someone used this link a moment ago. Sign in instead.",
        )),
        Err(_) => Err(unavailable()),
    }
}

#[derive(Template)]
#[template(path = "dashboard/forgot.html")]
struct ForgotPage {
    csrf: String,
    /// Whether this server can email a link at all.
    can_email: bool,
    /// After a request: the same words whether or not the account exists.
    sent: bool,
}

pub(crate) async fn forgot_page(State(dashboard): State<Dashboard>, session: Session) -> Response {
    let Ok(csrf) = csrf::token(&session).await else {
        return unavailable();
    };
    render(&ForgotPage {
        csrf,
        can_email: dashboard.mail.is_some(),
        sent: false,
    })
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// Emails a one-time reset link (valid an hour) when the account exists,
/// and answers alike when it does not. Requests count towards the sign-in
/// throttle, so nobody can flood an inbox through it.
pub(crate) async fn forgot(
    State(dashboard): State<Dashboard>,
    session: Session,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Form(form): Form<ForgotForm>,
) -> Response {
    let Ok(csrf) = csrf::token(&session).await else {
        return unavailable();
    };
    let answer = |can_email| {
        render(&ForgotPage {
            csrf: csrf.clone(),
            can_email,
            sent: can_email,
        })
    };
    if dashboard.mail.is_none() {
        return answer(false);
    }
    let address = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    let Ok(email) = normalize_email(&form.email) else {
        return answer(true);
    };
    if !dashboard.throttle.allows(&email, address) {
        return answer(true);
    }
    dashboard.throttle.failed(&email, address);
    let user = match dashboard.store.find_user_by_email(&email).await {
        Ok(user) => user,
        Err(_) => return unavailable(),
    };
    if let Some(user) = user {
        let (mut link, token) = UserLink::new(LinkPurpose::PasswordReset, now_ms());
        link.user_id = Some(user.id.clone());
        if dashboard.store.create_link(&link, None).await.is_err() {
            return unavailable();
        }
        let url = super::link_url(&dashboard.public_url, LinkPurpose::PasswordReset, &token);
        let text = format!(
            "Someone asked to reset the CertSentry password of {email}.\n\nChoose a new one within the hour: {url}\n\nIf it was not you, ignore this email: your password stays as it is.\n"
        );
        if let Err(reason) = dashboard
            .email(&email, "Reset your CertSentry password", text)
            .await
        {
            tracing::warn!(%reason, "emailing a password-reset link");
        }
    }
    answer(true)
}
