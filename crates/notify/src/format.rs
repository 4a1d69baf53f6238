//! Webhook bodies, one per payload format.

use certsentry_domain::alert::Event;
use certsentry_domain::channel::PayloadFormat;

/// The body `event` is sent with in `format`.
///
/// `certspotter` and `certwatch` carry CT findings only: the CT feed stores
/// each format's complete payload in the event's `details` under
/// `_formats.<format>`, and it is sent as is.
pub fn render(format: PayloadFormat, event: &Event) -> Vec<u8> {
    // The audit stream has one shape whatever the format (the API reference's `audit.event`).
    if event.event_type.is_audit() {
        return serde_json::to_vec(&event.details).expect("JSON values always serialize");
    }
    let body = match format {
        PayloadFormat::CertSentry => event.payload(),
        PayloadFormat::StandardWebhooks => serde_json::json!({
            "type": event.event_type.as_str(),
            "timestamp": certsentry_domain::time::format_ms(event.created_at),
            "data": event.payload(),
        }),
        PayloadFormat::CertSpotter | PayloadFormat::CertWatch => event
            .details
            .get(certsentry_domain::ct::FORMAT_BODIES)
            .and_then(|bodies| bodies.get(format.as_str()))
            .cloned()
            .unwrap_or_else(|| event.payload()),
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
        created_at: certsentry_domain::time::now_ms(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
