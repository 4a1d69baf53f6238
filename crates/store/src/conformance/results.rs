//! Conformance cases: Check outcomes: results, served certificates, daily stats, heartbeat and domain-lookup claims, and batched writes.

use super::*;

async fn results_filters_pages_and_prune(store: Arc<dyn Store>) {
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
    delete_monitor(&*store, &org.id, &a.id).await.unwrap();
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
register!(results_filters_pages_and_prune);

async fn the_last_check_of_each_monitor_is_found(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Last checks").await;
    let a = add_monitor(&*store, &org.id, spec("a", MonitorKind::Standard, None)).await;
    let b = add_monitor(&*store, &org.id, spec("b", MonitorKind::Standard, None)).await;
    let never = add_monitor(&*store, &org.id, spec("c", MonitorKind::Standard, None)).await;
    store
        .insert_results(&[
            result(&a, CheckType::Uptime, CheckStatus::Ok, 1_000),
            result(&a, CheckType::Ssl, CheckStatus::Ok, 3_000),
            result(&b, CheckType::Uptime, CheckStatus::Fail, 2_000),
        ])
        .await
        .unwrap();
    let mut found = store
        .last_checked_at(&[a.id.clone(), b.id.clone(), never.id.clone()])
        .await
        .unwrap();
    found.sort();
    let mut expected = vec![(a.id.clone(), 3_000), (b.id.clone(), 2_000)];
    expected.sort();
    assert_eq!(found, expected, "monitors never checked are left out");
    assert!(store.last_checked_at(&[]).await.unwrap().is_empty());
}
register!(the_last_check_of_each_monitor_is_found);

async fn certificates_upsert_and_inventory(store: Arc<dyn Store>) {
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
    record_seen_certificate(&*store, &first, Some(&served)).await;
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
    record_seen_certificate(&*store, &renewed, Some(&served_again)).await;
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

    delete_monitor(&*store, &org.id, &m.id).await.unwrap();
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
register!(certificates_upsert_and_inventory);

async fn daily_stats_roll_up_and_finalize(store: Arc<dyn Store>) {
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
    // The read of many monitors has the same days' checks, with their monitor.
    let mut org_wide = store
        .list_daily_checks(
            &[m.id.clone(), MonitorId::from_string("no-such-monitor")],
            "2026-05-01",
            &today,
        )
        .await
        .unwrap();
    org_wide.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(org_wide.len(), days.len());
    assert!(org_wide.iter().all(|(monitor, ..)| *monitor == m.id));
    assert_eq!(
        (org_wide[0].1.as_str(), org_wide[0].2, org_wide[0].3),
        (
            days[0].day.as_str(),
            days[0].total_checks,
            days[0].failed_checks
        )
    );
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

    delete_monitor(&*store, &org.id, &m.id).await.unwrap();
    assert!(
        store
            .list_daily_stats(&org.id, &m.id, "2026-01-01", &today)
            .await
            .unwrap()
            .is_empty()
    );
}
register!(daily_stats_roll_up_and_finalize);

async fn heartbeat_misses_are_claimed_once(store: Arc<dyn Store>, twin: Arc<dyn Store>) {
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
        twin.claim_heartbeat_missed(&m.id, 1_000)
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
register!(race: heartbeat_misses_are_claimed_once);

async fn domain_lookups_are_claimed_once(store: Arc<dyn Store>, twin: Arc<dyn Store>) {
    const HOUR: i64 = 3_600_000;
    assert_eq!(
        store.get_domain_registration("example.com").await.unwrap(),
        None
    );
    // Two nodes race for the first lookup: exactly one wins.
    let (a, b) = tokio::join!(
        store.claim_domain_lookup("example.com", 100 * HOUR, 88 * HOUR),
        twin.claim_domain_lookup("example.com", 100 * HOUR, 88 * HOUR)
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
register!(race: domain_lookups_are_claimed_once);

/// A heartbeat ping of `m` at `at` as the writer queues it, with the
/// monitor's new state when the ping changes it.
pub(super) fn ping_record(
    m: &Monitor,
    at: i64,
    ok: bool,
    state: Option<MonitorState>,
) -> crate::CheckRecord {
    crate::CheckRecord {
        org_id: m.org_id.clone(),
        monitor_id: m.id.clone(),
        results: vec![result(m, CheckType::Heartbeat, CheckStatus::Ok, at)],
        state,
        ping: Some(HeartbeatState {
            monitor_id: m.id.clone(),
            org_id: m.org_id.clone(),
            last_ping_at: at,
            last_ping_ok: ok,
            missed: false,
        }),
        certificate: None,
    }
}

async fn batches_write_many_monitors_at_once(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Batches").await;
    let web = add_monitor(&*store, &org.id, spec("web", MonitorKind::Standard, None)).await;
    let cron = add_monitor(&*store, &org.id, spec("cron", MonitorKind::Heartbeat, None)).await;
    let gone = add_monitor(&*store, &org.id, spec("gone", MonitorKind::Standard, None)).await;
    delete_monitor(&*store, &org.id, &gone.id).await.unwrap();
    let ping = |at: i64, ok: bool| ping_record(&cron, at, ok, None);
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
            certificate: None,
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
            certificate: None,
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
register!(batches_write_many_monitors_at_once);

/// SSL checks' certificates ride in the writer's batch: each live
/// monitor's verdict is stored, one served certificate seen by two
/// monitors enters the inventory once, and a deleted monitor's is dropped.
async fn batched_checks_carry_their_certificates(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Batched certs").await;
    let shop = add_monitor(&*store, &org.id, spec("shop", MonitorKind::Standard, None)).await;
    let blog = add_monitor(&*store, &org.id, spec("blog", MonitorKind::Standard, None)).await;
    let gone = add_monitor(&*store, &org.id, spec("gone", MonitorKind::Standard, None)).await;
    delete_monitor(&*store, &org.id, &gone.id).await.unwrap();
    let wildcard = ServedCertificate {
        sha256: "dd".repeat(32),
        tbs_sha256: None,
        spki_sha256: "ee".repeat(32),
        not_after: 9_000,
        first_seen_at: 30,
        last_seen_at: 30,
    };
    let checked = |m: &Monitor, valid: bool| crate::CheckRecord {
        org_id: org.id.clone(),
        monitor_id: m.id.clone(),
        results: vec![result(m, CheckType::Ssl, CheckStatus::Ok, 30)],
        state: None,
        ping: None,
        certificate: Some(crate::CertificateSeen {
            verdict: MonitorCertificate {
                monitor_id: m.id.clone(),
                org_id: org.id.clone(),
                valid,
                error: (!valid).then(|| "expired".to_string()),
                issuer: Some("R11".into()),
                not_after: Some(9_000),
                sha256: Some(wildcard.sha256.clone()),
                checked_at: 30,
            },
            served: Some(wildcard.clone()),
        }),
    };
    let batch = [
        checked(&shop, true),
        checked(&gone, true),
        checked(&blog, true),
    ];
    store.record_checks(&batch).await.unwrap();
    let verdicts = |store: Arc<dyn Store>| {
        let org = org.id.clone();
        async move {
            let mut found = store.list_monitor_certificates(&org).await.unwrap();
            found.sort_by(|a, b| a.monitor_id.as_str().cmp(b.monitor_id.as_str()));
            found
        }
    };
    let mut expected = vec![
        batch[0].certificate.clone().unwrap().verdict,
        batch[2].certificate.clone().unwrap().verdict,
    ];
    expected.sort_by(|a, b| a.monitor_id.as_str().cmp(b.monitor_id.as_str()));
    assert_eq!(verdicts(store.clone()).await, expected);
    assert!(
        store
            .is_served_certificate(&org.id, &wildcard.sha256)
            .await
            .unwrap()
    );

    // The next batch replaces the verdict, as a direct write does.
    let expired = checked(&shop, false);
    store
        .record_checks(std::slice::from_ref(&expired))
        .await
        .unwrap();
    let stored = verdicts(store.clone()).await;
    assert!(stored.contains(&expired.certificate.unwrap().verdict));
    assert_eq!(stored.len(), 2);
}
register!(batched_checks_carry_their_certificates);

/// Healthy pings take the ping journal on SQLite (a fold moves them into
/// place later); whatever the path, every read sees each acknowledged ping,
/// the newest ping stays newest, and a deleted monitor keeps nothing.
async fn pings_read_back_whichever_way_they_were_stored(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Journal").await;
    let cron = add_monitor(&*store, &org.id, spec("cron", MonitorKind::Heartbeat, None)).await;
    let gone = add_monitor(&*store, &org.id, spec("gone", MonitorKind::Heartbeat, None)).await;
    let ping = ping_record;
    let all = ResultQuery {
        limit: 100,
        ..Default::default()
    };
    let stored = |m: MonitorId| {
        let (store, org, all) = (store.clone(), org.id.clone(), all.clone());
        async move { store.list_results(&org, &m, &all).await.unwrap().items }
    };
    let latest_ping = || {
        let store = store.clone();
        async move {
            let states = store.list_heartbeat_states().await.unwrap();
            assert_eq!(states.len(), 1, "only the live monitor has a heartbeat");
            (states[0].last_ping_at, states[0].last_ping_ok)
        }
    };

    store
        .record_checks(&[
            ping(&cron, 1_000, true, None),
            ping(&gone, 1_000, true, None),
        ])
        .await
        .unwrap();
    delete_monitor(&*store, &org.id, &gone.id).await.unwrap();
    assert_eq!(stored(cron.id.clone()).await.len(), 1);
    assert!(stored(gone.id.clone()).await.is_empty());
    assert_eq!(latest_ping().await, (1_000, true));

    // A failing ping flips the status (written in place); an older healthy
    // ping arriving after it must not make the monitor look pinged later.
    let down = MonitorState {
        last_status: MonitorStatus::Down,
        ssl_not_after: None,
        domain_expiry: None,
    };
    store
        .record_checks(&[ping(&cron, 3_000, false, Some(down))])
        .await
        .unwrap();
    store
        .record_checks(&[ping(&cron, 2_000, true, None)])
        .await
        .unwrap();
    assert_eq!(latest_ping().await, (3_000, false));
    let results = stored(cron.id.clone()).await;
    let mut times: Vec<i64> = results.iter().map(|r| r.created_at).collect();
    times.sort_unstable();
    assert_eq!(times, vec![1_000, 2_000, 3_000]);

    // A miss claimed about an older ping loses to a newer one however
    // recently that was stored.
    store
        .record_checks(&[ping(&cron, 4_000, true, None)])
        .await
        .unwrap();
    assert!(!store.claim_heartbeat_missed(&cron.id, 3_000).await.unwrap());
    assert!(store.claim_heartbeat_missed(&cron.id, 4_000).await.unwrap());

    // A second later, the journal's folding task has folded what waited
    // that long (its age rule); a backend without the journal writes as
    // ever.
    store
        .record_checks(&[ping(&cron, 5_000, true, None)])
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    store
        .record_checks(&[ping(&cron, 6_000, true, None)])
        .await
        .unwrap();
    assert_eq!(latest_ping().await, (6_000, true));
    assert_eq!(stored(cron.id.clone()).await.len(), 6);
}
register!(pings_read_back_whichever_way_they_were_stored);
