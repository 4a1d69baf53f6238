//! Conformance cases: incidents and maintenance windows.

use certsentry_domain::status_page::incident::{Incident, IncidentState};
use certsentry_domain::status_page::maintenance::{Maintenance, MaintenanceSpec};
use certsentry_domain::{MaintenanceId, StatusPageId};

use super::*;

async fn new_page(store: &dyn Store, org: &OrgId, monitors: &[&Monitor]) -> StatusPage {
    let now = now_ms();
    let page = StatusPage {
        id: StatusPageId::generate(),
        org_id: org.clone(),
        spec: StatusPageSpec {
            slug: format!("notices-{}", &OrgId::generate().as_str()[9..]),
            title: "Notices".into(),
            description: None,
            enabled: true,
            monitors: monitors
                .iter()
                .map(|m| StatusPageMonitor {
                    monitor_id: m.id.clone(),
                    public_label: m.spec.label.clone(),
                    show_target: false,
                    show_cert_health: false,
                })
                .collect(),
            embed_origins: Vec::new(),
        },
        created_at: now,
        updated_at: now,
    };
    store
        .create_status_page(
            &page,
            10,
            &audit(org, "statusPage.create", "statusPage", page.id.as_str()),
        )
        .await
        .unwrap();
    page
}

async fn incidents_keep_their_timeline(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Incidents A").await;
    let other = new_org(&*store, "Incidents B").await;
    let m = add_monitor(&*store, &org.id, spec("web", MonitorKind::Standard, None)).await;
    let page = new_page(&*store, &org.id, &[&m]).await;
    let now = now_ms();
    let manual = Incident::open(
        &org.id,
        &page.id,
        "Slow API".into(),
        IncidentState::Investigating,
        "Looking into it".into(),
        None,
        now - 2_000,
    );
    let audit_of = |i: &Incident, action| audit(&org.id, action, "incident", i.id.as_str());
    store
        .create_incident(&manual, Some(&audit_of(&manual, "incident.create")))
        .await
        .unwrap();
    let mut automatic = Incident::open(
        &org.id,
        &page.id,
        "web is down".into(),
        IncidentState::Investigating,
        "Confirmed".into(),
        Some(m.id.clone()),
        now - 1_000,
    );
    store.create_incident(&automatic, None).await.unwrap();
    assert_eq!(
        store
            .open_incident_for_monitor(&page.id, &m.id)
            .await
            .unwrap(),
        Some(automatic.clone())
    );
    automatic.push(IncidentState::Resolved, "Back".into(), now);
    store.add_incident_update(&automatic, None).await.unwrap();
    assert_eq!(
        store
            .open_incident_for_monitor(&page.id, &m.id)
            .await
            .unwrap(),
        None,
        "a resolved incident is not open"
    );
    let stored = store
        .get_incident(&org.id, &page.id, &automatic.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, automatic, "the timeline, oldest first");
    assert_eq!(
        store
            .get_incident(&other.id, &page.id, &automatic.id)
            .await
            .unwrap(),
        None
    );
    // Newest first, one at a time.
    let first = store
        .list_incidents(&org.id, &page.id, None, 1)
        .await
        .unwrap();
    assert_eq!(first.items, vec![automatic.clone()]);
    let second = store
        .list_incidents(&org.id, &page.id, first.next_cursor.as_deref(), 1)
        .await
        .unwrap();
    assert_eq!(second.items, vec![manual.clone()]);
    assert_eq!(second.next_cursor, None);
    // Publicly: open ones always, resolved ones while recent.
    let shown = store.list_page_incidents(&page.id, now + 1).await.unwrap();
    assert_eq!(shown, vec![manual.clone()]);
    let shown = store.list_page_incidents(&page.id, now - 10).await.unwrap();
    assert_eq!(shown.len(), 2);
    let trail = store
        .list_audit(
            &org.id,
            &AuditQuery {
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(trail.items.iter().any(|a| a.action == "incident.create"));
}
register!(incidents_keep_their_timeline);

async fn maintenance_windows_cover_their_monitors(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Maintenance A").await;
    let other = new_org(&*store, "Maintenance B").await;
    let a = add_monitor(&*store, &org.id, spec("a", MonitorKind::Standard, None)).await;
    let b = add_monitor(&*store, &org.id, spec("b", MonitorKind::Standard, None)).await;
    let page = new_page(&*store, &org.id, &[&a, &b]).await;
    let now = now_ms();
    let hour = 3_600_000;
    let mut window = Maintenance {
        id: MaintenanceId::generate(),
        org_id: org.id.clone(),
        page_id: page.id.clone(),
        spec: MaintenanceSpec {
            title: "Upgrade".into(),
            message: Some("Short".into()),
            starts_at: now + hour,
            ends_at: now + 2 * hour,
            monitor_ids: vec![b.id.clone(), a.id.clone()],
        },
        created_at: now,
        updated_at: now,
    };
    let audit_of = |action| audit(&org.id, action, "maintenance", window.id.as_str());
    store
        .create_maintenance(&window, &audit_of("maintenance.create"))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_maintenance(&org.id, &page.id, &window.id)
            .await
            .unwrap(),
        Some(window.clone()),
        "monitors in the order given"
    );
    // The checks a window leaves out of uptime: its own, availability only.
    let during = now + hour + 1_000;
    store
        .insert_results(&[
            result(&a, CheckType::Uptime, CheckStatus::Fail, during),
            result(&a, CheckType::Tcp, CheckStatus::Ok, during + 1),
            result(&a, CheckType::Ssl, CheckStatus::Fail, during + 2),
            result(&a, CheckType::Uptime, CheckStatus::Fail, now),
            result(&b, CheckType::Uptime, CheckStatus::Fail, during),
        ])
        .await
        .unwrap();
    let left_out = store
        .checks_during(&a.id, now + hour, now + 2 * hour)
        .await
        .unwrap();
    let (checks, failed) = left_out.iter().fold((0, 0), |(c, f), (_, checks, failed)| {
        (c + checks, f + failed)
    });
    assert_eq!((checks, failed), (2, 1), "{left_out:?}");
    assert!(!store.in_maintenance(&a.id, now).await.unwrap());
    assert!(store.in_maintenance(&a.id, now + hour).await.unwrap());
    assert!(!store.in_maintenance(&a.id, now + 2 * hour).await.unwrap());
    window.spec.monitor_ids = vec![b.id.clone()];
    window.spec.message = None;
    store
        .update_maintenance(&window, &audit_of("maintenance.update"))
        .await
        .unwrap();
    assert!(!store.in_maintenance(&a.id, now + hour).await.unwrap());
    assert!(store.in_maintenance(&b.id, now + hour).await.unwrap());
    assert_eq!(
        store.list_page_maintenance(&page.id, now).await.unwrap(),
        vec![window.clone()]
    );
    assert!(
        store
            .list_page_maintenance(&page.id, now + 3 * hour)
            .await
            .unwrap()
            .is_empty(),
        "over by then"
    );
    let listed = store
        .list_maintenance(&org.id, &page.id, None, 10)
        .await
        .unwrap();
    assert_eq!(listed.items, vec![window.clone()]);
    assert!(matches!(
        store
            .delete_maintenance(&other.id, &window.id, &audit_of("maintenance.delete"))
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .delete_maintenance(&org.id, &window.id, &audit_of("maintenance.delete"))
        .await
        .unwrap();
    assert!(!store.in_maintenance(&b.id, now + hour).await.unwrap());
    assert_eq!(
        store
            .get_maintenance(&org.id, &page.id, &window.id)
            .await
            .unwrap(),
        None
    );
}
register!(maintenance_windows_cover_their_monitors);
