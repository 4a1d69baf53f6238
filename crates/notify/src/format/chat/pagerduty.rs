//! PagerDuty Events API v2. A critical event triggers an incident and its
//! recovery resolves it: both carry the same `dedup_key`, the monitor and
//! the rule (`uptime`, `ssl`, `heartbeat`, …), so PagerDuty pairs them.
//! Nothing is ever acknowledged from here.

use certsentry_domain::alert::{Event, EventType, Severity};
use serde_json::{Value, json};

use super::{Message, clip};

/// The rule an event belongs to, shared by a problem and its recovery.
pub fn rule(event_type: EventType) -> &'static str {
    match event_type {
        EventType::UptimeDown | EventType::UptimeUp | EventType::UptimeDegraded => "uptime",
        EventType::SslExpiring | EventType::SslInvalid | EventType::SslValid => "ssl",
        EventType::SslGradeChanged => "tls_grade",
        EventType::DomainExpiring => "domain",
        EventType::DnsChanged => "dns",
        EventType::HeartbeatMissed | EventType::HeartbeatFailed | EventType::HeartbeatRecovered => {
            "heartbeat"
        }
        EventType::CtNewCertificate => "ct",
        EventType::DmarcNewSource | EventType::DmarcFailureRate => "dmarc",
        EventType::RegionUnavailable | EventType::RegionAvailable => "region",
        EventType::AuditEvent => "audit",
    }
}

pub fn payload(event: &Event, message: &Message, routing_key: &str) -> Value {
    let monitor = event
        .monitor
        .as_ref()
        .map_or("certsentry", |m| m.id.as_str());
    let dedup_key = format!("{monitor}:{}", rule(event.event_type));
    let action = if event.severity == Severity::Resolved {
        "resolve"
    } else {
        "trigger"
    };
    let details: serde_json::Map<String, Value> = message
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let mut body = json!({
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key,
    });
    if action == "trigger" {
        body["payload"] = json!({
            "summary": clip(&message.title, 1024),
            "source": message.target.clone().unwrap_or_else(|| "certsentry".into()),
            "severity": if event.severity == Severity::Critical { "critical" } else { "warning" },
            "timestamp": message.timestamp,
            "class": event.event_type.as_str(),
            "custom_details": details,
        });
        if let Some(component) = &message.subject {
            body["payload"]["component"] = json!(component);
        }
        if let Some(link) = &message.link {
            body["links"] = json!([{ "href": link, "text": "Open CertSentry" }]);
        }
    }
    body
}
