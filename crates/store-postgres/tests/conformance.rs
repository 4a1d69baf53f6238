//! The store conformance suite on Postgres: each test gets its own database,
//! created through `CERTSENTRY_TEST_DATABASE_URL`. Unset, the tests say they skipped.

use std::sync::Arc;

use certsentry_store::Store;
use certsentry_store_postgres::PostgresBackend;

/// A fresh database and two pools on it, as two nodes would have.
async fn fresh_store() -> Option<(Arc<dyn Store>, Arc<dyn Store>)> {
    let url = certsentry_store_postgres::testing::fresh_database().await?;
    let store: Arc<dyn Store> = Arc::new(PostgresBackend::connect(&url).await.unwrap());
    let twin: Arc<dyn Store> = Arc::new(PostgresBackend::connect(&url).await.unwrap());
    Some((store, twin))
}

/// Pinned: a conformance case added or lost changes this number on purpose.
const CASES: usize = 43;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_on_postgres() {
    // `None`: no database configured, and `fresh_database` said so.
    if let Some(ran) = certsentry_store::conformance::run_all("postgres", fresh_store).await {
        assert_eq!(ran, CASES);
    }
}
