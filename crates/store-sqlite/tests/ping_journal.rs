//! The ping journal's own file (`<database>-pings`): its pings reach the
//! main file without a read asking, a journal file made anew is folded
//! from its start, and an upgrade folds what the journal held when it was
//! a table of the main file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use certsentry_domain::ResultId;
use certsentry_domain::monitor::Monitor;
use certsentry_store::conformance_support::{healthy_ping, heartbeat_monitor, org};
use certsentry_store::{CheckStore, HeartbeatStore, ResultQuery, Store};
use certsentry_store_sqlite::{MIGRATOR, SqliteBackend};
use sqlx::Connection as _;

/// A heartbeat monitor in a new organization.
async fn cron(store: &dyn Store) -> Monitor {
    let org = org(store, "Journal").await;
    heartbeat_monitor(store, &org.id).await
}

/// Records `pings` (healthy, so journaled) of `monitor` at these times,
/// then reads back the times of all its results (which folds first).
async fn ping_then_read(store: &dyn Store, monitor: &Monitor, pings: &[i64]) -> Vec<i64> {
    let records: Vec<_> = pings.iter().map(|&at| healthy_ping(monitor, at)).collect();
    store.record_checks(&records).await.unwrap();
    stored_times(store, monitor).await
}

/// The heartbeat results of `monitor`, by their times.
async fn stored_times(store: &dyn Store, monitor: &Monitor) -> Vec<i64> {
    let all = ResultQuery {
        limit: 100,
        ..Default::default()
    };
    let mut times: Vec<i64> = store
        .list_results(&monitor.org_id, &monitor.id, &all)
        .await
        .unwrap()
        .items
        .iter()
        .map(|r| r.created_at)
        .collect();
    times.sort_unstable();
    times
}

/// One number from `sql` on its own connection to the file at `path`,
/// as another process would see it.
async fn count(path: &Path, sql: &'static str) -> i64 {
    let mut side = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query_scalar(sql).fetch_one(&mut side).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_reach_the_main_file_without_a_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let journal = SqliteBackend::journal_path_of(&path);
    let store = SqliteBackend::open(&path).await.unwrap();
    let monitor = cron(&store).await;
    store
        .record_checks(&[healthy_ping(&monitor, 1_000), healthy_ping(&monitor, 2_000)])
        .await
        .unwrap();

    // No read folds: the folding task does, once the oldest ping has
    // waited a second. Polled, because when is the task's business; the
    // bound only stops a broken task from hanging the test.
    let mut waited = Duration::ZERO;
    loop {
        let in_main = count(&path, "SELECT count(*) FROM check_results").await;
        let in_journal = count(&journal, "SELECT count(*) FROM ping_journal").await;
        if (in_main, in_journal) == (2, 0) {
            break;
        }
        assert!(
            waited < Duration::from_secs(60),
            "not folded: {in_main} in the main file, {in_journal} in the journal"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    let latest = count(&path, "SELECT last_ping_at FROM heartbeats").await;
    assert_eq!(latest, 2_000);
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_file_made_anew_is_folded_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let monitor = {
        let store = SqliteBackend::open(&path).await.unwrap();
        let monitor = cron(&store).await;
        // The read folds both: the main file's mark for this journal is 2.
        let stored = ping_then_read(&store, &monitor, &[1_000, 2_000]).await;
        assert_eq!(stored, vec![1_000, 2_000]);
        monitor
    };
    // Someone deletes the journal; the next start makes a new one, whose
    // seqs start at 1 again, below the old journal's mark.
    let journal = SqliteBackend::journal_path_of(&path);
    for suffix in ["", "-wal", "-shm"] {
        let mut file = journal.clone().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(file));
    }
    let store = SqliteBackend::open(&path).await.unwrap();
    let stored = ping_then_read(&store, &monitor, &[3_000]).await;
    assert_eq!(stored, vec![1_000, 2_000, 3_000]);
    let states = store.list_heartbeat_states().await.unwrap();
    assert_eq!(states[0].last_ping_at, 3_000);
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_folds_what_the_in_database_journal_held() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    let monitor = {
        let store = SqliteBackend::open(&path).await.unwrap();
        cron(&store).await
    };
    // Put the file back as a release with the journal in the main file
    // left it after a crash: the journal table holding an acknowledged
    // ping, and the migration that moves the journal not yet applied.
    let old_journal = MIGRATOR
        .iter()
        .find(|m| m.description.contains("ping journal") && m.version == 18)
        .expect("migration 18 made the in-database journal");
    let mut side = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::raw_sql(old_journal.sql.clone())
        .execute(&mut side)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO ping_journal (id, org_id, monitor_id, check_type, status, degraded, \
         details, created_at, last_ping_at, last_ping_ok) \
         VALUES ($1, $2, $3, 'heartbeat', 'ok', FALSE, '{}', 5000, 5000, TRUE)",
    )
    .bind(ResultId::generate().to_string())
    .bind(monitor.org_id.as_str())
    .bind(monitor.id.as_str())
    .execute(&mut side)
    .await
    .unwrap();
    sqlx::raw_sql(
        "DROP TABLE ping_journal_folded; DELETE FROM _sqlx_migrations WHERE version = 19",
    )
    .execute(&mut side)
    .await
    .unwrap();
    side.close().await.unwrap();

    let store = SqliteBackend::open(&path).await.unwrap();
    assert_eq!(stored_times(&store, &monitor).await, vec![5_000]);
    let states = store.list_heartbeat_states().await.unwrap();
    assert_eq!(states[0].last_ping_at, 5_000);
    let tables = count(
        &path,
        "SELECT count(*) FROM sqlite_master WHERE name = 'ping_journal'",
    )
    .await;
    assert_eq!(tables, 0, "the in-database journal is gone");
    drop(dir);
}
