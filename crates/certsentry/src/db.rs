//! Opens the configured store: SQLite under the data dir by default,
//! Postgres for a `postgres://` URL. Opening applies pending migrations.
//! SQLite is served by one process, so it gets the write-through monitor
//! cache; Postgres may be shared by several nodes and is read directly.

use std::sync::Arc;

use anyhow::{Context, bail};
use certsentry_store::{CachedStore, Store};
use certsentry_store_postgres::PostgresBackend;
use certsentry_store_sqlite::SqliteBackend;

use crate::config::Settings;

pub struct Opened {
    pub store: Arc<dyn Store>,
    /// Where the data lives, for messages (never includes a password).
    pub description: String,
    pub migrations: Vec<i64>,
}

pub async fn open(settings: &Settings) -> anyhow::Result<Opened> {
    match settings.database_url.as_deref() {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let store = PostgresBackend::connect(url)
                .await
                .context("connecting to PostgreSQL")?;
            let migrations = store.backend_ref().applied_migrations().await?;
            Ok(Opened {
                store: Arc::new(store),
                description: "PostgreSQL".into(),
                migrations,
            })
        }
        Some(url) if url.starts_with("sqlite:") => {
            let store = SqliteBackend::open_url(url)
                .await
                .with_context(|| format!("opening {url}"))?;
            let migrations = store.backend_ref().applied_migrations().await?;
            Ok(Opened {
                store: Arc::new(CachedStore::load(store).await?),
                description: url.to_string(),
                migrations,
            })
        }
        Some(_) => bail!(
            "--database-url / DATABASE_URL must start with postgres://, postgresql:// or sqlite://"
        ),
        None => {
            std::fs::create_dir_all(&settings.data_dir)
                .with_context(|| format!("creating data dir {}", settings.data_dir.display()))?;
            let path = settings.data_dir.join("certsentry.db");
            let store = SqliteBackend::open(&path)
                .await
                .with_context(|| format!("opening {}", path.display()))?;
            let migrations = store.backend_ref().applied_migrations().await?;
            Ok(Opened {
                store: Arc::new(CachedStore::load(store).await?),
                description: path.display().to_string(),
                migrations,
            })
        }
    }
}
