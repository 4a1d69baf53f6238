//! The audit-log stream's body: the API reference's `audit.event` shape,
//! the same whatever format the channel chose.

use certsentry_domain::audit::AuditEvent;
use serde_json::{Value, json};

pub fn payload(entry: &AuditEvent) -> Value {
    json!({
        "type": "audit.event",
        "id": entry.id.as_str(),
        "event": entry.action,
        "actor": { "id": entry.actor.id, "name": entry.actor.name, "email": entry.actor.email },
        "target": { "type": entry.target_type, "id": entry.target_id },
        "metadata": entry.metadata,
        "timestamp": certsentry_domain::time::format_ms(entry.created_at),
    })
}
