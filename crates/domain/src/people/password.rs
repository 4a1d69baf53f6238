//! Passwords: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane),
//! stored as a PHC string, so that parameters can be raised later without
//! invalidating stored hashes (each hash names its own).

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::errors::FieldErrors;

/// NIST SP 800-63B's minimum for a user-chosen secret is 8; we ask for 10.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Long enough for any passphrase, short enough that hashing stays cheap.
pub const MAX_PASSWORD_CHARS: usize = 256;

fn hasher() -> Argon2<'static> {
    let params = Params::new(
        Params::DEFAULT_M_COST,
        Params::DEFAULT_T_COST,
        Params::DEFAULT_P_COST,
        None,
    )
    .expect("OWASP's argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Refuses a password too short or too long to accept.
pub fn check_password(password: &str) -> Result<(), FieldErrors> {
    let chars = password.chars().count();
    let mut errors = FieldErrors::default();
    if chars < MIN_PASSWORD_CHARS {
        errors.add(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        );
    } else if chars > MAX_PASSWORD_CHARS {
        errors.add(
            "password",
            format!("must be at most {MAX_PASSWORD_CHARS} characters"),
        );
    }
    errors.into_result()
}

/// The PHC string of `password` with a fresh random salt. Takes tens of
/// milliseconds on purpose: callers on an async runtime run it on a
/// blocking thread.
pub fn hash_password(password: &str) -> String {
    hasher()
        .hash_password(password.as_bytes())
        .expect("argon2id hashes any password with valid parameters")
        .to_string()
}

/// Whether `password` matches `phc` (compared in constant time by argon2).
/// A malformed stored hash matches nothing.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the account does not exist, so that an
/// unknown email takes as long as a wrong password and timing reveals
/// nothing.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("not the password of anyone"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash_password("correct horse battery");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("correct horse batterz", &phc));
        assert!(!verify_password("correct horse battery", "not a hash"));
    }

    #[test]
    fn two_hashes_of_one_password_differ() {
        assert_ne!(hash_password("0123456789"), hash_password("0123456789"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_password("short").is_err());
        assert!(check_password("long enough!").is_ok());
        assert!(check_password(&"x".repeat(300)).is_err());
    }
}
