//! Conformance cases: Status pages.

use super::*;

async fn status_pages_lifecycle(store: Arc<dyn Store>) {
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
            embed_origins: vec!["https://client.example".into()],
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
    // The public path finds it by slug, whoever asks.
    assert_eq!(
        store
            .get_status_page_by_slug(&page.spec.slug)
            .await
            .unwrap(),
        Some(page.clone())
    );
    assert_eq!(
        store.get_status_page_by_slug("no-such-page").await.unwrap(),
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
    delete_monitor(&*store, &org.id, &a.id).await.unwrap();
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
register!(status_pages_lifecycle);
