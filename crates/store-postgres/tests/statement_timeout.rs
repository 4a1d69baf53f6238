//! The request path's statements are bounded: a statement that outlives
//! `STATEMENT_TIMEOUT` is cancelled by Postgres and reported as the
//! database being unavailable (a 503 to the caller), and an operator's own
//! `statement_timeout` in the URL wins over ours.

use certsentry_store::StoreError;
use certsentry_store::sql::SqlBackend;
use certsentry_store_postgres::{PostgresBackend, STATEMENT_TIMEOUT};

async fn bound_of(url: &str) -> String {
    let store = PostgresBackend::connect(url).await.unwrap();
    sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(store.backend_ref().read_pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_statements_are_cut_and_read_as_unavailable() {
    let Some(url) = certsentry_store_postgres::testing::fresh_database().await else {
        return;
    };
    assert_eq!(bound_of(&url).await, STATEMENT_TIMEOUT);

    let store = PostgresBackend::connect(&url).await.unwrap();
    let slow = sqlx::query("SELECT pg_sleep(6)")
        .execute(store.backend_ref().read_pool())
        .await
        .expect_err("a statement past the bound is cancelled");
    let seen = StoreError::from(slow);
    assert!(matches!(seen, StoreError::Unavailable(_)), "{seen:?}");

    let separator = if url.contains('?') { '&' } else { '?' };
    let own = format!("{url}{separator}options=-c%20statement_timeout%3D9s");
    assert_eq!(bound_of(&own).await, "9s");
}
