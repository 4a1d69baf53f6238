//! Conformance cases: Alerts: state compare-and-swap, events, routing and the delivery outbox.

use super::*;

const FIVE_DAYS: i64 = 5 * 86_400_000;

/// The organization's first page of deliveries, newest first.
async fn delivery_log(store: &dyn Store, org: &OrgId) -> crate::Page<crate::Delivery> {
    store
        .list_deliveries(
            org,
            &crate::DeliveryQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap()
}

async fn alerts_fire_once_and_flow_through_the_outbox(
    store: Arc<dyn Store>,
    twin_store: Arc<dyn Store>,
) {
    use crate::alerts::*;
    use certsentry_domain::alert::{Event, EventType};
    let org = new_org(&*store, "Alerts").await;
    let m = add_monitor(&*store, &org.id, spec("web", MonitorKind::Standard, None)).await;
    let all = add_channel(&*store, &org.id, &[]).await;
    let only_up = add_channel(&*store, &org.id, &["uptime.up"]).await;
    assert_eq!(store.list_channels(&org.id).await.unwrap().len(), 2);

    let event = |t: EventType| Event {
        event_type: t,
        ..down_event(&org.id, Some(&m.id))
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
        twin_store.record_alert(Some(&guard), Some(&twin), None)
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
    let log = delivery_log(&*store, &org.id).await;
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
    let left = delivery_log(&*store, &org.id).await;
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
register!(race: alerts_fire_once_and_flow_through_the_outbox);

/// A worker that dies holding a lease (a crash, `kill -9`) leaves its
/// deliveries pending: once the lease runs out, another claim gets them.
async fn expired_leases_are_claimed_again(store: Arc<dyn Store>) {
    let org = new_org(&*store, "Leases").await;
    add_channel(&*store, &org.id, &[]).await;
    let event = down_event(&org.id, None);
    assert!(store.record_alert(None, Some(&event), None).await.unwrap());
    let now = now_ms();
    let first = store.claim_deliveries(now, now + 30_000, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        store
            .claim_deliveries(now + 29_999, now + 60_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "still leased"
    );
    let reclaimed = store
        .claim_deliveries(now + 30_001, now + 60_000, 10)
        .await
        .unwrap();
    assert_eq!(reclaimed.len(), 1, "the expired lease is claimed again");
    assert_eq!(reclaimed[0].delivery.id, first[0].delivery.id);
    assert_eq!(reclaimed[0].event.id, event.id);
}
register!(expired_leases_are_claimed_again);

/// A redeliver pressed while an attempt is in flight wins: the attempt is
/// logged, but the delivery stays due, to be sent again with a fresh
/// attempt number.
async fn a_redeliver_during_an_attempt_is_not_lost(store: Arc<dyn Store>) {
    use crate::alerts::*;
    let org = new_org(&*store, "Redeliver").await;
    let m = add_monitor(&*store, &org.id, spec("web", MonitorKind::Standard, None)).await;
    add_channel(&*store, &org.id, &[]).await;
    let guard = AlertGuard {
        monitor_id: m.id.clone(),
        key: "uptime".into(),
        expected: None,
        next: "down".into(),
    };
    let event = down_event(&org.id, Some(&m.id));
    assert!(
        store
            .record_alert(Some(&guard), Some(&event), None)
            .await
            .unwrap()
    );
    let now = now_ms();
    let due = store.claim_deliveries(now, now + 60_000, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    let id = due[0].delivery.id.clone();
    store.redeliver(&org.id, &id, now + 1).await.unwrap();
    let delivered = |attempt: u32| AttemptOutcome {
        delivery_id: id.clone(),
        attempt: DeliveryAttempt {
            attempt,
            status_code: Some(200),
            duration_ms: 5,
            response_body: None,
            error: None,
            created_at: now,
        },
        status: DeliveryStatus::Delivered,
        next_attempt_at: now,
        disable_channel: None,
    };
    store
        .finish_attempts(&[delivered(1)], FIVE_DAYS)
        .await
        .unwrap();
    let again = store
        .claim_deliveries(now + 1, now + 60_000, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "the redelivery is still due");
    assert_eq!(again[0].delivery.attempts, 1);
    store
        .finish_attempts(&[delivered(2)], FIVE_DAYS)
        .await
        .unwrap();
    let log = delivery_log(&*store, &org.id).await;
    assert_eq!(log.items[0].status, DeliveryStatus::Delivered);
    assert_eq!(log.items[0].attempt_log.len(), 2);
}
register!(a_redeliver_during_an_attempt_is_not_lost);
