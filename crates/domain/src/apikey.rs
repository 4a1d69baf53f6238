//! API keys: `csk_` + 40 random base62 characters, stored only as SHA-256.

use rand::RngExt;
use rand::distr::Alphanumeric;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::id::{ApiKeyId, OrgId};
use crate::time::Millis;

pub const KEY_PREFIX: &str = "csk_";
const SECRET_LEN: usize = 40;

/// A freshly generated key: the plaintext exists only here, to be shown once.
pub struct GeneratedKey {
    pub plaintext: String,
    pub hash: String,
}

pub fn generate_key() -> GeneratedKey {
    generate_with_prefix(KEY_PREFIX)
}

/// A secret of 40 random base62 characters after `prefix` (API keys,
/// agent tokens), and its hash.
pub fn generate_with_prefix(prefix: &str) -> GeneratedKey {
    let secret: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(SECRET_LEN)
        .map(char::from)
        .collect();
    let plaintext = format!("{prefix}{secret}");
    let hash = hash_key(&plaintext);
    GeneratedKey { plaintext, hash }
}

/// Lowercase hex SHA-256 of the whole key string.
pub fn hash_key(plaintext: &str) -> String {
    digest_hex(&key_digest(plaintext))
}

/// [`hash_key`] from a digest already computed.
pub fn digest_hex(digest: &[u8; 32]) -> String {
    hex::encode(digest)
}

/// The SHA-256 behind [`hash_key`], unencoded: what an in-memory cache of
/// verified keys is keyed by, so that a request with a known key never
/// formats the hash as text.
pub fn key_digest(plaintext: &str) -> [u8; 32] {
    Sha256::digest(plaintext.as_bytes()).into()
}

/// Whether a bearer token could be one of our keys (cheap pre-check before hashing).
pub fn is_well_formed(token: &str) -> bool {
    is_well_formed_with_prefix(token, KEY_PREFIX)
}

/// Whether `token` is `prefix` and at least 32 base62 characters.
pub fn is_well_formed_with_prefix(token: &str, prefix: &str) -> bool {
    token.len() >= prefix.len() + 32
        && token.len() <= 200
        && token.starts_with(prefix)
        && token[prefix.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
}

/// A stored key. `hash` is the only trace of the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub org_id: OrgId,
    pub name: String,
    pub hash: String,
    /// The first characters of the key (`csk_AbCd`), so an operator can tell keys apart.
    pub hint: String,
    pub read_only: bool,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

/// How many characters of a key are kept as its hint.
pub const HINT_LEN: usize = 8;

/// A new key record for `org` and its plaintext, which is shown once and never stored.
pub fn new_api_key(org_id: &OrgId, name: &str, read_only: bool) -> (ApiKey, String) {
    let generated = generate_key();
    let key = ApiKey {
        id: ApiKeyId::generate(),
        org_id: org_id.clone(),
        name: name.into(),
        hint: generated.plaintext[..HINT_LEN].into(),
        hash: generated.hash,
        read_only,
        created_at: crate::time::now_ms(),
        last_used_at: None,
        revoked_at: None,
    };
    (key, generated.plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_well_formed_and_hash_stably() {
        let key = generate_key();
        assert!(is_well_formed(&key.plaintext));
        assert_eq!(key.hash, hash_key(&key.plaintext));
        assert_eq!(key.hash.len(), 64);
        assert!(!is_well_formed("csk_short"));
        assert!(!is_well_formed(
            "sk_live_0123456789012345678901234567890123"
        ));
        assert_ne!(generate_key().plaintext, key.plaintext);
    }
}
