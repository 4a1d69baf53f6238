//! Test support: a scratch database per test, made through the server named
//! by `CERTSENTRY_TEST_DATABASE_URL` (trust auth on the CI machine).
//! `.ci/run` drops leftover `certsentry_test_*` databases before each run.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

/// The env var that enables Postgres tests.
pub const TEST_DATABASE_ENV: &str = "CERTSENTRY_TEST_DATABASE_URL";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Creates an empty database and returns its URL, or `None` (after saying so)
/// when `CERTSENTRY_TEST_DATABASE_URL` is unset.
pub async fn fresh_database() -> Option<String> {
    let Ok(admin_url) = std::env::var(TEST_DATABASE_ENV) else {
        eprintln!("{TEST_DATABASE_ENV} is unset: skipping the Postgres run");
        return None;
    };
    let name = format!(
        "certsentry_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        certsentry_store::domain::id::new_id()
    );
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect to CERTSENTRY_TEST_DATABASE_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create scratch database");
    let mut url = url::Url::parse(&admin_url).expect("CERTSENTRY_TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}
