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

use crate::audit::AuditEvent;
use crate::ct::CtFinding;
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
        // Beyond the API reference: the TLS configuration grade fell.
        SslGradeChanged = "ssl.grade_changed",
        DomainExpiring = "domain.expiring",
        DnsChanged = "dns.changed",
        HeartbeatMissed = "heartbeat.missed",
        HeartbeatFailed = "heartbeat.failed",
        HeartbeatRecovered = "heartbeat.recovered",
        CtNewCertificate = "ct.new_certificate",
        DmarcNewSource = "dmarc.new_source",
        DmarcFailureRate = "dmarc.failure_rate",
        // Beyond the API reference: every probe agent of a region went
        // silent, and the region is back.
        RegionUnavailable = "region.unavailable",
        RegionAvailable = "region.available",
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

/// What an event is about, kept with it so that every payload format can
/// render from typed facts at delivery time (the CertSentry format from the
/// monitor snapshot and `details`; Cert Spotter and certwatch from the CT
/// finding; the audit-log stream from the audit entry).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventSubject {
    /// A monitor's rule fired (or nothing beyond `monitor` is known).
    #[default]
    Monitor,
    /// A CT finding was decided. `html_url` is where it can be read.
    CtFinding {
        finding: Box<CtFinding>,
        html_url: String,
    },
    /// An audit-log entry, for channels subscribed to `audit.event`.
    Audit { entry: Box<AuditEvent> },
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
    /// What the CertSentry payload and `GET /events` show under `details`.
    pub details: Value,
    pub subject: EventSubject,
    pub created_at: Millis,
}

mod build;
mod rules;
pub use rules::*;
