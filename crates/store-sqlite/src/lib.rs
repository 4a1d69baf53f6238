//! The default store: one SQLite file in WAL mode.
//!
//! Reads go through a small pool; all writes go through a single connection
//! and start with `BEGIN IMMEDIATE`, so writers queue in-process instead of
//! failing with `SQLITE_BUSY`, and quota checks inside a transaction cannot race.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

/// Migrations embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
}

impl SqliteStore {
    pub const NAME: &'static str = "sqlite";
    /// The single writer already serializes writes.
    /// Appended to the outbox claim's inner SELECT.
    const CLAIM_LOCK: &'static str = "";
    const LOCK_ORG: &'static str = "SELECT id FROM orgs WHERE id = $1";

    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> Result<Self, sqlx::Error> {
        Self::open_with(SqliteConnectOptions::new().filename(path)).await
    }

    /// Opens a `sqlite://PATH` URL.
    pub async fn open_url(url: &str) -> Result<Self, sqlx::Error> {
        Self::open_with(SqliteConnectOptions::from_str(url)?).await
    }

    async fn open_with(options: SqliteConnectOptions) -> Result<Self, sqlx::Error> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // The writer's page cache holds the hot index pages of check_results
        // and heartbeats (64 MiB at most, grown on demand); statement
        // journals of multi-row writes stay in memory; checkpoints run every
        // ~40 MiB of WAL, so a page rewritten by many commits is copied back
        // to the database once.
        let write_options = options
            .clone()
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory")
            .pragma("wal_autocheckpoint", "10000");
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(write_options)
            .await?;
        MIGRATOR.run(&write).await?;
        let readers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(2, 8) as u32;
        let read = SqlitePoolOptions::new()
            .max_connections(readers)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { read, write })
    }

    /// Versions of the migrations applied, for `certsentry migrate`.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&self.read)
            .await
    }

    fn read_pool(&self) -> &SqlitePool {
        &self.read
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.write.begin_with("BEGIN IMMEDIATE").await
    }
}

certsentry_store::sql_store_impl!(SqliteStore, sqlx::Sqlite);
certsentry_store::sql_alert_store_impl!(SqliteStore, sqlx::Sqlite);
certsentry_store::sql_ct_store_impl!(SqliteStore, sqlx::Sqlite);
