//! Every chat and paging service's message for every event type, pinned
//! with insta (a change to any rendering shows up as a reviewed diff), and
//! each one held to the rules the service documents for what it accepts.

use certsentry_domain::alert::{Event, EventMonitor, EventSubject, EventType, Severity};
use certsentry_domain::{EventId, OrgId};
use certsentry_notify::format::chat::{Message, discord, ntfy, pagerduty, slack, teams, telegram};
use certsentry_notify::testing;
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
        SslGradeChanged => (
            Severity::Warning,
            "grade_changed",
            json!({"Before": "A", "After": "B", "Reasons": "TLS 1.0 is offered"}),
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
        RegionUnavailable => (
            Severity::Warning,
            "unavailable",
            json!({"Region": "dublin", "Agents last seen": "2026-12-05T01:00:00.000Z"}),
        ),
        RegionAvailable => (Severity::Resolved, "available", json!({"Region": "dublin"})),
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

/// Each event type's rendering, checked against the service's rules.
fn every_event(
    render: impl Fn(&Event, &Message) -> Value,
    check: impl Fn(&Value) -> Result<(), String>,
) -> String {
    let all: serde_json::Map<String, Value> = EventType::ALL
        .iter()
        .map(|t| {
            let event = event(*t);
            let message = Message::of(&event, Some("https://certsentry.example"));
            let rendered = render(&event, &message);
            if let Err(problem) = check(&rendered) {
                panic!("{}: {problem}\n{rendered:#}", t.as_str());
            }
            (t.as_str().to_string(), rendered)
        })
        .collect();
    serde_json::to_string_pretty(&all).unwrap()
}

fn check_ntfy(rendered: &Value) -> Result<(), String> {
    let headers: Vec<(String, String)> =
        serde_json::from_value(rendered["headers"].clone()).unwrap();
    testing::check_ntfy(&headers, rendered["body"].as_str().unwrap().as_bytes())
}

#[test]
fn slack() {
    insta::assert_snapshot!(every_event(|_, m| slack::payload(m), testing::check_slack));
}

#[test]
fn teams() {
    insta::assert_snapshot!(every_event(|_, m| teams::payload(m), testing::check_teams));
}

#[test]
fn discord() {
    insta::assert_snapshot!(every_event(
        |_, m| discord::payload(m),
        testing::check_discord
    ));
}

#[test]
fn telegram() {
    insta::assert_snapshot!(every_event(
        |_, m| telegram::payload(m, "-1001234567890", Some(7)),
        testing::check_telegram
    ));
}

#[test]
fn ntfy() {
    insta::assert_snapshot!(every_event(
        |_, m| json!({
            "headers": ntfy::headers(m, Some("tk_example")),
            "body": String::from_utf8(ntfy::body(m)).unwrap(),
        }),
        check_ntfy
    ));
}

#[test]
fn pagerduty() {
    insta::assert_snapshot!(every_event(
        |e, m| pagerduty::payload(e, m, "R0123456789abcdefABCDEF012345678"),
        testing::check_pagerduty
    ));
}

/// Fifty events at once (an outage across many monitors) as one message,
/// pinned for Slack and kept within every chat service's limits.
#[test]
fn a_summary_of_fifty_events() {
    let events: Vec<Event> = (0..50)
        .map(|i| {
            let mut event = event(if i % 7 == 0 {
                EventType::SslInvalid
            } else {
                EventType::UptimeDown
            });
            event.monitor.as_mut().unwrap().label = format!("Client {i:02} <shop> & co");
            event
        })
        .collect();
    let refs: Vec<&Event> = events.iter().collect();
    let message = Message::summary(&refs, Some("https://certsentry.example"));
    assert_eq!(message.title, "🔴 50 alerts at once");
    assert_eq!(message.fields.len(), 21);
    assert_eq!(message.fields[20].1, "and 30 more events");
    let slack = slack::payload(&message);
    testing::check_slack(&slack).unwrap();
    testing::check_teams(&teams::payload(&message)).unwrap();
    testing::check_discord(&discord::payload(&message)).unwrap();
    testing::check_telegram(&telegram::payload(&message, "42", None)).unwrap();
    testing::check_ntfy(&ntfy::headers(&message, None), &ntfy::body(&message)).unwrap();
    insta::assert_snapshot!(serde_json::to_string_pretty(&slack).unwrap());
}

/// The checks refuse what each service refuses, so passing them means
/// something.
#[test]
fn the_rules_refuse_what_the_services_refuse() {
    let section = |text: &str| json!({"text": "x", "attachments": [{"color": "#FFFFFF", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}]});
    assert!(testing::check_slack(&section("a &amp; b")).is_ok());
    assert!(testing::check_slack(&section("a < b")).is_err());
    assert!(testing::check_slack(&section(&"x".repeat(3001))).is_err());
    let telegram = |text: &str| json!({"chat_id": 1, "text": text, "parse_mode": "HTML"});
    assert!(testing::check_telegram(&telegram("<b>R&amp;D</b> &lt;x&gt;")).is_ok());
    assert!(testing::check_telegram(&telegram("<b>R&D</b>")).is_err());
    assert!(testing::check_telegram(&telegram("<b>a <prod></b>")).is_err());
    assert!(testing::check_telegram(&telegram("<b>unclosed")).is_err());
    assert!(testing::check_telegram(&telegram(&"x".repeat(4097))).is_err());
    let embed = |fields: usize, value: usize| {
        let fields: Vec<Value> = (0..fields)
            .map(|i| json!({"name": format!("f{i}"), "value": "v".repeat(value)}))
            .collect();
        json!({"embeds": [{"title": "t", "fields": fields}]})
    };
    assert!(testing::check_discord(&embed(25, 200)).is_ok());
    assert!(testing::check_discord(&embed(26, 1)).is_err());
    assert!(
        testing::check_discord(&embed(7, 1000)).is_err(),
        "over 6,000 in all"
    );
    let card = |colour: &str| json!({"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard", "version": "1.4", "body": [{"type": "TextBlock", "text": "x", "color": colour}]}}]});
    assert!(testing::check_teams(&card("Attention")).is_ok());
    assert!(testing::check_teams(&card("Red")).is_err());
    let resolve =
        json!({"routing_key": "R0123456789abcdefABCDEF012345678", "event_action": "resolve"});
    assert!(
        testing::check_pagerduty(&resolve).is_err(),
        "a resolve needs its dedup_key"
    );
}
