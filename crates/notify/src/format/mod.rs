//! Webhook bodies: one module per payload format, each rendering from the
//! event's typed subject when the delivery is sent. Nothing is pre-rendered
//! into the stored event.

pub mod audit;
pub mod certsentry;
pub mod certspotter;
pub mod certwatch;
pub mod chat;
pub mod rendered;
pub mod standard_webhooks;

use certsentry_domain::alert::{Event, EventSubject};
use certsentry_domain::channel::PayloadFormat;

/// The body `event` is sent with in `format`.
///
/// The audit stream has one shape whatever the format (the API reference's
/// `audit.event`). `certspotter` and `certwatch` describe CT findings; any
/// other event falls back to the CertSentry payload in those formats.
pub fn render(format: PayloadFormat, event: &Event) -> Vec<u8> {
    let body = match (&event.subject, format) {
        (EventSubject::Audit { entry }, _) => audit::payload(entry),
        (EventSubject::CtFinding { finding, html_url }, PayloadFormat::CertSpotter) => {
            certspotter::payload(finding, html_url)
        }
        (EventSubject::CtFinding { finding, .. }, PayloadFormat::CertWatch) => {
            certwatch::payload(finding, event.created_at)
        }
        (_, PayloadFormat::StandardWebhooks) => standard_webhooks::payload(event),
        _ => certsentry::payload(event),
    };
    serde_json::to_vec(&body).expect("JSON values always serialize")
}

/// A sample event for `POST …/:id/test`.
pub fn sample_event(org: &certsentry_domain::OrgId) -> Event {
    use certsentry_domain::alert::{EventMonitor, EventType, Severity};
    Event {
        id: certsentry_domain::EventId::generate(),
        org_id: org.clone(),
        monitor_id: None,
        environment_id: None,
        event_type: EventType::UptimeDown,
        severity: Severity::Critical,
        status: "down".into(),
        monitor: Some(EventMonitor {
            id: "cmb1xk2lq0001v8d3".into(),
            label: "Test: example monitor".into(),
            target: Some("example.com".into()),
        }),
        details: serde_json::json!({ "Last error": "connect timeout", "Test": true }),
        subject: EventSubject::Monitor,
        created_at: certsentry_domain::time::now_ms(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ct_findings_render_in_each_format_and_nothing_rides_in_details() {
        use certsentry_domain::ct::{FindingState, sample_finding};
        let finding = sample_finding(FindingState::Suspicious);
        let event = Event::about_ct_finding(&finding, None, "http://x/1".into(), 1_761_918_776_000);
        let body =
            |format| serde_json::from_slice::<serde_json::Value>(&render(format, &event)).unwrap();
        assert_eq!(
            body(PayloadFormat::CertSpotter),
            certspotter::payload(&finding, "http://x/1")
        );
        assert_eq!(body(PayloadFormat::CertWatch)["seen_at"], 1_761_918_776);
        let ours = body(PayloadFormat::CertSentry);
        assert_eq!(ours["event"], "ct.new_certificate");
        assert_eq!(ours["details"]["Matched"], "foo.example.org");
        assert!(ours["details"].get("_formats").is_none());
        assert_eq!(body(PayloadFormat::StandardWebhooks)["data"], ours);
    }

    #[test]
    fn certsentry_and_standard_webhooks_bodies() {
        let event = sample_event(&certsentry_domain::OrgId::from_string("org"));
        let seed: serde_json::Value =
            serde_json::from_slice(&render(PayloadFormat::CertSentry, &event)).unwrap();
        let keys: Vec<&str> = seed
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            vec![
                "event",
                "severity",
                "status",
                "monitor",
                "details",
                "timestamp"
            ]
        );
        assert_eq!(seed["monitor"]["label"], "Test: example monitor");
        let envelope: serde_json::Value =
            serde_json::from_slice(&render(PayloadFormat::StandardWebhooks, &event)).unwrap();
        assert_eq!(envelope["type"], "uptime.down");
        assert_eq!(envelope["data"], seed);
    }
}
