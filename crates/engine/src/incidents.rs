//! Incidents that follow outages: when a monitor's outage is confirmed
//! (`uptime.down` fired), every enabled status page showing it gets an
//! incident under the monitor's public label; when it recovers
//! (`uptime.up`), those incidents are resolved. An operator can add
//! updates to such an incident like to any other.
//!
//! The event itself is already stored when this runs, so a failure here
//! loses no alert; it is logged, and the next outage opens afresh.

use certsentry_domain::alert::EventType;
use certsentry_domain::monitor::Monitor;
use certsentry_domain::status_page::incident::{
    Incident, IncidentState, automatic_opening, automatic_resolution,
};
use certsentry_domain::time::Millis;
use certsentry_store::{Store, StoreResult};

/// Opens or resolves the incidents `event_type` calls for.
pub async fn follow_outage(
    store: &dyn Store,
    monitor: &Monitor,
    event_type: EventType,
    now: Millis,
) -> StoreResult<()> {
    if !matches!(event_type, EventType::UptimeDown | EventType::UptimeUp) {
        return Ok(());
    }
    for page in store.list_status_pages(&monitor.org_id).await? {
        let Some(entry) = page
            .spec
            .monitors
            .iter()
            .find(|entry| entry.monitor_id == monitor.id)
        else {
            continue;
        };
        let open = store
            .open_incident_for_monitor(&page.id, &monitor.id)
            .await?;
        match (event_type, open) {
            (EventType::UptimeDown, None) if page.spec.enabled => {
                let spec = automatic_opening(&entry.public_label);
                let incident = Incident::open(
                    &page.org_id,
                    &page.id,
                    spec.title,
                    spec.state,
                    spec.body,
                    Some(monitor.id.clone()),
                    now,
                );
                store.create_incident(&incident, None).await?;
                tracing::info!(page = %page.id, monitor = %monitor.id, "incident opened");
            }
            (EventType::UptimeUp, Some(mut incident)) => {
                incident.push(
                    IncidentState::Resolved,
                    automatic_resolution(&entry.public_label),
                    now,
                );
                store.add_incident_update(&incident, None).await?;
                tracing::info!(page = %page.id, monitor = %monitor.id, "incident resolved");
            }
            _ => {}
        }
    }
    Ok(())
}
