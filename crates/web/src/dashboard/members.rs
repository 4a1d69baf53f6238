//! Settings → Members: the organization's people and their roles, and the
//! invitations not used yet. Admins manage members below admin; owners
//! manage everyone (`Role::may_assign`). Every change is audited with the
//! reference's names: `member.invite`, `member.role.change` (with
//! `before`/`after`), `member.remove`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::people::token::{LinkPurpose, UserLink};
use certsentry_domain::people::{Membership, Permission, Role, normalize_email};
use certsentry_domain::time::{format_ms, now_ms};
use certsentry_domain::{UserId, UserLinkId};
use certsentry_store::StoreError;
use serde::Deserialize;
use serde_json::json;

use super::views::{Frame, error_page, minute, not_found, render_form, unavailable};
use super::{Dashboard, Signed};

pub struct InvitationRow {
    pub id: String,
    pub email: String,
    pub role: &'static str,
    pub expires: String,
    pub expired: bool,
}

#[derive(Template)]
#[template(path = "dashboard/members.html")]
struct MembersPage {
    frame: Frame,
    members: Vec<Membership>,
    invitations: Vec<InvitationRow>,
    /// The roles this user may invite with.
    invitable: Vec<&'static str>,
    roles: &'static [Role],
    may_manage: bool,
    /// Owners may require two-factor sign-in.
    may_secure: bool,
    two_factor_required: bool,
    me: UserId,
    my_role: Role,
    /// A new invitation's link, shown once.
    new_link: Option<String>,
    error: Option<String>,
}

impl MembersPage {
    fn may_change(&self, member: &Membership) -> bool {
        self.may_manage
            && member.user_id != self.me
            && self.my_role.may_assign(Some(member.role), None)
    }
    /// The role an invitation starts with.
    fn is_default_role(&self, role: &str) -> bool {
        role == Role::Member.as_str()
    }
    /// Whether this user may move `member` to `role`.
    fn may_give(&self, member: &Membership, role: &Role) -> bool {
        self.my_role.may_assign(Some(member.role), Some(*role))
    }
    fn has(&self, member: &Membership, role: &Role) -> bool {
        member.role == *role
    }
    fn joined(&self, member: &Membership) -> String {
        format_ms(member.created_at)[..10].to_string()
    }
}

async fn members_page(
    dashboard: &Dashboard,
    signed: &Signed,
    new_link: Option<String>,
    error: Option<String>,
) -> Response {
    members_page_with(dashboard, signed, new_link, error, None).await
}

async fn members_page_with(
    dashboard: &Dashboard,
    signed: &Signed,
    new_link: Option<String>,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let store = &dashboard.store;
    let (Ok(members), Ok(invitations)) = (
        store.list_members(signed.org_id()).await,
        store.list_invitations(signed.org_id()).await,
    ) else {
        return unavailable();
    };
    let now = now_ms();
    let my_role = signed.membership.role;
    let page = MembersPage {
        frame: Frame::new(signed, "Members", "members").with_notice(notice),
        members,
        invitations: invitations
            .into_iter()
            .map(|link| InvitationRow {
                id: link.id.to_string(),
                email: link.email.clone().unwrap_or_default(),
                role: link.role.map(|r| r.as_str()).unwrap_or("viewer"),
                expires: minute(link.expires_at),
                expired: !link.usable_at(now),
            })
            .collect(),
        invitable: Role::ALL
            .iter()
            .rev()
            .filter(|r| my_role.may_assign(None, Some(**r)))
            .map(|r| r.as_str())
            .collect(),
        roles: Role::ALL,
        may_manage: signed.may(Permission::ManageMembers),
        may_secure: signed.may(Permission::ManageSecurity),
        two_factor_required: signed.membership.two_factor_required,
        me: signed.user.id.clone(),
        my_role,
        new_link,
        error: error.clone(),
    };
    render_form(&page, error.is_some())
}

pub async fn page(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
) -> Response {
    members_page(&dashboard, &signed, None, None).await
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

fn forbidden_role() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "Not allowed",
        "Your role may not give, change or take away this role.",
    )
}

/// `POST /settings/members/invite`: a one-time link for the address, valid
/// for 7 days, shown once on the page for copying.
pub async fn invite(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Form(form): Form<InviteForm>,
) -> Response {
    let Ok(email) = normalize_email(&form.email) else {
        return members_page(
            &dashboard,
            &signed,
            None,
            Some("Enter an email address.".into()),
        )
        .await;
    };
    let Some(role) = Role::parse(&form.role) else {
        return members_page(&dashboard, &signed, None, Some("Choose a role.".into())).await;
    };
    if !signed.membership.role.may_assign(None, Some(role)) {
        return forbidden_role();
    }
    let store = &dashboard.store;
    let already = match store.find_user_by_email(&email).await {
        Ok(Some(user)) => store.get_membership(signed.org_id(), &user.id).await,
        Ok(None) => Ok(None),
        Err(e) => Err(e),
    };
    match already {
        Ok(Some(_)) => {
            let error = format!("{email} is a member already.");
            return members_page(&dashboard, &signed, None, Some(error)).await;
        }
        Ok(None) => {}
        Err(_) => return unavailable(),
    }
    let (mut link, token) = UserLink::new(LinkPurpose::Invitation, now_ms());
    link.org_id = Some(signed.org_id().clone());
    link.email = Some(email.clone());
    link.role = Some(role);
    link.created_by = Some(signed.user.id.clone());
    let audit = AuditEvent::new(
        signed.org_id(),
        &signed.actor(),
        "member.invite",
        "member",
        link.id.as_str(),
        json!({"email": email, "role": role.as_str()}),
    );
    if store.create_link(&link, Some(&audit)).await.is_err() {
        return unavailable();
    }
    let url = super::link_url(&dashboard.public_url, LinkPurpose::Invitation, &token);
    if dashboard.mail.is_none() {
        return members_page(&dashboard, &signed, Some(url), None).await;
    }
    let text = format!(
        "{} invites you to {} on CertSentry, as {}.\n\nAccept within 7 days: {url}\n\nIf you did not expect this, ignore this email.\n",
        signed.user.email,
        signed.membership.org_name,
        role.as_str()
    );
    let subject = format!("Join {} on CertSentry", signed.membership.org_name);
    match dashboard.email(&email, &subject, text).await {
        Ok(()) => {
            let notice = format!("Invitation emailed to {email}.");
            members_page_with(&dashboard, &signed, None, None, Some(notice)).await
        }
        Err(reason) => {
            tracing::warn!(%reason, "emailing an invitation");
            let error =
                format!("The invitation could not be emailed ({reason}); send the link yourself.");
            members_page(&dashboard, &signed, Some(url), Some(error)).await
        }
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// The member `id` of the signed-in organization, if there is one.
async fn member(dashboard: &Dashboard, signed: &Signed, id: &str) -> Result<Membership, Response> {
    match dashboard
        .store
        .get_membership(signed.org_id(), &UserId::from_string(id))
        .await
    {
        Ok(Some(member)) => Ok(member),
        Ok(None) => Err(not_found()),
        Err(_) => Err(unavailable()),
    }
}

fn last_owner() -> Response {
    error_page(
        StatusCode::CONFLICT,
        "An owner is needed",
        "An organization always keeps at least one owner. Make someone else owner first.",
    )
}

pub async fn change_role(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Response {
    let member = match member(&dashboard, &signed, &id).await {
        Ok(member) => member,
        Err(response) => return response,
    };
    let Some(role) = Role::parse(&form.role) else {
        return members_page(&dashboard, &signed, None, Some("Choose a role.".into())).await;
    };
    if !signed
        .membership
        .role
        .may_assign(Some(member.role), Some(role))
    {
        return forbidden_role();
    }
    if role == member.role {
        return Redirect::to("/settings/members").into_response();
    }
    let audit = AuditEvent::new(
        signed.org_id(),
        &signed.actor(),
        "member.role.change",
        "member",
        member.user_id.as_str(),
        json!({"role": {"before": member.role.as_str(), "after": role.as_str()}}),
    );
    match dashboard
        .store
        .set_member_role(signed.org_id(), &member.user_id, role, &audit)
        .await
    {
        Ok(()) => Redirect::to("/settings/members").into_response(),
        Err(StoreError::Conflict("owner")) => last_owner(),
        Err(StoreError::NotFound) => not_found(),
        Err(_) => unavailable(),
    }
}

pub async fn remove(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    let member = match member(&dashboard, &signed, &id).await {
        Ok(member) => member,
        Err(response) => return response,
    };
    if !signed.membership.role.may_assign(Some(member.role), None) {
        return forbidden_role();
    }
    let audit = AuditEvent::new(
        signed.org_id(),
        &signed.actor(),
        "member.remove",
        "member",
        member.user_id.as_str(),
        json!({"email": member.email, "role": member.role.as_str()}),
    );
    match dashboard
        .store
        .remove_member(signed.org_id(), &member.user_id, &audit)
        .await
    {
        Ok(()) => Redirect::to("/settings/members").into_response(),
        Err(StoreError::Conflict("owner")) => last_owner(),
        Err(StoreError::NotFound) => not_found(),
        Err(_) => unavailable(),
    }
}

pub async fn revoke_invitation(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    let audit = AuditEvent::new(
        signed.org_id(),
        &signed.actor(),
        "member.invite.revoke",
        "member",
        id.as_str(),
        json!({}),
    );
    match dashboard
        .store
        .delete_link(
            signed.org_id(),
            &UserLinkId::from_string(id.clone()),
            &audit,
        )
        .await
    {
        Ok(()) => Redirect::to("/settings/members").into_response(),
        Err(StoreError::NotFound) => not_found(),
        Err(_) => unavailable(),
    }
}
