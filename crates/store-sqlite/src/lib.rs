//! The default store: one SQLite file in WAL mode, and beside it the ping
//! journal's file (`<database>-pings`).
//!
//! Reads go through a small pool; all writes go through a single connection
//! and start with `BEGIN IMMEDIATE`, so writers queue in-process instead of
//! failing with `SQLITE_BUSY`, and quota checks inside a transaction cannot race.
//! Healthy heartbeat pings are appended to the journal by its own writer
//! connection, and folded into the main file by the main writer, which
//! attaches the journal as `journal` (see the store's `ping_journal`).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use certsentry_store::sql::{JournalDb, Param, SqlBackend, SqlStore};
use sqlx::error::BoxDynError;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool,
    SqlitePoolOptions, SqliteQueryResult, SqliteRow, SqliteSynchronous,
};
use sqlx::{Arguments, Executor, Pool, Row, Sqlite, Transaction};

/// Migrations embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
/// The ping journal's migrations: its file has its own.
pub static JOURNAL_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./journal-migrations");

/// Every store trait over SQLite.
pub type SqliteStore = SqlStore<SqliteBackend>;

/// The SQLite connections: a read pool, the one writer, and the ping
/// journal's writer.
pub struct SqliteBackend {
    read: SqlitePool,
    write: SqlitePool,
    /// `None` for a database in memory, which has no file to put a journal
    /// beside: its pings are written in place, as on Postgres.
    journal: Option<JournalDb<Sqlite>>,
}

impl SqliteBackend {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore, sqlx::Error> {
        Self::open_with(SqliteConnectOptions::new().filename(path)).await
    }

    /// Opens a `sqlite://PATH` URL.
    pub async fn open_url(url: &str) -> Result<SqliteStore, sqlx::Error> {
        Self::open_with(SqliteConnectOptions::from_str(url)?).await
    }

    async fn open_with(options: SqliteConnectOptions) -> Result<SqliteStore, sqlx::Error> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // The writer's page cache is SQLite's default 2 MiB: a larger one
        // (64 MiB) did not speed up pings or checks and kept 18 MiB more
        // resident at 10,000 monitors; the OS page cache holds the file
        // anyway. Statement journals of multi-row writes stay in memory;
        // checkpoints run every ~40 MiB of WAL, so a page rewritten by many
        // commits is copied back to the database once.
        let write_options = options
            .clone()
            .pragma("cache_size", "-2048")
            .pragma("temp_store", "memory")
            .pragma("wal_autocheckpoint", "10000");
        // sqlx pings a pooled connection before handing it out, by default,
        // to catch a server that hung up. A SQLite connection is a file
        // handle on a thread of our own and cannot hang up, and the ping is
        // a round trip to that thread per transaction and per read.
        let journal_path = journal_path(&options);
        let journal = match &journal_path {
            Some(path) => Some(open_journal(&options, path).await?),
            None => None,
        };
        let attach = journal_path.as_deref().map(read_only_uri);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .after_connect(move |connection, _| {
                let attach = attach.clone();
                Box::pin(async move {
                    if let Some(path) = attach {
                        sqlx::query("ATTACH DATABASE $1 AS journal")
                            .bind(path)
                            .execute(&mut *connection)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(write_options)
            .await?;
        MIGRATOR.run(&write).await?;
        let readers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(2, 8) as u32;
        let read = SqlitePoolOptions::new()
            .max_connections(readers)
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await?;
        Ok(SqlStore::new(Self {
            read,
            write,
            journal,
        }))
    }

    /// The ping journal's file for the database at `database`: its path
    /// with `-pings` appended, beside SQLite's own `-wal` and `-shm`.
    pub fn journal_path_of(database: &Path) -> std::path::PathBuf {
        let mut name = database.as_os_str().to_owned();
        name.push("-pings");
        name.into()
    }

    /// Versions of the migrations applied, for `certsentry migrate`.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&self.read)
            .await
    }
}

impl SqlBackend for SqliteBackend {
    type Db = Sqlite;
    const NAME: &'static str = "sqlite";
    /// The single writer already serializes writes.
    const LOCK_ORG: &'static str = "SELECT id FROM orgs WHERE id = $1";
    const CLAIM_LOCK: &'static str = "";
    const STRING_AGG: &'static str = "group_concat";

    const LIFT_STATEMENT_TIMEOUT: Option<&'static str> = None;
    /// SQLite has no arrays; its statement cache is in-process and cheap.
    const BINDS_ARRAYS: bool = false;

    fn push_placeholder(text: &mut String, _n: usize) {
        text.push('?');
    }

    fn read_pool(&self) -> &SqlitePool {
        &self.read
    }

    fn ping_journal(&self) -> Option<&JournalDb<Sqlite>> {
        self.journal.as_ref()
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.write.begin_with("BEGIN IMMEDIATE").await
    }

    fn on_connection<'c>(
        connection: &'c mut SqliteConnection,
    ) -> impl Executor<'c, Database = Sqlite> + 'c {
        connection
    }

    fn on_pool<'p>(pool: &'p Pool<Sqlite>) -> impl Executor<'p, Database = Sqlite> + 'p {
        pool
    }

    fn bind(args: &mut SqliteArguments, value: Param<'_>) -> Result<(), BoxDynError> {
        match value {
            Param::Text(v) => args.add(v.as_deref()),
            Param::I64(v) => args.add(v),
            Param::I32(v) => args.add(v),
            Param::Bool(v) => args.add(v),
        }
    }

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }

    fn read_text(row: &SqliteRow, column: &str) -> Result<Option<String>, sqlx::Error> {
        row.try_get(column)
    }

    fn read_i64(row: &SqliteRow, column: &str) -> Result<Option<i64>, sqlx::Error> {
        row.try_get(column)
    }

    fn read_i32(row: &SqliteRow, column: &str) -> Result<Option<i32>, sqlx::Error> {
        row.try_get(column)
    }

    fn read_bool(row: &SqliteRow, column: &str) -> Result<Option<bool>, sqlx::Error> {
        row.try_get(column)
    }
}

/// Where the ping journal of the database `options` opens goes, if it has
/// a file.
fn journal_path(options: &SqliteConnectOptions) -> Option<String> {
    let database = options.get_filename();
    let name = database.to_str()?;
    if name.is_empty() || name == ":memory:" || name.starts_with("file:sqlx-in-memory") {
        return None;
    }
    SqliteBackend::journal_path_of(database)
        .to_str()
        .map(str::to_owned)
}

/// `path` as an SQLite URI that opens it read-only.
///
/// Why read-only: the main writer's transactions begin with `BEGIN
/// IMMEDIATE`, which takes the write lock of every database attached to the
/// connection, except one attached read-only, where it begins a read. With
/// the journal attached writable, every main write (and each fold, for its
/// whole 90 ms) would lock the journal's writer out, which is what the
/// journal's own file is there to avoid.
fn read_only_uri(path: &str) -> String {
    let mut uri = String::from("file:");
    for c in path.chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri.push_str("?mode=ro");
    uri
}

/// Opens (creating if needed) the ping journal at `path`, with the main
/// database's settings, and applies its migrations. Its one connection is
/// the journal's writer; its commits are as durable as the main file's
/// (WAL, `synchronous = NORMAL`). Checkpoints wait for ~40 MiB of WAL, as
/// the main writer's do: the journal reuses the same few hundred pages
/// (appended, folded, deleted, appended again), and a checkpoint copies
/// each page once however often it was rewritten since the last.
async fn open_journal(
    options: &SqliteConnectOptions,
    path: &str,
) -> Result<JournalDb<Sqlite>, sqlx::Error> {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .connect_with(
            options
                .clone()
                .filename(path)
                .pragma("wal_autocheckpoint", "10000"),
        )
        .await?;
    JOURNAL_MIGRATOR.run(&pool).await?;
    let id: String = sqlx::query_scalar("SELECT id FROM journal_identity")
        .fetch_one(&pool)
        .await?;
    Ok(JournalDb { pool, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The main writer sees the journal, and its transactions leave the
    /// journal's writer free to append (see [`read_only_uri`]).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_main_write_leaves_the_journal_writable() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteBackend::open(&dir.path().join("j.db")).await.unwrap();
        let backend = store.backend_ref();
        let mut main = backend.begin_write().await.unwrap();
        let journaled: i64 = sqlx::query_scalar("SELECT count(*) FROM journal.ping_journal")
            .fetch_one(&mut *main)
            .await
            .unwrap();
        assert_eq!(journaled, 0);
        // A statement that writes, on the journal's writer, while the main
        // writer's transaction is open: with the journal attached writable
        // it would wait out the busy timeout and fail.
        let journal = backend.ping_journal().expect("a file database journals");
        sqlx::query("DELETE FROM ping_journal WHERE seq < 0")
            .execute(&journal.pool)
            .await
            .expect("the journal's writer is not locked out");
        main.commit().await.unwrap();
    }

    #[test]
    fn uri_escapes_what_sqlite_would_read_as_uri_syntax() {
        assert_eq!(
            read_only_uri("/data/a?b#c%d.db-pings"),
            "file:/data/a%3fb%23c%25d.db-pings?mode=ro"
        );
    }
}
