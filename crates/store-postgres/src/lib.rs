//! The PostgreSQL store. Several CertSentry nodes may share one database:
//! quota-checked writes lock the organization's row (`FOR UPDATE`), and
//! sqlx's migrator takes an advisory lock so concurrent starts are safe.

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

/// Migrations embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub const NAME: &'static str = "postgres";
    /// Appended to the outbox claim's inner SELECT.
    const CLAIM_LOCK: &'static str = " FOR UPDATE SKIP LOCKED";
    const LOCK_ORG: &'static str = "SELECT id FROM orgs WHERE id = $1 FOR UPDATE";

    /// Connects to a `postgres://` URL and applies migrations.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// Versions of the migrations applied, for `certsentry migrate`.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&self.pool)
            .await
    }

    fn read_pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }
}

pub mod certwatch;
pub mod testing;

certsentry_store::sql_store_impl!(PostgresStore, sqlx::Postgres);
certsentry_store::sql_alert_store_impl!(PostgresStore, sqlx::Postgres);
certsentry_store::sql_ct_store_impl!(PostgresStore, sqlx::Postgres);
