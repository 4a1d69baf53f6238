//! Maintenance windows: work announced on a status page ahead of time.
//!
//! While a window is active its monitors show "maintenance", checks still
//! run but the uptime rule sends no `uptime.down` or `uptime.degraded` for
//! them, and the window's time is left out of the page's uptime figures.
//! Because of that last effect, a window cannot be placed in the past:
//! otherwise an outage could be erased from the record after the fact.

use crate::errors::FieldErrors;
use crate::id::{MaintenanceId, MonitorId, OrgId, StatusPageId};
use crate::time::{Millis, parse_datetime};

use super::incident::MAX_TITLE_CHARS;

/// A message is at most this many characters (Markdown).
pub const MAX_MESSAGE_CHARS: usize = 2_000;
/// A window lasts at most this long.
pub const MAX_DURATION_MS: Millis = 31 * 86_400_000;
/// How far in the past a start or end may be set: clocks differ, and
/// "starting now" sent from a client is a little old when it arrives.
pub const PAST_GRACE_MS: Millis = 5 * 60_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceSpec {
    pub title: String,
    pub message: Option<String>,
    pub starts_at: Millis,
    pub ends_at: Millis,
    /// The page's monitors it concerns, in the order given.
    pub monitor_ids: Vec<MonitorId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maintenance {
    pub id: MaintenanceId,
    pub org_id: OrgId,
    pub page_id: StatusPageId,
    pub spec: MaintenanceSpec,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// Where a window stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaintenancePhase {
    Scheduled,
    InProgress,
    Completed,
}

impl MaintenancePhase {
    /// Statuspage's words (`scheduled_maintenances[].status`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Scheduled => "Scheduled",
            Self::InProgress => "In progress",
            Self::Completed => "Completed",
        }
    }
}

impl MaintenanceSpec {
    pub fn phase(&self, now: Millis) -> MaintenancePhase {
        if now < self.starts_at {
            MaintenancePhase::Scheduled
        } else if now < self.ends_at {
            MaintenancePhase::InProgress
        } else {
            MaintenancePhase::Completed
        }
    }

    pub fn covers(&self, monitor: &MonitorId, at: Millis) -> bool {
        self.starts_at <= at && at < self.ends_at && self.monitor_ids.contains(monitor)
    }
}

/// A window as a client described it. On a change (`PATCH`), fields left
/// out keep their stored values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MaintenanceDraft {
    pub title: Option<String>,
    /// `Some(None)`: cleared.
    pub message: Option<Option<String>>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub monitor_ids: Option<Vec<String>>,
}

/// Validates a new window (`previous` is `None`) or a change to one. The
/// page's monitors are `on_page`: a window may only name those.
pub fn validate_maintenance(
    draft: &MaintenanceDraft,
    previous: Option<&MaintenanceSpec>,
    on_page: &[MonitorId],
    now: Millis,
) -> Result<MaintenanceSpec, FieldErrors> {
    let mut errors = FieldErrors::new();
    let title = match (draft.title.as_deref().map(str::trim), previous) {
        (None, Some(p)) => p.title.clone(),
        (None, None) => {
            errors.add("title", "is required");
            String::new()
        }
        (Some(t), _) if t.is_empty() || t.chars().count() > MAX_TITLE_CHARS => {
            errors.add("title", format!("must be 1-{MAX_TITLE_CHARS} characters"));
            String::new()
        }
        (Some(t), _) => t.to_string(),
    };
    let message = match (&draft.message, previous) {
        (None, Some(p)) => p.message.clone(),
        (None, None) | (Some(None), _) => None,
        (Some(Some(m)), _) if m.chars().count() > MAX_MESSAGE_CHARS => {
            errors.add(
                "message",
                format!("must be at most {MAX_MESSAGE_CHARS} characters"),
            );
            None
        }
        (Some(Some(m)), _) => Some(m.trim().to_string()).filter(|m| !m.is_empty()),
    };
    let mut time = |field: &str, value: Option<&str>, kept: Option<Millis>| -> Option<Millis> {
        match (value, kept) {
            (None, Some(kept)) => Some(kept),
            (None, None) => {
                errors.add(field, "is required");
                None
            }
            (Some(text), _) => match parse_datetime(text) {
                None => {
                    errors.add(field, "must be an RFC 3339 date-time");
                    None
                }
                Some(at) if at < now - PAST_GRACE_MS => {
                    errors.add(field, "must not be in the past");
                    None
                }
                Some(at) => Some(at),
            },
        }
    };
    let starts_at = time(
        "startsAt",
        draft.starts_at.as_deref(),
        previous.map(|p| p.starts_at),
    );
    let ends_at = time(
        "endsAt",
        draft.ends_at.as_deref(),
        previous.map(|p| p.ends_at),
    );
    if let (Some(start), Some(end)) = (starts_at, ends_at) {
        if end <= start {
            errors.add("endsAt", "must be after startsAt");
        } else if end - start > MAX_DURATION_MS {
            errors.add("endsAt", "must be at most 31 days after startsAt");
        }
    }
    let monitor_ids = match (&draft.monitor_ids, previous) {
        (None, Some(p)) => p.monitor_ids.clone(),
        (None, None) => {
            errors.add("monitorIds", "is required");
            Vec::new()
        }
        (Some(ids), _) if ids.is_empty() => {
            errors.add("monitorIds", "must name at least one monitor");
            Vec::new()
        }
        (Some(ids), _) => {
            let mut chosen: Vec<MonitorId> = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                let id = MonitorId::from_string(id.as_str());
                if !on_page.contains(&id) {
                    errors.add(
                        format!("monitorIds[{i}]"),
                        "is not a monitor shown on this status page",
                    );
                } else if !chosen.contains(&id) {
                    chosen.push(id);
                }
            }
            chosen
        }
    };
    errors.into_result()?;
    Ok(MaintenanceSpec {
        title,
        message,
        starts_at: starts_at.unwrap_or_default(),
        ends_at: ends_at.unwrap_or_default(),
        monitor_ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::format_ms;

    const NOW: Millis = 1_800_000_000_000;
    const HOUR: Millis = 3_600_000;

    fn draft(start: Millis, end: Millis) -> MaintenanceDraft {
        MaintenanceDraft {
            title: Some("Database upgrade".into()),
            message: Some(Some("Expect a short outage.".into())),
            starts_at: Some(format_ms(start)),
            ends_at: Some(format_ms(end)),
            monitor_ids: Some(vec!["m1".into(), "m1".into()]),
        }
    }

    fn page() -> Vec<MonitorId> {
        vec![MonitorId::from_string("m1"), MonitorId::from_string("m2")]
    }

    #[test]
    fn a_window_has_phases_and_covers_its_monitors() {
        let spec =
            validate_maintenance(&draft(NOW + HOUR, NOW + 2 * HOUR), None, &page(), NOW).unwrap();
        assert_eq!(spec.monitor_ids, vec![MonitorId::from_string("m1")]);
        assert_eq!(spec.phase(NOW), MaintenancePhase::Scheduled);
        assert_eq!(spec.phase(NOW + HOUR), MaintenancePhase::InProgress);
        assert_eq!(spec.phase(NOW + 2 * HOUR), MaintenancePhase::Completed);
        assert!(spec.covers(&MonitorId::from_string("m1"), NOW + HOUR));
        assert!(!spec.covers(&MonitorId::from_string("m2"), NOW + HOUR));
    }

    #[test]
    fn windows_cannot_rewrite_the_past() {
        let errors = validate_maintenance(&draft(NOW - 2 * HOUR, NOW - HOUR), None, &page(), NOW)
            .unwrap_err();
        assert!(format!("{errors:?}").contains("in the past"));
        let errors = validate_maintenance(&draft(NOW + HOUR, NOW), None, &page(), NOW).unwrap_err();
        assert!(format!("{errors:?}").contains("after startsAt"));
        let mut other = draft(NOW, NOW + HOUR);
        other.monitor_ids = Some(vec!["elsewhere".into()]);
        assert!(validate_maintenance(&other, None, &page(), NOW).is_err());
    }

    #[test]
    fn a_change_keeps_what_it_leaves_out() {
        let started = validate_maintenance(&draft(NOW, NOW + HOUR), None, &page(), NOW).unwrap();
        // An hour later the window is running: its start is in the past, and
        // ending it early is allowed.
        let later = NOW + HOUR / 2;
        let change = MaintenanceDraft {
            ends_at: Some(format_ms(later)),
            ..Default::default()
        };
        let changed = validate_maintenance(&change, Some(&started), &page(), later).unwrap();
        assert_eq!(changed.starts_at, NOW);
        assert_eq!(changed.ends_at, later);
        assert_eq!(changed.title, "Database upgrade");
    }
}
