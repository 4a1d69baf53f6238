//! The SQL both backends share, written once over [`SqlBackend`].
//!
//! [`SqlStore<B>`] implements every store trait for any backend. The queries
//! use `$N` placeholders, which SQLite and Postgres both accept; what differs
//! per backend (connections, how a write begins, row locking, encodings) is
//! the backend's [`SqlBackend`] implementation, in its own crate beside its
//! migrations.

mod agents;
mod alerts;
mod audit;
mod backend;
mod ct;
mod deliveries;
mod dmarc;
mod keys;
mod monitors;
mod orgs;
mod people;
mod ping_journal;
mod results;
mod stats;
mod status_notices;
mod status_pages;
mod tls;
mod token_lookups;

pub use backend::{
    Done, Exec, FromColumn, JournalDb, Param, ParamColumn, Reader, Sql, SqlBackend, SqlBuilder,
    SqlRow, Tx, ValuesRow, query,
};

use certsentry_domain::channel::ChannelSpec;
use certsentry_domain::ct::CtFinding;
use certsentry_domain::monitor::MonitorSpec;

use crate::{Page, Store, StoreError, StoreResult};

/// Every store trait over one SQL backend.
pub struct SqlStore<B: SqlBackend> {
    /// Shared with the ping journal's folding task, which holds it weakly
    /// and so ends when the store goes.
    backend: std::sync::Arc<B>,
    pings: std::sync::Arc<ping_journal::PingJournal>,
    heartbeat_tokens: token_lookups::TokenLookups,
}

impl<B: SqlBackend> SqlStore<B> {
    /// Wraps `backend`; where it journals pings, this starts the task that
    /// folds them, so it must be called on a tokio runtime.
    pub fn new(backend: B) -> Self {
        let store = Self {
            backend: std::sync::Arc::new(backend),
            pings: std::sync::Arc::new(ping_journal::PingJournal::new()),
            heartbeat_tokens: token_lookups::TokenLookups::default(),
        };
        store.start_folding();
        store
    }

    /// The backend, for what only it offers (migrations, its pool).
    pub fn backend_ref(&self) -> &B {
        &self.backend
    }

    pub(crate) fn read_pool(&self) -> Reader<'_, B> {
        Reader(self.backend.read_pool())
    }

    pub(crate) async fn begin_write(&self) -> Result<Tx<B>, sqlx::Error> {
        self.backend.begin_write().await.map(Tx)
    }

    /// A write transaction for work that may legitimately run long
    /// (pruning, importing a large report): the request path's statement
    /// time bound does not apply in it.
    pub(crate) async fn begin_maintenance(&self) -> Result<Tx<B>, sqlx::Error> {
        let mut tx = self.begin_write().await?;
        if let Some(lift) = B::LIFT_STATEMENT_TIMEOUT {
            query::<B>(lift).execute(&mut tx).await?;
        }
        Ok(tx)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if database_unreachable(&e) {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Backend(Box::new(e))
        }
    }
}

/// Errors that mean "the database is not there right now", as opposed to
/// a query the database refused: no connection in time, a socket that
/// failed, PostgreSQL's connection-exception and shutdown classes, or a
/// statement that outlived its bound (a database too slow to answer is,
/// for the caller, not there).
fn database_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 57014: a statement cancelled at the request path's time bound.
            code.starts_with("08") || code.starts_with("57P0") || code == "57014"
        }),
        _ => false,
    }
}

#[async_trait::async_trait]
impl<B: SqlBackend> Store for SqlStore<B> {
    fn backend(&self) -> &'static str {
        B::NAME
    }

    async fn ping(&self) -> StoreResult<()> {
        query::<B>("SELECT 1").execute(self.read_pool()).await?;
        Ok(())
    }
}

/// Rows of `table` whose `column` is one of `ids` (callers keep
/// `ids` to at most a thousand: both backends cap bound values).
pub(crate) async fn fetch_in<'e, B: SqlBackend, S>(
    on: impl Exec<'e, B>,
    columns: &str,
    table: &str,
    column: &str,
    ids: &[S],
) -> StoreResult<Vec<SqlRow<B>>>
where
    S: AsRef<str>,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut statement =
        SqlBuilder::<B>::new(format!("SELECT {columns} FROM {table} WHERE {column}"));
    statement.push_in(ids.iter().map(|id| id.as_ref()));
    Ok(statement.build().fetch_all(on).await?)
}

/// Maps a unique violation to `Conflict(what)`, anything else to `Backend`.
pub(crate) fn conflict_or(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::from(e),
    }
}

/// Finishes a newest-first listing: rows before `cursor` (ids sort by
/// time), at most `limit`, and the cursor of the next page.
pub(crate) async fn newest_first<B: SqlBackend, T>(
    mut query: SqlBuilder<B>,
    cursor: Option<&str>,
    limit: u32,
    pool: Reader<'_, B>,
    from_row: impl Fn(&SqlRow<B>) -> StoreResult<T>,
    id_of: impl Fn(&T) -> String,
) -> StoreResult<Page<T>> {
    if let Some(cursor) = cursor {
        query.push(" AND id < ").push_bind(cursor);
    }
    query
        .push(" ORDER BY id DESC LIMIT ")
        .push_bind(limit as i64 + 1);
    let rows = query.build().fetch_all(pool).await?;
    let items = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    Ok(paginate(items, limit, id_of))
}

/// Decodes a stored monitor definition.
pub fn decode_spec(json: &str) -> Result<MonitorSpec, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("monitor spec: {e}")))
}

pub fn encode_spec(spec: &MonitorSpec) -> String {
    serde_json::to_string(spec).expect("a monitor spec always serializes")
}

/// `NotFound` when a write that names one row touched none.
pub(super) fn found(rows_affected: u64) -> StoreResult<()> {
    if rows_affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Records `audit` in the write's transaction and commits both.
pub(super) async fn commit_audited<B: SqlBackend>(
    mut tx: Tx<B>,
    audit: &certsentry_domain::audit::AuditEvent,
) -> StoreResult<()> {
    audit::insert_audit(&mut tx, audit).await?;
    tx.commit().await.map_err(StoreError::from)
}

/// Commits, recording `audit` in the same transaction when there is one
/// (writes the server makes on its own carry none).
pub(super) async fn commit_maybe_audited<B: SqlBackend>(
    tx: Tx<B>,
    audit: Option<&certsentry_domain::audit::AuditEvent>,
) -> StoreResult<()> {
    match audit {
        Some(audit) => commit_audited(tx, audit).await,
        None => tx.commit().await.map_err(StoreError::from),
    }
}

pub fn decode_json(json: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("json column: {e}")))
}

pub fn decode_channel_spec(json: &str) -> Result<ChannelSpec, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("channel spec: {e}")))
}

pub fn encode_channel_spec(spec: &ChannelSpec) -> String {
    serde_json::to_string(spec).expect("a channel spec always serializes")
}

pub fn decode_event_monitor(
    json: Option<String>,
) -> Result<Option<certsentry_domain::alert::EventMonitor>, StoreError> {
    json.map(|j| serde_json::from_str(&j))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("event monitor: {e}")))
}

pub fn encode_event_monitor(
    monitor: Option<&certsentry_domain::alert::EventMonitor>,
) -> Option<String> {
    monitor.map(|m| serde_json::to_string(m).expect("an event monitor always serializes"))
}

/// `NULL` is a monitor event (the default subject).
pub fn decode_event_subject(
    json: Option<String>,
) -> Result<certsentry_domain::alert::EventSubject, StoreError> {
    json.map(|j| serde_json::from_str(&j))
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(|e| StoreError::Corrupt(format!("event subject: {e}")))
}

pub fn encode_event_subject(subject: &certsentry_domain::alert::EventSubject) -> Option<String> {
    (*subject != certsentry_domain::alert::EventSubject::Monitor)
        .then(|| serde_json::to_string(subject).expect("an event subject always serializes"))
}

pub fn decode_finding(json: &str) -> Result<CtFinding, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("ct finding: {e}")))
}

pub fn encode_finding(finding: &CtFinding) -> String {
    serde_json::to_string(finding).expect("a finding always serializes")
}

pub fn log_channel_disabled(channel: &str, reason: &str) {
    tracing::warn!(channel, reason, "notification channel disabled");
}

/// Cuts a page of `limit` from `items` (fetched with `limit + 1` rows) and
/// names the next cursor when there is more.
pub fn paginate<T>(mut items: Vec<T>, limit: u32, id_of: impl Fn(&T) -> String) -> Page<T> {
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(&id_of)
    } else {
        None
    };
    Page { items, next_cursor }
}

/// The columns `monitor_from_row` reads, in one place.
pub const MONITOR_COLUMNS: &str = "id, org_id, kind, enabled, external_id, environment_id, spec, \
    heartbeat_token, last_status, ssl_not_after, domain_expiry, created_at, updated_at";

pub const API_KEY_COLUMNS: &str =
    "id, org_id, name, key_hash, hint, read_only, created_at, last_used_at, revoked_at";

pub const RESULT_COLUMNS: &str = "id, org_id, monitor_id, check_type, status, degraded, region, \
    latency_ms, http_status, error, details, created_at";

pub const AUDIT_COLUMNS: &str = "id, org_id, action, actor_id, actor_name, actor_email, target_type, target_id, metadata, created_at";
