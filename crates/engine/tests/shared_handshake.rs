//! A monitor with uptime and SSL checks: the SSL check reads the uptime
//! check's verified handshake instead of opening a second connection, and
//! still makes its own when that handshake failed, to say why.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use certsentry_domain::OrgId;
use certsentry_domain::audit::{Actor, AuditEvent};
use certsentry_domain::check::{CheckStatus, CheckType};
use certsentry_domain::monitor::{Monitor, MonitorSpec, endpoint_key};
use certsentry_domain::org::Org;
use certsentry_domain::time::now_ms;
use certsentry_engine::Checker;
use certsentry_probes::testing::{Pki, counting_https_server};
use certsentry_probes::{ProbeConfig, Prober};
use certsentry_store::Store;
use certsentry_store_sqlite::SqliteBackend;
use serde_json::json;

async fn store_with_org(dir: &tempfile::TempDir) -> (Arc<dyn Store>, OrgId) {
    let store: Arc<dyn Store> =
        Arc::new(SqliteBackend::open(&dir.path().join("h.db")).await.unwrap());
    let org = Org {
        id: OrgId::generate(),
        name: "h".into(),
        plan: "agency".into(),
        created_at: now_ms(),
    };
    let audit = AuditEvent::new(
        &org.id,
        &Actor::cli(),
        "organization.create",
        "x",
        "x",
        json!({}),
    );
    store.create_org(&org, &audit).await.unwrap();
    (store, org.id)
}

/// A standard monitor of `https://localhost:port/` with uptime and SSL
/// checks only. Its endpoint's TLS grade is claimed as just scanned, so no
/// grade scan adds handshakes to the count.
async fn monitor(store: &dyn Store, org: &OrgId, port: u16) -> Monitor {
    let spec = MonitorSpec {
        check_domain: false,
        ..MonitorSpec::standard(
            "shop",
            &format!("https://localhost:{port}/"),
            vec!["virginia".into()],
        )
    };
    let monitor = Monitor::new(org.clone(), spec);
    let audit = AuditEvent::new(org, &Actor::cli(), "monitor.create", "x", "x", json!({}));
    store.create_monitor(&monitor, 100, &audit).await.unwrap();
    assert!(
        store
            .claim_tls_scan(&endpoint_key("localhost", port), now_ms(), 0, None)
            .await
            .unwrap()
    );
    monitor
}

fn status_of(results: &[certsentry_domain::check::CheckResult], kind: CheckType) -> CheckStatus {
    results
        .iter()
        .find(|r| r.check_type == kind)
        .unwrap_or_else(|| panic!("no {kind:?} result in {results:?}"))
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uptime_and_ssl_checks_share_one_handshake_when_it_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (store, org) = store_with_org(&dir).await;
    let pki = Pki::new();
    let prober = Prober::new(ProbeConfig {
        timeout: Duration::from_secs(5),
        allow_private_targets: true,
        extra_roots: vec![pki.root_der()],
        ..ProbeConfig::default()
    });
    let checker = Checker::new(store.clone(), prober);

    let (leaf, key) = pki.leaf(&["localhost"], None);
    let (port, accepted) =
        counting_https_server(vec![leaf, pki.intermediate.der().clone()], key).await;
    let good = monitor(&*store, &org, port).await;
    let results = checker.run(&good).await.unwrap();
    assert_eq!(status_of(&results, CheckType::Uptime), CheckStatus::Ok);
    assert_eq!(status_of(&results, CheckType::Ssl), CheckStatus::Ok);
    let ssl = results
        .iter()
        .find(|r| r.check_type == CheckType::Ssl)
        .unwrap();
    assert_eq!(ssl.details["chain"].as_array().map(Vec::len), Some(2));
    assert_eq!(ssl.details["sans"], json!(["localhost"]));
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one connection for both checks"
    );
    let stored = store.get_monitor(&org, &good.id).await.unwrap().unwrap();
    assert!(
        stored.ssl_not_after.is_some(),
        "the SSL check's expiry is recorded"
    );

    // An expired certificate fails the uptime handshake; the SSL check
    // then connects itself and names the reason.
    let (expired, key) = pki.leaf(&["localhost"], Some(((2020, 1, 1), (2021, 1, 1))));
    let (port, accepted) =
        counting_https_server(vec![expired, pki.intermediate.der().clone()], key).await;
    let broken = monitor(&*store, &org, port).await;
    let results = checker.run(&broken).await.unwrap();
    assert_eq!(status_of(&results, CheckType::Uptime), CheckStatus::Fail);
    let ssl = results
        .iter()
        .find(|r| r.check_type == CheckType::Ssl)
        .unwrap();
    assert_eq!(ssl.status, CheckStatus::Fail);
    assert_eq!(ssl.error.as_deref(), Some("expired"));
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}
