//! Missed heartbeats: an armed heartbeat monitor whose last ping is older
//! than its interval plus grace gets one failed result and goes down. The
//! miss is claimed with compare-and-swap, so it is recorded once.

use std::sync::Arc;
use std::time::Duration;

use certsentry_domain::MonitorId;
use certsentry_domain::alert::HeartbeatAlertState;
use certsentry_domain::check::{CheckResult, CheckStatus, CheckType};
use certsentry_domain::monitor::{MonitorKind, MonitorStatus};
use certsentry_domain::time::{Millis, now_ms};
use certsentry_store::{MonitorState, Store, StoreResult};

use crate::alerts::Alerter;
use serde_json::json;

/// Checks every armed heartbeat against `now`; returns the monitors newly missed.
/// Each miss also fires `heartbeat.missed` through `alerter`.
pub async fn check_heartbeats_once(
    store: &dyn Store,
    alerter: &Alerter,
    now: Millis,
) -> StoreResult<Vec<MonitorId>> {
    let mut missed = Vec::new();
    for state in store
        .list_heartbeat_states()
        .await?
        .into_iter()
        .filter(|s| !s.missed)
    {
        let Some(monitor) = store.get_monitor(&state.org_id, &state.monitor_id).await? else {
            continue;
        };
        let spec = &monitor.spec;
        let (Some(interval), Some(grace)) = (
            spec.heartbeat_interval_seconds,
            spec.heartbeat_grace_seconds,
        ) else {
            continue;
        };
        if !spec.enabled || spec.kind != MonitorKind::Heartbeat {
            continue;
        }
        let allowed = i64::from(interval + grace) * 1000;
        if now <= state.last_ping_at + allowed {
            continue;
        }
        if !store
            .claim_heartbeat_missed(&monitor.id, state.last_ping_at)
            .await?
        {
            continue;
        }
        let result = CheckResult {
            status: CheckStatus::Fail,
            error: Some(format!(
                "no ping within {}s (interval {interval}s + grace {grace}s)",
                interval + grace
            )),
            details: json!({ "lastPingAt": certsentry_domain::time::format_ms(state.last_ping_at) }),
            created_at: now,
            ..CheckResult::blank(&monitor, CheckType::Heartbeat, None)
        };
        let down = MonitorState {
            last_status: MonitorStatus::Down,
            ssl_not_after: None,
            domain_expiry: None,
        };
        store
            .record_check(
                std::slice::from_ref(&result),
                &monitor.org_id,
                &monitor.id,
                &down,
            )
            .await?;
        tracing::info!(monitor = %monitor.id, "heartbeat missed");
        let why = result.error.clone();
        alerter
            .apply(&monitor, HeartbeatAlertState::KEY, |previous| {
                certsentry_domain::alert::heartbeat(
                    previous,
                    HeartbeatAlertState::Missed,
                    why.as_deref(),
                )
            })
            .await?;
        missed.push(monitor.id);
    }
    Ok(missed)
}

/// Runs [`check_heartbeats_once`] every `every`, forever.
pub async fn watch_heartbeats_forever(store: Arc<dyn Store>, alerter: Alerter, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(e) = check_heartbeats_once(&*store, &alerter, now_ms()).await {
            tracing::warn!(error = %e, "heartbeat check failed");
        }
    }
}
