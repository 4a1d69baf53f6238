//! The API reference's webhook payload:
//! `{event, severity, status, monitor, details, timestamp}`.

use certsentry_domain::alert::Event;
use serde_json::{Value, json};

pub fn payload(event: &Event) -> Value {
    json!({
        "event": event.event_type.as_str(),
        "severity": event.severity.as_str(),
        "status": event.status,
        "monitor": event.monitor,
        "details": event.details,
        "timestamp": certsentry_domain::time::format_ms(event.created_at),
    })
}
