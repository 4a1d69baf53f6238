//! Applies the alert rules of `domain::alert` to a monitor's outcomes and
//! records the events through the store's compare-and-swap guard, so a
//! state change fires once even with several nodes on one database.

use std::sync::Arc;

use certsentry_domain::alert::{
    self, AlertState, AnnouncedThreshold, Decision, Event, EventType, UptimeAlertState,
};
use certsentry_domain::monitor::{Monitor, MonitorStatus};
use certsentry_domain::time::{Millis, now_ms};
use certsentry_store::{AlertGuard, Store, StoreResult};
use tokio::sync::Notify;

#[derive(Clone)]
pub struct Alerter {
    store: Arc<dyn Store>,
    /// Wakes the outbox worker when an event was stored.
    outbox: Arc<Notify>,
}

impl Alerter {
    pub fn new(store: Arc<dyn Store>, outbox: Arc<Notify>) -> Self {
        Self { store, outbox }
    }

    /// The notifier the outbox worker waits on.
    pub fn outbox_waker(&self) -> Arc<Notify> {
        self.outbox.clone()
    }

    /// Reads the state under `key`, asks `rule` what follows, and records
    /// the move and its event (if any). Returns the event type that fired.
    ///
    /// Stored text the rule's state type cannot read counts as no state;
    /// the compare-and-swap still expects that exact text.
    pub async fn apply<S: AlertState>(
        &self,
        monitor: &Monitor,
        key: &str,
        rule: impl FnOnce(Option<S>) -> Decision<S>,
    ) -> StoreResult<Option<EventType>> {
        let previous = self.store.get_alert_state(&monitor.id, key).await?;
        let decision = rule(previous.as_deref().and_then(S::decode));
        let next = decision.next.encode().into_owned();
        if decision.event.is_none() && previous.as_deref() == Some(next.as_str()) {
            return Ok(None);
        }
        let guard = AlertGuard {
            monitor_id: monitor.id.clone(),
            key: key.to_string(),
            expected: previous,
            next,
        };
        let event = decision
            .event
            .map(|draft| Event::about_monitor(monitor, draft, now_ms()));
        let moved = self
            .store
            .record_alert(Some(&guard), event.as_ref(), None)
            .await?;
        let fired = event.filter(|_| moved).map(|e| {
            tracing::info!(monitor = %monitor.id, event = e.event_type.as_str(), "alert");
            self.outbox.notify_one();
            e.event_type
        });
        Ok(fired)
    }

    /// Fires `event_type` for each newly crossed lead-day threshold of a
    /// subject (a certificate fingerprint, or a registration expiry date):
    /// once per threshold and subject, so a renewal starts over.
    pub async fn expiring(
        &self,
        monitor: &Monitor,
        event_type: EventType,
        subject: &str,
        expires_at: Millis,
        extra: serde_json::Value,
    ) -> StoreResult<Option<EventType>> {
        let now = now_ms();
        let crossed = alert::crossed_thresholds(&monitor.spec.alert_lead_days, expires_at, now);
        let Some(most_urgent) = crossed.first().copied() else {
            return Ok(None);
        };
        // One state per subject: the smallest threshold already announced.
        let key = format!("{}:{subject}", event_type.as_str());
        self.apply(monitor, &key, |previous: Option<AnnouncedThreshold>| {
            let announced = previous.map(|p| p.0);
            let event = match announced {
                Some(done) if done <= most_urgent => None,
                _ => Some(alert::expiring(
                    event_type,
                    most_urgent,
                    expires_at,
                    now,
                    extra,
                )),
            };
            Decision {
                next: AnnouncedThreshold(announced.map_or(most_urgent, |d| d.min(most_urgent))),
                event,
            }
        })
        .await
    }

    /// The uptime rule for a monitor whose availability was just judged.
    pub async fn uptime(
        &self,
        monitor: &Monitor,
        status: MonitorStatus,
        last_error: Option<&str>,
    ) -> StoreResult<Option<EventType>> {
        let Some(now) = UptimeAlertState::of(status) else {
            return Ok(None);
        };
        // Asked only of a failing check: a passing one is told the same
        // either way.
        let in_maintenance = matches!(now, UptimeAlertState::Down | UptimeAlertState::Degraded)
            && self.store.in_maintenance(&monitor.id, now_ms()).await?;
        let fired = self
            .apply(monitor, UptimeAlertState::KEY, |previous| {
                if in_maintenance {
                    alert::uptime_during_maintenance(previous, now)
                } else {
                    alert::uptime(previous, now, last_error)
                }
            })
            .await?;
        if let Some(event_type) = fired
            && let Err(e) =
                crate::incidents::follow_outage(&*self.store, monitor, event_type, now_ms()).await
        {
            tracing::warn!(monitor = %monitor.id, error = %e, "could not update status page incidents");
        }
        Ok(fired)
    }
}
