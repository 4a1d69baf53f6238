//! Recovery codes: ten one-time codes shown once when two-factor sign-in
//! is turned on, for when the authenticator is lost. Stored as SHA-256,
//! like every other secret we hand out.

use rand::RngExt;

use crate::apikey::hash_key;

pub const RECOVERY_CODES: usize = 10;
/// Lowercase letters and digits without the look-alikes (0/o, 1/l/i).
const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// Ten fresh codes such as `k7m2q-9x4tr`, and their hashes.
pub fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    let mut rng = rand::rng();
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let mut code: String = (0..10)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect();
            code.insert(5, '-');
            code
        })
        .collect();
    let hashes = codes.iter().map(|c| hash_recovery_code(c)).collect();
    (codes, hashes)
}

/// The hash of a code as typed: case, spaces and the dash do not matter.
pub fn hash_recovery_code(typed: &str) -> String {
    let normalized: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hash_key(&normalized)
}

/// Whether `typed` looks like a recovery code rather than a TOTP code.
pub fn looks_like_recovery_code(typed: &str) -> bool {
    typed.chars().filter(|c| c.is_ascii_alphanumeric()).count() == 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_codes_whose_hashes_forgive_typing() {
        let (codes, hashes) = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        let typed = codes[3].to_uppercase().replace('-', " ");
        assert_eq!(hash_recovery_code(&typed), hashes[3]);
        assert!(looks_like_recovery_code(&codes[0]));
        assert!(!looks_like_recovery_code("123456"));
    }
}
