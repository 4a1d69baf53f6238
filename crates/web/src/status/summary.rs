//! `summary.json` in the shape of Atlassian Statuspage's, so existing
//! status widgets and aggregators can read a CertSentry page: `page`,
//! `status` (`indicator`, `description`), `components`, `incidents` and
//! `scheduled_maintenances`.

use certsentry_domain::status_page::incident::{Incident, IncidentState};
use certsentry_domain::status_page::maintenance::{Maintenance, MaintenancePhase};
use certsentry_domain::status_page::public::{ComponentState, PageState};
use certsentry_domain::time::format_ms;
use serde_json::{Value, json};

use super::data::PageData;

/// Statuspage's component status words.
fn component_status(state: ComponentState) -> &'static str {
    match state {
        ComponentState::Operational | ComponentState::NoData => "operational",
        ComponentState::Degraded => "degraded_performance",
        ComponentState::Down => "major_outage",
        ComponentState::Maintenance => "under_maintenance",
    }
}

fn indicator(state: PageState) -> &'static str {
    match state {
        // Statuspage has no word for "not known yet"; `none` claims no
        // trouble, and the description says what is true.
        PageState::Operational | PageState::NoData => "none",
        PageState::PartialOutage => "minor",
        PageState::MajorOutage => "major",
        PageState::Maintenance => "maintenance",
    }
}

/// The page's summary; `url` is where the page is published.
pub fn summary(data: &PageData, url: &str) -> Value {
    let updated = format_ms(data.at);
    let components: Vec<Value> = data
        .components
        .iter()
        .map(|c| {
            json!({
                "id": format!("{}-{}", data.id, c.position),
                "name": c.label,
                "status": component_status(c.state),
                // A monitor not checked yet has no Statuspage word; it says so here.
                "description": (c.state == ComponentState::NoData).then_some("No data yet"),
                "position": c.position,
                "page_id": data.id,
                "group_id": null,
                "group": false,
                "showcase": true,
                "only_show_if_degraded": false,
                "start_date": null,
                "created_at": format_ms(c.created_at),
                "updated_at": format_ms(c.updated_at),
            })
        })
        .collect();
    json!({
        "page": {
            "id": data.id,
            "name": data.title,
            "url": url,
            "time_zone": "Etc/UTC",
            "updated_at": updated,
        },
        "status": {
            "indicator": indicator(data.overall),
            "description": data.overall.label(),
        },
        "components": components,
        // As Statuspage's summary: unresolved incidents, and maintenance
        // in progress or still to come.
        "incidents": data
            .incidents
            .iter()
            .filter(|i| i.is_open())
            .map(|i| incident(data, i, url))
            .collect::<Vec<_>>(),
        "scheduled_maintenances": data
            .maintenance
            .iter()
            .filter(|w| w.spec.phase(data.at) != MaintenancePhase::Completed)
            .map(|w| maintenance(data, w, url))
            .collect::<Vec<_>>(),
    })
}

/// The page's components a notice concerns, in Statuspage's component shape.
fn affected(data: &PageData, monitors: &[&str]) -> Vec<Value> {
    data.components
        .iter()
        .filter(|c| monitors.contains(&c.monitor_id.as_str()))
        .map(|c| {
            json!({
                "id": format!("{}-{}", data.id, c.position),
                "name": c.label,
                "status": component_status(c.state),
            })
        })
        .collect()
}

fn incident(data: &PageData, incident: &Incident, url: &str) -> Value {
    let updates: Vec<Value> = incident
        .updates
        .iter()
        .rev()
        .map(|u| {
            json!({
                "id": u.id,
                "status": u.state.as_str(),
                "body": u.body,
                "incident_id": incident.id,
                "created_at": format_ms(u.created_at),
                "updated_at": format_ms(u.created_at),
                "display_at": format_ms(u.created_at),
                "affected_components": null,
            })
        })
        .collect();
    let monitoring_at = incident
        .updates
        .iter()
        .rev()
        .find(|u| u.state == IncidentState::Monitoring)
        .map(|u| format_ms(u.created_at));
    let monitors: Vec<&str> = incident.monitor_id.iter().map(|m| m.as_str()).collect();
    json!({
        "id": incident.id,
        "name": incident.title,
        "status": incident.state.as_str(),
        // An outage confirmed by the checks is major; an operator's notice
        // is minor (the API has no impact field).
        "impact": if incident.monitor_id.is_some() { "major" } else { "minor" },
        "created_at": format_ms(incident.created_at),
        "updated_at": format_ms(incident.updated_at),
        "started_at": format_ms(incident.created_at),
        "monitoring_at": monitoring_at,
        "resolved_at": incident.resolved_at.map(format_ms),
        "shortlink": format!("{url}/history#incident-{}", incident.id),
        "page_id": data.id,
        "incident_updates": updates,
        "components": affected(data, &monitors),
    })
}

fn maintenance(data: &PageData, window: &Maintenance, url: &str) -> Value {
    let monitors: Vec<&str> = window.spec.monitor_ids.iter().map(|m| m.as_str()).collect();
    let status = window.spec.phase(data.at).as_str();
    json!({
        "id": window.id,
        "name": window.spec.title,
        "status": status,
        "impact": "maintenance",
        "created_at": format_ms(window.created_at),
        "updated_at": format_ms(window.updated_at),
        "started_at": format_ms(window.spec.starts_at),
        "scheduled_for": format_ms(window.spec.starts_at),
        "scheduled_until": format_ms(window.spec.ends_at),
        "monitoring_at": null,
        "resolved_at": null,
        "shortlink": format!("{url}/history#maintenance-{}", window.id),
        "page_id": data.id,
        "incident_updates": [{
            "id": format!("{}-0", window.id),
            "status": status,
            "body": window.spec.message.clone().unwrap_or_default(),
            "incident_id": window.id,
            "created_at": format_ms(window.updated_at),
            "updated_at": format_ms(window.updated_at),
            "display_at": format_ms(window.updated_at),
            "affected_components": null,
        }],
        "components": affected(data, &monitors),
    })
}
