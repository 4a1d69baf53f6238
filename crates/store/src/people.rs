//! People: users, their memberships, one-time links and dashboard sessions.

use async_trait::async_trait;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::people::token::UserLink;
use certsentry_domain::people::{Membership, Role, TwoFactor, User};
use certsentry_domain::time::Millis;
use certsentry_domain::{OrgId, UserId, UserLinkId};

use crate::*;

/// A dashboard session as stored: the SHA-256 of its id (the cookie's
/// secret is never stored), its user, and the session's data as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id_hash: String,
    pub user_id: Option<UserId>,
    pub data: String,
    pub expires_at: Millis,
}

/// Users, memberships, links and sessions. Membership changes carry their
/// audit event; the last owner of an organization can be neither demoted
/// nor removed (`Conflict("owner")`).
#[async_trait]
pub trait PeopleStore: Send + Sync {
    async fn count_users(&self) -> StoreResult<u64>;
    /// Stores a new user (`Conflict("email")` when the email is taken),
    /// with their role in `membership`'s organization when given.
    async fn create_user(
        &self,
        user: &User,
        membership: Option<(&OrgId, Role)>,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<()>;
    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>>;
    /// `email` as [`certsentry_domain::people::normalize_email`] leaves it.
    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    async fn set_password(&self, user: &UserId, hash: &str) -> StoreResult<()>;
    /// Turns two-factor sign-in on (with its secret and recovery codes) or off.
    async fn set_two_factor(
        &self,
        user: &UserId,
        two_factor: Option<&TwoFactor>,
    ) -> StoreResult<()>;
    /// Spends the recovery code with this hash; `false` when the user has no
    /// such code left (used already, or never theirs).
    async fn use_recovery_code(&self, user: &UserId, hash: &str) -> StoreResult<bool>;
    /// Whether every member of `org` must sign in with a second factor.
    async fn set_two_factor_required(
        &self,
        org: &OrgId,
        required: bool,
        audit: &AuditEvent,
    ) -> StoreResult<()>;

    /// The organizations `user` belongs to, by name.
    async fn list_memberships(&self, user: &UserId) -> StoreResult<Vec<Membership>>;
    /// An organization's members, by email.
    async fn list_members(&self, org: &OrgId) -> StoreResult<Vec<Membership>>;
    async fn get_membership(&self, org: &OrgId, user: &UserId) -> StoreResult<Option<Membership>>;
    /// `Conflict("member")` when the user is a member already.
    async fn add_member(
        &self,
        org: &OrgId,
        user: &UserId,
        role: Role,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn set_member_role(
        &self,
        org: &OrgId,
        user: &UserId,
        role: Role,
        audit: &AuditEvent,
    ) -> StoreResult<()>;
    async fn remove_member(
        &self,
        org: &OrgId,
        user: &UserId,
        audit: &AuditEvent,
    ) -> StoreResult<()>;

    async fn create_link(&self, link: &UserLink, audit: Option<&AuditEvent>) -> StoreResult<()>;
    async fn find_link(&self, hash: &str) -> StoreResult<Option<UserLink>>;
    /// Marks the link used at `at`; `false` when it was used already (two
    /// requests racing for one link: one wins).
    async fn use_link(&self, id: &UserLinkId, at: Millis) -> StoreResult<bool>;
    /// An organization's invitations not used yet, newest first (expired
    /// ones too, so the page can say so).
    async fn list_invitations(&self, org: &OrgId) -> StoreResult<Vec<UserLink>>;
    async fn delete_link(
        &self,
        org: &OrgId,
        id: &UserLinkId,
        audit: &AuditEvent,
    ) -> StoreResult<()>;

    /// Creates or replaces the session.
    async fn save_session(&self, session: &SessionRecord) -> StoreResult<()>;
    /// The session, unless it has expired by `now`.
    async fn load_session(&self, id_hash: &str, now: Millis) -> StoreResult<Option<SessionRecord>>;
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;
    /// The user's sessions that have not expired by `now`, for the account
    /// page's list.
    async fn list_user_sessions(
        &self,
        user: &UserId,
        now: Millis,
    ) -> StoreResult<Vec<SessionRecord>>;
    /// Signs a user out everywhere; returns how many sessions ended.
    async fn delete_user_sessions(&self, user: &UserId) -> StoreResult<u64>;
    /// Drops expired sessions; returns how many.
    async fn prune_sessions(&self, now: Millis) -> StoreResult<u64>;
}
