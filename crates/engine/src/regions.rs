//! Probe regions' health: when every agent of a region has been silent for
//! [`SILENT_AFTER_MS`](certsentry_domain::agent::SILENT_AFTER_MS), each organization that checks from the region gets
//! `region.unavailable` (a warning), and `region.available` when an agent
//! calls again. A silent region sends no results, so it never makes a
//! monitor look down; the event says why its checks paused.
//!
//! The region's state is an alert state (keyed by the region, not by a
//! monitor) moved by compare-and-swap with the first event, so two nodes
//! watching at once announce a change once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use certsentry_domain::MonitorId;
use certsentry_domain::agent::{REGION_STATE_KEY, region_event, region_silent, region_subject};
use certsentry_domain::time::{Millis, now_ms};
use certsentry_store::{AlertGuard, Store, StoreResult};
use tokio::sync::Notify;

/// Looks at every region with agents once; returns how many changed.
pub async fn check_regions(store: &dyn Store, outbox: &Notify, now: Millis) -> StoreResult<usize> {
    // The latest call from any live agent of each region that ever had one.
    let mut last_seen: BTreeMap<String, Option<Millis>> = BTreeMap::new();
    for token in store.list_agent_tokens().await? {
        if token.revoked_at.is_some() || token.last_seen_at.is_none() {
            continue;
        }
        let seen = last_seen.entry(token.region.clone()).or_default();
        *seen = (*seen).max(token.last_seen_at);
    }
    let mut changed = 0;
    for (region, seen) in last_seen {
        let subject = MonitorId::from_string(region_subject(&region));
        let available = !region_silent(seen, now);
        let next = if available {
            "available"
        } else {
            "unavailable"
        };
        let stored = store.get_alert_state(&subject, REGION_STATE_KEY).await?;
        if stored.as_deref() == Some(next) {
            continue;
        }
        let guard = AlertGuard {
            monitor_id: subject,
            key: REGION_STATE_KEY.to_string(),
            expected: stored.clone(),
            next: next.to_string(),
        };
        // A region seen for the first time starts available, quietly.
        let orgs = if stored.is_none() && available {
            Vec::new()
        } else {
            store.region_orgs(&region).await?
        };
        let mut events = orgs
            .iter()
            .map(|org| region_event(org, &region, available, seen, now));
        let first = events.next();
        if !store
            .record_alert(Some(&guard), first.as_ref(), None)
            .await?
        {
            continue; // another node moved it first
        }
        for event in events {
            store.record_alert(None, Some(&event), None).await?;
        }
        if first.is_some() {
            tracing::warn!(region = %region, state = next, "probe region");
            outbox.notify_one();
        }
        changed += 1;
    }
    Ok(changed)
}

/// Checks the regions every `every` (a fraction of [`SILENT_AFTER_MS`]).
pub async fn watch_regions_forever(store: Arc<dyn Store>, outbox: Arc<Notify>, every: Duration) {
    loop {
        if let Err(e) = check_regions(&*store, &outbox, now_ms()).await {
            tracing::warn!(error = %e, "could not check the probe regions");
        }
        tokio::time::sleep(every).await;
    }
}
