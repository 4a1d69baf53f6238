//! The PostgreSQL store. Several CertSentry nodes may share one database:
//! quota-checked writes lock the organization's row (`FOR UPDATE`), and
//! sqlx's migrator takes an advisory lock so concurrent starts are safe.

use certsentry_store::sql::{Param, SqlBackend, SqlStore};
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArguments, PgConnection, PgPool, PgPoolOptions, PgQueryResult, PgRow};
use sqlx::{Arguments, Executor, Pool, Postgres, Row, Transaction};

/// Migrations embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Every store trait over PostgreSQL.
pub type PostgresStore = SqlStore<PostgresBackend>;

/// How long a query waits for a pooled connection (one is opened if the
/// pool has room) before the store reports the database unavailable.
pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// The PostgreSQL connection pool.
pub struct PostgresBackend {
    pool: PgPool,
}

impl PostgresBackend {
    /// Connects to a `postgres://` URL and applies migrations.
    pub async fn connect(url: &str) -> Result<PostgresStore, sqlx::Error> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // With the database gone, a request waits at most this long for
            // a connection and then answers 503, instead of hanging.
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqlStore::new(Self { pool }))
    }

    /// Versions of the migrations applied, for `certsentry migrate`.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&self.pool)
            .await
    }
}

impl SqlBackend for PostgresBackend {
    type Db = Postgres;
    const NAME: &'static str = "postgres";
    const LOCK_ORG: &'static str = "SELECT id FROM orgs WHERE id = $1 FOR UPDATE";
    const CLAIM_LOCK: &'static str = " FOR UPDATE SKIP LOCKED";
    const STRING_AGG: &'static str = "string_agg";

    fn push_placeholder(text: &mut String, n: usize) {
        use std::fmt::Write as _;
        let _ = write!(text, "${n}");
    }

    fn read_pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    fn on_connection<'c>(
        connection: &'c mut PgConnection,
    ) -> impl Executor<'c, Database = Postgres> + 'c {
        connection
    }

    fn on_pool<'p>(pool: &'p Pool<Postgres>) -> impl Executor<'p, Database = Postgres> + 'p {
        pool
    }

    fn bind(args: &mut PgArguments, value: Param<'_>) -> Result<(), BoxDynError> {
        match value {
            Param::Text(v) => args.add(v.as_deref()),
            Param::I64(v) => args.add(v),
            Param::I32(v) => args.add(v),
            Param::Bool(v) => args.add(v),
        }
    }

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }

    fn read_text(row: &PgRow, column: &str) -> Result<Option<String>, sqlx::Error> {
        row.try_get(column)
    }

    fn read_i64(row: &PgRow, column: &str) -> Result<Option<i64>, sqlx::Error> {
        row.try_get(column)
    }

    fn read_i32(row: &PgRow, column: &str) -> Result<Option<i32>, sqlx::Error> {
        row.try_get(column)
    }

    fn read_bool(row: &PgRow, column: &str) -> Result<Option<bool>, sqlx::Error> {
        row.try_get(column)
    }
}

#[cfg(feature = "testing")]
pub mod testing;
