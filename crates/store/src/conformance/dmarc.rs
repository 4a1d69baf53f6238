//! Conformance cases: DMARC domains, reports, sources and their alerts.

use std::collections::BTreeMap;
use std::net::IpAddr;

use certsentry_domain::dmarc::{
    DmarcDomain, DmarcReport, FAILURE_RATE_ALERT_EVERY_MS, PolicyPublished, ReportSummary,
    RuaToken, SourceTally,
};
use certsentry_domain::{DmarcDomainId, DmarcReportId};

use super::*;
use crate::{EventQuery, ImportOutcome};

async fn add_domain(store: &dyn Store, org: &OrgId, name: &str) -> (DmarcDomain, RuaToken) {
    let domain = DmarcDomain::new(org.clone(), name.into(), 5);
    let token = RuaToken::generate();
    store
        .create_dmarc_domain(
            &domain,
            &token.hash,
            5,
            &audit(org, "dmarcDomain.create", "dmarcDomain", domain.id.as_str()),
        )
        .await
        .unwrap();
    (domain, token)
}

fn report(domain: &DmarcDomain, id: &str, sources: &[(&str, u64, u64)], at: i64) -> DmarcReport {
    let sources: BTreeMap<IpAddr, SourceTally> = sources
        .iter()
        .map(|(ip, pass, fail)| {
            (
                ip.parse().unwrap(),
                SourceTally {
                    pass: *pass,
                    fail: *fail,
                },
            )
        })
        .collect();
    DmarcReport {
        id: DmarcReportId::generate(),
        org_id: domain.org_id.clone(),
        domain_id: domain.id.clone(),
        summary: ReportSummary {
            reporter_org: "google.com".into(),
            external_id: id.into(),
            begin_at: at - 86_400_000,
            end_at: at,
            policy: PolicyPublished {
                domain: Some(domain.domain.clone()),
                p: Some("reject".into()),
                pct: Some(100),
                ..Default::default()
            },
            message_count: sources.values().map(|t| t.pass + t.fail).sum(),
            fail_count: sources.values().map(|t| t.fail).sum(),
            sources,
            rows_skipped: 0,
        },
        received_at: at,
    }
}

async fn dmarc_events(store: &dyn Store, org: &OrgId, kind: &str) -> usize {
    store
        .list_events(
            org,
            &EventQuery {
                event_type: Some(kind.into()),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items
        .len()
}

async fn dmarc_domains_reports_and_sources(store: Arc<dyn Store>) {
    let org = new_org(&*store, "DMARC A").await;
    let other = new_org(&*store, "DMARC B").await;
    add_channel(&*store, &org.id, &[]).await;
    let (domain, token) = add_domain(&*store, &org.id, "example.com").await;

    // One domain per organization; another organization may have it too.
    let again = DmarcDomain {
        id: DmarcDomainId::generate(),
        ..domain.clone()
    };
    let audit_entry = audit(
        &org.id,
        "dmarcDomain.create",
        "dmarcDomain",
        again.id.as_str(),
    );
    assert!(matches!(
        store
            .create_dmarc_domain(&again, &RuaToken::generate().hash, 5, &audit_entry)
            .await,
        Err(StoreError::Conflict("domain"))
    ));
    add_domain(&*store, &other.id, "example.com").await;
    let quota = DmarcDomain {
        id: DmarcDomainId::generate(),
        domain: "example.org".into(),
        ..domain.clone()
    };
    assert!(matches!(
        store
            .create_dmarc_domain(&quota, &RuaToken::generate().hash, 1, &audit_entry)
            .await,
        Err(StoreError::QuotaExceeded { limit: 1 })
    ));

    // The token finds the domain; a rotated one keeps working until its grace ends.
    let now = now_ms();
    assert_eq!(
        store.dmarc_domain_by_token(&token.hash, now).await.unwrap(),
        Some(domain.clone())
    );
    let rotated = RuaToken::generate();
    store
        .rotate_dmarc_token(
            &org.id,
            &domain.id,
            &rotated.hash,
            now + 1000,
            &audit(
                &org.id,
                "dmarcDomain.rotateToken",
                "dmarcDomain",
                domain.id.as_str(),
            ),
        )
        .await
        .unwrap();
    assert!(
        store
            .dmarc_domain_by_token(&token.hash, now)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .dmarc_domain_by_token(&token.hash, now + 1000)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .dmarc_domain_by_token(&rotated.hash, now + 1000)
            .await
            .unwrap()
            .is_some()
    );

    // The first report is the baseline: no new-source alert; the failure
    // rate (1 of 11) is over 5 % and alerts.
    let t = now;
    let first = report(
        &domain,
        "r1",
        &[("192.0.2.1", 10, 0), ("192.0.2.2", 0, 1)],
        t,
    );
    assert!(matches!(
        store.import_dmarc_report(&domain, &first).await.unwrap(),
        ImportOutcome::Stored { events: 1, .. }
    ));
    assert_eq!(dmarc_events(&*store, &org.id, "dmarc.new_source").await, 0);
    assert_eq!(
        dmarc_events(&*store, &org.id, "dmarc.failure_rate").await,
        1
    );

    // The same report again (a new id, same identity) is a duplicate.
    let twice = report(
        &domain,
        "r1",
        &[("192.0.2.1", 10, 0), ("192.0.2.2", 0, 1)],
        t,
    );
    assert_eq!(
        store.import_dmarc_report(&domain, &twice).await.unwrap(),
        ImportOutcome::Duplicate {
            id: first.id.clone()
        }
    );

    // A new failing source alerts; a failing known one does not; the
    // failure rate waits out its 24 hours.
    let domain = store
        .get_dmarc_domain(&org.id, &domain.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(domain.last_failure_rate_alert_at, Some(t));
    let second = report(
        &domain,
        "r2",
        &[
            ("192.0.2.2", 0, 5),
            ("198.51.100.9", 0, 3),
            ("192.0.2.1", 4, 0),
        ],
        t + 1000,
    );
    assert!(matches!(
        store.import_dmarc_report(&domain, &second).await.unwrap(),
        ImportOutcome::Stored { events: 1, .. }
    ));
    assert_eq!(dmarc_events(&*store, &org.id, "dmarc.new_source").await, 1);
    assert_eq!(
        dmarc_events(&*store, &org.id, "dmarc.failure_rate").await,
        1
    );
    let later = report(
        &domain,
        "r3",
        &[("192.0.2.2", 0, 5)],
        t + FAILURE_RATE_ALERT_EVERY_MS,
    );
    store.import_dmarc_report(&domain, &later).await.unwrap();
    assert_eq!(
        dmarc_events(&*store, &org.id, "dmarc.failure_rate").await,
        2
    );

    // Sources sum over reports, most recently active first.
    let sources = store
        .list_dmarc_sources(&org.id, &domain.id, 10)
        .await
        .unwrap();
    assert_eq!(sources.len(), 3);
    assert_eq!(sources[0].ip.to_string(), "192.0.2.2");
    assert_eq!((sources[0].pass_count, sources[0].fail_count), (0, 11));
    assert!(
        store
            .list_dmarc_sources(&other.id, &domain.id, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let reports = store
        .list_dmarc_reports(&org.id, &domain.id, None, 2)
        .await
        .unwrap();
    assert_eq!(reports.items[0].summary.external_id, "r3");
    assert_eq!(reports.items[1].summary.policy.p.as_deref(), Some("reject"));
    assert!(reports.next_cursor.is_some());

    // Deliveries were queued with the events (the outbox).
    let pending = store
        .list_events(
            &org.id,
            &EventQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        pending
            .items
            .iter()
            .all(|e| e.monitor.as_ref().unwrap().label == "example.com")
    );

    store
        .delete_dmarc_domain(
            &org.id,
            &domain.id,
            &audit(
                &org.id,
                "dmarcDomain.delete",
                "dmarcDomain",
                domain.id.as_str(),
            ),
        )
        .await
        .unwrap();
    assert!(
        store
            .list_dmarc_reports(&org.id, &domain.id, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}
register!(dmarc_domains_reports_and_sources);

/// Two nodes import reports that both cross the threshold at once: one
/// failure-rate alert.
async fn dmarc_failure_rate_alerts_once(store: Arc<dyn Store>, twin: Arc<dyn Store>) {
    let org = new_org(&*store, "DMARC race").await;
    let (domain, _) = add_domain(&*store, &org.id, "race.example").await;
    let now = now_ms();
    let baseline = report(&domain, "base", &[("192.0.2.1", 10, 0)], now);
    store.import_dmarc_report(&domain, &baseline).await.unwrap();
    let a = report(&domain, "a", &[("192.0.2.1", 0, 9)], now + 1);
    let b = report(&domain, "b", &[("192.0.2.1", 0, 9)], now + 2);
    let (ra, rb) = tokio::join!(
        store.import_dmarc_report(&domain, &a),
        twin.import_dmarc_report(&domain, &b)
    );
    assert!(ra.is_ok() && rb.is_ok(), "{ra:?} {rb:?}");
    assert_eq!(
        dmarc_events(&*store, &org.id, "dmarc.failure_rate").await,
        1
    );
}
register!(race: dmarc_failure_rate_alerts_once);
