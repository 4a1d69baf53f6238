//! Alert events: the seed's 14 event types, their severities, and the rules
//! that turn a monitor's observations into events.
//!
//! Each rule is a pure function of the last *alert state* (a short string
//! stored per monitor and key, such as `ssl` → `invalid`) and the new
//! observation. It answers with the next state and, maybe, an event. The
//! engine stores the state change with compare-and-swap and the event in the
//! same transaction, so two nodes never emit the same event.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::monitor::MonitorStatus;
use crate::time::Millis;
use crate::{EventId, MonitorId, OrgId};

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)* _ => None }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| {
                    let all: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    serde::de::Error::custom(format!("unknown value {s:?}; expected one of {}", all.join(", ")))
                })
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(
    /// The seed's event table.
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
    /// How urgent an event is, exactly as the seed's payload spells it.
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

    /// The seed's webhook payload: `{event, severity, status, monitor, details, timestamp}`.
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

/// What a rule decided: the next alert state, and an event when one fires.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub next: String,
    pub event: Option<Draft>,
}

/// An event before it has an id, a monitor snapshot and a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub event_type: EventType,
    pub severity: Severity,
    pub status: String,
    pub details: Value,
}

impl Draft {
    fn new(event_type: EventType, severity: Severity, status: &str, details: Value) -> Self {
        Self {
            event_type,
            severity,
            status: status.to_string(),
            details,
        }
    }
}

/// The audit-log webhook's event: the seed's `audit.event` shape, ready to
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

/// The uptime rule (state key `uptime`): down on a confirmed outage, up on
/// recovery from one, degraded once per degraded episode.
pub fn uptime(previous: Option<&str>, now: MonitorStatus, last_error: Option<&str>) -> Decision {
    let details = match last_error {
        Some(error) => serde_json::json!({ "Last error": error }),
        None => serde_json::json!({}),
    };
    let event = match (previous, now) {
        (Some("down"), MonitorStatus::Down) | (Some("degraded"), MonitorStatus::Degraded) => None,
        (_, MonitorStatus::Down) => Some(Draft::new(
            EventType::UptimeDown,
            Severity::Critical,
            "down",
            details,
        )),
        (Some("down"), MonitorStatus::Up | MonitorStatus::Degraded) => Some(Draft::new(
            EventType::UptimeUp,
            Severity::Resolved,
            "up",
            serde_json::json!({}),
        )),
        (_, MonitorStatus::Degraded) => Some(Draft::new(
            EventType::UptimeDegraded,
            Severity::Warning,
            "degraded",
            details,
        )),
        _ => None,
    };
    Decision {
        next: now.as_str().to_string(),
        event,
    }
}

/// The SSL validity rule (state key `ssl`): invalid on a problem, valid
/// again when an earlier problem is resolved.
pub fn ssl_validity(previous: Option<&str>, valid: bool, error: Option<&str>) -> Decision {
    let event = match (previous, valid) {
        (Some("invalid"), false) | (None | Some("valid"), true) => None,
        (_, false) => Some(Draft::new(
            EventType::SslInvalid,
            Severity::Critical,
            "invalid",
            serde_json::json!({ "Error": error.unwrap_or("invalid certificate") }),
        )),
        (Some(_), true) => Some(Draft::new(
            EventType::SslValid,
            Severity::Resolved,
            "valid",
            serde_json::json!({}),
        )),
    };
    Decision {
        next: if valid { "valid" } else { "invalid" }.to_string(),
        event,
    }
}

/// The lead-day thresholds `days_left` has crossed, most urgent first.
/// Each crossed threshold fires once per subject (certificate or expiry
/// date); the engine keys its state by subject, so a renewal starts over.
pub fn crossed_thresholds(lead_days: &[u16], expires_at: Millis, now: Millis) -> Vec<u16> {
    let days_left = (expires_at - now).div_euclid(86_400_000);
    let mut crossed: Vec<u16> = lead_days
        .iter()
        .copied()
        .filter(|lead| days_left < i64::from(*lead))
        .collect();
    crossed.sort_unstable();
    crossed.dedup();
    crossed
}

/// An expiring event (`ssl.expiring` or `domain.expiring`) for the most
/// urgent newly crossed threshold.
pub fn expiring(
    event_type: EventType,
    threshold: u16,
    expires_at: Millis,
    now: Millis,
    subject: Value,
) -> Draft {
    let days_left = (expires_at - now).div_euclid(86_400_000);
    let severity = if days_left <= 3 {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let mut details = serde_json::json!({
        "Expires": crate::time::format_ms(expires_at),
        "Days left": days_left,
        "Threshold (days)": threshold,
    });
    if let (Value::Object(map), Value::Object(extra)) = (&mut details, subject) {
        map.extend(extra);
    }
    Draft::new(event_type, severity, "expiring", details)
}

/// The heartbeat rule (state key `heartbeat`): `ok`, `missed` or `failed`.
pub fn heartbeat(previous: Option<&str>, now: &str, detail: Option<&str>) -> Decision {
    let details = match detail {
        Some(d) => serde_json::json!({ "Last error": d }),
        None => serde_json::json!({}),
    };
    let event = match (previous, now) {
        (Some(p), n) if p == n => None,
        (_, "missed") => Some(Draft::new(
            EventType::HeartbeatMissed,
            Severity::Critical,
            "down",
            details,
        )),
        (_, "failed") => Some(Draft::new(
            EventType::HeartbeatFailed,
            Severity::Critical,
            "down",
            details,
        )),
        (Some("missed" | "failed"), "ok") => Some(Draft::new(
            EventType::HeartbeatRecovered,
            Severity::Resolved,
            "up",
            details,
        )),
        _ => None,
    };
    Decision {
        next: now.to_string(),
        event,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_event_type_round_trips() {
        // The seed's 14 alert types, plus the audit-log stream.
        assert_eq!(EventType::ALL.len(), 15);
        assert_eq!(EventType::ALL.iter().filter(|t| !t.is_audit()).count(), 14);
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
        }
        assert!(EventType::parse("uptime.sideways").is_none());
    }

    #[test]
    fn uptime_fires_on_transitions_only() {
        let down = uptime(Some("up"), MonitorStatus::Down, Some("connect timeout"));
        let event = down.event.unwrap();
        assert_eq!(event.event_type, EventType::UptimeDown);
        assert_eq!(event.severity, Severity::Critical);
        assert_eq!(event.details["Last error"], "connect timeout");
        assert_eq!(down.next, "down");
        assert!(
            uptime(Some("down"), MonitorStatus::Down, None)
                .event
                .is_none()
        );
        assert_eq!(
            uptime(Some("down"), MonitorStatus::Up, None)
                .event
                .unwrap()
                .event_type,
            EventType::UptimeUp
        );
        // Degraded once per episode.
        let degraded = uptime(Some("up"), MonitorStatus::Degraded, None);
        assert_eq!(
            degraded.event.unwrap().event_type,
            EventType::UptimeDegraded
        );
        assert!(
            uptime(Some("degraded"), MonitorStatus::Degraded, None)
                .event
                .is_none()
        );
        assert!(
            uptime(Some("degraded"), MonitorStatus::Up, None)
                .event
                .is_none()
        );
        assert!(uptime(None, MonitorStatus::Up, None).event.is_none());
        assert!(uptime(None, MonitorStatus::Unknown, None).event.is_none());
    }

    #[test]
    fn ssl_validity_transitions() {
        assert!(ssl_validity(None, true, None).event.is_none());
        let invalid = ssl_validity(Some("valid"), false, Some("expired"))
            .event
            .unwrap();
        assert_eq!(invalid.event_type, EventType::SslInvalid);
        assert_eq!(invalid.details["Error"], "expired");
        assert!(ssl_validity(Some("invalid"), false, None).event.is_none());
        assert_eq!(
            ssl_validity(Some("invalid"), true, None)
                .event
                .unwrap()
                .event_type,
            EventType::SslValid
        );
        assert!(ssl_validity(None, false, None).event.is_some());
    }

    #[test]
    fn thresholds_cross_by_whole_days() {
        let day = 86_400_000;
        let now = 1_000 * day;
        assert_eq!(
            crossed_thresholds(&[30, 14, 7], now + 40 * day, now),
            Vec::<u16>::new()
        );
        assert_eq!(
            crossed_thresholds(&[30, 14, 7], now + 20 * day, now),
            vec![30]
        );
        assert_eq!(
            crossed_thresholds(&[30, 14, 7], now + 5 * day, now),
            vec![7, 14, 30]
        );
        let draft = expiring(
            EventType::SslExpiring,
            7,
            now + 2 * day,
            now,
            serde_json::json!({"Fingerprint": "ab"}),
        );
        assert_eq!(draft.severity, Severity::Critical);
        assert_eq!(draft.details["Days left"], 2);
        assert_eq!(draft.details["Fingerprint"], "ab");
    }

    #[test]
    fn heartbeat_transitions() {
        assert!(heartbeat(None, "ok", None).event.is_none());
        assert_eq!(
            heartbeat(Some("ok"), "missed", None)
                .event
                .unwrap()
                .event_type,
            EventType::HeartbeatMissed
        );
        assert_eq!(
            heartbeat(Some("ok"), "failed", None)
                .event
                .unwrap()
                .event_type,
            EventType::HeartbeatFailed
        );
        assert!(heartbeat(Some("failed"), "failed", None).event.is_none());
        assert_eq!(
            heartbeat(Some("missed"), "ok", None)
                .event
                .unwrap()
                .event_type,
            EventType::HeartbeatRecovered
        );
    }
}
