//! The one place events are built, whatever fed them: a monitor's rule
//! (the checker and heartbeats), a decided CT finding, or an audit entry.
//! Every feed then shares the same store call and the same outbox.

use serde_json::json;

use super::{Draft, Event, EventMonitor, EventSubject, EventType, Severity};
use crate::EventId;
use crate::audit::AuditEvent;
use crate::ct::{CtFinding, FindingState};
use crate::monitor::Monitor;
use crate::time::{Millis, format_ms};

impl EventMonitor {
    /// The payload's snapshot of `monitor` as it is now.
    pub fn of(monitor: &Monitor) -> Self {
        Self {
            id: monitor.id.to_string(),
            label: monitor.spec.label.clone(),
            target: monitor.spec.target.clone(),
        }
    }
}

fn environment_of(monitor: &Monitor) -> Option<String> {
    monitor.spec.environment_id.as_ref().map(|e| e.to_string())
}

impl Event {
    /// A rule's draft about `monitor`, made at `now`.
    pub fn about_monitor(monitor: &Monitor, draft: Draft, now: Millis) -> Self {
        Self {
            id: EventId::generate(),
            org_id: monitor.org_id.clone(),
            monitor_id: Some(monitor.id.clone()),
            environment_id: environment_of(monitor),
            event_type: draft.event_type,
            severity: draft.severity,
            status: draft.status,
            monitor: Some(EventMonitor::of(monitor)),
            details: draft.details,
            subject: EventSubject::Monitor,
            created_at: now,
        }
    }

    /// The `ct.new_certificate` event of a decided finding. `monitor` is the
    /// first monitor that watches one of its names, if any; `html_url` is
    /// where the finding can be read.
    pub fn about_ct_finding(
        finding: &CtFinding,
        monitor: Option<&Monitor>,
        html_url: String,
        now: Millis,
    ) -> Self {
        let known = finding.state == FindingState::Known;
        let details = json!({
            "Certificate": finding.dns_names.join(", "),
            "Matched": finding.dns_names_matched().join(", "),
            "Issuer": finding.issuer.friendly_name.clone().unwrap_or_else(|| finding.issuer.name.clone()),
            "Known": known,
            "Valid from": format_ms(finding.not_before),
            "Valid until": format_ms(finding.not_after),
            "Serial": finding.serial,
            "tbsSha256": finding.tbs_sha256,
            "certSha256": finding.cert_sha256,
            "Log": finding.source,
            "certificateId": finding.id.as_str(),
        });
        Self {
            id: EventId::generate(),
            org_id: finding.org_id.clone(),
            monitor_id: finding.monitor_id.clone(),
            environment_id: monitor.and_then(environment_of),
            event_type: EventType::CtNewCertificate,
            // Known certificates are on record, nothing to act on.
            severity: if known {
                Severity::Resolved
            } else {
                Severity::Warning
            },
            status: finding.state.as_str().to_string(),
            monitor: monitor.map(EventMonitor::of),
            details,
            subject: EventSubject::CtFinding {
                finding: Box::new(finding.clone()),
                html_url,
            },
            created_at: now,
        }
    }

    /// The audit-log stream's event for `entry` (not an alert: channels
    /// receive it only by subscribing to `audit.event` by name).
    pub fn about_audit(entry: &AuditEvent) -> Self {
        Self {
            id: EventId::generate(),
            org_id: entry.org_id.clone(),
            monitor_id: None,
            environment_id: None,
            event_type: EventType::AuditEvent,
            severity: Severity::Resolved,
            status: "recorded".into(),
            monitor: None,
            // What an email shows; the webhook body is the audit format's.
            details: json!({
                "event": entry.action,
                "actor": entry.actor.name,
                "target": format!("{} {}", entry.target_type, entry.target_id),
                "metadata": entry.metadata,
            }),
            subject: EventSubject::Audit {
                entry: Box::new(entry.clone()),
            },
            created_at: entry.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ct::sample_finding;

    #[test]
    fn ct_events_grade_known_and_suspicious() {
        let suspicious = Event::about_ct_finding(
            &sample_finding(FindingState::Suspicious),
            None,
            "u".into(),
            5,
        );
        assert_eq!(suspicious.severity, Severity::Warning);
        assert_eq!(suspicious.status, "suspicious");
        assert_eq!(suspicious.details["Matched"], "foo.example.org");
        let known =
            Event::about_ct_finding(&sample_finding(FindingState::Known), None, "u".into(), 5);
        assert_eq!(known.severity, Severity::Resolved);
        assert!(matches!(known.subject, EventSubject::CtFinding { .. }));
    }
}
