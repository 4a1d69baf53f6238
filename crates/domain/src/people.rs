//! People: users, their roles in organizations, and what each role may do.
//!
//! Users are global (one email, one password); a user belongs to any number
//! of organizations, with one [`Role`] in each. [`role::PERMISSIONS`] is the
//! single table of what each role may do, read by the dashboard's routes and
//! walked by its tests.

pub mod password;
pub mod recovery;
pub mod role;
pub mod token;

use serde::Serialize;

use crate::errors::FieldErrors;
use crate::id::{OrgId, UserId};
use crate::time::Millis;

pub use role::{Permission, Role};

/// A person who signs in to the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    /// Normalized by [`normalize_email`].
    pub email: String,
    /// An argon2id PHC string; `None` until the user sets a password (a
    /// user made by `certsentry user create` without one).
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// Set once the user has turned on TOTP two-factor sign-in.
    #[serde(skip)]
    pub two_factor: Option<TwoFactor>,
    pub created_at: Millis,
}

/// A user's second factor: the TOTP secret (base32; it must be kept as is
/// to check codes, so it is never shown again after enrolment and never
/// logged) and the SHA-256 of each recovery code not used yet.
#[derive(Clone, PartialEq, Eq)]
pub struct TwoFactor {
    pub secret: String,
    pub recovery_hashes: Vec<String>,
}

impl std::fmt::Debug for TwoFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoFactor")
            .field("secret", &"<masked>")
            .field("recovery_codes_left", &self.recovery_hashes.len())
            .finish()
    }
}

impl User {
    pub fn new(email: &str) -> Self {
        Self {
            id: UserId::generate(),
            email: email.to_string(),
            password_hash: None,
            two_factor: None,
            created_at: crate::time::now_ms(),
        }
    }
}

/// A user's place in one organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    pub org_id: OrgId,
    pub org_name: String,
    pub user_id: UserId,
    pub email: String,
    pub role: Role,
    /// The organization asks every member for a second factor.
    pub two_factor_required: bool,
    pub created_at: Millis,
}

/// The longest email accepted (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// Emails compare case-insensitively: the stored form is trimmed and
/// lowercased. Refuses what cannot be an address (no `@`, an empty side,
/// spaces, or over [`MAX_EMAIL_LEN`]).
pub fn normalize_email(raw: &str) -> Result<String, FieldErrors> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= MAX_EMAIL_LEN
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@')
                && !domain.starts_with('.') && !domain.ends_with('.'));
    if valid {
        Ok(email)
    } else {
        let mut errors = FieldErrors::default();
        errors.add("email", "must be an email address such as ops@example.com");
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            normalize_email("  Ops@Example.COM ").unwrap(),
            "ops@example.com"
        );
    }

    #[test]
    fn what_cannot_be_an_address_is_refused() {
        for bad in [
            "",
            "ops",
            "@example.com",
            "ops@",
            "a b@example.com",
            "a@b@c",
            "a@.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(normalize_email(&long).is_err());
    }
}
