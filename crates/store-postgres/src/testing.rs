//! Test support: a scratch database per test, made through the server named
//! by `CERTSENTRY_TEST_DATABASE_URL` (trust auth on the CI machine).
//! `.ci/run` drops leftover `certsentry_test_*` databases before each run.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

/// The env var that enables Postgres tests.
pub const TEST_DATABASE_ENV: &str = "CERTSENTRY_TEST_DATABASE_URL";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Writes the skip notice straight to stderr, once per process: the test
/// runner captures `eprintln!` of passing tests, but not writes to the
/// stream itself, so the line shows up in a plain `cargo test`.
fn say_skipped_once() {
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: the PostgreSQL runs of this test binary ({TEST_DATABASE_ENV} is unset; \
             see the README's test section)"
        );
    });
}

/// Creates an empty database and returns its URL, or `None` when
/// `CERTSENTRY_TEST_DATABASE_URL` is unset. A skip is never silent: under
/// `CI=true` it is a failure, and otherwise one line per test binary says
/// so in the runner's output.
pub async fn fresh_database() -> Option<String> {
    let Ok(admin_url) = std::env::var(TEST_DATABASE_ENV) else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{TEST_DATABASE_ENV} is unset under CI=true: the Postgres run is required");
        }
        say_skipped_once();
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
