//! Chat messages: one module per service, each rendering the same typed
//! event into a readable message (a title, the monitor, the event's
//! details as fields, a link). What they share lives here: the title of
//! each event type, the severity colour, and the details as text pairs.

pub mod discord;
pub mod ntfy;
pub mod pagerduty;
pub mod slack;
pub mod teams;
pub mod telegram;

use certsentry_domain::alert::{Event, EventSubject, EventType, Severity};
use certsentry_domain::channel::{ChannelSpec, ChannelType};

/// Where the services that are not reached at a user's URL live, and this
/// server's own address for links.
#[derive(Debug, Clone)]
pub struct Services {
    pub public_url: Option<String>,
    pub telegram_api_url: String,
    pub pagerduty_events_url: String,
}

impl Default for Services {
    fn default() -> Self {
        Self {
            public_url: None,
            telegram_api_url: "https://api.telegram.org".into(),
            pagerduty_events_url: "https://events.pagerduty.com/v2/enqueue".into(),
        }
    }
}

/// A request to a chat or paging service.
pub struct ChatRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The request for `spec`'s service, or why there is none.
pub fn render(
    spec: &ChannelSpec,
    event: &Event,
    services: &Services,
) -> Result<ChatRequest, String> {
    let message = Message::of(event, services.public_url.as_deref());
    render_message(spec, &message, Some(event), services)
}

/// One message standing for `events`, all due to the same channel within
/// the grouping window (see [`Message::summary`]). PagerDuty gets no
/// summaries: each incident must trigger and resolve on its own.
pub fn render_summary(
    spec: &ChannelSpec,
    events: &[&Event],
    services: &Services,
) -> Result<ChatRequest, String> {
    let message = Message::summary(events, services.public_url.as_deref());
    render_message(spec, &message, None, services)
}

/// Whether a channel type's messages are gathered into summaries: the chat
/// services, read by people. Webhooks (read by programs), email and
/// PagerDuty (which pairs each trigger with its resolve) get every event.
pub fn groups_messages(channel_type: ChannelType) -> bool {
    matches!(
        channel_type,
        ChannelType::Slack
            | ChannelType::Teams
            | ChannelType::Discord
            | ChannelType::Telegram
            | ChannelType::Ntfy
    )
}

/// Where a service counts messages for its per-destination rate limit:
/// a Telegram chat (per bot) and a Discord webhook each take about one
/// message a second, so messages to one are spaced out rather than
/// answered with 429s and dropped.
pub fn pacing_key(spec: &ChannelSpec) -> Option<String> {
    match spec.channel_type {
        ChannelType::Telegram => Some(format!(
            "telegram {} {}",
            spec.bot_token.as_deref().unwrap_or_default(),
            spec.chat_id.as_deref().unwrap_or_default()
        )),
        ChannelType::Discord => Some(format!(
            "discord {}",
            spec.url.as_deref().unwrap_or_default()
        )),
        _ => None,
    }
}

fn render_message(
    spec: &ChannelSpec,
    message: &Message,
    event: Option<&Event>,
    services: &Services,
) -> Result<ChatRequest, String> {
    let json = |value: serde_json::Value| {
        serde_json::to_vec(&value).expect("JSON values always serialize")
    };
    let missing = |what: &str| format!("the {} channel has no {what}", spec.channel_type.as_str());
    let request = |url: String, body: Vec<u8>| ChatRequest {
        url,
        headers: Vec::new(),
        body,
    };
    Ok(match spec.channel_type {
        ChannelType::Slack => request(
            spec.url.clone().ok_or_else(|| missing("url"))?,
            json(slack::payload(message)),
        ),
        ChannelType::Teams => request(
            spec.url.clone().ok_or_else(|| missing("url"))?,
            json(teams::payload(message)),
        ),
        ChannelType::Discord => request(
            discord::url(spec.url.as_deref().ok_or_else(|| missing("url"))?),
            json(discord::payload(message)),
        ),
        ChannelType::Telegram => {
            let token = spec
                .bot_token
                .as_deref()
                .ok_or_else(|| missing("botToken"))?;
            let chat = spec.chat_id.as_deref().ok_or_else(|| missing("chatId"))?;
            request(
                telegram::url(&services.telegram_api_url, token),
                json(telegram::payload(message, chat, spec.message_thread_id)),
            )
        }
        ChannelType::Ntfy => ChatRequest {
            url: spec.url.clone().ok_or_else(|| missing("url"))?,
            headers: ntfy::headers(message, spec.token.as_deref()),
            body: ntfy::body(message),
        },
        ChannelType::PagerDuty => {
            let event = event.ok_or("PagerDuty gets each event on its own, never a summary")?;
            let key = spec
                .routing_key
                .as_deref()
                .ok_or_else(|| missing("routingKey"))?;
            request(
                services.pagerduty_events_url.clone(),
                json(pagerduty::payload(event, message, key)),
            )
        }
        other => return Err(format!("{} is not a chat service", other.as_str())),
    })
}

/// A 429 that says how long to wait in its body rather than a header:
/// Telegram's `parameters.retry_after` and Discord's `retry_after`, in
/// seconds (Discord may give a fraction).
pub fn retry_after_in_body(result: &crate::http::AttemptResult) -> Option<std::time::Duration> {
    if result.status_code != Some(429) {
        return None;
    }
    let body: serde_json::Value = serde_json::from_str(result.body.as_deref()?).ok()?;
    let seconds = body["parameters"]["retry_after"]
        .as_f64()
        .or_else(|| body["retry_after"].as_f64())?;
    (seconds.is_finite() && seconds >= 0.0)
        .then(|| std::time::Duration::from_secs_f64(seconds.min(86_400.0)))
}

/// How many events a summary lists one by one; Discord allows 25 fields
/// and a long list is read by no one.
pub const SUMMARY_LINES: usize = 20;

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

    /// One message for many events: the count and worst severity in the
    /// title, then one line per event (its headline, label and target),
    /// the first [`SUMMARY_LINES`] of them and how many more.
    pub fn summary(events: &[&Event], public_url: Option<&str>) -> Self {
        let severity = events
            .iter()
            .map(|e| e.severity)
            .max_by_key(|s| match s {
                Severity::Critical => 2,
                Severity::Warning => 1,
                Severity::Resolved => 0,
            })
            .unwrap_or(Severity::Warning);
        let mut fields: Vec<(String, String)> = events
            .iter()
            .take(SUMMARY_LINES)
            .map(|event| {
                let what = match &event.monitor {
                    Some(m) => match &m.target {
                        Some(target) => format!("{} ({target})", m.label),
                        None => m.label.clone(),
                    },
                    None => event.status.clone(),
                };
                (headline(event.event_type).to_string(), what)
            })
            .collect();
        if events.len() > SUMMARY_LINES {
            fields.push((
                "More".into(),
                format!("and {} more events", events.len() - SUMMARY_LINES),
            ));
        }
        let created_at = events.iter().map(|e| e.created_at).max().unwrap_or(0);
        Self {
            title: format!("{} {} alerts at once", icon(severity), events.len()),
            severity,
            subject: None,
            target: None,
            fields,
            link: public_url.map(str::to_string),
            timestamp: certsentry_domain::time::format_ms(created_at),
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
        EventType::SslGradeChanged => "TLS grade fell",
        EventType::DomainExpiring => "Domain expiring",
        EventType::DnsChanged => "DNS changed",
        EventType::HeartbeatMissed => "Heartbeat missed",
        EventType::HeartbeatFailed => "Job reported failure",
        EventType::HeartbeatRecovered => "Heartbeat back",
        EventType::CtNewCertificate => "New certificate in CT logs",
        EventType::DmarcNewSource => "New DMARC sending source",
        EventType::DmarcFailureRate => "DMARC failure rate high",
        EventType::RegionUnavailable => "Probe region unavailable",
        EventType::RegionAvailable => "Probe region back",
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

/// `&`, `<` and `>` as entities: all that Slack's `mrkdwn` and Telegram's
/// HTML need escaped.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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
        let details = |size: usize| -> serde_json::Value {
            (0..30)
                .map(|i| (format!("field {i:02}"), json!("x".repeat(size))))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        let embed_of = |details| {
            let message = Message::of(
                &event(&"L".repeat(400), details),
                Some("https://cs.example"),
            );
            discord::payload(&message)["embeds"][0].clone()
        };
        let chars = |v: &serde_json::Value| v.as_str().unwrap().chars().count();
        let embed = embed_of(details(100));
        assert_eq!(chars(&embed["title"]), 256);
        assert_eq!(embed["fields"].as_array().unwrap().len(), 25);
        let long = embed_of(details(2000));
        let fields = long["fields"].as_array().unwrap();
        assert_eq!(chars(&fields[0]["value"]), 1024);
        let total: usize = chars(&long["title"])
            + chars(&long["description"])
            + fields
                .iter()
                .map(|f| chars(&f["name"]) + chars(&f["value"]))
                .sum::<usize>();
        assert!(total <= 6000, "{total} characters");
        assert_eq!(fields.len(), 5);
        assert_eq!(long["url"], "https://cs.example");
        assert_eq!(
            discord::url("https://discord.com/api/webhooks/1/t?thread_id=9&wait=false"),
            "https://discord.com/api/webhooks/1/t?thread_id=9&wait=true"
        );
    }

    #[test]
    fn pagerduty_resolves_what_it_triggered() {
        use certsentry_domain::alert::Severity;
        let down = event("api", json!({}));
        let down = Event {
            event_type: EventType::UptimeDown,
            severity: Severity::Critical,
            ..down
        };
        let up = Event {
            event_type: EventType::UptimeUp,
            severity: Severity::Resolved,
            ..down.clone()
        };
        let key = "R0123456789abcdefABCDEF012345678";
        let trigger = pagerduty::payload(&down, &Message::of(&down, None), key);
        let resolve = pagerduty::payload(&up, &Message::of(&up, None), key);
        assert_eq!(trigger["event_action"], "trigger");
        assert_eq!(resolve["event_action"], "resolve");
        assert_eq!(trigger["dedup_key"], resolve["dedup_key"]);
        assert_eq!(trigger["dedup_key"], "m1:uptime");
        assert!(resolve.get("payload").is_none());
    }

    #[test]
    fn telegram_escapes_html() {
        let message = Message::of(&event("R&D <prod>", json!({"Error": "a<b>"})), None);
        let body = telegram::payload(&message, "@ops_channel", None);
        assert_eq!(body["chat_id"], "@ops_channel");
        let text = body["text"].as_str().unwrap();
        assert!(
            text.starts_with("<b>🟠 Certificate problem: R&amp;D &lt;prod&gt;</b>"),
            "{text}"
        );
        assert!(text.contains("<b>Error:</b> a&lt;b&gt;"), "{text}");
        assert!(body.get("message_thread_id").is_none());
    }

    #[test]
    fn a_429_body_says_how_long_to_wait() {
        let answer = |status: u16, body: &str| crate::http::AttemptResult {
            status_code: Some(status),
            duration: std::time::Duration::ZERO,
            body: Some(body.into()),
            error: None,
            retry_after: None,
        };
        let telegram = r#"{"ok":false,"error_code":429,"parameters":{"retry_after":17}}"#;
        assert_eq!(
            retry_after_in_body(&answer(429, telegram)),
            Some(std::time::Duration::from_secs(17))
        );
        let discord =
            r#"{"message":"You are being rate limited.","retry_after":0.5,"global":false}"#;
        assert_eq!(
            retry_after_in_body(&answer(429, discord)),
            Some(std::time::Duration::from_millis(500))
        );
        assert_eq!(retry_after_in_body(&answer(500, telegram)), None);
    }
}
