//! Every chat and paging service's message for every event type, pinned
//! with insta: a change to any rendering shows up as a reviewed diff.

use certsentry_domain::alert::{Event, EventMonitor, EventSubject, EventType, Severity};
use certsentry_domain::{EventId, OrgId};
use certsentry_notify::format::chat::{Message, discord, ntfy, pagerduty, slack, teams, telegram};
use serde_json::{Value, json};

/// A plausible event of each type, with the details the rules attach.
fn event(event_type: EventType) -> Event {
    use EventType::*;
    let (severity, status, details) = match event_type {
        UptimeDown => (
            Severity::Critical,
            "down",
            json!({"Last error": "connect timeout", "Regions": "virginia, dublin"}),
        ),
        UptimeUp => (Severity::Resolved, "up", json!({"Down for": "12 min"})),
        UptimeDegraded => (
            Severity::Warning,
            "degraded",
            json!({"Latency": "2,340 ms", "Threshold": "1,000 ms"}),
        ),
        SslExpiring => (
            Severity::Warning,
            "expiring",
            json!({"Expires": "2026-12-12T00:00:00.000Z", "Days left": 7}),
        ),
        SslInvalid => (
            Severity::Critical,
            "invalid",
            json!({"Error": "hostname mismatch"}),
        ),
        SslValid => (
            Severity::Resolved,
            "valid",
            json!({"Expires": "2027-03-01T00:00:00.000Z"}),
        ),
        DomainExpiring => (
            Severity::Warning,
            "expiring",
            json!({"Domain": "acme.example", "Days left": 14}),
        ),
        DnsChanged => (
            Severity::Warning,
            "changed",
            json!({"Record": "A", "Before": "192.0.2.1", "After": "192.0.2.9"}),
        ),
        HeartbeatMissed => (
            Severity::Critical,
            "missed",
            json!({"Last ping": "2026-12-05T01:00:00.000Z"}),
        ),
        HeartbeatFailed => (
            Severity::Critical,
            "failed",
            json!({"Message": "backup exited 1 <disk full> & retried"}),
        ),
        HeartbeatRecovered => (Severity::Resolved, "recovered", json!({})),
        CtNewCertificate => (
            Severity::Warning,
            "suspicious",
            json!({"Certificate": "shop.acme.example", "Issuer": "Let's Encrypt R11", "Known": false}),
        ),
        DmarcNewSource => (
            Severity::Warning,
            "new_source",
            json!({"Source IP": "203.0.113.66", "PTR": "mta7.bulk.example", "Failing messages": 12, "Reporter": "google.com"}),
        ),
        DmarcFailureRate => (
            Severity::Warning,
            "failure_rate",
            json!({"Failure rate": "9.5 %", "Threshold": "5 %", "Reporter": "google.com"}),
        ),
        AuditEvent => (
            Severity::Resolved,
            "audit",
            json!({"Action": "monitor.update"}),
        ),
    };
    Event {
        id: EventId::from_string("cmx0000000000000e".to_string()),
        org_id: OrgId::from_string("cmx0000000000000o".to_string()),
        monitor_id: None,
        environment_id: None,
        event_type,
        severity,
        status: status.into(),
        monitor: Some(EventMonitor {
            id: "cmx0000000000000m".into(),
            label: "Client: Acme Corp".into(),
            target: Some("acme.example".into()),
        }),
        details,
        subject: EventSubject::Monitor,
        created_at: 1_764_896_400_000,
    }
}

fn every_event(render: impl Fn(&Event, &Message) -> Value) -> String {
    let all: serde_json::Map<String, Value> = EventType::ALL
        .iter()
        .map(|t| {
            let event = event(*t);
            let message = Message::of(&event, Some("https://certsentry.example"));
            (t.as_str().to_string(), render(&event, &message))
        })
        .collect();
    serde_json::to_string_pretty(&all).unwrap()
}

#[test]
fn slack() {
    insta::assert_snapshot!(every_event(|_, m| slack::payload(m)));
}

#[test]
fn teams() {
    insta::assert_snapshot!(every_event(|_, m| teams::payload(m)));
}

#[test]
fn discord() {
    insta::assert_snapshot!(every_event(|_, m| discord::payload(m)));
}

#[test]
fn telegram() {
    insta::assert_snapshot!(every_event(|_, m| telegram::payload(
        m,
        "-1001234567890",
        Some(7)
    )));
}

#[test]
fn ntfy() {
    insta::assert_snapshot!(every_event(|_, m| json!({
        "headers": ntfy::headers(m, Some("tk_example")),
        "body": String::from_utf8(ntfy::body(m)).unwrap(),
    })));
}

#[test]
fn pagerduty() {
    insta::assert_snapshot!(every_event(|e, m| pagerduty::payload(
        e,
        m,
        "R0123456789abcdefABCDEF012345678"
    )));
}
