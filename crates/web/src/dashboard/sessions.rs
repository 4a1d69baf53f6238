//! Dashboard sessions: tower-sessions does the cookie, the ids and expiry;
//! this is its store, kept in ours (`PeopleStore`) so that sessions live in
//! the same SQLite or Postgres database as everything else and several
//! nodes share them.
//!
//! A session id is a bearer secret like an API key, so only its SHA-256 is
//! stored. The signed-in user is also kept in a column, so that "sign out
//! everywhere" and a removed user end every session at once.

use std::sync::Arc;

use async_trait::async_trait;
use certsentry_domain::UserId;
use certsentry_domain::time::now_ms;
use certsentry_store::{SessionRecord, Store};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};

/// The session key holding the signed-in user's id.
pub const USER_KEY: &str = "user";

#[derive(Clone)]
pub struct StoredSessions {
    pub store: Arc<dyn Store>,
}

impl std::fmt::Debug for StoredSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoredSessions")
    }
}

pub(crate) fn id_hash(id: &Id) -> String {
    hex::encode(Sha256::digest(id.to_string().as_bytes()))
}

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

impl StoredSessions {
    fn to_stored(record: &Record) -> Result<SessionRecord> {
        let user_id = record
            .data
            .get(USER_KEY)
            .and_then(|v| v.as_str())
            .map(UserId::from_string);
        Ok(SessionRecord {
            id_hash: id_hash(&record.id),
            user_id,
            data: serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?,
            expires_at: (record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64,
        })
    }
}

#[async_trait]
impl tower_sessions::SessionStore for StoredSessions {
    /// A fresh id for a new session; tower-sessions' ids are 128 random
    /// bits, so a collision is only checked for, never expected.
    async fn create(&self, record: &mut Record) -> Result<()> {
        while self
            .store
            .load_session(&id_hash(&record.id), now_ms())
            .await
            .map_err(backend)?
            .is_some()
        {
            record.id = Id::default();
        }
        self.save(record).await
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.store
            .save_session(&Self::to_stored(record)?)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let Some(stored) = self
            .store
            .load_session(&id_hash(id), now_ms())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&stored.data).map_err(|e| Error::Decode(e.to_string()))?;
        let expiry_date =
            OffsetDateTime::from_unix_timestamp_nanos(stored.expires_at as i128 * 1_000_000)
                .map_err(|e| Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.store
            .delete_session(&id_hash(id))
            .await
            .map_err(backend)
    }
}
