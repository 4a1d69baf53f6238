//! Conformance cases: The audit log.

use super::*;

async fn audit_log_filters_and_pages(store: Arc<dyn Store>) {
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
register!(audit_log_filters_and_pages);
