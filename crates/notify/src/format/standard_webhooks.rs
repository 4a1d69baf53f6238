//! Standard Webhooks' envelope, `{type, timestamp, data}`, around the
//! CertSentry payload.

use certsentry_domain::alert::Event;
use serde_json::{Value, json};

pub fn payload(event: &Event) -> Value {
    json!({
        "type": event.event_type.as_str(),
        "timestamp": certsentry_domain::time::format_ms(event.created_at),
        "data": super::certsentry::payload(event),
    })
}
