//! The JSON request bodies of the API (and of `certsentry sync` and the
//! CLI, which speak the same shapes). Each is a wire format: serde's rules
//! (unknown fields refused, read-only fields of a GET response accepted
//! and ignored, `null` told from absent) and the OpenAPI schema live here.
//! Each converts into the domain's draft, which the domain validates.

use certsentry_domain::alert::EventType;
use certsentry_domain::channel::{
    ChannelDraft, ChannelType, PayloadFormat, SigningScheme, SmtpDraft, SmtpTls,
};
use certsentry_domain::monitor::{HeaderDraft, HttpMethod, KeywordMode, MonitorDraft, MonitorKind};
use certsentry_domain::status_page::{StatusPageDraft, StatusPageMonitorDraft};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

/// `{name, value}` as sent; `value: null` keeps the stored value.
#[derive(ToSchema, Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderInput {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// Distinguishes an omitted field (`None`) from an explicit `null` (`Some(None)`).
fn tri_state<'de, D>(deserializer: D) -> Result<Option<Option<String>>, D::Error>
where
    D: Deserializer<'de>,
{
    Option::<String>::deserialize(deserializer).map(Some)
}

/// JSON Schema counts `60.0` as an integer, so generated clients may send
/// it; serde's integers refuse it. These accept a number with no fraction.
mod whole {
    use serde::{Deserialize, Deserializer, de::Error};
    use serde_json::Number;

    fn to_i64<E: Error>(number: Number) -> Result<i64, E> {
        if let Some(i) = number.as_i64() {
            return Ok(i);
        }
        match number.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
            _ => Err(E::custom(format!("{number} is not a whole number"))),
        }
    }

    pub fn required<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        to_i64(Number::deserialize(d)?)
    }

    pub fn option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Option::<Number>::deserialize(d)?.map(to_i64).transpose()
    }

    pub fn option_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<i64>>, D::Error> {
        Option::<Vec<Number>>::deserialize(d)?
            .map(|list| list.into_iter().map(to_i64).collect())
            .transpose()
    }

    pub fn option_u16<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
        option(d)?
            .map(|n| u16::try_from(n).map_err(|_| D::Error::custom(format!("{n} is not a port"))))
            .transpose()
    }
}

pub(crate) use whole::{option as whole_number, required as whole_number_required};

/// A monitor as a client sends it (create, update, or one item of a sync).
/// Unknown fields are refused so that typos surface; the read-only fields of
/// a GET response are accepted and ignored, so a fetched monitor can be sent back.
#[derive(ToSchema, Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MonitorInput {
    pub kind: Option<MonitorKind>,
    pub label: Option<String>,
    pub target: Option<String>,
    pub enabled: Option<bool>,
    pub check_ssl: Option<bool>,
    pub check_domain: Option<bool>,
    pub check_dns: Option<bool>,
    pub check_uptime: Option<bool>,
    pub check_ct: Option<bool>,
    #[serde(default, deserialize_with = "whole::option")]
    pub uptime_interval_seconds: Option<i64>,
    pub regions: Option<Vec<String>>,
    #[serde(default, deserialize_with = "whole::option_list")]
    pub alert_lead_days: Option<Vec<i64>>,
    pub external_id: Option<String>,
    #[serde(default, deserialize_with = "tri_state")]
    pub environment_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "whole::option")]
    pub tcp_port: Option<i64>,
    #[serde(default, deserialize_with = "whole::option")]
    pub heartbeat_interval_seconds: Option<i64>,
    #[serde(default, deserialize_with = "whole::option")]
    pub heartbeat_grace_seconds: Option<i64>,
    pub http_method: Option<HttpMethod>,
    pub http_headers: Option<Vec<HeaderInput>>,
    pub http_body: Option<String>,
    pub http_expected_status: Option<String>,
    pub http_keyword: Option<String>,
    pub http_keyword_mode: Option<KeywordMode>,
    #[serde(default, deserialize_with = "whole::option")]
    pub degraded_threshold_ms: Option<i64>,
    // Read-only response fields, ignored on input.
    #[serde(default)]
    #[allow(dead_code)]
    #[schema(ignore)]
    id: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    #[schema(ignore)]
    created_at: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    #[schema(ignore)]
    updated_at: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    #[schema(ignore)]
    last_status: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    #[schema(ignore)]
    ssl_not_after: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    #[schema(ignore)]
    domain_expiry: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    #[schema(ignore)]
    heartbeat_token: Option<IgnoredAny>,
}

impl From<HeaderInput> for HeaderDraft {
    fn from(h: HeaderInput) -> Self {
        Self {
            name: h.name,
            value: h.value,
        }
    }
}

impl From<MonitorInput> for MonitorDraft {
    fn from(i: MonitorInput) -> Self {
        Self {
            kind: i.kind,
            label: i.label,
            target: i.target,
            enabled: i.enabled,
            check_ssl: i.check_ssl,
            check_domain: i.check_domain,
            check_dns: i.check_dns,
            check_uptime: i.check_uptime,
            check_ct: i.check_ct,
            uptime_interval_seconds: i.uptime_interval_seconds,
            regions: i.regions,
            alert_lead_days: i.alert_lead_days,
            external_id: i.external_id,
            environment_id: i.environment_id,
            tcp_port: i.tcp_port,
            heartbeat_interval_seconds: i.heartbeat_interval_seconds,
            heartbeat_grace_seconds: i.heartbeat_grace_seconds,
            http_method: i.http_method,
            http_headers: i
                .http_headers
                .map(|headers| headers.into_iter().map(HeaderDraft::from).collect()),
            http_body: i.http_body,
            http_expected_status: i.http_expected_status,
            http_keyword: i.http_keyword,
            http_keyword_mode: i.http_keyword_mode,
            degraded_threshold_ms: i.degraded_threshold_ms,
        }
    }
}

/// The API body of a channel (POST, and PATCH as a full replacement).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChannelInput {
    pub name: Option<String>,
    #[serde(rename = "type")]
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
    pub smtp: Option<SmtpInput>,
    pub from: Option<String>,
    pub to: Option<Vec<String>>,
    pub bot_token: Option<String>,
    #[serde(default, deserialize_with = "chat_id")]
    pub chat_id: Option<String>,
    #[serde(default, deserialize_with = "whole::option")]
    pub message_thread_id: Option<i64>,
    pub token: Option<String>,
    pub routing_key: Option<String>,
    // Read-only fields a client may send back unchanged.
    #[serde(default)]
    #[allow(dead_code)]
    id: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    created_at: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    updated_at: Option<IgnoredAny>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SmtpInput {
    pub host: Option<String>,
    #[serde(default, deserialize_with = "whole::option_u16")]
    pub port: Option<u16>,
    pub tls: Option<SmtpTls>,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl From<SmtpInput> for SmtpDraft {
    fn from(s: SmtpInput) -> Self {
        Self {
            host: s.host,
            port: s.port,
            tls: s.tls,
            username: s.username,
            password: s.password,
        }
    }
}

impl From<ChannelInput> for ChannelDraft {
    fn from(i: ChannelInput) -> Self {
        Self {
            name: i.name,
            channel_type: i.channel_type,
            url: i.url,
            format: i.format,
            signing: i.signing,
            signature_header: i.signature_header,
            events: i.events,
            monitor_ids: i.monitor_ids,
            environment_ids: i.environment_ids,
            include_known_certificates: i.include_known_certificates,
            enabled: i.enabled,
            smtp: i.smtp.map(SmtpDraft::from),
            from: i.from,
            to: i.to,
            bot_token: i.bot_token,
            chat_id: i.chat_id,
            message_thread_id: i.message_thread_id,
            token: i.token,
            routing_key: i.routing_key,
        }
    }
}

/// Telegram's `chat_id` is a number or a string (`@channelname`); both
/// are taken and kept as text. A number written with a zero fraction
/// (`-100.0`) is an integer to JSON Schema, and so to the API document.
fn chat_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(serde_json::Value::Number(n)) if n.is_i64() => Ok(Some(n.to_string())),
        Some(serde_json::Value::Number(n)) => match n.as_f64() {
            // Exact: an f64 with no fraction below 1e18 is an i64's value.
            Some(f) if f.fract() == 0.0 && f.abs() < 1e18 => Ok(Some((f as i64).to_string())),
            _ => Err(not_a_chat_id(n)),
        },
        Some(other) => Err(not_a_chat_id(other)),
    }
}

fn not_a_chat_id<E: serde::de::Error>(value: impl std::fmt::Display) -> E {
    E::custom(format!(
        "{value} is not a chat id (a number or @channelname)"
    ))
}

#[derive(ToSchema, Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusPageMonitorInput {
    pub monitor_id: Option<String>,
    pub public_label: Option<String>,
    pub show_target: Option<bool>,
    pub show_cert_health: Option<bool>,
    // Echoed from a GET response; display order is the array order.
    #[serde(default)]
    #[allow(dead_code)]
    #[schema(ignore)]
    sort_order: Option<IgnoredAny>,
}

#[derive(ToSchema, Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusPageInput {
    pub slug: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub monitors: Option<Vec<StatusPageMonitorInput>>,
    /// Beyond the API reference: origins (`https://host[:port]`) allowed to
    /// show the public page in a frame; none by default.
    pub embed_origins: Option<Vec<String>>,
    #[serde(default)]
    #[allow(dead_code)]
    #[schema(ignore)]
    id: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    #[schema(ignore)]
    created_at: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    #[schema(ignore)]
    updated_at: Option<IgnoredAny>,
}

impl From<StatusPageMonitorInput> for StatusPageMonitorDraft {
    fn from(m: StatusPageMonitorInput) -> Self {
        Self {
            monitor_id: m.monitor_id,
            public_label: m.public_label,
            show_target: m.show_target,
            show_cert_health: m.show_cert_health,
        }
    }
}

impl From<StatusPageInput> for StatusPageDraft {
    fn from(i: StatusPageInput) -> Self {
        Self {
            slug: i.slug,
            title: i.title,
            description: i.description,
            enabled: i.enabled,
            embed_origins: i.embed_origins,
            monitors: i.monitors.map(|monitors| {
                monitors
                    .into_iter()
                    .map(StatusPageMonitorDraft::from)
                    .collect()
            }),
        }
    }
}

#[cfg(test)]
mod channel_tests;
#[cfg(test)]
mod monitor_tests;
#[cfg(test)]
mod status_page_tests;
