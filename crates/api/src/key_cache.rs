//! The cache of verified keys (one second, so a revocation bites within a
//! second) and of last-use times waiting to be written. Kept apart from
//! `auth`, which needs the application state, because the state holds it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use certsentry_domain::audit::Actor;
use certsentry_domain::org::Org;
use certsentry_domain::plan::Plan;
use certsentry_domain::{ApiKeyId, OrgId};
use dashmap::DashMap;

/// How long a key lookup is trusted; bounds how late a revocation bites.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(1);
const MAX_CACHED_KEYS: usize = 50_000;

/// The authenticated caller, available to handlers as an extension: an
/// API key, or a person signed in to the dashboard acting through the same
/// operations (then `key_id` is the user's id, `key_name` and `email`
/// their email).
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: ApiKeyId,
    pub key_name: String,
    /// Set for people only; audit entries carry it as `actorEmail`.
    pub email: Option<String>,
    pub org: Org,
    pub plan: Plan,
}

impl Caller {
    pub fn org_id(&self) -> &OrgId {
        &self.org.id
    }

    pub fn actor(&self) -> Actor {
        Actor {
            id: self.key_id.to_string(),
            name: self.key_name.clone(),
            email: self.email.clone(),
        }
    }
}

/// A key lookup's outcome, cached for [`KEY_CACHE_TTL`].
#[derive(Clone)]
pub(crate) enum Lookup {
    Valid {
        caller: Arc<Caller>,
        read_only: bool,
    },
    /// Unknown or revoked key (401).
    Rejected(&'static str),
    /// Valid key whose plan forbids API use (403).
    Forbidden(Arc<str>),
}

struct CachedLookup {
    lookup: Lookup,
    fetched: Instant,
}

#[derive(Default)]
pub struct KeyCache {
    /// By the key's SHA-256 ([`certsentry_domain::apikey::key_digest`]).
    entries: DashMap<[u8; 32], CachedLookup>,
    /// Last-use times not yet written.
    pending_touches: DashMap<ApiKeyId, i64>,
    /// Held while touches are drained and written, so that a flush returns
    /// only after any flush already under way has committed.
    pub(crate) flushing: tokio::sync::Mutex<()>,
}

impl KeyCache {
    pub(crate) fn get_fresh(&self, digest: &[u8; 32]) -> Option<Lookup> {
        let entry = self.entries.get(digest)?;
        (entry.fetched.elapsed() < KEY_CACHE_TTL).then(|| entry.lookup.clone())
    }

    pub(crate) fn put(&self, digest: [u8; 32], lookup: Lookup) {
        if self.entries.len() >= MAX_CACHED_KEYS {
            // Random bad keys must not grow memory without bound.
            self.entries
                .retain(|_, v| matches!(v.lookup, Lookup::Valid { .. }));
        }
        self.entries.insert(
            digest,
            CachedLookup {
                lookup,
                fetched: Instant::now(),
            },
        );
    }

    /// Notes that `key` was used at `at`; written by the next flush. Every
    /// authenticated request passes here, so a key already pending is
    /// updated in place rather than its id copied again.
    pub(crate) fn touch(&self, key: &ApiKeyId, at: i64) {
        match self.pending_touches.get_mut(key) {
            Some(mut pending) => *pending = at,
            None => {
                self.pending_touches.insert(key.clone(), at);
            }
        }
    }

    /// Drains the last-use times gathered since the previous call.
    pub fn take_touches(&self) -> Vec<(ApiKeyId, i64)> {
        let keys: Vec<ApiKeyId> = self
            .pending_touches
            .iter()
            .map(|e| e.key().clone())
            .collect();
        keys.into_iter()
            .filter_map(|k| self.pending_touches.remove(&k))
            .collect()
    }
}
