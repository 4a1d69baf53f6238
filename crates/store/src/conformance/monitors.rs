//! Conformance cases: Monitors: CRUD, tenancy, quotas, external ids, pagination, sync and state.

use super::*;

async fn monitors_crud_and_tenancy(store: Arc<dyn Store>) {
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
        delete_monitor(&*store, &other.id, &m.id).await,
        Err(StoreError::NotFound)
    ));
    delete_monitor(&*store, &org.id, &m.id).await.unwrap();
    assert_eq!(store.get_monitor(&org.id, &m.id).await.unwrap(), None);
    assert!(matches!(
        delete_monitor(&*store, &org.id, &m.id).await,
        Err(StoreError::NotFound)
    ));
}
register!(monitors_crud_and_tenancy);

async fn monitor_quota_is_enforced(store: Arc<dyn Store>) {
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
register!(monitor_quota_is_enforced);

async fn external_ids_are_unique_per_org(store: Arc<dyn Store>) {
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
register!(external_ids_are_unique_per_org);

async fn monitor_pagination_and_filters(store: Arc<dyn Store>) {
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
register!(monitor_pagination_and_filters);

async fn sync_is_atomic(store: Arc<dyn Store>) {
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
register!(sync_is_atomic);

async fn monitor_state_round_trip(store: Arc<dyn Store>) {
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
register!(monitor_state_round_trip);

async fn heartbeat_tokens_find_their_monitor(store: Arc<dyn Store>) {
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
    assert_eq!(found.map(|m| m.id.clone()), Some(hb.id.clone()));
    assert_eq!(
        store.find_heartbeat_monitor("tok_unknown").await.unwrap(),
        None
    );

    // A rotated token: the new one finds the monitor, the old one nothing.
    let rotate = audit(
        &org.id,
        "monitor.heartbeatToken.rotate",
        "monitor",
        hb.id.as_str(),
    );
    store
        .rotate_heartbeat_token(&org.id, &hb.id, "tok_zyxwvutsrqponmlkjihg", &rotate)
        .await
        .unwrap();
    assert_eq!(
        store
            .find_heartbeat_monitor("tok_0123456789abcdefghij")
            .await
            .unwrap(),
        None,
        "the old token stops at once"
    );
    let found = store
        .find_heartbeat_monitor("tok_zyxwvutsrqponmlkjihg")
        .await
        .unwrap();
    assert_eq!(found.map(|m| m.id.clone()), Some(hb.id.clone()));
    let stored = store.get_monitor(&org.id, &hb.id).await.unwrap().unwrap();
    assert_eq!(
        stored.heartbeat_token.as_deref(),
        Some("tok_zyxwvutsrqponmlkjihg")
    );
    let web = add_monitor(&*store, &org.id, spec("web", MonitorKind::Standard, None)).await;
    let refused = store
        .rotate_heartbeat_token(&org.id, &web.id, "tok_nope_nope_nope_nope", &rotate)
        .await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
}
register!(heartbeat_tokens_find_their_monitor);

/// Lookups asked for at once share queries (`sql::token_lookups`): each
/// must still get its own token's monitor, and an unknown token nothing.
async fn concurrent_token_lookups_each_find_their_own_monitor(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Many heartbeats").await;
    let mut by_token = std::collections::HashMap::new();
    for i in 0..40 {
        let mut hb = monitor(
            &org.id,
            spec(&format!("job {i}"), MonitorKind::Heartbeat, None),
        );
        let token = format!("tok_concurrent_{i:08}");
        hb.heartbeat_token = Some(token.clone());
        let created = audit(&org.id, "monitor.create", "monitor", hb.id.as_str());
        store.create_monitor(&hb, 100, &created).await.unwrap();
        by_token.insert(token, hb.id.clone());
    }
    let mut lookups = tokio::task::JoinSet::new();
    for i in 0..160 {
        let token = if i % 4 == 3 {
            format!("tok_unknown_{i:08}")
        } else {
            format!("tok_concurrent_{:08}", i % 40)
        };
        let store = store.clone();
        lookups.spawn(async move {
            let found = store.find_heartbeat_monitor(&token).await.unwrap();
            (token, found.map(|m| m.id.clone()))
        });
    }
    let mut answered = 0;
    while let Some(answer) = lookups.join_next().await {
        let (token, found) = answer.unwrap();
        assert_eq!(found.as_ref(), by_token.get(&token), "{token}");
        answered += 1;
    }
    assert_eq!(answered, 160);
}
register!(concurrent_token_lookups_each_find_their_own_monitor);
