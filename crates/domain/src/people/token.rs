//! One-time links: the first-start setup link, invitations, and set- and
//! reset-password links. The secret travels only in the link; the store
//! keeps its SHA-256, as for API keys, and a link works once.

use rand::RngExt;
use rand::distr::Alphanumeric;

use crate::apikey::hash_key;
use crate::id::{OrgId, UserId, UserLinkId};
use crate::people::Role;
use crate::string_enum::string_enum;
use crate::time::Millis;

pub const LINK_PREFIX: &str = "csl_";
const SECRET_LEN: usize = 40;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

string_enum!(plain
    /// What a link does when opened.
    LinkPurpose {
        /// The first user becomes the owner of the `default` organization.
        Setup = "setup",
        /// Joins an organization with a role.
        Invitation = "invitation",
        /// Sets the password of a user made without one.
        SetPassword = "setPassword",
        /// Replaces a forgotten password.
        PasswordReset = "passwordReset",
    }
);

impl LinkPurpose {
    /// How long a link stays valid: an hour for a reset (it is sent to an
    /// inbox that may be read by others later), a day for the setup link
    /// (printed again at every start while nobody has used one), a week
    /// for invitations and new users' passwords.
    pub fn lifetime_ms(self) -> i64 {
        match self {
            LinkPurpose::PasswordReset => HOUR_MS,
            LinkPurpose::Setup => DAY_MS,
            LinkPurpose::Invitation | LinkPurpose::SetPassword => 7 * DAY_MS,
        }
    }

    /// The dashboard path that opens it, before the token.
    pub fn path(self) -> &'static str {
        match self {
            LinkPurpose::Setup => "/setup/",
            LinkPurpose::Invitation => "/join/",
            LinkPurpose::SetPassword | LinkPurpose::PasswordReset => "/password/",
        }
    }
}

/// A stored link; `hash` is the only trace of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserLink {
    pub id: UserLinkId,
    pub purpose: LinkPurpose,
    pub hash: String,
    /// The organization joined (setup, invitations).
    pub org_id: Option<OrgId>,
    /// The user whose password is set (set-password, reset).
    pub user_id: Option<UserId>,
    /// The invited address.
    pub email: Option<String>,
    /// The role an invitation gives.
    pub role: Option<Role>,
    /// Who made it; `None` for the server and the CLI.
    pub created_by: Option<UserId>,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub used_at: Option<Millis>,
}

impl UserLink {
    /// A new link and its secret, which is shown once and never stored.
    pub fn new(purpose: LinkPurpose, now: Millis) -> (Self, String) {
        let secret: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(SECRET_LEN)
            .map(char::from)
            .collect();
        let token = format!("{LINK_PREFIX}{secret}");
        let link = Self {
            id: UserLinkId::generate(),
            purpose,
            hash: hash_link_token(&token),
            org_id: None,
            user_id: None,
            email: None,
            role: None,
            created_by: None,
            created_at: now,
            expires_at: now + purpose.lifetime_ms(),
            used_at: None,
        };
        (link, token)
    }

    pub fn usable_at(&self, now: Millis) -> bool {
        self.used_at.is_none() && now < self.expires_at
    }
}

/// What the store looks a presented token up by.
pub fn hash_link_token(token: &str) -> String {
    hash_key(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_keeps_only_the_hash_of_its_token() {
        let (link, token) = UserLink::new(LinkPurpose::Invitation, 1_000);
        assert!(token.starts_with(LINK_PREFIX) && token.len() == 44);
        assert_eq!(link.hash, hash_link_token(&token));
        assert!(!link.hash.contains(&token[4..]));
    }

    #[test]
    fn a_reset_link_lasts_an_hour_and_works_once() {
        let (mut link, _) = UserLink::new(LinkPurpose::PasswordReset, 0);
        assert!(link.usable_at(HOUR_MS - 1));
        assert!(!link.usable_at(HOUR_MS));
        link.used_at = Some(5);
        assert!(!link.usable_at(10));
    }
}
