//! The batching writer on a real SQLite store: concurrent writes share
//! transactions, every acknowledged write is stored, and a write for a
//! deleted monitor does not fail its neighbours; a write that cannot be
//! stored is refused to its caller and counted in the metrics.

use std::sync::Arc;

use certsentry_domain::audit::{Actor, AuditEvent};
use certsentry_domain::check::{CheckResult, CheckStatus, CheckType};
use certsentry_domain::monitor::{Monitor, MonitorKind, MonitorSpec};
use certsentry_domain::org::Org;
use certsentry_domain::time::now_ms;
use certsentry_domain::{MonitorId, OrgId, ResultId};
use certsentry_engine::CheckWriter;
use certsentry_store::{CheckRecord, HeartbeatState, ResultQuery, Store};
use certsentry_store_sqlite::SqliteBackend;
use serde_json::json;

fn audit(org: &OrgId, action: &str) -> AuditEvent {
    AuditEvent::new(org, &Actor::cli(), action, "x", "x", json!({}))
}

fn ping(org: &OrgId, monitor: &MonitorId, at: i64) -> CheckRecord {
    CheckRecord {
        org_id: org.clone(),
        monitor_id: monitor.clone(),
        results: vec![CheckResult {
            id: ResultId::generate(),
            org_id: org.clone(),
            monitor_id: monitor.clone(),
            check_type: CheckType::Heartbeat,
            status: CheckStatus::Ok,
            degraded: false,
            region: None,
            latency_ms: None,
            http_status: None,
            error: None,
            details: json!({}),
            created_at: at,
        }],
        state: None,
        ping: Some(HeartbeatState {
            monitor_id: monitor.clone(),
            org_id: org.clone(),
            last_ping_at: at,
            last_ping_ok: true,
            missed: false,
        }),
        certificate: None,
    }
}

/// An organization with `count` heartbeat monitors in `store`.
async fn org_with_heartbeats(store: &dyn Store, count: usize) -> (Org, Vec<Monitor>) {
    let org = Org {
        id: OrgId::generate(),
        name: "w".into(),
        plan: "agency".into(),
        created_at: now_ms(),
    };
    store
        .create_org(&org, &audit(&org.id, "organization.create"))
        .await
        .unwrap();
    let mut monitors = Vec::new();
    for i in 0..count {
        let spec = MonitorSpec {
            kind: MonitorKind::Heartbeat,
            target: None,
            heartbeat_interval_seconds: Some(60),
            heartbeat_grace_seconds: Some(60),
            ..MonitorSpec::standard(&format!("cron {i}"), "", vec!["virginia".into()])
        };
        let m = Monitor::new(org.id.clone(), spec);
        store
            .create_monitor(&m, 100, &audit(&org.id, "monitor.create"))
            .await
            .unwrap();
        monitors.push(m);
    }
    (org, monitors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_are_all_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteBackend::open(&dir.path().join("w.db")).await.unwrap());
    let (org, mut monitors) = org_with_heartbeats(&*store, 3).await;
    let gone = monitors.pop().unwrap();
    store
        .delete_monitor(&org.id, &gone.id, &audit(&org.id, "monitor.delete"))
        .await
        .unwrap();

    let writer = CheckWriter::spawn(store.clone());
    let mut tasks = Vec::new();
    for i in 0..200i64 {
        let writer = writer.clone();
        let target = if i % 50 == 0 {
            gone.id.clone()
        } else {
            monitors[(i % 2) as usize].id.clone()
        };
        let org = org.id.clone();
        tasks.push(tokio::spawn(async move {
            writer.write(ping(&org, &target, 1_000 + i)).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let all = ResultQuery {
        limit: 500,
        ..Default::default()
    };
    let stored: Vec<usize> = {
        let mut counts = Vec::new();
        for m in monitors.iter().chain([&gone]) {
            counts.push(
                store
                    .list_results(&org.id, &m.id, &all)
                    .await
                    .unwrap()
                    .items
                    .len(),
            );
        }
        counts
    };
    // 200 writes: the even ones to the first monitor except 4 (i % 50 == 0)
    // that go to the deleted one and are dropped; the odd ones to the second.
    assert_eq!(stored, vec![96, 100, 0]);
    let states = store.list_heartbeat_states().await.unwrap();
    assert_eq!(states.len(), 2);
    assert!(states.iter().all(|s| s.last_ping_at >= 1_000 + 190));
}

/// With the results table and the ping journal gone (as good as a database
/// that refuses every write), each outcome is refused to its caller and counted in
/// `check_writes_failed_total`; once the table is back, writes succeed.
/// Where a ping can be written, in place or (on SQLite, healthy) the
/// journal, which has a file of its own: each table's (whether in the
/// journal's file, take away, bring back).
const TABLES_AWAY: [(bool, &str, &str); 2] = [
    (
        false,
        "ALTER TABLE check_results RENAME TO check_results_away",
        "ALTER TABLE check_results_away RENAME TO check_results",
    ),
    (
        true,
        "ALTER TABLE ping_journal RENAME TO ping_journal_away",
        "ALTER TABLE ping_journal_away RENAME TO ping_journal",
    ),
];

/// Runs each statement on the file its table is in (`true`: the journal's).
async fn run_each(
    main: &mut sqlx::SqliteConnection,
    journal: &mut sqlx::SqliteConnection,
    statements: [(bool, &'static str); 2],
) {
    for (in_journal, statement) in statements {
        let side = if in_journal {
            &mut *journal
        } else {
            &mut *main
        };
        sqlx::query(statement).execute(side).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_that_cannot_be_stored_are_refused_and_counted() {
    use sqlx::Connection as _;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.db");
    let store: Arc<dyn Store> = Arc::new(SqliteBackend::open(&path).await.unwrap());
    let (org, monitors) = org_with_heartbeats(&*store, 1).await;
    let monitor = &monitors[0];
    let writer = CheckWriter::spawn(store.clone());
    let mut registry = prometheus_client::registry::Registry::default();
    writer.register(&mut registry);
    let failed_total = |registry: &prometheus_client::registry::Registry| {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix("check_writes_failed_total "))
            .map(|n| n.parse::<u64>().unwrap())
    };
    assert_eq!(failed_total(&registry), Some(0));

    let side_on = |path: std::path::PathBuf| async move {
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap()
    };
    let mut main_side = side_on(path.clone()).await;
    let mut journal_side = side_on(SqliteBackend::journal_path_of(&path)).await;
    run_each(
        &mut main_side,
        &mut journal_side,
        TABLES_AWAY.map(|(in_journal, take_away, _)| (in_journal, take_away)),
    )
    .await;
    for at in [1_000, 2_000] {
        let refused = writer.write(ping(&org.id, &monitor.id, at)).await;
        assert!(
            refused.is_err(),
            "a write that was not stored is not acknowledged"
        );
    }
    assert_eq!(failed_total(&registry), Some(2));

    run_each(
        &mut main_side,
        &mut journal_side,
        TABLES_AWAY.map(|(in_journal, _, bring_back)| (in_journal, bring_back)),
    )
    .await;
    writer
        .write(ping(&org.id, &monitor.id, 3_000))
        .await
        .unwrap();
    assert_eq!(failed_total(&registry), Some(2));
    let stored = store
        .list_results(
            &org.id,
            &monitor.id,
            &ResultQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let times: Vec<i64> = stored.items.iter().map(|r| r.created_at).collect();
    assert_eq!(times, vec![3_000], "only the acknowledged write is stored");
}
