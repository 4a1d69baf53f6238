//! The store conformance suite on Postgres: each test gets its own database,
//! created through `CERTSENTRY_TEST_DATABASE_URL`. Unset, the tests say they skipped.

use std::sync::Arc;

use certsentry_store::Store;
use certsentry_store_postgres::PostgresBackend;

async fn fresh_store() -> Option<Arc<dyn Store>> {
    let url = certsentry_store_postgres::testing::fresh_database().await?;
    Some(Arc::new(PostgresBackend::connect(&url).await.unwrap()))
}

certsentry_store::conformance_tests!(fresh_store);
