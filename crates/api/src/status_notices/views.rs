//! The JSON forms of incidents and maintenance windows, and the bodies
//! that create and change them.

use certsentry_domain::status_page::incident::{
    Incident, IncidentDraft, IncidentUpdate, IncidentUpdateDraft,
};
use certsentry_domain::status_page::maintenance::{Maintenance, MaintenanceDraft};
use certsentry_domain::time::{Millis, format_ms};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentUpdateView {
    pub id: String,
    /// `investigating`, `identified`, `monitoring` or `resolved`.
    pub state: String,
    /// Markdown.
    pub body: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentView {
    pub id: String,
    pub status_page_id: String,
    pub title: String,
    /// The latest update's state.
    pub state: String,
    /// The monitor whose confirmed outage opened the incident; `null` for
    /// one an operator opened.
    pub monitor_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub resolved_at: Option<String>,
    /// The timeline, oldest first.
    pub updates: Vec<IncidentUpdateView>,
}

impl From<&IncidentUpdate> for IncidentUpdateView {
    fn from(u: &IncidentUpdate) -> Self {
        Self {
            id: u.id.to_string(),
            state: u.state.as_str().into(),
            body: u.body.clone(),
            created_at: format_ms(u.created_at),
        }
    }
}

impl From<&Incident> for IncidentView {
    fn from(i: &Incident) -> Self {
        Self {
            id: i.id.to_string(),
            status_page_id: i.page_id.to_string(),
            title: i.title.clone(),
            state: i.state.as_str().into(),
            monitor_id: i.monitor_id.as_ref().map(ToString::to_string),
            created_at: format_ms(i.created_at),
            updated_at: format_ms(i.updated_at),
            resolved_at: i.resolved_at.map(format_ms),
            updates: i.updates.iter().map(IncidentUpdateView::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentEnvelope {
    pub incident: IncidentView,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentList {
    pub incidents: Vec<IncidentView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceView {
    pub id: String,
    pub status_page_id: String,
    pub title: String,
    /// Markdown.
    pub message: Option<String>,
    pub starts_at: String,
    pub ends_at: String,
    /// `scheduled`, `in_progress` or `completed`, as of the answer.
    pub status: String,
    pub monitor_ids: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl MaintenanceView {
    pub fn at(m: &Maintenance, now: Millis) -> Self {
        Self {
            id: m.id.to_string(),
            status_page_id: m.page_id.to_string(),
            title: m.spec.title.clone(),
            message: m.spec.message.clone(),
            starts_at: format_ms(m.spec.starts_at),
            ends_at: format_ms(m.spec.ends_at),
            status: m.spec.phase(now).as_str().into(),
            monitor_ids: m.spec.monitor_ids.iter().map(ToString::to_string).collect(),
            created_at: format_ms(m.created_at),
            updated_at: format_ms(m.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceEnvelope {
    pub maintenance_window: MaintenanceView,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceList {
    pub maintenance_windows: Vec<MaintenanceView>,
    pub next_cursor: Option<String>,
}

/// Opens an incident: its title and first update.
#[derive(ToSchema, Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IncidentInput {
    pub title: Option<String>,
    /// `investigating`, `identified`, `monitoring` or `resolved`.
    pub state: Option<String>,
    /// Markdown, shown rendered (and sanitized) on the public page.
    pub body: Option<String>,
}

impl From<IncidentInput> for IncidentDraft {
    fn from(i: IncidentInput) -> Self {
        Self {
            title: i.title,
            state: i.state,
            body: i.body,
        }
    }
}

/// The next update of an incident's timeline.
#[derive(ToSchema, Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IncidentUpdateInput {
    /// `investigating`, `identified`, `monitoring` or `resolved`.
    pub state: Option<String>,
    /// Markdown.
    pub body: Option<String>,
}

impl From<IncidentUpdateInput> for IncidentUpdateDraft {
    fn from(i: IncidentUpdateInput) -> Self {
        Self {
            state: i.state,
            body: i.body,
        }
    }
}

/// Announces a maintenance window. Times are RFC 3339; neither may be more
/// than 5 minutes in the past (a window's time is left out of the page's
/// uptime, so the past cannot be rewritten), `endsAt` is after `startsAt`
/// and at most 31 days later, and every monitor id names a monitor shown
/// on this page.
#[derive(ToSchema, Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MaintenanceInput {
    pub title: Option<String>,
    /// Markdown.
    pub message: Option<String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub monitor_ids: Option<Vec<String>>,
}

/// Changes a maintenance window: fields left out (or `null`) keep their
/// values; an empty `message` clears it. The rules of the create body
/// apply to every field sent.
#[derive(ToSchema, Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MaintenanceUpdateInput {
    pub title: Option<String>,
    /// Markdown; empty clears it.
    pub message: Option<String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub monitor_ids: Option<Vec<String>>,
}

impl From<MaintenanceInput> for MaintenanceDraft {
    fn from(i: MaintenanceInput) -> Self {
        Self {
            title: i.title,
            message: Some(i.message),
            starts_at: i.starts_at,
            ends_at: i.ends_at,
            monitor_ids: i.monitor_ids,
        }
    }
}

impl From<MaintenanceUpdateInput> for MaintenanceDraft {
    fn from(i: MaintenanceUpdateInput) -> Self {
        Self {
            title: i.title,
            message: i.message.map(Some),
            starts_at: i.starts_at,
            ends_at: i.ends_at,
            monitor_ids: i.monitor_ids,
        }
    }
}
