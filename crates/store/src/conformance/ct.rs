//! Conformance cases: Certificate Transparency: the inventory, findings and log positions.

use super::*;
use crate::EventQuery;
use certsentry_domain::alert::Event;

async fn ct_findings_dedupe_and_decide_once(store: Arc<dyn Store>) {
    use crate::ct::*;
    use certsentry_domain::ct::{CtFinding, FindingState, Issuer, KnownCertificate};
    use certsentry_domain::{CtCertificateId, KnownCertificateId};
    let org = new_org(&*store, "CT").await;
    let other = new_org(&*store, "CT other").await;
    let m = add_monitor(&*store, &org.id, spec("web", MonitorKind::Standard, None)).await;
    add_channel(&*store, &org.id, &["ct.new_certificate"]).await;

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
    record_seen_certificate(
        &*store,
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
    .await;
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
    let event = Event::about_ct_finding(&decided, None, "http://x".into(), 2_000);
    let pending_before = store.count_pending_deliveries().await.unwrap();
    // The monitor's `ct` check result is stored with the decision.
    let watcher = add_monitor(&*store, &org.id, spec("ct", MonitorKind::Standard, None)).await;
    let ct_result = result(&watcher, CheckType::Ct, CheckStatus::Fail, 2_000);
    assert!(
        store
            .decide_ct_finding(
                &org.id,
                &first.id,
                FindingState::Suspicious,
                2_000,
                Some(&event),
                Some(&ct_result),
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .decide_ct_finding(
                &org.id,
                &first.id,
                FindingState::Known,
                2_001,
                Some(&event),
                Some(&result(&watcher, CheckType::Ct, CheckStatus::Ok, 2_001)),
            )
            .await
            .unwrap(),
        "a finding is decided once"
    );
    let stored = store
        .list_results(
            &org.id,
            &watcher.id,
            &ResultQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        stored.items,
        vec![ct_result],
        "the decision's check result is stored, the losing one is not"
    );
    assert_eq!(
        store.count_pending_deliveries().await.unwrap(),
        pending_before + 1
    );
    // The event keeps its typed subject, which the payload formats render from.
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
    assert_eq!(events.items, vec![event.clone()]);
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
register!(ct_findings_dedupe_and_decide_once);
