//! Alert events: the API reference's 14 event types, their severities, and the rules
//! that turn a monitor's observations into events.
//!
//! Each rule is a pure function of the last *alert state* (a short string
//! stored per monitor and key, such as `ssl` → `invalid`) and the new
//! observation. It answers with the next state and, maybe, an event. The
//! engine stores the state change with compare-and-swap and the event in the
//! same transaction, so two nodes never emit the same event.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::time::Millis;
use crate::{EventId, MonitorId, OrgId};

use crate::string_enum::string_enum;

string_enum!(
    /// The API reference's event table.
    EventType {
        UptimeDown = "uptime.down",
        UptimeUp = "uptime.up",
        UptimeDegraded = "uptime.degraded",
        SslExpiring = "ssl.expiring",
        SslInvalid = "ssl.invalid",
        SslValid = "ssl.valid",
        DomainExpiring = "domain.expiring",
        DnsChanged = "dns.changed",
        HeartbeatMissed = "heartbeat.missed",
        HeartbeatFailed = "heartbeat.failed",
        HeartbeatRecovered = "heartbeat.recovered",
        CtNewCertificate = "ct.new_certificate",
        DmarcNewSource = "dmarc.new_source",
        DmarcFailureRate = "dmarc.failure_rate",
        // Not an alert: the audit-log stream, for channels that subscribe to it by name.
        AuditEvent = "audit.event",
    }
);

string_enum!(
    /// How urgent an event is, exactly as the API reference's payload spells it.
    Severity {
        Critical = "critical",
        Warning = "warning",
        Resolved = "resolved",
    }
);

impl EventType {
    /// CT events, the only ones the `certspotter` and `certwatch` formats carry.
    pub fn is_ct(self) -> bool {
        self == EventType::CtNewCertificate
    }

    /// The audit-log stream rather than an alert.
    pub fn is_audit(self) -> bool {
        self == EventType::AuditEvent
    }
}

/// The monitor an event is about, as the payload shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMonitor {
    pub id: String,
    pub label: String,
    pub target: Option<String>,
}

/// A stored alert event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: EventId,
    pub org_id: OrgId,
    pub monitor_id: Option<MonitorId>,
    /// The monitor's environment when the event fired (for channel routing).
    pub environment_id: Option<String>,
    pub event_type: EventType,
    pub severity: Severity,
    /// The payload's `status`: the monitor's status, or the subject's state.
    pub status: String,
    pub monitor: Option<EventMonitor>,
    pub details: Value,
    pub created_at: Millis,
}

impl Event {
    /// `details` without the bodies kept for other payload formats.
    fn shown_details(&self) -> Value {
        match &self.details {
            Value::Object(map) if map.contains_key(crate::ct::FORMAT_BODIES) => {
                let mut map = map.clone();
                map.remove(crate::ct::FORMAT_BODIES);
                Value::Object(map)
            }
            other => other.clone(),
        }
    }

    /// The API reference's webhook payload: `{event, severity, status, monitor, details, timestamp}`.
    pub fn payload(&self) -> Value {
        serde_json::json!({
            "event": self.event_type.as_str(),
            "severity": self.severity.as_str(),
            "status": self.status,
            "monitor": self.monitor,
            "details": self.shown_details(),
            "timestamp": crate::time::format_ms(self.created_at),
        })
    }
}

/// The audit-log webhook's event: the API reference's `audit.event` shape, ready to
/// send (`details` is the whole body).
pub fn audit_event(audit: &crate::audit::AuditEvent) -> Event {
    Event {
        id: EventId::generate(),
        org_id: audit.org_id.clone(),
        monitor_id: None,
        environment_id: None,
        event_type: EventType::AuditEvent,
        severity: Severity::Resolved,
        status: "recorded".into(),
        monitor: None,
        details: serde_json::json!({
            "type": "audit.event",
            "id": audit.id.as_str(),
            "event": audit.action,
            "actor": { "id": audit.actor.id, "name": audit.actor.name, "email": null },
            "target": { "type": audit.target_type, "id": audit.target_id },
            "metadata": audit.metadata,
            "timestamp": crate::time::format_ms(audit.created_at),
        }),
        created_at: audit.created_at,
    }
}

mod rules;
pub use rules::*;
