//! The notification channel bodies, one per channel type: the webhook and
//! email shapes, the chat services (a URL), Telegram (a bot) and PagerDuty
//! (a routing key).

use super::*;

/// The routing fields both channel types share.
pub(super) fn channel_common() -> Map<String, Value> {
    let ids = || or_null(json!({ "type": "array", "items": { "type": "string" } }));
    let event_types: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    let mut p = Map::new();
    p.insert("name".into(), text(100));
    p.insert(
        "events".into(),
        or_null(json!({
            "type": "array",
            "items": { "type": "string", "enum": event_types },
            "description": "The event types sent; empty or absent means all."
        })),
    );
    p.insert("monitorIds".into(), ids());
    p.insert("environmentIds".into(), ids());
    p.insert(
        "includeKnownCertificates".into(),
        or_null(json!({ "type": "boolean" })),
    );
    p.insert("enabled".into(), or_null(json!({ "type": "boolean" })));
    p
}

pub(super) fn formats_and_signing(p: &mut Map<String, Value>) {
    p.insert(
        "format".into(),
        or_null(strings(PayloadFormat::ALL.iter().map(|f| f.as_str()))),
    );
    p.insert(
        "signing".into(),
        or_null(strings(SigningScheme::ALL.iter().map(|s| s.as_str()))),
    );
}

pub(super) fn webhook_channel() -> Value {
    let mut p = channel_common();
    p.insert(
        "type".into(),
        json!({ "type": "string", "enum": ["webhook"] }),
    );
    p.insert(
        "url".into(),
        json!({
            "type": "string",
            "pattern": anchored(&url_pattern()),
            "description": "Must not resolve to a private address unless the operator allows private targets."
        }),
    );
    formats_and_signing(&mut p);
    p.insert(
        "signatureHeader".into(),
        or_null(json!({
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]{1,100}$",
            "description": "Only with signing hmac-sha256 (default X-Signature)."
        })),
    );
    p.insert("smtp".into(), null_only("only for email channels"));
    p.insert("from".into(), null_only("only for email channels"));
    p.insert("to".into(), empty_list("only for email channels"));
    let ct_only: Vec<&str> = [PayloadFormat::CertSpotter, PayloadFormat::CertWatch]
        .iter()
        .map(|f| f.as_str())
        .collect();
    let mut schema = object("A webhook channel.", p, &["name", "type", "url"]);
    schema["allOf"] = json!([
        {
            "if": { "properties": { "signing": { "const": "hmac-sha256" } }, "required": ["signing"] },
            "else": { "properties": { "signatureHeader": { "type": "null" } } }
        },
        {
            "if": { "properties": { "format": { "enum": ct_only } }, "required": ["format"] },
            "then": { "properties": { "events": { "anyOf": [
                { "type": "null" },
                { "type": "array", "items": { "const": EventType::CtNewCertificate.as_str() } }
            ] } } }
        }
    ]);
    schema
}

/// Slack, Teams and Discord: a URL copied from the service, nothing else.
pub(super) fn chat_channel(kind: &str) -> Value {
    let mut p = channel_common();
    p.insert("type".into(), json!({ "type": "string", "enum": [kind] }));
    let (pattern, description) = match kind {
        "discord" => (
            format!(
                "https?://{}(:{PORT})?/api/webhooks/[0-9]+/[A-Za-z0-9_-]+/?",
                host_pattern()
            ),
            "The channel's webhook URL (…/api/webhooks/<id>/<token>).",
        ),
        "teams" => (
            url_pattern(),
            "A Teams Workflows (Power Automate) webhook URL.",
        ),
        "ntfy" => (
            url_pattern(),
            "The ntfy server and topic, e.g. https://ntfy.sh/ops-alerts.",
        ),
        _ => (
            url_pattern(),
            "An incoming webhook URL (hooks.slack.com, or a Slack-compatible service).",
        ),
    };
    p.insert(
        "url".into(),
        json!({
            "type": "string",
            "pattern": anchored(&pattern),
            "description": format!("{description} https, unless the operator allows private targets.")
        }),
    );
    if kind == "ntfy" {
        p.insert(
            "token".into(),
            or_null(json!({ "type": "string", "description": "An access token (secret); masked in reads, kept when left out." })),
        );
    }
    not_other_services(&mut p);
    object(
        &format!("A {kind} channel: readable messages posted to the service."),
        p,
        &["name", "type", "url"],
    )
}

/// The fields of the other channel types, refused or ignored here.
pub(super) fn not_other_services(p: &mut Map<String, Value>) {
    p.insert("smtp".into(), null_only("only for email channels"));
    p.insert("from".into(), null_only("only for email channels"));
    p.insert("to".into(), empty_list("only for email channels"));
    p.insert(
        "signatureHeader".into(),
        null_only("only for webhook channels"),
    );
    // Accepted and ignored: a fetched channel can be sent back as it is.
    formats_and_signing(p);
}

pub(super) fn telegram_channel() -> Value {
    let mut p = channel_common();
    p.insert(
        "type".into(),
        json!({ "type": "string", "enum": ["telegram"] }),
    );
    p.insert(
        "botToken".into(),
        json!({
            "type": "string",
            "pattern": "^[0-9]{1,20}:[A-Za-z0-9_-]{20,80}$",
            "description": "The bot's token from @BotFather (secret); masked in reads. On update, left out or sent back masked, it is kept."
        }),
    );
    p.insert(
        "chatId".into(),
        json!({
            "anyOf": [
                { "type": "integer", "minimum": -999_999_999_999_999_999i64, "maximum": 999_999_999_999_999_999i64 },
                { "type": "string", "pattern": "^(-?[0-9]{1,18}|@[A-Za-z0-9_]{5,32})$" }
            ],
            "description": "The chat: a number (negative for groups) or @channelname."
        }),
    );
    p.insert(
        "messageThreadId".into(),
        or_null(json!({ "type": "integer", "minimum": 1, "maximum": i32::MAX, "description": "A forum topic." })),
    );
    p.insert(
        "url".into(),
        null_only("telegram is reached at --telegram-api-url"),
    );
    not_other_services(&mut p);
    object(
        "A Telegram chat, through a bot (sendMessage, HTML).",
        p,
        &["name", "type", "botToken", "chatId"],
    )
}

pub(super) fn pagerduty_channel() -> Value {
    let mut p = channel_common();
    p.insert(
        "type".into(),
        json!({ "type": "string", "enum": ["pagerduty"] }),
    );
    p.insert(
        "routingKey".into(),
        json!({
            "type": "string",
            "pattern": "^[A-Za-z0-9]{32}$",
            "description": "The service's Events API v2 integration key (secret); masked in reads."
        }),
    );
    p.insert(
        "url".into(),
        null_only("pagerduty is reached at --pagerduty-events-url"),
    );
    not_other_services(&mut p);
    object(
        "PagerDuty: critical events trigger an incident, their recovery resolves it.",
        p,
        &["name", "type", "routingKey"],
    )
}

pub(super) fn email_channel() -> Value {
    let address = json!({ "type": "string", "pattern": EMAIL_PATTERN });
    let mut p = channel_common();
    p.insert(
        "type".into(),
        json!({ "type": "string", "enum": ["email"] }),
    );
    p.insert(
        "smtp".into(),
        json!({
            "type": "object",
            "properties": {
                "host": { "type": "string", "pattern": "\\S" },
                "port": or_null(json!({ "type": "integer", "minimum": 0, "maximum": 65535 })),
                "tls": or_null(strings(SmtpTls::ALL.iter().map(|t| t.as_str()))),
                "username": or_null(json!({ "type": "string" })),
                "password": or_null(json!({ "type": "string", "description": "Never shown back; left out on update, the stored one is kept." })),
            },
            "required": ["host"],
            "additionalProperties": false
        }),
    );
    p.insert("from".into(), address.clone());
    p.insert(
        "to".into(),
        json!({ "type": "array", "minItems": 1, "items": address }),
    );
    p.insert("url".into(), null_only("only for webhook channels"));
    formats_and_signing(&mut p);
    p.insert(
        "signatureHeader".into(),
        or_null(json!({ "type": "string" })),
    );
    object(
        "An email channel, sent through the given SMTP server.",
        p,
        &["name", "type", "smtp", "from", "to"],
    )
}
