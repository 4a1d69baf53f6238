//! The outage rule's state (`domain::check::UptimeTracker`), kept in the
//! store rather than in one process: results from every region meet in
//! it, whichever agent or server node ran them. It is read, fed and
//! written back by compare-and-swap (an alert state, like the rules'
//! own), and fed again from a fresh read when another node moved it
//! meanwhile. A steady state encodes the same, so a passing monitor costs
//! one read per check and no write.

use certsentry_domain::agent::result_is_stale;
use certsentry_domain::alert::AlertState;
use certsentry_domain::check::{CheckResult, CheckStatus, CheckType, UptimeTracker};
use certsentry_domain::monitor::{Monitor, MonitorStatus};
use certsentry_domain::time::Millis;
use certsentry_store::{AlertGuard, Store, StoreResult};

/// Compare-and-swap attempts before giving up on a contended tracker.
const ATTEMPTS: usize = 8;

/// Whether a result feeds the outage rule.
pub fn is_availability(result: &CheckResult) -> bool {
    matches!(result.check_type, CheckType::Uptime | CheckType::Tcp)
}

/// The tracker after `results`, from its stored text: the next text and
/// the status (`None` while nothing was counted). A result older than two
/// intervals is left out: it is history, not news.
fn fed(
    monitor: &Monitor,
    stored: Option<&str>,
    results: &[&CheckResult],
    now: Millis,
) -> (String, Option<MonitorStatus>) {
    let interval = monitor.spec.uptime_interval_seconds.unwrap_or(300);
    let configured = monitor.spec.regions.len();
    let mut tracker = stored.and_then(UptimeTracker::decode).unwrap_or_default();
    for result in results
        .iter()
        .filter(|r| is_availability(r) && !result_is_stale(r.created_at, now, interval))
    {
        let region = result.region.as_deref().unwrap_or("local");
        if let Some(transition) = tracker.observe(
            region,
            result.status == CheckStatus::Ok,
            result.degraded,
            configured,
        ) {
            tracing::info!(monitor = %monitor.id, ?transition, "uptime transition");
        }
    }
    let status = tracker.status();
    (
        tracker.encode().into_owned(),
        (status != MonitorStatus::Unknown).then_some(status),
    )
}

/// Feeds `results` (availability results of `monitor`, oldest first) to
/// the shared tracker and returns the monitor's uptime status after them,
/// or `None` when no availability result was ever counted.
pub async fn feed(
    store: &dyn Store,
    monitor: &Monitor,
    results: &[&CheckResult],
    now: Millis,
) -> StoreResult<Option<MonitorStatus>> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let stored = store
            .get_alert_state(&monitor.id, UptimeTracker::KEY)
            .await?;
        let (next, status) = fed(monitor, stored.as_deref(), results, now);
        if stored.as_deref() == Some(next.as_str()) {
            return Ok(status);
        }
        let guard = AlertGuard {
            monitor_id: monitor.id.clone(),
            key: UptimeTracker::KEY.to_string(),
            expected: stored,
            next,
        };
        if store.record_alert(Some(&guard), None, None).await? {
            return Ok(status);
        }
        last = status;
    }
    tracing::warn!(monitor = %monitor.id, "the outage rule's state stayed contended; this run's results were not counted");
    Ok(last)
}

/// As [`feed`] for many monitors at once (an upload of results): their
/// states are read in one query, and only those that move are written,
/// each by compare-and-swap (one that lost a race is fed again alone).
pub async fn feed_many(
    store: &dyn Store,
    batch: &[(&Monitor, Vec<&CheckResult>)],
    now: Millis,
) -> StoreResult<Vec<Option<MonitorStatus>>> {
    let ids: Vec<_> = batch.iter().map(|(m, _)| m.id.clone()).collect();
    let stored = store.get_alert_states(&ids, UptimeTracker::KEY).await?;
    let mut statuses = Vec::with_capacity(batch.len());
    for (monitor, results) in batch {
        let before = stored.get(&monitor.id);
        let (next, status) = fed(monitor, before.map(String::as_str), results, now);
        if before == Some(&next) {
            statuses.push(status);
            continue;
        }
        let guard = AlertGuard {
            monitor_id: monitor.id.clone(),
            key: UptimeTracker::KEY.to_string(),
            expected: before.cloned(),
            next,
        };
        if store.record_alert(Some(&guard), None, None).await? {
            statuses.push(status);
        } else {
            statuses.push(feed(store, monitor, results, now).await?);
        }
    }
    Ok(statuses)
}
