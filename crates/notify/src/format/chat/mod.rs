//! Chat messages: one module per service, each rendering the same typed
//! event into a readable message (a title, the monitor, the event's
//! details as fields, a link). What they share lives here: the title of
//! each event type, the severity colour, and the details as text pairs.

pub mod discord;
pub mod slack;
pub mod teams;

use certsentry_domain::alert::{Event, EventSubject, EventType, Severity};
use certsentry_domain::channel::ChannelType;

/// The request for a chat service: where to post and what.
pub fn render(
    kind: ChannelType,
    url: &str,
    event: &Event,
    public_url: Option<&str>,
) -> (String, Vec<u8>) {
    let message = Message::of(event, public_url);
    let (url, body) = match kind {
        ChannelType::Slack => (url.to_string(), slack::payload(&message)),
        ChannelType::Teams => (url.to_string(), teams::payload(&message)),
        ChannelType::Discord => (discord::url(url), discord::payload(&message)),
        other => unreachable!("{} is not a chat service", other.as_str()),
    };
    (
        url,
        serde_json::to_vec(&body).expect("JSON values always serialize"),
    )
}

/// What every chat message says, before each service's shape.
#[derive(Debug, Clone)]
pub struct Message {
    pub title: String,
    pub severity: Severity,
    /// The monitor (or DMARC domain) label, if any.
    pub subject: Option<String>,
    pub target: Option<String>,
    /// The event's details, as label and text, in order.
    pub fields: Vec<(String, String)>,
    /// Where to read more: the CT finding's page, or the server.
    pub link: Option<String>,
    pub timestamp: String,
}

impl Message {
    pub fn of(event: &Event, public_url: Option<&str>) -> Self {
        let subject = event.monitor.as_ref().map(|m| m.label.clone());
        let title = match &subject {
            Some(label) => format!(
                "{} {}: {label}",
                icon(event.severity),
                headline(event.event_type)
            ),
            None => format!("{} {}", icon(event.severity), headline(event.event_type)),
        };
        let link = match &event.subject {
            EventSubject::CtFinding { html_url, .. } => Some(html_url.clone()),
            _ => public_url.map(str::to_string),
        };
        Self {
            title,
            severity: event.severity,
            subject,
            target: event.monitor.as_ref().and_then(|m| m.target.clone()),
            fields: fields(&event.details),
            link,
            timestamp: certsentry_domain::time::format_ms(event.created_at),
        }
    }

    /// The colour as `0xRRGGBB`.
    pub fn colour(&self) -> u32 {
        match self.severity {
            Severity::Critical => 0xD92D20,
            Severity::Warning => 0xF79009,
            Severity::Resolved => 0x12B76A,
        }
    }
}

fn icon(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "🔴",
        Severity::Warning => "🟠",
        Severity::Resolved => "🟢",
    }
}

/// The words for each event type, as a person would say them.
pub fn headline(event_type: EventType) -> &'static str {
    match event_type {
        EventType::UptimeDown => "Down",
        EventType::UptimeUp => "Back up",
        EventType::UptimeDegraded => "Slow",
        EventType::SslExpiring => "Certificate expiring",
        EventType::SslInvalid => "Certificate problem",
        EventType::SslValid => "Certificate fixed",
        EventType::DomainExpiring => "Domain expiring",
        EventType::DnsChanged => "DNS changed",
        EventType::HeartbeatMissed => "Heartbeat missed",
        EventType::HeartbeatFailed => "Job reported failure",
        EventType::HeartbeatRecovered => "Heartbeat back",
        EventType::CtNewCertificate => "New certificate in CT logs",
        EventType::DmarcNewSource => "New DMARC sending source",
        EventType::DmarcFailureRate => "DMARC failure rate high",
        EventType::AuditEvent => "Audit event",
    }
}

/// The details object as label and text: strings as they are, other
/// values as compact JSON; nulls left out.
fn fields(details: &serde_json::Value) -> Vec<(String, String)> {
    let Some(object) = details.as_object() else {
        return Vec::new();
    };
    object
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}

/// Cuts `text` to `max` characters, marking the cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use certsentry_domain::alert::{EventMonitor, EventType};
    use serde_json::json;

    use super::*;

    fn event(label: &str, details: serde_json::Value) -> Event {
        Event {
            monitor: Some(EventMonitor {
                id: "m1".into(),
                label: label.into(),
                target: Some("a.example".into()),
            }),
            details,
            event_type: EventType::SslInvalid,
            severity: Severity::Warning,
            ..crate::format::sample_event(&certsentry_domain::OrgId::generate())
        }
    }

    #[test]
    fn slack_escapes_its_control_characters() {
        let message = Message::of(&event("R&D <prod>", json!({"Error": "a<b>&c"})), None);
        let body = slack::payload(&message);
        let blocks = &body["attachments"][0]["blocks"];
        assert_eq!(
            blocks[0]["text"]["text"],
            "*🟠 Certificate problem: R&amp;D &lt;prod&gt;*"
        );
        assert_eq!(blocks[2]["fields"][0]["text"], "*Error*\na&lt;b&gt;&amp;c");
        assert_eq!(body["attachments"][0]["color"], "#F79009");
    }

    #[test]
    fn discord_keeps_within_its_limits() {
        let details: serde_json::Map<String, serde_json::Value> = (0..30)
            .map(|i| (format!("field {i:02}"), json!("x".repeat(2000))))
            .collect();
        let message = Message::of(
            &event(&"L".repeat(400), details.into()),
            Some("https://cs.example"),
        );
        let body = discord::payload(&message);
        let embed = &body["embeds"][0];
        assert_eq!(embed["title"].as_str().unwrap().chars().count(), 256);
        assert_eq!(embed["fields"].as_array().unwrap().len(), 25);
        assert_eq!(
            embed["fields"][0]["value"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            1024
        );
        assert_eq!(embed["url"], "https://cs.example");
        assert_eq!(
            discord::url("https://discord.com/api/webhooks/1/t?thread_id=9&wait=false"),
            "https://discord.com/api/webhooks/1/t?thread_id=9&wait=true"
        );
    }
}
