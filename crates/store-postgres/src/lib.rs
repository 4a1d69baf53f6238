//! The PostgreSQL store. Several CertSentry nodes may share one database:
//! quota-checked writes lock the organization's row (`FOR UPDATE`), and
//! sqlx's migrator takes an advisory lock so concurrent starts are safe.

use certsentry_store::sql::{Param, ParamColumn, SqlBackend, SqlStore};
use sqlx::error::BoxDynError;
use sqlx::postgres::{
    PgArguments, PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgQueryResult, PgRow,
};
use sqlx::{Arguments, Connection, Executor, Pool, Postgres, Row, Transaction};
use std::str::FromStr;

/// Migrations embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Every store trait over PostgreSQL.
pub type PostgresStore = SqlStore<PostgresBackend>;

/// How long a query waits for a pooled connection (one is opened if the
/// pool has room) before the store reports the database unavailable.
pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// How long one statement of the request path may run before Postgres
/// cancels it (`statement_timeout`), so that an API call or a ping on a
/// database too slow to answer gets its 503 within five seconds, with the
/// acquire timeout above. Maintenance (migrations, pruning, report
/// imports) lifts it; see `SqlBackend::LIFT_STATEMENT_TIMEOUT`.
pub const STATEMENT_TIMEOUT: &str = "4s";

/// The PostgreSQL connection pool.
pub struct PostgresBackend {
    pool: PgPool,
}

impl PostgresBackend {
    /// Connects to a `postgres://` URL and applies migrations.
    pub async fn connect(url: &str) -> Result<PostgresStore, sqlx::Error> {
        let options = PgConnectOptions::from_str(url)?;
        // Migrations (a back-fill may take minutes on a large database) run
        // on their own connection, without the request path's bound.
        let mut migrating = PgConnection::connect_with(&options).await?;
        MIGRATOR.run(&mut migrating).await?;
        migrating.close().await?;
        let bounded = if url.contains("statement_timeout") {
            options // the operator's own bound, set in the URL, wins
        } else {
            options.options([("statement_timeout", STATEMENT_TIMEOUT)])
        };
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // With the database gone, a request waits at most this long for
            // a connection and then answers 503, instead of hanging.
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(bounded)
            .await?;
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

    const LIFT_STATEMENT_TIMEOUT: Option<&'static str> = Some("SET LOCAL statement_timeout = 0");
    const BINDS_ARRAYS: bool = true;

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

    fn bind_column(args: &mut PgArguments, column: ParamColumn) -> Result<(), BoxDynError> {
        match column {
            ParamColumn::Text(v) => args.add(v),
            ParamColumn::I64(v) => args.add(v),
            ParamColumn::I32(v) => args.add(v),
            ParamColumn::Bool(v) => args.add(v),
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
