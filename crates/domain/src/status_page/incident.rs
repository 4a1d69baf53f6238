//! Incidents on a status page: what happened, told as a timeline of
//! updates, each moving the incident through `investigating`, `identified`,
//! `monitoring` and `resolved`.
//!
//! Operators open and update incidents through the API. The engine opens
//! one by itself when a monitor shown on a page has a confirmed outage
//! (`uptime.down`), and resolves it when the monitor recovers; such an
//! incident names its monitor.

use crate::errors::FieldErrors;
use crate::id::{IncidentId, IncidentUpdateId, MonitorId, OrgId, StatusPageId};
use crate::string_enum::string_enum;
use crate::time::Millis;

string_enum!(
    /// Where an incident stands (Statuspage's words, which visitors and
    /// status aggregators already know).
    IncidentState {
        Investigating = "investigating",
        Identified = "identified",
        Monitoring = "monitoring",
        Resolved = "resolved",
    }
);

impl IncidentState {
    /// As a visitor reads it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Investigating => "Investigating",
            Self::Identified => "Identified",
            Self::Monitoring => "Monitoring",
            Self::Resolved => "Resolved",
        }
    }
}

/// Titles are at most this many characters.
pub const MAX_TITLE_CHARS: usize = 120;
/// A Markdown body is at most this many characters.
pub const MAX_BODY_CHARS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentUpdate {
    pub id: IncidentUpdateId,
    pub state: IncidentState,
    /// Markdown, as the operator wrote it (rendered safely where shown).
    pub body: String,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub id: IncidentId,
    pub org_id: OrgId,
    pub page_id: StatusPageId,
    pub title: String,
    /// The latest update's state.
    pub state: IncidentState,
    /// The monitor whose confirmed outage opened it; `None` when an
    /// operator opened it.
    pub monitor_id: Option<MonitorId>,
    /// Oldest first; never empty.
    pub updates: Vec<IncidentUpdate>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub resolved_at: Option<Millis>,
}

impl Incident {
    /// A new incident whose first update is `state` and `body`.
    pub fn open(
        org_id: &OrgId,
        page_id: &StatusPageId,
        title: String,
        state: IncidentState,
        body: String,
        monitor_id: Option<MonitorId>,
        now: Millis,
    ) -> Self {
        let mut incident = Self {
            id: IncidentId::generated_at(now),
            org_id: org_id.clone(),
            page_id: page_id.clone(),
            title,
            state,
            monitor_id,
            updates: Vec::new(),
            created_at: now,
            updated_at: now,
            resolved_at: None,
        };
        incident.push(state, body, now);
        incident
    }

    /// Adds an update: the incident takes its state, and is resolved (or
    /// reopened) with it.
    pub fn push(&mut self, state: IncidentState, body: String, now: Millis) -> &IncidentUpdate {
        self.state = state;
        self.updated_at = now;
        self.resolved_at = (state == IncidentState::Resolved).then_some(now);
        self.updates.push(IncidentUpdate {
            id: IncidentUpdateId::generated_at(now),
            state,
            body,
            created_at: now,
        });
        self.updates.last().expect("just pushed")
    }

    pub fn is_open(&self) -> bool {
        self.state != IncidentState::Resolved
    }
}

/// An incident as a client described it, before validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentDraft {
    pub title: Option<String>,
    pub state: Option<String>,
    pub body: Option<String>,
}

/// A new update as a client described it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentUpdateDraft {
    pub state: Option<String>,
    pub body: Option<String>,
}

/// A valid new incident: its title and its first update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentSpec {
    pub title: String,
    pub state: IncidentState,
    pub body: String,
}

fn required_text(errors: &mut FieldErrors, field: &str, value: Option<&str>, max: usize) -> String {
    match value.map(str::trim) {
        None => {
            errors.add(field, "is required");
            String::new()
        }
        Some(t) if t.is_empty() || t.chars().count() > max => {
            errors.add(field, format!("must be 1-{max} characters"));
            String::new()
        }
        Some(t) => t.to_string(),
    }
}

fn required_state(errors: &mut FieldErrors, value: Option<&str>) -> IncidentState {
    match value.map(IncidentState::parse) {
        Some(Some(state)) => state,
        Some(None) => {
            errors.add(
                "state",
                "must be investigating, identified, monitoring or resolved",
            );
            IncidentState::Investigating
        }
        None => {
            errors.add("state", "is required");
            IncidentState::Investigating
        }
    }
}

pub fn validate_incident(draft: &IncidentDraft) -> Result<IncidentSpec, FieldErrors> {
    let mut errors = FieldErrors::new();
    let title = required_text(
        &mut errors,
        "title",
        draft.title.as_deref(),
        MAX_TITLE_CHARS,
    );
    let state = required_state(&mut errors, draft.state.as_deref());
    let body = required_text(&mut errors, "body", draft.body.as_deref(), MAX_BODY_CHARS);
    errors.into_result()?;
    Ok(IncidentSpec { title, state, body })
}

pub fn validate_incident_update(
    draft: &IncidentUpdateDraft,
) -> Result<(IncidentState, String), FieldErrors> {
    let mut errors = FieldErrors::new();
    let state = required_state(&mut errors, draft.state.as_deref());
    let body = required_text(&mut errors, "body", draft.body.as_deref(), MAX_BODY_CHARS);
    errors.into_result()?;
    Ok((state, body))
}

/// The incident the engine opens when `label` (the monitor's public label
/// on the page) has a confirmed outage.
pub fn automatic_opening(label: &str) -> IncidentSpec {
    let mut title: String = format!("{label} is down");
    if title.chars().count() > MAX_TITLE_CHARS {
        title = title.chars().take(MAX_TITLE_CHARS).collect();
    }
    IncidentSpec {
        title,
        state: IncidentState::Investigating,
        body: format!(
            "Our checks from several regions confirm that {label} is not responding. \
             We are investigating."
        ),
    }
}

/// The update that resolves an automatic incident on recovery.
pub fn automatic_resolution(label: &str) -> String {
    format!("{label} is responding again. Our checks confirm the recovery.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incident_takes_each_updates_state() {
        let org = OrgId::from_string("o");
        let page = StatusPageId::from_string("p");
        let mut incident = Incident::open(
            &org,
            &page,
            "API errors".into(),
            IncidentState::Investigating,
            "Looking".into(),
            None,
            1_000,
        );
        assert!(incident.is_open());
        incident.push(IncidentState::Resolved, "Fixed".into(), 2_000);
        assert_eq!(incident.resolved_at, Some(2_000));
        assert!(!incident.is_open());
        incident.push(IncidentState::Identified, "It is back".into(), 3_000);
        assert_eq!(incident.resolved_at, None);
        assert_eq!(incident.updates.len(), 3);
        assert_eq!(incident.updated_at, 3_000);
    }

    #[test]
    fn drafts_are_checked_field_by_field() {
        let errors = validate_incident(&IncidentDraft {
            title: Some(" ".into()),
            state: Some("fixed".into()),
            body: None,
        })
        .unwrap_err();
        let text = format!("{errors:?}");
        assert!(
            text.contains("title") && text.contains("state") && text.contains("body"),
            "{text}"
        );
        let spec = validate_incident(&IncidentDraft {
            title: Some(" Slow API ".into()),
            state: Some("identified".into()),
            body: Some("**Cause:** a bad deploy".into()),
        })
        .unwrap();
        assert_eq!(spec.title, "Slow API");
        assert_eq!(spec.state, IncidentState::Identified);
        assert!(validate_incident_update(&IncidentUpdateDraft::default()).is_err());
    }

    #[test]
    fn automatic_titles_fit() {
        let spec = automatic_opening(&"x".repeat(200));
        assert_eq!(spec.title.chars().count(), MAX_TITLE_CHARS);
        assert_eq!(automatic_opening("Website").title, "Website is down");
    }
}
