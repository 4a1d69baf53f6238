//! Notification channels: where alert events go (a webhook or email), in
//! which payload format, signed how, and for which events and monitors.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::alert::{Event, EventType};
use crate::errors::FieldErrors;
use crate::string_enum::string_enum;
use crate::time::Millis;
use crate::{ChannelId, OrgId};

string_enum!(
    ChannelType {
        Webhook = "webhook",
        Email = "email",
        /// A Slack incoming webhook (or a Slack-compatible one: Mattermost, Rocket.Chat).
        Slack = "slack",
        /// A Microsoft Teams Workflows (Power Automate) webhook.
        Teams = "teams",
        /// A Discord channel webhook.
        Discord = "discord",
        /// A Telegram chat, through a bot.
        Telegram = "telegram",
        /// An ntfy topic (ntfy.sh or self-hosted).
        Ntfy = "ntfy",
        /// PagerDuty Events API v2: incidents triggered and resolved.
        PagerDuty = "pagerduty",
    }
);

impl ChannelType {
    /// Chat services posted to at a URL the user copies from the service.
    pub fn is_chat_webhook(self) -> bool {
        matches!(self, Self::Slack | Self::Teams | Self::Discord)
    }
}

string_enum!(
    /// The body a webhook receives.
    PayloadFormat {
        CertSentry = "certsentry",
        StandardWebhooks = "standard-webhooks",
        CertSpotter = "certspotter",
        CertWatch = "certwatch",
    }
);

string_enum!(
    /// How a webhook is signed.
    SigningScheme {
        CertSentry = "certsentry",
        StandardWebhooks = "standard-webhooks",
        HmacSha256 = "hmac-sha256",
        None = "none",
    }
);

string_enum!(
    SmtpTls {
        None = "none",
        StartTls = "starttls",
        Tls = "tls",
    }
);

/// How reads show a secret: this, then its last 4 characters. A value sent
/// back in this form means "unchanged".
pub const SECRET_MASK: &str = "********";

/// `********wxyz`: enough to tell two secrets apart, not to use one.
pub fn mask_secret(secret: &str) -> String {
    let tail: String = secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{SECRET_MASK}{tail}")
}

/// The default header of the `hmac-sha256` scheme (AlertifyPro style).
pub const DEFAULT_SIGNATURE_HEADER: &str = "X-Signature";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    /// Secret: stored, used to send, never shown back.
    pub password: Option<String>,
}

/// A validated channel definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelSpec {
    pub name: String,
    pub channel_type: ChannelType,
    pub url: Option<String>,
    pub format: PayloadFormat,
    pub signing: SigningScheme,
    pub signature_header: Option<String>,
    /// Empty means every event type.
    pub events: Vec<EventType>,
    /// Empty means every monitor.
    pub monitor_ids: Vec<String>,
    /// Empty means every environment.
    pub environment_ids: Vec<String>,
    pub include_known_certificates: bool,
    pub enabled: bool,
    pub smtp: Option<Smtp>,
    pub from: Option<String>,
    pub to: Vec<String>,
    /// Telegram: the bot's token (secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_token: Option<String>,
    /// Telegram: the chat, a number or `@channelname`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    /// Telegram: the topic of a forum chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_thread_id: Option<i64>,
    /// ntfy: an access token (secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// PagerDuty: the service's integration key (secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<String>,
}

/// A stored channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: ChannelId,
    pub org_id: OrgId,
    pub spec: ChannelSpec,
    /// The signing secret (`None` for `signing: none` and email).
    pub secret: Option<String>,
    /// After a rotation, the old secret stays valid until `previous_expires_at`.
    pub previous_secret: Option<String>,
    pub previous_expires_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Channel {
    /// A new channel of `org`: a fresh id, and a new secret if it signs.
    pub fn new(org_id: OrgId, spec: ChannelSpec) -> Self {
        let now = crate::time::now_ms();
        Self {
            id: ChannelId::generate(),
            org_id,
            secret: Self::secret_for(&spec),
            spec,
            previous_secret: None,
            previous_expires_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// A new signing secret for a channel defined by `spec`: none for email
    /// channels or `signing: none`.
    pub fn secret_for(spec: &ChannelSpec) -> Option<String> {
        match spec.channel_type {
            ChannelType::Webhook => new_secret(spec.signing),
            // Chat services and email authenticate by their own means.
            _ => None,
        }
    }

    /// The secrets deliveries sign with now: the current one, and the
    /// previous one during the 24-hour overlap after a rotation.
    pub fn signing_secrets(&self, now: Millis) -> Vec<&str> {
        let mut secrets: Vec<&str> = self.secret.iter().map(String::as_str).collect();
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_expires_at)
            && now < until
        {
            secrets.push(previous);
        }
        secrets
    }

    /// Whether `event` (about a monitor in `environment`) goes to this channel.
    pub fn routes(&self, event: &Event) -> bool {
        let spec = &self.spec;
        if !spec.enabled {
            return false;
        }
        if !spec.events.is_empty() && !spec.events.contains(&event.event_type) {
            return false;
        }
        // PagerDuty pages: incidents open on critical events and close on
        // their recovery; warnings are not pages.
        if spec.channel_type == ChannelType::PagerDuty
            && event.severity == crate::alert::Severity::Warning
        {
            return false;
        }
        // The audit stream goes only to channels that name it.
        if event.event_type.is_audit() && !spec.events.contains(&event.event_type) {
            return false;
        }
        if matches!(
            spec.format,
            PayloadFormat::CertSpotter | PayloadFormat::CertWatch
        ) && !event.event_type.is_ct()
        {
            return false;
        }
        // A known certificate is news only to channels that opt in, and
        // never to Cert Spotter's unknown-certificate format.
        if event.event_type.is_ct()
            && event.status == crate::ct::FindingState::Known.as_str()
            && (!spec.include_known_certificates || spec.format == PayloadFormat::CertSpotter)
        {
            return false;
        }
        if !spec.monitor_ids.is_empty() {
            let Some(monitor) = &event.monitor_id else {
                return false;
            };
            if !spec.monitor_ids.iter().any(|m| m == monitor.as_str()) {
                return false;
            }
        }
        if !spec.environment_ids.is_empty() {
            let Some(environment) = &event.environment_id else {
                return false;
            };
            if !spec.environment_ids.contains(environment) {
                return false;
            }
        }
        true
    }
}

/// A new secret for `scheme`: `whsec_` + base64 of 32 random bytes for
/// Standard Webhooks (the key is the decoded bytes), 64 hex characters
/// otherwise (the key is the string, as the API reference's `verify` uses it).
pub fn new_secret(scheme: SigningScheme) -> Option<String> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    match scheme {
        SigningScheme::None => None,
        SigningScheme::StandardWebhooks => Some(format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )),
        SigningScheme::CertSentry | SigningScheme::HmacSha256 => Some(hex::encode(bytes)),
    }
}

/// A channel as a client described it (POST, and PATCH as a full
/// replacement), before validation. The API's `ChannelInput` is its JSON shape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelDraft {
    pub name: Option<String>,
    pub channel_type: Option<ChannelType>,
    pub url: Option<String>,
    pub format: Option<PayloadFormat>,
    pub signing: Option<SigningScheme>,
    pub signature_header: Option<String>,
    pub events: Option<Vec<EventType>>,
    pub monitor_ids: Option<Vec<String>>,
    pub environment_ids: Option<Vec<String>>,
    pub include_known_certificates: Option<bool>,
    pub enabled: Option<bool>,
    pub smtp: Option<SmtpDraft>,
    pub from: Option<String>,
    pub to: Option<Vec<String>>,
    pub bot_token: Option<String>,
    pub chat_id: Option<String>,
    pub message_thread_id: Option<i64>,
    pub token: Option<String>,
    pub routing_key: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SmtpDraft {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: Option<SmtpTls>,
    pub username: Option<String>,
    pub password: Option<String>,
}

fn valid_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
}

/// An address as alert email is sent to: an ASCII local part of RFC 5322
/// `atext` and dots, and a domain of letter-digit-hyphen labels with at
/// least one dot (internationalized domains in their `xn--` form). The
/// OpenAPI document states the same rule as a pattern.
pub fn valid_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let atext = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b);
    let label = |l: &str| {
        !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    !local.is_empty()
        && local.len() <= 64
        && local.bytes().all(atext)
        && domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(label)
}

/// A chat service's webhook URL: http(s) with a host (the API adds the
/// https-unless-private rule and the SSRF guard), and for Discord the
/// `/api/webhooks/<id>/<token>` path its webhooks have.
fn chat_url(kind: ChannelType, raw: Option<&str>, errors: &mut FieldErrors) -> Option<String> {
    let raw = match raw.map(str::trim) {
        None | Some("") => {
            errors.add(
                "url",
                format!("is required for a {} channel", kind.as_str()),
            );
            return None;
        }
        Some(raw) => raw,
    };
    let parsed = match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
        _ => {
            errors.add("url", "must be an https:// URL");
            return None;
        }
    };
    if kind == ChannelType::Discord {
        let segments: Vec<&str> = parsed.path_segments().map_or(Vec::new(), |s| s.collect());
        let webhook_path = matches!(
            segments.as_slice(),
            ["api", "webhooks", id, token] | ["api", "webhooks", id, token, ""]
                if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !token.is_empty()
        );
        if !webhook_path {
            errors.add(
                "url",
                "must be a Discord webhook URL (…/api/webhooks/<id>/<token>)",
            );
            return None;
        }
    }
    Some(raw.to_string())
}

/// `<1-20 digits>:<20-80 letters, digits, - and _>`, as @BotFather issues them.
fn valid_bot_token(token: &str) -> bool {
    token.split_once(':').is_some_and(|(id, secret)| {
        (1..=20).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_digit())
            && (20..=80).contains(&secret.len())
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// A chat number of up to 18 digits (negative for groups) or a public
/// `@channelname`.
fn valid_chat_id(chat: &str) -> bool {
    let digits = chat.strip_prefix('-').unwrap_or(chat);
    ((1..=18).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
        || chat.strip_prefix('@').is_some_and(|name| {
            (5..=32).contains(&name.len())
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

/// Advice about a valid channel, returned beside it: a Slack or Teams
/// channel on another host than the service's own is accepted (Mattermost
/// and Rocket.Chat take Slack's messages) but said out loud, in case it is
/// a typo.
pub fn channel_warnings(spec: &ChannelSpec) -> Vec<String> {
    let host = spec
        .url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    let official = |suffixes: &[&str]| {
        suffixes
            .iter()
            .any(|s| host == *s || host.ends_with(&format!(".{s}")))
    };
    match spec.channel_type {
        ChannelType::Slack if !official(&["slack.com"]) => vec![format!(
            "url: {host} is not Slack's host (hooks.slack.com); this works for Slack-compatible \
             services such as Mattermost or Rocket.Chat"
        )],
        ChannelType::Teams
            if !official(&["logic.azure.com", "powerplatform.com", "office.com"]) =>
        {
            vec![format!(
                "url: {host} is not a Microsoft host; Teams Workflows URLs are on \
                 *.logic.azure.com or *.powerplatform.com"
            )]
        }
        _ => Vec::new(),
    }
}

/// Validates a channel body. `previous` is the stored channel on an update:
/// its secrets (the SMTP password, a bot token, an access token, a routing
/// key) are kept when the update omits them, since they are never shown in
/// full and clients cannot echo them.
pub fn validate_channel(
    input: ChannelDraft,
    previous: Option<&ChannelSpec>,
) -> Result<ChannelSpec, FieldErrors> {
    let keep_password = previous
        .and_then(|p| p.smtp.as_ref())
        .and_then(|smtp| smtp.password.clone());
    let kept = |value: Option<String>, stored: fn(&ChannelSpec) -> &Option<String>| {
        value
            .filter(|v| !v.trim().is_empty() && !v.starts_with(SECRET_MASK))
            .or_else(|| previous.and_then(|p| stored(p).clone()))
    };
    let bot_token = kept(input.bot_token.clone(), |p| &p.bot_token);
    let token = kept(input.token.clone(), |p| &p.token);
    let routing_key = kept(input.routing_key.clone(), |p| &p.routing_key);
    let mut errors = FieldErrors::new();
    let name = input.name.unwrap_or_default().trim().to_string();
    if name.is_empty() {
        errors.add("name", "is required");
    } else if name.chars().count() > 100 {
        errors.add("name", "must be at most 100 characters");
    }
    let channel_type = input.channel_type.unwrap_or_else(|| {
        let all: Vec<&str> = ChannelType::ALL.iter().map(|t| t.as_str()).collect();
        errors.add("type", format!("is required: {}", all.join(", ")));
        ChannelType::Webhook
    });
    if !matches!(channel_type, ChannelType::Webhook | ChannelType::Email) {
        for (field, present) in [
            ("smtp", input.smtp.is_some()),
            ("from", input.from.is_some()),
            ("to", input.to.as_ref().is_some_and(|to| !to.is_empty())),
            ("signatureHeader", input.signature_header.is_some()),
        ] {
            if present {
                errors.add(
                    field,
                    format!("does not apply to {} channels", channel_type.as_str()),
                );
            }
        }
    }
    let format = input.format.unwrap_or(PayloadFormat::CertSentry);
    let signing = input.signing.unwrap_or(SigningScheme::CertSentry);
    let mut events = input.events.unwrap_or_default();
    events.sort_by_key(|e| e.as_str());
    events.dedup();
    let mut url = None;
    let mut signature_header = None;
    let (mut smtp, mut from, mut to) = (None, None, Vec::new());
    match channel_type {
        ChannelType::Webhook => {
            match input.url.as_deref().map(str::trim) {
                None | Some("") => errors.add("url", "is required for a webhook channel"),
                Some(raw) => match url::Url::parse(raw) {
                    Ok(parsed)
                        if matches!(parsed.scheme(), "http" | "https")
                            && parsed.host_str().is_some() =>
                    {
                        url = Some(raw.to_string())
                    }
                    _ => errors.add("url", "must be an http:// or https:// URL"),
                },
            }
            if input.smtp.is_some() {
                errors.add("smtp", "applies only to email channels");
            }
            if input.from.is_some() {
                errors.add("from", "applies only to email channels");
            }
            if input.to.as_ref().is_some_and(|to| !to.is_empty()) {
                errors.add("to", "applies only to email channels");
            }
            if signing == SigningScheme::HmacSha256 {
                let header = input
                    .signature_header
                    .unwrap_or_else(|| DEFAULT_SIGNATURE_HEADER.to_string());
                if valid_header_name(&header) {
                    signature_header = Some(header);
                } else {
                    errors.add("signatureHeader", "must be a valid HTTP header name");
                }
            } else if input.signature_header.is_some() {
                errors.add("signatureHeader", "applies only to signing \"hmac-sha256\"");
            }
            if matches!(
                format,
                PayloadFormat::CertSpotter | PayloadFormat::CertWatch
            ) {
                if events.iter().any(|e| !e.is_ct()) {
                    errors.add(
                        "events",
                        format!(
                            "format \"{}\" carries only ct.new_certificate events",
                            format.as_str()
                        ),
                    );
                }
                events = vec![EventType::CtNewCertificate];
            }
        }
        chat @ (ChannelType::Slack | ChannelType::Teams | ChannelType::Discord) => {
            url = chat_url(chat, input.url.as_deref(), &mut errors);
        }
        ChannelType::Telegram => {
            if input.url.is_some() {
                errors.add(
                    "url",
                    "does not apply to telegram channels (see --telegram-api-url)",
                );
            }
            match &bot_token {
                Some(t) if valid_bot_token(t) => {}
                Some(_) => errors.add("botToken", "must be a bot token such as 123456:ABC-DEF…"),
                None => errors.add("botToken", "is required for a telegram channel"),
            }
            match input.chat_id.as_deref().map(str::trim) {
                Some(c) if valid_chat_id(c) => {}
                Some(_) => errors.add("chatId", "must be a chat number or @channelname"),
                None => errors.add("chatId", "is required for a telegram channel"),
            }
            if input
                .message_thread_id
                .is_some_and(|t| !(1..=i64::from(i32::MAX)).contains(&t))
            {
                errors.add(
                    "messageThreadId",
                    "must be a forum topic id (a positive number)",
                );
            }
        }
        ChannelType::Ntfy => {
            url = chat_url(channel_type, input.url.as_deref(), &mut errors);
        }
        ChannelType::PagerDuty => {
            if input.url.is_some() {
                errors.add(
                    "url",
                    "does not apply to pagerduty channels (see --pagerduty-events-url)",
                );
            }
            match &routing_key {
                Some(k) if k.len() == 32 && k.bytes().all(|b| b.is_ascii_alphanumeric()) => {}
                Some(_) => errors.add("routingKey", "must be a 32-character integration key"),
                None => errors.add("routingKey", "is required for a pagerduty channel"),
            }
        }
        ChannelType::Email => {
            if input.url.is_some() {
                errors.add("url", "applies only to webhook channels");
            }
            match input.smtp {
                None => errors.add("smtp", "is required for an email channel"),
                Some(s) => {
                    let host = s.host.unwrap_or_default();
                    if host.trim().is_empty() {
                        errors.add("smtp.host", "is required");
                    }
                    let tls = s.tls.unwrap_or(SmtpTls::StartTls);
                    let port = s.port.unwrap_or(match tls {
                        SmtpTls::Tls => 465,
                        SmtpTls::StartTls => 587,
                        SmtpTls::None => 25,
                    });
                    smtp = Some(Smtp {
                        host: host.trim().to_string(),
                        port,
                        tls,
                        username: s.username,
                        password: s.password.or(keep_password),
                    });
                }
            }
            match input.from {
                Some(f) if valid_email(&f) => from = Some(f),
                Some(_) => errors.add("from", "must be an email address"),
                None => errors.add("from", "is required for an email channel"),
            }
            to = input.to.unwrap_or_default();
            if to.is_empty() {
                errors.add("to", "needs at least one address");
            }
            for (i, address) in to.iter().enumerate() {
                if !valid_email(address) {
                    errors.add(format!("to[{i}]"), "must be an email address");
                }
            }
        }
    }
    let applies = |field: &str, types: &[ChannelType]| {
        (!types.contains(&channel_type)).then(|| field.to_string())
    };
    for (field, present, types) in [
        (
            "botToken",
            input.bot_token.is_some(),
            &[ChannelType::Telegram][..],
        ),
        (
            "chatId",
            input.chat_id.is_some(),
            &[ChannelType::Telegram][..],
        ),
        (
            "messageThreadId",
            input.message_thread_id.is_some(),
            &[ChannelType::Telegram][..],
        ),
        ("token", input.token.is_some(), &[ChannelType::Ntfy][..]),
        (
            "routingKey",
            input.routing_key.is_some(),
            &[ChannelType::PagerDuty][..],
        ),
    ] {
        if let (true, Some(field)) = (present, applies(field, types)) {
            errors.add(
                field,
                format!("does not apply to {} channels", channel_type.as_str()),
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let only =
        |wanted: ChannelType, value: Option<String>| value.filter(|_| channel_type == wanted);
    Ok(ChannelSpec {
        bot_token: only(ChannelType::Telegram, bot_token),
        chat_id: only(
            ChannelType::Telegram,
            input.chat_id.map(|c| c.trim().to_string()),
        ),
        message_thread_id: input
            .message_thread_id
            .filter(|_| channel_type == ChannelType::Telegram),
        token: only(ChannelType::Ntfy, token),
        routing_key: only(ChannelType::PagerDuty, routing_key),
        name,
        channel_type,
        url,
        signing: if channel_type == ChannelType::Webhook {
            signing
        } else {
            SigningScheme::None
        },
        format: if channel_type == ChannelType::Webhook {
            format
        } else {
            PayloadFormat::CertSentry
        },
        signature_header,
        events,
        monitor_ids: input.monitor_ids.unwrap_or_default(),
        environment_ids: input.environment_ids.unwrap_or_default(),
        include_known_certificates: input.include_known_certificates.unwrap_or(false),
        enabled: input.enabled.unwrap_or(true),
        smtp,
        from,
        to,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Severity;

    fn webhook(name: &str) -> ChannelDraft {
        ChannelDraft {
            name: Some(name.into()),
            channel_type: Some(ChannelType::Webhook),
            url: Some("https://h.example/".into()),
            ..Default::default()
        }
    }

    #[test]
    fn routing_by_type_monitor_and_environment() {
        let spec = validate_channel(
            ChannelDraft {
                events: Some(vec![EventType::UptimeDown]),
                monitor_ids: Some(vec!["m1".into()]),
                environment_ids: Some(vec!["e1".into()]),
                ..webhook("Ops")
            },
            None,
        )
        .unwrap();
        let channel = Channel {
            id: ChannelId::generate(),
            org_id: OrgId::generate(),
            spec,
            secret: None,
            previous_secret: None,
            previous_expires_at: None,
            created_at: 0,
            updated_at: 0,
        };
        let mut event = Event {
            id: crate::EventId::generate(),
            org_id: channel.org_id.clone(),
            monitor_id: Some(crate::MonitorId::from_string("m1")),
            environment_id: Some("e1".into()),
            event_type: EventType::UptimeDown,
            severity: Severity::Critical,
            status: "down".into(),
            monitor: None,
            details: serde_json::json!({}),
            subject: Default::default(),
            created_at: 0,
        };
        assert!(channel.routes(&event));
        event.environment_id = Some("e2".into());
        assert!(!channel.routes(&event));
        event.environment_id = Some("e1".into());
        event.event_type = EventType::UptimeUp;
        assert!(!channel.routes(&event));
        event.event_type = EventType::UptimeDown;
        event.monitor_id = Some(crate::MonitorId::from_string("m2"));
        assert!(!channel.routes(&event));
    }

    #[test]
    fn secrets_per_scheme_and_rotation_overlap() {
        let sw = new_secret(SigningScheme::StandardWebhooks).unwrap();
        assert!(sw.starts_with("whsec_") && sw.len() > 30);
        assert_eq!(new_secret(SigningScheme::CertSentry).unwrap().len(), 64);
        assert!(new_secret(SigningScheme::None).is_none());
        let channel = Channel {
            id: ChannelId::generate(),
            org_id: OrgId::generate(),
            spec: validate_channel(webhook("x"), None).unwrap(),
            secret: Some("new".into()),
            previous_secret: Some("old".into()),
            previous_expires_at: Some(1_000),
            created_at: 0,
            updated_at: 0,
        };
        assert_eq!(channel.signing_secrets(999), vec!["new", "old"]);
        assert_eq!(channel.signing_secrets(1_000), vec!["new"]);
    }
}
