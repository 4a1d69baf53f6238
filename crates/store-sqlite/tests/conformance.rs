//! The store conformance suite on a fresh SQLite file per test.

use certsentry_store::prelude::*;
use std::sync::Arc;

use certsentry_store::Store;
use certsentry_store_sqlite::SqliteBackend;

/// A fresh file and two handles on it, each with its own pools (SQLite's
/// locks, not one handle's queue, decide the races).
async fn fresh_store() -> Option<(Arc<dyn Store>, Arc<dyn Store>)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    let store: Arc<dyn Store> = Arc::new(SqliteBackend::open(&path).await.unwrap());
    let twin: Arc<dyn Store> = Arc::new(SqliteBackend::open(&path).await.unwrap());
    // Keep the directory for the life of the test process.
    std::mem::forget(dir);
    Some((store, twin))
}

/// Pinned: a conformance case added or lost changes this number on purpose.
const CASES: usize = 43;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_on_sqlite() {
    let ran = certsentry_store::conformance::run_all("sqlite", fresh_store).await;
    assert_eq!(ran, Some(CASES));
}

/// The same suite over the monitor cache the server puts in front of SQLite.
mod cached {
    use std::sync::Arc;

    use certsentry_store::{CachedStore, Store};
    use certsentry_store_sqlite::SqliteBackend;

    /// The cache serves one process, so its "other node" is itself.
    async fn fresh_cached_store() -> Option<(Arc<dyn Store>, Arc<dyn Store>)> {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteBackend::open(&dir.path().join("test.db"))
            .await
            .unwrap();
        std::mem::forget(dir);
        let cached: Arc<dyn Store> = Arc::new(CachedStore::load(store).await.unwrap());
        Some((cached.clone(), cached))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn conformance_suite_behind_the_monitor_cache() {
        let ran =
            certsentry_store::conformance::run_all("sqlite behind the cache", fresh_cached_store)
                .await;
        assert_eq!(ran, Some(super::CASES));
    }
}

/// The cache is rebuilt from the file on open: a restart sees every committed write.
#[tokio::test]
async fn cache_reloads_committed_monitors_after_reopen() {
    use certsentry_domain::audit::{Actor, AuditEvent};
    use certsentry_domain::monitor::MonitorKind;
    use certsentry_store::{CachedStore, MonitorQuery};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reopen.db");
    let (org, ids) = {
        let store = CachedStore::load(SqliteBackend::open(&path).await.unwrap())
            .await
            .unwrap();
        let org = certsentry_domain::org::Org {
            id: certsentry_domain::OrgId::generate(),
            name: "reopen".into(),
            plan: "agency".into(),
            created_at: 1,
        };
        let audit = AuditEvent::new(
            &org.id,
            &Actor::cli(),
            "organization.create",
            "organization",
            "x",
            serde_json::json!({}),
        );
        store.create_org(&org, &audit).await.unwrap();
        let mut ids = Vec::new();
        for _ in 0..3 {
            let monitor = certsentry_store::conformance_support::monitor(&org.id, MonitorKind::Tcp);
            let audit = AuditEvent::new(
                &org.id,
                &Actor::cli(),
                "monitor.create",
                "monitor",
                monitor.id.as_str(),
                serde_json::json!({}),
            );
            store.create_monitor(&monitor, 10, &audit).await.unwrap();
            ids.push(monitor.id);
        }
        (org.id, ids)
    };
    let reopened = CachedStore::load(SqliteBackend::open(&path).await.unwrap())
        .await
        .unwrap();
    let page = reopened
        .list_monitors(
            &org,
            &MonitorQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        ids
    );
    assert_eq!(reopened.count_monitors(&org).await.unwrap(), 3);
}

/// The cache keeps alert state as read and written; a state changed behind
/// its back (which a single-node store never sees, but a test can) makes
/// the next compare-and-swap fail, and that failure sends the next read to
/// the database.
#[tokio::test]
async fn cached_alert_state_is_dropped_when_its_compare_and_swap_fails() {
    use certsentry_domain::MonitorId;
    use certsentry_store::{AlertGuard, CachedStore};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.db");
    let cached = CachedStore::load(SqliteBackend::open(&path).await.unwrap())
        .await
        .unwrap();
    let behind = SqliteBackend::open(&path).await.unwrap();
    let monitor = MonitorId::generate();
    let guard = |expected: Option<&str>, next: &str| AlertGuard {
        monitor_id: monitor.clone(),
        key: "uptime".into(),
        expected: expected.map(str::to_string),
        next: next.into(),
    };

    let kept = async || cached.get_alert_state(&monitor, "uptime").await.unwrap();
    let moved = async |store: &dyn Store, guard: AlertGuard| {
        store.record_alert(Some(&guard), None, None).await.unwrap()
    };

    assert_eq!(kept().await, None);
    assert!(moved(&cached, guard(None, "up")).await);
    assert_eq!(
        kept().await.as_deref(),
        Some("up"),
        "a recorded state is what the cache answers"
    );

    // Another writer moves the state; the cache still answers its copy.
    assert!(moved(&behind, guard(Some("up"), "down")).await);
    assert_eq!(kept().await.as_deref(), Some("up"));
    // A move from that copy fails, and the copy is dropped.
    assert!(!moved(&cached, guard(Some("up"), "up")).await);
    assert_eq!(
        kept().await.as_deref(),
        Some("down"),
        "after a failed compare-and-swap the state is read from the database"
    );
}
