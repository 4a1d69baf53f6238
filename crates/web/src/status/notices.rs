//! Incidents and maintenance windows as a visitor reads them, shared by
//! the page, its history and the Atom feed. Bodies are operator Markdown,
//! rendered and sanitized once here.

use certsentry_domain::status_page::incident::{Incident, IncidentState};
use certsentry_domain::status_page::maintenance::{Maintenance, MaintenancePhase};
use certsentry_domain::time::{Millis, format_ms};

use super::data::PageData;
use crate::markdown::to_safe_html;

/// `2026-12-05 06:12 UTC`.
pub fn minute(ms: Millis) -> String {
    format!("{} UTC", &format_ms(ms)[..16].replace('T', " "))
}

pub struct UpdateView {
    pub state_label: &'static str,
    pub at: String,
    pub body_html: String,
}

pub struct IncidentView {
    /// The element id on the history page (the feed links to it).
    pub anchor: String,
    pub title: String,
    pub state_class: &'static str,
    pub state_label: &'static str,
    pub started: String,
    pub resolved: Option<String>,
    /// The monitor an outage incident is about, by its public label.
    pub affected: Option<String>,
    /// Newest first.
    pub updates: Vec<UpdateView>,
}

pub struct MaintenanceView {
    pub anchor: String,
    pub title: String,
    pub phase_class: &'static str,
    pub phase_label: &'static str,
    pub window: String,
    pub affected: String,
    pub message_html: Option<String>,
}

fn state_class(state: IncidentState) -> &'static str {
    match state {
        IncidentState::Resolved => "resolved",
        _ => "open",
    }
}

/// The public label of `monitor` on this page.
fn label_of<'a>(data: &'a PageData, monitor: &str) -> Option<&'a str> {
    data.components
        .iter()
        .find(|c| c.monitor_id.as_str() == monitor)
        .map(|c| c.label.as_str())
}

pub fn incident_view(data: &PageData, incident: &Incident) -> IncidentView {
    IncidentView {
        anchor: format!("incident-{}", incident.id),
        title: incident.title.clone(),
        state_class: state_class(incident.state),
        state_label: incident.state.label(),
        started: minute(incident.created_at),
        resolved: incident.resolved_at.map(minute),
        affected: incident
            .monitor_id
            .as_ref()
            .and_then(|m| label_of(data, m.as_str()))
            .map(str::to_string),
        updates: incident
            .updates
            .iter()
            .rev()
            .map(|u| UpdateView {
                state_label: u.state.label(),
                at: minute(u.created_at),
                body_html: to_safe_html(&u.body),
            })
            .collect(),
    }
}

pub fn maintenance_view(data: &PageData, window: &Maintenance) -> MaintenanceView {
    let phase = window.spec.phase(data.at);
    let labels: Vec<&str> = window
        .spec
        .monitor_ids
        .iter()
        .filter_map(|m| label_of(data, m.as_str()))
        .collect();
    MaintenanceView {
        anchor: format!("maintenance-{}", window.id),
        title: window.spec.title.clone(),
        phase_class: match phase {
            MaintenancePhase::Scheduled => "scheduled",
            MaintenancePhase::InProgress => "maintenance",
            MaintenancePhase::Completed => "resolved",
        },
        phase_label: phase.label(),
        window: format!(
            "{} to {}",
            minute(window.spec.starts_at),
            minute(window.spec.ends_at)
        ),
        affected: labels.join(", "),
        message_html: window.spec.message.as_deref().map(to_safe_html),
    }
}

/// The incidents the page itself shows: the open ones.
pub fn active_incidents(data: &PageData) -> Vec<IncidentView> {
    data.incidents
        .iter()
        .filter(|i| i.is_open())
        .map(|i| incident_view(data, i))
        .collect()
}

/// Windows in progress or still to come, soonest first.
pub fn upcoming_maintenance(data: &PageData) -> Vec<MaintenanceView> {
    data.maintenance
        .iter()
        .filter(|w| w.spec.phase(data.at) != MaintenancePhase::Completed)
        .map(|w| maintenance_view(data, w))
        .collect()
}

/// Windows already over, most recent first.
pub fn past_maintenance(data: &PageData) -> Vec<MaintenanceView> {
    data.maintenance
        .iter()
        .rev()
        .filter(|w| w.spec.phase(data.at) == MaintenancePhase::Completed)
        .map(|w| maintenance_view(data, w))
        .collect()
}
