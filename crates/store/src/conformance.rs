//! One behavioural suite for every backend (the Gatus habit): each backend's
//! tests call [`conformance_tests!`] with a factory returning a fresh, empty
//! store, or `None` to skip (Postgres without `CERTSENTRY_TEST_DATABASE_URL`).

use std::sync::Arc;

use certsentry_domain::apikey::new_api_key;
use certsentry_domain::audit::{Actor, AuditEvent};
use certsentry_domain::check::{CheckResult, CheckStatus, CheckType};
use certsentry_domain::monitor::{Monitor, MonitorKind, MonitorSpec, MonitorStatus};
use certsentry_domain::org::{Environment, Org};
use certsentry_domain::status_page::{StatusPage, StatusPageMonitor, StatusPageSpec};
use certsentry_domain::time::now_ms;
use certsentry_domain::{EnvironmentId, MonitorId, OrgId, ResultId, StatusPageId};
use serde_json::json;

use crate::{
    AuditQuery, HeartbeatState, MonitorCertificate, MonitorQuery, MonitorState, ResultQuery,
    ServedCertificate, Store, StoreError, SyncChanges,
};

/// Expands to one `#[tokio::test]` per conformance case.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:path) => {
        $crate::conformance_tests!(@cases $factory;
            orgs_round_trip, api_keys_lifecycle, monitors_crud_and_tenancy,
            monitor_quota_is_enforced, external_ids_are_unique_per_org,
            monitor_pagination_and_filters, sync_is_atomic, environments_detach_monitors,
            status_pages_lifecycle, audit_log_filters_and_pages, monitor_state_round_trip,
            results_filters_pages_and_prune, heartbeat_tokens_find_their_monitor,
            certificates_upsert_and_inventory, daily_stats_roll_up_and_finalize,
            heartbeat_misses_are_claimed_once, domain_lookups_are_claimed_once,
            batches_write_many_monitors_at_once, alerts_fire_once_and_flow_through_the_outbox,
            ct_findings_dedupe_and_decide_once);
    };
    (@cases $factory:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                match $factory().await {
                    Some(store) => $crate::conformance::$case(store).await,
                    None => eprintln!("skipped {}: no database configured", stringify!($case)),
                }
            }
        )*
    };
}

fn actor() -> Actor {
    Actor {
        id: "test".into(),
        name: "conformance".into(),
    }
}

fn audit(org: &OrgId, action: &str, target_type: &str, target: &str) -> AuditEvent {
    AuditEvent::new(
        org,
        &actor(),
        action,
        target_type,
        target,
        json!({"via": "conformance"}),
    )
}

async fn new_org(store: &dyn Store, name: &str) -> Org {
    let org = Org {
        id: OrgId::generate(),
        name: name.into(),
        plan: "agency".into(),
        created_at: now_ms(),
    };
    store
        .create_org(
            &org,
            &audit(
                &org.id,
                "organization.create",
                "organization",
                org.id.as_str(),
            ),
        )
        .await
        .unwrap();
    org
}

fn spec(label: &str, kind: MonitorKind, external_id: Option<&str>) -> MonitorSpec {
    MonitorSpec {
        kind,
        external_id: external_id.map(Into::into),
        ..MonitorSpec::standard(label, "acme.example.com", vec!["virginia".into()])
    }
}

/// Fixtures for backend-specific tests.
pub mod conformance_support_impl {
    use super::*;

    /// A valid monitor of `kind` for `org`.
    pub fn monitor(org: &OrgId, kind: MonitorKind) -> Monitor {
        super::monitor(org, spec("fixture", kind, None))
    }
}

fn monitor(org: &OrgId, spec: MonitorSpec) -> Monitor {
    Monitor {
        heartbeat_token: None,
        ..Monitor::new(org.clone(), spec)
    }
}

async fn add_monitor(store: &dyn Store, org: &OrgId, spec: MonitorSpec) -> Monitor {
    let m = monitor(org, spec);
    store
        .create_monitor(
            &m,
            1000,
            &audit(org, "monitor.create", "monitor", m.id.as_str()),
        )
        .await
        .unwrap();
    m
}

pub async fn orgs_round_trip(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    let org = new_org(&*store, "Acme").await;
    assert_eq!(store.get_org(&org.id).await.unwrap(), Some(org.clone()));
    assert_eq!(store.get_org(&OrgId::generate()).await.unwrap(), None);
    assert!(store.list_orgs().await.unwrap().contains(&org));
}

pub async fn api_keys_lifecycle(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Keys").await;
    let (key, _plaintext) = new_api_key(&org.id, "ci", true);
    let hash = key.hash.clone();
    store
        .create_api_key(
            &key,
            &audit(&org.id, "apiKey.create", "apiKey", key.id.as_str()),
        )
        .await
        .unwrap();
    assert_eq!(
        store.find_api_key_by_hash(&hash).await.unwrap(),
        Some(key.clone())
    );
    assert_eq!(
        store.find_api_key_by_hash(&"0".repeat(64)).await.unwrap(),
        None
    );
    assert_eq!(
        store.list_api_keys(Some(&org.id)).await.unwrap(),
        vec![key.clone()]
    );

    store
        .touch_api_keys(&[(key.id.clone(), 5_000)])
        .await
        .unwrap();
    store
        .touch_api_keys(&[(key.id.clone(), 4_000)])
        .await
        .unwrap();
    let touched = store.find_api_key_by_hash(&hash).await.unwrap().unwrap();
    assert_eq!(
        touched.last_used_at,
        Some(5_000),
        "last use never goes backwards"
    );

    let revoked = store
        .revoke_api_key(
            &key.id,
            9_000,
            &audit(&org.id, "apiKey.revoke", "apiKey", key.id.as_str()),
        )
        .await
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(9_000));
    assert!(matches!(
        store
            .revoke_api_key(
                &key.id,
                9_500,
                &audit(&org.id, "apiKey.revoke", "apiKey", key.id.as_str())
            )
            .await,
        Err(StoreError::NotFound)
    ));
}

pub async fn monitors_crud_and_tenancy(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Tenant A").await;
    let other = new_org(&*store, "Tenant B").await;
    let mut m = add_monitor(&*store, &org.id, spec("web", MonitorKind::Standard, None)).await;
    assert_eq!(
        store.get_monitor(&org.id, &m.id).await.unwrap(),
        Some(m.clone())
    );
    assert_eq!(
        store.get_monitor(&other.id, &m.id).await.unwrap(),
        None,
        "tenancy"
    );
    assert_eq!(store.count_monitors(&org.id).await.unwrap(), 1);

    m.spec.label = "web (renamed)".into();
    m.spec.http_headers = vec![certsentry_domain::monitor::HttpHeader {
        name: "Authorization".into(),
        value: "s3cret".into(),
    }];
    m.updated_at += 1;
    store
        .update_monitor(
            &m,
            &audit(&org.id, "monitor.update", "monitor", m.id.as_str()),
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_monitor(&org.id, &m.id).await.unwrap(),
        Some(m.clone())
    );

    let mut foreign = m.clone();
    foreign.org_id = other.id.clone();
    assert!(matches!(
        store
            .update_monitor(
                &foreign,
                &audit(&other.id, "monitor.update", "monitor", m.id.as_str())
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .delete_monitor(
                &other.id,
                &m.id,
                &audit(&other.id, "monitor.delete", "monitor", m.id.as_str())
            )
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .delete_monitor(
            &org.id,
            &m.id,
            &audit(&org.id, "monitor.delete", "monitor", m.id.as_str()),
        )
        .await
        .unwrap();
    assert_eq!(store.get_monitor(&org.id, &m.id).await.unwrap(), None);
    assert!(matches!(
        store
            .delete_monitor(
                &org.id,
                &m.id,
                &audit(&org.id, "monitor.delete", "monitor", m.id.as_str())
            )
            .await,
        Err(StoreError::NotFound)
    ));
}

pub async fn monitor_quota_is_enforced(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Quota").await;
    for i in 0..3 {
        let m = monitor(&org.id, spec(&format!("m{i}"), MonitorKind::Standard, None));
        store
            .create_monitor(
                &m,
                3,
                &audit(&org.id, "monitor.create", "monitor", m.id.as_str()),
            )
            .await
            .unwrap();
    }
    let extra = monitor(&org.id, spec("m3", MonitorKind::Standard, None));
    let err = store
        .create_monitor(
            &extra,
            3,
            &audit(&org.id, "monitor.create", "monitor", extra.id.as_str()),
        )
        .await;
    assert!(
        matches!(err, Err(StoreError::QuotaExceeded { limit: 3 })),
        "{err:?}"
    );
    assert_eq!(store.count_monitors(&org.id).await.unwrap(), 3);
}

pub async fn external_ids_are_unique_per_org(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Ext").await;
    let other = new_org(&*store, "Ext 2").await;
    add_monitor(
        &*store,
        &org.id,
        spec("a", MonitorKind::Standard, Some("acme-web")),
    )
    .await;
    let dup = monitor(&org.id, spec("b", MonitorKind::Standard, Some("acme-web")));
    let err = store
        .create_monitor(
            &dup,
            1000,
            &audit(&org.id, "monitor.create", "monitor", dup.id.as_str()),
        )
        .await;
    assert!(
        matches!(err, Err(StoreError::Conflict("externalId"))),
        "{err:?}"
    );
    // Another organization may use the same externalId; monitors without one never clash.
    add_monitor(
        &*store,
        &other.id,
        spec("c", MonitorKind::Standard, Some("acme-web")),
    )
    .await;
    add_monitor(&*store, &org.id, spec("d", MonitorKind::Standard, None)).await;
    add_monitor(&*store, &org.id, spec("e", MonitorKind::Standard, None)).await;
    let managed = store.list_managed_monitors(&org.id).await.unwrap();
    assert_eq!(managed.len(), 1);
    assert_eq!(managed[0].spec.external_id.as_deref(), Some("acme-web"));
}

pub async fn monitor_pagination_and_filters(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Pages").await;
    let mut created = Vec::new();
    for i in 0..7 {
        let kind = if i % 2 == 0 {
            MonitorKind::Standard
        } else {
            MonitorKind::Tcp
        };
        let mut s = spec(&format!("m{i}"), kind, None);
        s.enabled = i != 4;
        created.push(add_monitor(&*store, &org.id, s).await.id);
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_monitors(
                &org.id,
                &MonitorQuery {
                    cursor: cursor.clone(),
                    limit: 3,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|m| m.id.clone()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, created, "oldest first, every monitor once");

    let exact = store
        .list_monitors(
            &org.id,
            &MonitorQuery {
                limit: 7,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(exact.items.len(), 7);
    assert_eq!(
        exact.next_cursor, None,
        "no next page when the page is exactly full"
    );

    let standard = store
        .list_monitors(
            &org.id,
            &MonitorQuery {
                kind: Some(MonitorKind::Standard),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(standard.items.len(), 4);
    let enabled_standard = store
        .list_monitors(
            &org.id,
            &MonitorQuery {
                kind: Some(MonitorKind::Standard),
                enabled: Some(true),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(enabled_standard.items.len(), 3);
    let disabled = store
        .list_monitors(
            &org.id,
            &MonitorQuery {
                enabled: Some(false),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        disabled
            .items
            .iter()
            .map(|m| m.id.clone())
            .collect::<Vec<_>>(),
        vec![created[4].clone()]
    );
}

pub async fn sync_is_atomic(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Sync").await;
    let keep = add_monitor(
        &*store,
        &org.id,
        spec("keep", MonitorKind::Standard, Some("keep")),
    )
    .await;
    let gone = add_monitor(
        &*store,
        &org.id,
        spec("gone", MonitorKind::Standard, Some("gone")),
    )
    .await;

    let mut updated = keep.clone();
    updated.spec.label = "kept and changed".into();
    let too_many = SyncChanges {
        create: (0..3)
            .map(|i| {
                monitor(
                    &org.id,
                    spec(
                        &format!("n{i}"),
                        MonitorKind::Standard,
                        Some(&format!("n{i}")),
                    ),
                )
            })
            .collect(),
        update: vec![updated.clone()],
        delete: vec![],
    };
    let err = store.apply_sync(&org.id, &too_many, 4, &[]).await;
    assert!(
        matches!(err, Err(StoreError::QuotaExceeded { limit: 4 })),
        "{err:?}"
    );
    assert_eq!(
        store
            .get_monitor(&org.id, &keep.id)
            .await
            .unwrap()
            .unwrap()
            .spec
            .label,
        "keep",
        "nothing applied"
    );
    assert_eq!(store.count_monitors(&org.id).await.unwrap(), 2);

    // With the prune, the same plan fits.
    let fits = SyncChanges {
        delete: vec![gone.id.clone()],
        ..too_many
    };
    let events = vec![audit(&org.id, "monitor.sync", "monitor", "sync")];
    store.apply_sync(&org.id, &fits, 4, &events).await.unwrap();
    assert_eq!(store.count_monitors(&org.id).await.unwrap(), 4);
    assert_eq!(
        store
            .get_monitor(&org.id, &keep.id)
            .await
            .unwrap()
            .unwrap()
            .spec
            .label,
        "kept and changed"
    );
    assert_eq!(store.get_monitor(&org.id, &gone.id).await.unwrap(), None);
    let logged = store
        .list_audit(
            &org.id,
            &AuditQuery {
                action: Some("monitor.sync".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(logged.items.len(), 1);
}

pub async fn environments_detach_monitors(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Envs").await;
    let other = new_org(&*store, "Envs 2").await;
    let env = Environment {
        id: EnvironmentId::generate(),
        org_id: org.id.clone(),
        name: "Production".into(),
        created_at: now_ms(),
    };
    store
        .create_environment(
            &env,
            &audit(
                &org.id,
                "environment.create",
                "environment",
                env.id.as_str(),
            ),
        )
        .await
        .unwrap();
    let dup = Environment {
        id: EnvironmentId::generate(),
        ..env.clone()
    };
    assert!(matches!(
        store
            .create_environment(
                &dup,
                &audit(
                    &org.id,
                    "environment.create",
                    "environment",
                    dup.id.as_str()
                )
            )
            .await,
        Err(StoreError::Conflict("name"))
    ));
    assert_eq!(
        store.list_environments(&org.id).await.unwrap(),
        vec![env.clone()]
    );
    assert_eq!(
        store.get_environment(&other.id, &env.id).await.unwrap(),
        None
    );

    let mut s = spec("in prod", MonitorKind::Standard, None);
    s.environment_id = Some(env.id.clone());
    let m = add_monitor(&*store, &org.id, s).await;
    assert_eq!(
        store
            .get_monitor(&org.id, &m.id)
            .await
            .unwrap()
            .unwrap()
            .spec
            .environment_id,
        Some(env.id.clone())
    );
    store
        .delete_environment(
            &org.id,
            &env.id,
            &audit(
                &org.id,
                "environment.delete",
                "environment",
                env.id.as_str(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .get_monitor(&org.id, &m.id)
            .await
            .unwrap()
            .unwrap()
            .spec
            .environment_id,
        None
    );
    assert!(store.list_environments(&org.id).await.unwrap().is_empty());
}

pub async fn status_pages_lifecycle(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Pages A").await;
    let other = new_org(&*store, "Pages B").await;
    let a = add_monitor(&*store, &org.id, spec("a", MonitorKind::Standard, None)).await;
    let b = add_monitor(&*store, &org.id, spec("b", MonitorKind::Standard, None)).await;
    let entry = |m: &Monitor, label: &str| StatusPageMonitor {
        monitor_id: m.id.clone(),
        public_label: label.into(),
        show_target: false,
        show_cert_health: true,
    };
    let slug = format!("acme-{}", &OrgId::generate().as_str()[9..]);
    let now = now_ms();
    let mut page = StatusPage {
        id: StatusPageId::generate(),
        org_id: org.id.clone(),
        spec: StatusPageSpec {
            slug: slug.clone(),
            title: "Acme".into(),
            description: None,
            enabled: true,
            monitors: vec![entry(&b, "B"), entry(&a, "A")],
        },
        created_at: now,
        updated_at: now,
    };
    store
        .create_status_page(
            &page,
            1,
            &audit(&org.id, "statusPage.create", "statusPage", page.id.as_str()),
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_status_page(&org.id, &page.id).await.unwrap(),
        Some(page.clone()),
        "display order kept"
    );
    assert_eq!(
        store.get_status_page(&other.id, &page.id).await.unwrap(),
        None
    );

    let second = StatusPage {
        id: StatusPageId::generate(),
        spec: StatusPageSpec {
            slug: format!("{slug}-2"),
            ..page.spec.clone()
        },
        ..page.clone()
    };
    assert!(matches!(
        store
            .create_status_page(
                &second,
                1,
                &audit(
                    &org.id,
                    "statusPage.create",
                    "statusPage",
                    second.id.as_str()
                )
            )
            .await,
        Err(StoreError::QuotaExceeded { limit: 1 })
    ));
    // Slugs are global: another organization cannot take this one.
    let stolen = StatusPage {
        id: StatusPageId::generate(),
        org_id: other.id.clone(),
        spec: StatusPageSpec {
            monitors: vec![],
            ..page.spec.clone()
        },
        ..page.clone()
    };
    assert!(matches!(
        store
            .create_status_page(
                &stolen,
                5,
                &audit(
                    &other.id,
                    "statusPage.create",
                    "statusPage",
                    stolen.id.as_str()
                )
            )
            .await,
        Err(StoreError::Conflict("slug"))
    ));

    page.spec.monitors = vec![entry(&a, "Website")];
    page.spec.description = Some("Live".into());
    page.updated_at += 1;
    store
        .update_status_page(
            &page,
            &audit(&org.id, "statusPage.update", "statusPage", page.id.as_str()),
        )
        .await
        .unwrap();
    assert_eq!(
        store.list_status_pages(&org.id).await.unwrap(),
        vec![page.clone()]
    );

    // Deleting a monitor takes it off the page.
    store
        .delete_monitor(
            &org.id,
            &a.id,
            &audit(&org.id, "monitor.delete", "monitor", a.id.as_str()),
        )
        .await
        .unwrap();
    assert!(
        store
            .get_status_page(&org.id, &page.id)
            .await
            .unwrap()
            .unwrap()
            .spec
            .monitors
            .is_empty()
    );

    store
        .delete_status_page(
            &org.id,
            &page.id,
            &audit(&org.id, "statusPage.delete", "statusPage", page.id.as_str()),
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_status_page(&org.id, &page.id).await.unwrap(),
        None
    );
}

pub async fn audit_log_filters_and_pages(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Audit").await;
    let m = add_monitor(&*store, &org.id, spec("a", MonitorKind::Standard, None)).await;
    for _ in 0..4 {
        store
            .update_monitor(
                &m,
                &audit(&org.id, "monitor.update", "monitor", m.id.as_str()),
            )
            .await
            .unwrap();
    }
    store
        .record_audit(&audit(&org.id, "apiKey.create", "apiKey", "k1"))
        .await
        .unwrap();

    let all = store
        .list_audit(
            &org.id,
            &AuditQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // organization.create + monitor.create + 4 updates + apiKey.create
    assert_eq!(all.items.len(), 7);
    assert_eq!(all.items[0].action, "apiKey.create", "newest first");
    assert_eq!(all.items[0].metadata, json!({"via": "conformance"}));

    let mut pages = 0;
    let mut cursor = None;
    let mut seen = Vec::new();
    loop {
        let page = store
            .list_audit(
                &org.id,
                &AuditQuery {
                    target_type: Some("monitor".into()),
                    cursor: cursor.clone(),
                    limit: 2,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        pages += 1;
        seen.extend(page.items.into_iter().map(|e| e.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (5, 3));
    assert!(seen.windows(2).all(|w| w[0] > w[1]));

    let updates = store
        .list_audit(
            &org.id,
            &AuditQuery {
                action: Some("monitor.update".into()),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updates.items.len(), 4);
    let future = store
        .list_audit(
            &org.id,
            &AuditQuery {
                since: Some(now_ms() + 60_000),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(future.items.is_empty());
}

pub async fn monitor_state_round_trip(store: Arc<dyn Store>) {
    let org = new_org(&*store, "State").await;
    let m = add_monitor(&*store, &org.id, spec("a", MonitorKind::Standard, None)).await;
    let state = MonitorState {
        last_status: MonitorStatus::Down,
        ssl_not_after: Some(1_790_000_000_000),
        domain_expiry: Some(1_800_000_000_000),
    };
    store
        .record_check(&[], &org.id, &m.id, &state)
        .await
        .unwrap();
    let got = store.get_monitor(&org.id, &m.id).await.unwrap().unwrap();
    assert_eq!(
        (got.last_status, got.ssl_not_after, got.domain_expiry),
        (
            MonitorStatus::Down,
            state.ssl_not_after,
            state.domain_expiry
        )
    );
    assert_eq!(got.spec, m.spec);

    // Results and state in one step.
    let up = MonitorState {
        last_status: MonitorStatus::Up,
        ..state
    };
    let run = [result(&m, CheckType::Uptime, CheckStatus::Ok, 5_000)];
    store.record_check(&run, &org.id, &m.id, &up).await.unwrap();
    assert_eq!(
        store
            .get_monitor(&org.id, &m.id)
            .await
            .unwrap()
            .unwrap()
            .last_status,
        MonitorStatus::Up
    );
    let stored = store
        .list_results(
            &org.id,
            &m.id,
            &ResultQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(stored.items, run.to_vec());
    let gone = MonitorId::generate();
    assert!(matches!(
        store.record_check(&[], &org.id, &gone, &up).await,
        Err(StoreError::NotFound)
    ));
}

fn result(m: &Monitor, check_type: CheckType, status: CheckStatus, created_at: i64) -> CheckResult {
    CheckResult {
        id: ResultId::generated_at(created_at),
        org_id: m.org_id.clone(),
        monitor_id: m.id.clone(),
        check_type,
        status,
        degraded: false,
        region: Some("virginia".into()),
        latency_ms: Some(120),
        http_status: (check_type == CheckType::Uptime).then_some(503),
        error: (status == CheckStatus::Fail).then(|| "HTTP 503".to_string()),
        details: json!({"phases": {"connectMs": 3}}),
        created_at,
    }
}

pub async fn results_filters_pages_and_prune(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Results").await;
    let other = new_org(&*store, "Results 2").await;
    let a = add_monitor(&*store, &org.id, spec("a", MonitorKind::Standard, None)).await;
    let b = add_monitor(&*store, &org.id, spec("b", MonitorKind::Standard, None)).await;
    let mut written = Vec::new();
    for i in 0..6 {
        let status = if i % 3 == 0 {
            CheckStatus::Fail
        } else {
            CheckStatus::Ok
        };
        let check_type = if i % 2 == 0 {
            CheckType::Uptime
        } else {
            CheckType::Ssl
        };
        written.push(result(&a, check_type, status, 1_000 * (i + 1)));
    }
    store.insert_results(&written).await.unwrap();
    store
        .insert_results(&[result(&b, CheckType::Uptime, CheckStatus::Ok, 500)])
        .await
        .unwrap();
    store.insert_results(&[]).await.unwrap();

    let all = store
        .list_results(
            &org.id,
            &a.id,
            &ResultQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), 6);
    assert_eq!(
        all.items[0], written[5],
        "newest first, every field round-trips"
    );
    assert!(
        store
            .list_results(
                &other.id,
                &a.id,
                &ResultQuery {
                    limit: 100,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .items
            .is_empty(),
        "tenancy"
    );

    let failed_uptime = store
        .list_results(
            &org.id,
            &a.id,
            &ResultQuery {
                check_type: Some(CheckType::Uptime),
                status: Some(CheckStatus::Fail),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        failed_uptime
            .items
            .iter()
            .map(|r| r.created_at)
            .collect::<Vec<_>>(),
        vec![1_000]
    );
    let recent = store
        .list_results(
            &org.id,
            &a.id,
            &ResultQuery {
                since: Some(5_000),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(recent.items.len(), 2);

    let first = store
        .list_results(
            &org.id,
            &a.id,
            &ResultQuery {
                limit: 4,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let rest = store
        .list_results(
            &org.id,
            &a.id,
            &ResultQuery {
                limit: 4,
                cursor: first.next_cursor.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            first.items.len(),
            rest.items.len(),
            rest.next_cursor.clone()
        ),
        (4, 2, None)
    );

    assert_eq!(
        store.prune_results(2_500).await.unwrap(),
        3,
        "two of a's and b's one"
    );
    assert_eq!(
        store
            .list_results(
                &org.id,
                &a.id,
                &ResultQuery {
                    limit: 100,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .items
            .len(),
        4
    );

    // Deleting a monitor removes its history.
    store
        .delete_monitor(
            &org.id,
            &a.id,
            &audit(&org.id, "monitor.delete", "monitor", a.id.as_str()),
        )
        .await
        .unwrap();
    assert!(
        store
            .list_results(
                &org.id,
                &a.id,
                &ResultQuery {
                    limit: 100,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

pub async fn heartbeat_tokens_find_their_monitor(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Heartbeats").await;
    let mut hb = monitor(&org.id, spec("backup", MonitorKind::Heartbeat, None));
    hb.heartbeat_token = Some("tok_0123456789abcdefghij".into());
    store
        .create_monitor(
            &hb,
            10,
            &audit(&org.id, "monitor.create", "monitor", hb.id.as_str()),
        )
        .await
        .unwrap();
    let found = store
        .find_heartbeat_monitor("tok_0123456789abcdefghij")
        .await
        .unwrap();
    assert_eq!(found.map(|m| m.id), Some(hb.id.clone()));
    assert_eq!(
        store.find_heartbeat_monitor("tok_unknown").await.unwrap(),
        None
    );
}

pub async fn certificates_upsert_and_inventory(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Certs").await;
    let other = new_org(&*store, "Certs 2").await;
    let m = add_monitor(&*store, &org.id, spec("web", MonitorKind::Standard, None)).await;
    let first = MonitorCertificate {
        monitor_id: m.id.clone(),
        org_id: org.id.clone(),
        valid: false,
        error: Some("expired".into()),
        issuer: Some("Let's Encrypt".into()),
        not_after: Some(1_000),
        sha256: Some("aa".repeat(32)),
        checked_at: 10,
    };
    let served = ServedCertificate {
        sha256: "aa".repeat(32),
        tbs_sha256: Some("ab".repeat(32)),
        spki_sha256: "bb".repeat(32),
        not_after: 1_000,
        first_seen_at: 10,
        last_seen_at: 10,
    };
    store
        .record_certificate(&first, Some(&served))
        .await
        .unwrap();
    let renewed = MonitorCertificate {
        valid: true,
        error: None,
        not_after: Some(9_000),
        sha256: Some("cc".repeat(32)),
        checked_at: 20,
        ..first.clone()
    };
    let served_again = ServedCertificate {
        sha256: "cc".repeat(32),
        first_seen_at: 20,
        last_seen_at: 20,
        ..served.clone()
    };
    store
        .record_certificate(&renewed, Some(&served_again))
        .await
        .unwrap();
    assert_eq!(
        store.list_monitor_certificates(&org.id).await.unwrap(),
        vec![renewed.clone()],
        "one row per monitor, replaced"
    );
    assert!(
        store
            .list_monitor_certificates(&other.id)
            .await
            .unwrap()
            .is_empty()
    );

    assert!(
        store
            .is_served_certificate(&org.id, &"aa".repeat(32))
            .await
            .unwrap(),
        "the old certificate stays known"
    );
    assert!(
        store
            .is_served_certificate(&org.id, &"cc".repeat(32))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_served_certificate(&other.id, &"cc".repeat(32))
            .await
            .unwrap(),
        "per organization"
    );

    store
        .delete_monitor(
            &org.id,
            &m.id,
            &audit(&org.id, "monitor.delete", "monitor", m.id.as_str()),
        )
        .await
        .unwrap();
    assert!(
        store
            .list_monitor_certificates(&org.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .is_served_certificate(&org.id, &"cc".repeat(32))
            .await
            .unwrap(),
        "inventory outlives the monitor"
    );
}

pub async fn daily_stats_roll_up_and_finalize(store: Arc<dyn Store>) {
    use certsentry_domain::time::{day_of, parse_datetime};

    let org = new_org(&*store, "Stats").await;
    let m = add_monitor(&*store, &org.id, spec("web", MonitorKind::Standard, None)).await;
    let may_first = parse_datetime("2026-05-01T10:00:00Z").unwrap();
    let mut batch = Vec::new();
    for (i, latency) in (1..=20u32).map(|i| (i, i * 10)) {
        let mut r = result(
            &m,
            CheckType::Uptime,
            if i == 7 {
                CheckStatus::Fail
            } else {
                CheckStatus::Ok
            },
            may_first + i as i64 * 60_000,
        );
        r.latency_ms = Some(latency);
        r.degraded = i > 18;
        batch.push(r);
    }
    // SSL results do not count toward availability.
    batch.push(result(&m, CheckType::Ssl, CheckStatus::Fail, may_first));
    store.insert_results(&batch).await.unwrap();
    let today_ms = now_ms();
    store
        .insert_results(&[result(&m, CheckType::Tcp, CheckStatus::Ok, today_ms)])
        .await
        .unwrap();

    let today = day_of(today_ms);
    let days = store
        .list_daily_stats(&org.id, &m.id, "2026-01-01", &today)
        .await
        .unwrap();
    assert_eq!(days.len(), 2);
    let may = &days[0];
    assert_eq!(
        (
            may.day.as_str(),
            may.total_checks,
            may.failed_checks,
            may.degraded_checks
        ),
        ("2026-05-01", 20, 1, 2)
    );
    assert_eq!(
        (
            may.max_latency_ms,
            may.avg_latency_ms(),
            may.finalized,
            may.p50_latency_ms
        ),
        (200, Some(105), false, None)
    );

    assert_eq!(
        store.finalize_daily_stats(&today).await.unwrap(),
        1,
        "only past days are finalized"
    );
    assert_eq!(
        store.finalize_daily_stats(&today).await.unwrap(),
        0,
        "and only once"
    );
    let days = store
        .list_daily_stats(&org.id, &m.id, "2026-05-01", &today)
        .await
        .unwrap();
    assert_eq!(
        (
            days[0].finalized,
            days[0].p50_latency_ms,
            days[0].p95_latency_ms
        ),
        (true, Some(100), Some(190))
    );
    assert!(
        !days[1].finalized && days[1].p50_latency_ms.is_none(),
        "today stays partial"
    );
    assert!(
        store
            .list_daily_stats(&org.id, &m.id, "2026-05-02", "2026-05-31")
            .await
            .unwrap()
            .is_empty()
    );

    store
        .delete_monitor(
            &org.id,
            &m.id,
            &audit(&org.id, "monitor.delete", "monitor", m.id.as_str()),
        )
        .await
        .unwrap();
    assert!(
        store
            .list_daily_stats(&org.id, &m.id, "2026-01-01", &today)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn heartbeat_misses_are_claimed_once(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Pings").await;
    let m = add_monitor(
        &*store,
        &org.id,
        spec("backup", MonitorKind::Heartbeat, None),
    )
    .await;
    let ping = HeartbeatState {
        monitor_id: m.id.clone(),
        org_id: org.id.clone(),
        last_ping_at: 1_000,
        last_ping_ok: true,
        missed: false,
    };
    store.record_heartbeat_ping(&ping).await.unwrap();
    assert_eq!(
        store.list_heartbeat_states().await.unwrap(),
        vec![ping.clone()]
    );

    // Two nodes race for the same miss: exactly one wins.
    let (a, b) = tokio::join!(
        store.claim_heartbeat_missed(&m.id, 1_000),
        store.claim_heartbeat_missed(&m.id, 1_000)
    );
    assert!(a.unwrap() ^ b.unwrap());
    assert!(store.list_heartbeat_states().await.unwrap()[0].missed);
    // A claim about an older ping loses to a newer one.
    let newer = HeartbeatState {
        last_ping_at: 2_000,
        ..ping
    };
    store.record_heartbeat_ping(&newer).await.unwrap();
    assert!(!store.claim_heartbeat_missed(&m.id, 1_000).await.unwrap());
    assert!(
        !store.list_heartbeat_states().await.unwrap()[0].missed,
        "a ping clears the miss"
    );
}

pub async fn domain_lookups_are_claimed_once(store: Arc<dyn Store>) {
    const HOUR: i64 = 3_600_000;
    assert_eq!(
        store.get_domain_registration("example.com").await.unwrap(),
        None
    );
    // Two nodes race for the first lookup: exactly one wins.
    let (a, b) = tokio::join!(
        store.claim_domain_lookup("example.com", 100 * HOUR, 88 * HOUR),
        store.claim_domain_lookup("example.com", 100 * HOUR, 88 * HOUR)
    );
    assert!(a.unwrap() ^ b.unwrap());
    let found = crate::DomainRegistration {
        domain: "example.com".into(),
        checked_at: 100 * HOUR,
        expires_at: Some(500 * HOUR),
        source: Some("rdap".into()),
        server: Some("https://rdap.example/domain/example.com".into()),
        error: None,
    };
    store.finish_domain_lookup(&found).await.unwrap();
    assert_eq!(
        store.get_domain_registration("example.com").await.unwrap(),
        Some(found.clone())
    );
    // Within 12 hours the claim fails; after, it succeeds and keeps the old answer until finished.
    assert!(
        !store
            .claim_domain_lookup("example.com", 111 * HOUR, 99 * HOUR)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_domain_lookup("example.com", 113 * HOUR, 101 * HOUR)
            .await
            .unwrap()
    );
    let reclaimed = store
        .get_domain_registration("example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reclaimed.checked_at, 113 * HOUR);
    assert_eq!(reclaimed.expires_at, Some(500 * HOUR));
    // Other domains are independent.
    assert!(
        store
            .claim_domain_lookup("example.org", 111 * HOUR, 99 * HOUR)
            .await
            .unwrap()
    );
}

pub async fn batches_write_many_monitors_at_once(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Batches").await;
    let web = add_monitor(&*store, &org.id, spec("web", MonitorKind::Standard, None)).await;
    let cron = add_monitor(&*store, &org.id, spec("cron", MonitorKind::Heartbeat, None)).await;
    let gone = add_monitor(&*store, &org.id, spec("gone", MonitorKind::Standard, None)).await;
    store
        .delete_monitor(
            &org.id,
            &gone.id,
            &audit(&org.id, "monitor.delete", "monitor", gone.id.as_str()),
        )
        .await
        .unwrap();
    let ping = |at: i64, ok: bool| crate::CheckRecord {
        org_id: org.id.clone(),
        monitor_id: cron.id.clone(),
        results: vec![result(&cron, CheckType::Heartbeat, CheckStatus::Ok, at)],
        state: None,
        ping: Some(HeartbeatState {
            monitor_id: cron.id.clone(),
            org_id: org.id.clone(),
            last_ping_at: at,
            last_ping_ok: ok,
            missed: false,
        }),
    };
    let down = MonitorState {
        last_status: MonitorStatus::Down,
        ssl_not_after: Some(7),
        domain_expiry: None,
    };
    let batch = vec![
        ping(2_000, false),
        crate::CheckRecord {
            org_id: org.id.clone(),
            monitor_id: web.id.clone(),
            results: (0..3)
                .map(|i| result(&web, CheckType::Uptime, CheckStatus::Fail, 1_000 + i))
                .collect(),
            state: Some(down.clone()),
            ping: None,
        },
        // Two pings of one monitor in one batch: the latest wins.
        ping(1_000, true),
        // A monitor deleted while its outcome was queued: dropped, not an error.
        crate::CheckRecord {
            org_id: org.id.clone(),
            monitor_id: gone.id.clone(),
            results: vec![result(&gone, CheckType::Uptime, CheckStatus::Ok, 1_000)],
            state: Some(down.clone()),
            ping: None,
        },
    ];
    store.record_checks(&batch).await.unwrap();

    let all = ResultQuery {
        limit: 100,
        ..Default::default()
    };
    let count = |id: MonitorId| {
        let store = store.clone();
        let org = org.id.clone();
        let all = all.clone();
        async move {
            store
                .list_results(&org, &id, &all)
                .await
                .unwrap()
                .items
                .len()
        }
    };
    assert_eq!(count(web.id.clone()).await, 3);
    assert_eq!(count(cron.id.clone()).await, 2);
    assert_eq!(count(gone.id.clone()).await, 0);
    let stored = store.get_monitor(&org.id, &web.id).await.unwrap().unwrap();
    assert_eq!(stored.last_status, MonitorStatus::Down);
    assert_eq!(stored.ssl_not_after, Some(7));
    let states = store.list_heartbeat_states().await.unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(
        (states[0].last_ping_at, states[0].last_ping_ok),
        (2_000, false)
    );
    store.record_checks(&[]).await.unwrap();
}

fn test_channel(org: &OrgId, events: &[&str]) -> certsentry_domain::channel::Channel {
    let input: certsentry_domain::channel::ChannelInput = serde_json::from_value(json!({
        "name": "ops", "type": "webhook", "url": "https://hooks.example.com/x", "events": events
    }))
    .unwrap();
    let spec = certsentry_domain::channel::validate_channel(input, None).unwrap();
    certsentry_domain::channel::Channel {
        secret: Some("s3cret".into()),
        ..certsentry_domain::channel::Channel::new(org.clone(), spec)
    }
}

const FIVE_DAYS: i64 = 5 * 86_400_000;

pub async fn alerts_fire_once_and_flow_through_the_outbox(store: Arc<dyn Store>) {
    use crate::alerts::*;
    use certsentry_domain::alert::{Event, EventType, Severity};
    let org = new_org(&*store, "Alerts").await;
    let m = add_monitor(&*store, &org.id, spec("web", MonitorKind::Standard, None)).await;
    let all = test_channel(&org.id, &[]);
    let only_up = test_channel(&org.id, &["uptime.up"]);
    for c in [&all, &only_up] {
        store
            .create_channel(
                c,
                &audit(&org.id, "channel.create", "channel", c.id.as_str()),
            )
            .await
            .unwrap();
    }
    assert_eq!(store.list_channels(&org.id).await.unwrap().len(), 2);

    let event = |t: EventType| Event {
        id: certsentry_domain::EventId::generate(),
        org_id: org.id.clone(),
        monitor_id: Some(m.id.clone()),
        environment_id: None,
        event_type: t,
        severity: Severity::Critical,
        status: "down".into(),
        monitor: None,
        details: json!({"Last error": "connect timeout"}),
        created_at: now_ms(),
    };
    let guard = AlertGuard {
        monitor_id: m.id.clone(),
        key: "uptime".into(),
        expected: Some("up".into()),
        next: "down".into(),
    };
    // No state yet: a guard expecting "up" does not move, and nothing is stored.
    assert!(
        !store
            .record_alert(Some(&guard), Some(&event(EventType::UptimeDown)), None)
            .await
            .unwrap()
    );
    let first = AlertGuard {
        expected: None,
        next: "up".into(),
        ..guard.clone()
    };
    assert!(store.record_alert(Some(&first), None, None).await.unwrap());
    assert_eq!(
        store
            .get_alert_state(&m.id, "uptime")
            .await
            .unwrap()
            .as_deref(),
        Some("up")
    );
    // Two nodes race to report the same outage: one event.
    let (down, twin) = (event(EventType::UptimeDown), event(EventType::UptimeDown));
    let (a, b) = tokio::join!(
        store.record_alert(Some(&guard), Some(&down), None),
        store.record_alert(Some(&guard), Some(&twin), None)
    );
    assert!(a.unwrap() ^ b.unwrap());
    let events = store
        .list_events(
            &org.id,
            &EventQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(events.items.len(), 1);
    assert_eq!(events.items[0].event_type, EventType::UptimeDown);
    assert_eq!(events.items[0].details["Last error"], "connect timeout");

    // The event was routed to the catch-all channel only.
    let now = now_ms();
    let due = store.claim_deliveries(now, now + 60_000, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].channel.id, all.id);
    assert_eq!(due[0].event.event_type, EventType::UptimeDown);
    // Leased: a second claim finds nothing.
    assert!(
        store
            .claim_deliveries(now, now + 60_000, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let attempt = |n: u32, code: u16| DeliveryAttempt {
        attempt: n,
        status_code: Some(code),
        duration_ms: 12,
        response_body: Some("oops".into()),
        error: None,
        created_at: now,
    };
    store
        .finish_attempts(
            &[AttemptOutcome {
                delivery_id: due[0].delivery.id.clone(),
                attempt: attempt(1, 500),
                status: DeliveryStatus::Pending,
                next_attempt_at: now + 5_000,
                disable_channel: None,
            }],
            FIVE_DAYS,
        )
        .await
        .unwrap();
    assert!(
        store
            .claim_deliveries(now, now + 60_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    let retry = store
        .claim_deliveries(now + 5_000, now + 65_000, 10)
        .await
        .unwrap();
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].delivery.attempts, 1);
    store
        .finish_attempts(
            &[AttemptOutcome {
                delivery_id: retry[0].delivery.id.clone(),
                attempt: attempt(2, 200),
                status: DeliveryStatus::Delivered,
                next_attempt_at: now + 5_000,
                disable_channel: None,
            }],
            FIVE_DAYS,
        )
        .await
        .unwrap();
    let log = store
        .list_deliveries(
            &org.id,
            &DeliveryQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(log.items.len(), 1);
    assert_eq!(log.items[0].status, DeliveryStatus::Delivered);
    let codes: Vec<_> = log.items[0]
        .attempt_log
        .iter()
        .map(|a| a.status_code)
        .collect();
    assert_eq!(codes, vec![Some(500), Some(200)]);
    assert_eq!(store.count_pending_deliveries().await.unwrap(), 0);

    // Redeliver, then a 410 disables the channel.
    store
        .redeliver(&org.id, &log.items[0].id, now + 10_000)
        .await
        .unwrap();
    let again = store
        .claim_deliveries(now + 10_000, now + 70_000, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    store
        .finish_attempts(
            &[AttemptOutcome {
                delivery_id: again[0].delivery.id.clone(),
                attempt: attempt(3, 410),
                status: DeliveryStatus::Failed,
                next_attempt_at: now,
                disable_channel: Some("HTTP 410 Gone".into()),
            }],
            FIVE_DAYS,
        )
        .await
        .unwrap();
    assert!(
        !store
            .get_channel(&org.id, &all.id)
            .await
            .unwrap()
            .unwrap()
            .spec
            .enabled
    );
    assert!(matches!(
        store
            .redeliver(&org.id, &certsentry_domain::DeliveryId::generate(), now)
            .await,
        Err(StoreError::NotFound)
    ));
    // A disabled channel routes nothing; the uptime.up channel gets recovery.
    let up = AlertGuard {
        expected: Some("down".into()),
        next: "up".into(),
        ..guard
    };
    assert!(
        store
            .record_alert(Some(&up), Some(&event(EventType::UptimeUp)), None)
            .await
            .unwrap()
    );
    let due = store
        .claim_deliveries(now + 20_000, now + 80_000, 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].channel.id, only_up.id);
    // A channel failing for longer than the limit is disabled (limit 0 here).
    let disabled = store
        .finish_attempts(
            &[AttemptOutcome {
                delivery_id: due[0].delivery.id.clone(),
                attempt: attempt(1, 503),
                status: DeliveryStatus::Pending,
                next_attempt_at: now + 60_000,
                disable_channel: None,
            }],
            0,
        )
        .await
        .unwrap();
    assert_eq!(disabled.len(), 1);
    assert_eq!(disabled[0].channel_id, only_up.id);
    assert_eq!(disabled[0].name, "ops");
    assert!(
        disabled[0].reason.contains("failed since"),
        "{}",
        disabled[0].reason
    );
    assert!(
        !store
            .get_channel(&org.id, &only_up.id)
            .await
            .unwrap()
            .unwrap()
            .spec
            .enabled
    );
    store
        .delete_channel(
            &org.id,
            &only_up.id,
            &audit(&org.id, "channel.delete", "channel", only_up.id.as_str()),
        )
        .await
        .unwrap();
    assert_eq!(store.count_pending_deliveries().await.unwrap(), 0);

    // Pruning removes what is finished before the cutoff, never what is pending.
    let fresh = test_channel(&org.id, &[]);
    store
        .create_channel(
            &fresh,
            &audit(&org.id, "channel.create", "channel", fresh.id.as_str()),
        )
        .await
        .unwrap();
    let waiting = event(EventType::UptimeDown);
    store
        .record_alert(None, Some(&waiting), None)
        .await
        .unwrap();
    assert!(store.prune_alerts(now_ms() + 60_000).await.unwrap() > 0);
    let left = store
        .list_deliveries(
            &org.id,
            &DeliveryQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(left.items.len(), 1);
    assert_eq!(left.items[0].status, DeliveryStatus::Pending);
    let events = store
        .list_events(
            &org.id,
            &EventQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(events.items.len(), 1);
    assert_eq!(events.items[0].id, waiting.id);
}

pub async fn ct_findings_dedupe_and_decide_once(store: Arc<dyn Store>) {
    use crate::ct::*;
    use certsentry_domain::ct::{CtFinding, FindingState, Issuer, KnownCertificate};
    use certsentry_domain::{CtCertificateId, KnownCertificateId};
    let org = new_org(&*store, "CT").await;
    let other = new_org(&*store, "CT other").await;
    let m = add_monitor(&*store, &org.id, spec("web", MonitorKind::Standard, None)).await;
    let channel = test_channel(&org.id, &["ct.new_certificate"]);
    store
        .create_channel(
            &channel,
            &audit(&org.id, "channel.create", "channel", channel.id.as_str()),
        )
        .await
        .unwrap();

    // The inventory: known certificates by either hash, and served ones.
    let known = KnownCertificate {
        id: KnownCertificateId::generate(),
        org_id: org.id.clone(),
        sha256: None,
        tbs_sha256: Some("11".repeat(32)),
        note: Some("load balancer".into()),
        created_at: 5,
    };
    let audit_known = audit(
        &org.id,
        "ct.known_certificate.create",
        "known_certificate",
        "k",
    );
    store
        .create_known_certificate(&known, &audit_known)
        .await
        .unwrap();
    let page = store
        .list_known_certificates(&org.id, None, 10)
        .await
        .unwrap();
    assert_eq!(page.items, vec![known.clone()]);
    assert!(
        store
            .is_known_issuance(&org.id, "nope", &"11".repeat(32))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_known_issuance(&other.id, "nope", &"11".repeat(32))
            .await
            .unwrap(),
        "inventories are per organization"
    );
    store
        .record_certificate(
            &MonitorCertificate {
                monitor_id: m.id.clone(),
                org_id: org.id.clone(),
                valid: true,
                error: None,
                issuer: None,
                not_after: Some(1),
                sha256: Some("22".repeat(32)),
                checked_at: 1,
            },
            Some(&ServedCertificate {
                sha256: "22".repeat(32),
                tbs_sha256: Some("33".repeat(32)),
                spki_sha256: "44".repeat(32),
                not_after: 1,
                first_seen_at: 1,
                last_seen_at: 1,
            }),
        )
        .await
        .unwrap();
    assert!(
        store
            .is_known_issuance(&org.id, "x", &"33".repeat(32))
            .await
            .unwrap()
    );
    assert!(
        store
            .is_known_issuance(&org.id, &"22".repeat(32), "x")
            .await
            .unwrap()
    );
    let audit_delete = || {
        audit(
            &org.id,
            "ct.known_certificate.delete",
            "known_certificate",
            "k",
        )
    };
    store
        .delete_known_certificate(&org.id, &known.id, &audit_delete())
        .await
        .unwrap();
    assert!(matches!(
        store
            .delete_known_certificate(&org.id, &known.id, &audit_delete())
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(
        !store
            .is_known_issuance(&org.id, "nope", &"11".repeat(32))
            .await
            .unwrap()
    );

    // Findings: one per organization and tbs_sha256.
    let finding = |org: &OrgId, found_at: i64| CtFinding {
        id: CtCertificateId::generated_at(found_at),
        org_id: org.clone(),
        monitor_id: Some(m.id.clone()),
        tbs_sha256: "55".repeat(32),
        cert_sha256: "66".repeat(32),
        fingerprint_sha1: "77".repeat(20),
        pubkey_sha256: None,
        dns_names: vec!["www.example.org".into()],
        endpoints: vec![],
        issuer: Issuer::default(),
        not_before: 0,
        not_after: 1,
        serial: "01".into(),
        precert: true,
        cert_der: None,
        source: "log".into(),
        cert_link: None,
        log_index: Some(3),
        state: FindingState::Pending,
        found_at,
        decided_at: None,
    };
    let first = finding(&org.id, 1_000);
    assert!(store.insert_ct_finding(&first).await.unwrap());
    let final_cert = CtFinding {
        precert: false,
        ..finding(&org.id, 1_001)
    };
    assert!(
        !store.insert_ct_finding(&final_cert).await.unwrap(),
        "the certificate of a logged precert is the same issuance"
    );
    assert!(
        store
            .insert_ct_finding(&finding(&other.id, 1_002))
            .await
            .unwrap()
    );
    assert!(store.due_ct_findings(999, 10).await.unwrap().is_empty());
    let due = store.due_ct_findings(1_000, 10).await.unwrap();
    assert_eq!(due, vec![first.clone()]);
    assert!(
        store
            .list_ct_findings(
                &org.id,
                &FindingQuery {
                    limit: 10,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .items
            .is_empty(),
        "pending findings are not listed"
    );

    let decided = CtFinding {
        state: FindingState::Suspicious,
        ..first.clone()
    };
    let event = decided.event(None, "http://x", 2_000);
    let pending_before = store.count_pending_deliveries().await.unwrap();
    assert!(
        store
            .decide_ct_finding(
                &org.id,
                &first.id,
                FindingState::Suspicious,
                2_000,
                Some(&event)
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .decide_ct_finding(&org.id, &first.id, FindingState::Known, 2_001, Some(&event))
            .await
            .unwrap(),
        "a finding is decided once"
    );
    assert_eq!(
        store.count_pending_deliveries().await.unwrap(),
        pending_before + 1
    );
    let suspicious = store
        .list_ct_findings(
            &org.id,
            &FindingQuery {
                known: Some(false),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(suspicious.items.len(), 1);
    assert_eq!(suspicious.items[0].state, FindingState::Suspicious);
    assert_eq!(suspicious.items[0].decided_at, Some(2_000));
    let known_only = FindingQuery {
        known: Some(true),
        limit: 10,
        ..Default::default()
    };
    assert!(
        store
            .list_ct_findings(&org.id, &known_only)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        store
            .get_ct_finding(&org.id, &first.id)
            .await
            .unwrap()
            .map(|f| f.state),
        Some(FindingState::Suspicious)
    );
    assert_eq!(
        store.get_ct_finding(&other.id, &first.id).await.unwrap(),
        None
    );

    // Log positions.
    assert_eq!(store.get_log_position("log-a").await.unwrap(), None);
    for position in [10, 20] {
        let p = LogPosition {
            position,
            state: format!("{{\"size\":{position}}}"),
        };
        store.put_log_position("log-a", &p).await.unwrap();
        assert_eq!(store.get_log_position("log-a").await.unwrap(), Some(p));
    }
    let other = LogPosition {
        position: 5,
        state: "{}".into(),
    };
    store.put_log_position("log-b=", &other).await.unwrap();
    let listed = store.list_log_positions().await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|p| (p.log_id.as_str(), p.position.position))
            .collect::<Vec<_>>(),
        vec![("log-a", 20), ("log-b=", 5)]
    );
    assert!(listed.iter().all(|p| p.updated_at > 0));
    assert!(store.delete_log_position("log-a").await.unwrap());
    assert!(!store.delete_log_position("log-a").await.unwrap());
    assert_eq!(store.get_log_position("log-a").await.unwrap(), None);
    assert_eq!(store.list_log_positions().await.unwrap().len(), 1);
}
