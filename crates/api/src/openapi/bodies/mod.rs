//! The request-body schemas, written out here rather than derived, because
//! what the server accepts depends on a discriminator a derive cannot
//! express: a monitor's `kind` decides which fields are required, which
//! must stay empty, and what the target looks like; a channel's `type`
//! decides between a URL and an SMTP block; a known certificate is exactly
//! one of three identifiers. Every rule here mirrors the domain's
//! validation (its constants are used directly), so a client generated
//! from the document sends what the server takes. The rules a schema
//! cannot state (that a referenced id exists, that a name resolves to a
//! public address, the plan's quotas) are said in the descriptions.

use certsentry_domain::alert::EventType;
use certsentry_domain::channel::{PayloadFormat, SigningScheme, SmtpTls};
use certsentry_domain::monitor::{
    BLOCKED_TCP_PORTS, HEARTBEAT_GRACES, INTERVALS, MAX_HEADERS, MAX_LEAD_DAYS, MAX_TARGET,
    RESERVED_HEADERS,
};
use serde_json::{Map, Value, json};

/// `certsentry_domain::channel::valid_email`'s rule; a test holds them together.
pub(crate) const EMAIL_PATTERN: &str =
    "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9-]{1,63}(\\.[A-Za-z0-9-]{1,63})+$";

/// One DNS label, as the domain's hostname rule accepts it.
const LABEL: &str = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const IPV4_OCTET: &str = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
const PORT: &str =
    "([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";

/// A hostname with an alphabetic top-level label, or an IPv4 literal.
fn host_pattern() -> String {
    let octets = format!("{IPV4_OCTET}(\\.{IPV4_OCTET}){{3}}");
    format!("({LABEL}(\\.{LABEL})*\\.[A-Za-z]{{2,63}}|{octets})")
}

/// An `http(s)://` URL with a host, optional port, path and query.
fn url_pattern() -> String {
    format!(
        "https?://{}(:{PORT})?(/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?(\\?[A-Za-z0-9._~!$&'()*+,;=:@/?-]*)?",
        host_pattern()
    )
}

fn anchored(pattern: &str) -> String {
    format!("^{pattern}$")
}

/// A trimmed, non-empty string of at most `max` characters.
fn text(max: usize) -> Value {
    json!({ "type": "string", "minLength": 1, "maxLength": max, "pattern": "\\S" })
}

fn or_null(schema: Value) -> Value {
    json!({ "anyOf": [schema, { "type": "null" }] })
}

fn null_only(why: &str) -> Value {
    json!({ "type": "null", "description": why })
}

fn off(why: &str) -> Value {
    json!({ "enum": [false, null], "description": why })
}

fn empty_list(why: &str) -> Value {
    json!({ "type": ["array", "null"], "maxItems": 0, "description": why })
}

fn strings(values: impl IntoIterator<Item = &'static str>) -> Value {
    json!({ "type": "string", "enum": values.into_iter().collect::<Vec<_>>() })
}

fn object(description: &str, properties: Map<String, Value>, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "description": description,
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

mod channels;
use channels::*;

/// Which body a monitor schema describes: create, update (the kind may be
/// left out and then stays), or one item of a sync (`externalId` required).
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Create,
    Update,
    Sync,
}

/// Replaces the derived input schemas with the discriminated ones.
/// `regions` are the server's configured probe regions.
pub fn add_input_schemas(schemas: &mut Map<String, Value>, regions: &[String]) {
    let variants = [
        (
            "StandardMonitorInput",
            standard_monitor(regions, Mode::Create),
        ),
        ("TcpMonitorInput", tcp_monitor(regions, Mode::Create)),
        ("HeartbeatMonitorInput", heartbeat_monitor(Mode::Create)),
        (
            "StandardMonitorUpdate",
            standard_monitor(regions, Mode::Update),
        ),
        ("TcpMonitorUpdate", tcp_monitor(regions, Mode::Update)),
        ("HeartbeatMonitorUpdate", heartbeat_monitor(Mode::Update)),
        (
            "StandardMonitorSyncItem",
            standard_monitor(regions, Mode::Sync),
        ),
        ("TcpMonitorSyncItem", tcp_monitor(regions, Mode::Sync)),
        ("WebhookChannelInput", webhook_channel()),
        ("EmailChannelInput", email_channel()),
        ("SlackChannelInput", chat_channel("slack")),
        ("TeamsChannelInput", chat_channel("teams")),
        ("DiscordChannelInput", chat_channel("discord")),
        ("TelegramChannelInput", telegram_channel()),
        ("NtfyChannelInput", chat_channel("ntfy")),
        ("PagerdutyChannelInput", pagerduty_channel()),
    ];
    for (name, schema) in variants {
        schemas.insert(name.into(), schema);
    }
    let one_of = |description: &str, names: &[&str]| {
        let refs: Vec<Value> = names
            .iter()
            .map(|n| json!({ "$ref": format!("#/components/schemas/{n}") }))
            .collect();
        json!({ "description": description, "oneOf": refs })
    };
    schemas.insert(
        "MonitorInput".into(),
        one_of(
            "A new monitor, shaped by its `kind`: `standard` (the default when `kind` is absent), \
             `tcp` or `heartbeat`.",
            &[
                "StandardMonitorInput",
                "TcpMonitorInput",
                "HeartbeatMonitorInput",
            ],
        ),
    );
    schemas.insert(
        "MonitorUpdate".into(),
        one_of(
            "The whole monitor, sent again: fields left out take their defaults, except \
             `environmentId`, which is kept. `kind` may be left out; it can't change.",
            &[
                "StandardMonitorUpdate",
                "TcpMonitorUpdate",
                "HeartbeatMonitorUpdate",
            ],
        ),
    );
    schemas.insert(
        "MonitorSyncItem".into(),
        one_of(
            "One desired monitor of a sync: a standard or tcp monitor with an `externalId` \
             (heartbeat monitors can't be synced).",
            &["StandardMonitorSyncItem", "TcpMonitorSyncItem"],
        ),
    );
    schemas.insert(
        "ChannelInput".into(),
        one_of(
            "A notification channel, shaped by its `type`. On update the whole channel is sent again; \
             an SMTP password left out is kept.",
            &[
                "WebhookChannelInput",
                "EmailChannelInput",
                "SlackChannelInput",
                "TeamsChannelInput",
                "DiscordChannelInput",
                "TelegramChannelInput",
                "NtfyChannelInput",
                "PagerdutyChannelInput",
            ],
        ),
    );
    // On update, a secret left out (or sent back masked) is kept, so the
    // services' secrets are not required there.
    let masked_or = |pattern: &str| {
        json!(format!(
            "^({}|\\*{{8}}.*|\\s*)$",
            &pattern[1..pattern.len() - 1]
        ))
    };
    let mut telegram_update = telegram_channel();
    telegram_update["required"] = json!(["name", "type", "chatId"]);
    let token = telegram_update["properties"]["botToken"]["pattern"]
        .as_str()
        .unwrap_or("^$")
        .to_string();
    telegram_update["properties"]["botToken"]["pattern"] = masked_or(&token);
    let bot_token = telegram_update["properties"]["botToken"].take();
    telegram_update["properties"]["botToken"] = or_null(bot_token);
    let mut pagerduty_update = pagerduty_channel();
    pagerduty_update["required"] = json!(["name", "type"]);
    let key = pagerduty_update["properties"]["routingKey"]["pattern"]
        .as_str()
        .unwrap_or("^$")
        .to_string();
    pagerduty_update["properties"]["routingKey"]["pattern"] = masked_or(&key);
    let routing_key = pagerduty_update["properties"]["routingKey"].take();
    pagerduty_update["properties"]["routingKey"] = or_null(routing_key);
    schemas.insert("TelegramChannelUpdate".into(), telegram_update);
    schemas.insert("PagerdutyChannelUpdate".into(), pagerduty_update);
    schemas.insert(
        "ChannelUpdate".into(),
        one_of(
            "The whole channel, sent again. Secrets left out, or sent back masked as reads show \
             them, are kept while the channel keeps its type.",
            &[
                "WebhookChannelInput",
                "EmailChannelInput",
                "SlackChannelInput",
                "TeamsChannelInput",
                "DiscordChannelInput",
                "TelegramChannelUpdate",
                "NtfyChannelInput",
                "PagerdutyChannelUpdate",
            ],
        ),
    );
    schemas.insert("KnownCertificateInput".into(), known_certificate());
    dmarc_domain_bodies(schemas);
    if let Some(sync) = schemas.get_mut("SyncBody") {
        sync["properties"]["monitors"]["items"] =
            json!({ "$ref": "#/components/schemas/MonitorSyncItem" });
        sync["properties"]["monitors"]["maxItems"] = json!(250);
    }
}

/// The fields every monitor kind shares.
fn monitor_common(mode: Mode) -> Map<String, Value> {
    let external_id = json!({
        "type": "string",
        "pattern": "^[A-Za-z0-9._:/-]{1,100}$",
        "description": "Your own key for the monitor, used by sync."
    });
    let mut p = Map::new();
    p.insert("label".into(), text(100));
    p.insert("enabled".into(), or_null(json!({ "type": "boolean" })));
    p.insert(
        "externalId".into(),
        if mode == Mode::Sync {
            external_id
        } else {
            or_null(external_id)
        },
    );
    p.insert(
        "environmentId".into(),
        or_null(json!({
            "type": "string",
            "description": "The id of one of the organization's environments; null for none. \
                            Omitted on update, the monitor keeps its environment."
        })),
    );
    p
}

/// `regions` and the check interval of the probed kinds.
fn probed_fields(p: &mut Map<String, Value>, regions: &[String]) {
    p.insert(
        "regions".into(),
        json!({
            "type": "array",
            "minItems": 1,
            "uniqueItems": true,
            "items": { "type": "string", "enum": regions },
            "description": "Where the checks run; the plan caps how many."
        }),
    );
    p.insert(
        "uptimeIntervalSeconds".into(),
        json!({ "type": "integer", "enum": INTERVALS, "description": "Not shorter than the plan's smallest interval." }),
    );
}

fn not_heartbeat(p: &mut Map<String, Value>) {
    for field in ["heartbeatIntervalSeconds", "heartbeatGraceSeconds"] {
        p.insert(field.into(), null_only("only for heartbeat monitors"));
    }
}

fn not_standard(p: &mut Map<String, Value>) {
    for field in [
        "checkSsl",
        "checkDomain",
        "checkDns",
        "checkUptime",
        "checkCt",
    ] {
        p.insert(field.into(), off("only for standard monitors"));
    }
    for field in ["alertLeadDays", "httpHeaders"] {
        p.insert(field.into(), empty_list("only for standard monitors"));
    }
    for field in [
        "httpMethod",
        "httpBody",
        "httpExpectedStatus",
        "httpKeyword",
        "httpKeywordMode",
        "degradedThresholdMs",
    ] {
        p.insert(field.into(), null_only("only for standard monitors"));
    }
}

/// The discriminator: required for tcp and heartbeat on create; on update
/// and in a sync it may be left out, and a monitor that exists keeps its
/// kind (a new one is standard).
fn kind(value: &str, mode: Mode) -> Value {
    if value == "standard" || mode != Mode::Create {
        json!({ "enum": [value, null], "description": "Absent or null: standard for a new monitor, the current kind for one that exists." })
    } else {
        json!({ "type": "string", "enum": [value] })
    }
}

fn kind_required(mode: Mode) -> &'static [&'static str] {
    if mode == Mode::Create { &["kind"] } else { &[] }
}

fn standard_monitor(regions: &[String], mode: Mode) -> Value {
    let mut p = monitor_common(mode);
    p.insert("kind".into(), kind("standard", mode));
    p.insert(
        "target".into(),
        json!({
            "type": "string",
            "maxLength": MAX_TARGET,
            "pattern": anchored(&format!("({}|{})", host_pattern(), url_pattern())),
            "description": "A hostname or an http(s) URL. It must not resolve to a private, loopback \
                            or link-local address unless the operator allows private targets."
        }),
    );
    for field in ["checkSsl", "checkDomain", "checkDns", "checkUptime"] {
        p.insert(field.into(), json!({ "type": "boolean" }));
    }
    p.insert(
        "checkCt".into(),
        or_null(json!({ "type": "boolean", "description": "Needs a plan with Certificate Transparency." })),
    );
    probed_fields(&mut p, regions);
    p.insert(
        "alertLeadDays".into(),
        json!({
            "type": "array",
            "maxItems": MAX_LEAD_DAYS,
            "uniqueItems": true,
            "items": { "type": "integer", "minimum": 1, "maximum": 365 }
        }),
    );
    p.insert("tcpPort".into(), null_only("only for tcp monitors"));
    not_heartbeat(&mut p);
    add_http_options(&mut p);
    let mut required = vec![
        "label",
        "target",
        "checkSsl",
        "checkDomain",
        "checkDns",
        "checkUptime",
        "uptimeIntervalSeconds",
        "regions",
        "alertLeadDays",
    ];
    if mode == Mode::Sync {
        required.push("externalId");
    }
    let mut schema = object(
        "A standard monitor: a hostname or URL, checked for TLS, domain expiry, DNS, uptime and CT.",
        p,
        &required,
    );
    // A body needs a method that carries one; a keyword mode needs a keyword.
    schema["allOf"] = json!([
        {
            "if": { "properties": { "httpBody": { "type": "string" } }, "required": ["httpBody"] },
            "then": { "properties": { "httpMethod": { "enum": ["POST", "PUT", "PATCH"] } }, "required": ["httpMethod"] }
        },
        {
            "if": { "properties": { "httpKeywordMode": { "type": "string" } }, "required": ["httpKeywordMode"] },
            "then": { "properties": { "httpKeyword": { "type": "string" } }, "required": ["httpKeyword"] }
        }
    ]);
    schema
}

/// The reserved header names in any letter case: `host` → `[hH][oO][sS][tT]`.
fn reserved_header_pattern() -> String {
    let names: Vec<String> = RESERVED_HEADERS
        .iter()
        .map(|name| {
            name.chars()
                .map(|c| {
                    if c.is_ascii_alphabetic() {
                        format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        })
        .collect();
    format!("^({})$", names.join("|"))
}

fn add_http_options(p: &mut Map<String, Value>) {
    let status = "[1-5][0-9]{2}";
    let item = format!(" *{status}( *- *{status})? *");
    p.insert(
        "httpMethod".into(),
        or_null(json!({ "$ref": "#/components/schemas/HttpMethod" })),
    );
    p.insert(
        "httpHeaders".into(),
        or_null(json!({
            "type": "array",
            "maxItems": MAX_HEADERS,
            "description": "Extra request headers; names are unique regardless of case.",
            "items": {
                "type": "object",
                "properties": {
                    "name": {
                        "type": "string",
                        "pattern": "^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$",
                        "not": { "pattern": reserved_header_pattern() },
                        "description": "Not one the prober sets itself (Host, Content-Length, ...)."
                    },
                    "value": {
                        "type": "string",
                        "maxLength": 4096,
                        "pattern": "^[^\\r\\n\\x00]*$",
                        "description": "On update, null keeps the stored value of a header already set."
                    }
                },
                "required": ["name", "value"],
                "additionalProperties": false
            }
        })),
    );
    p.insert(
        "httpBody".into(),
        or_null(json!({ "type": "string", "maxLength": 2048, "description": "Needs httpMethod POST, PUT or PATCH." })),
    );
    p.insert(
        "httpExpectedStatus".into(),
        or_null(json!({
            "type": "string",
            "pattern": anchored(&format!("{item}(,{item})*")),
            "description": "Codes 100-599 as ranges or lists: \"200-299\", \"200,301\"; a range's low end first."
        })),
    );
    p.insert(
        "httpKeyword".into(),
        or_null(json!({ "type": "string", "minLength": 1, "maxLength": 200 })),
    );
    p.insert(
        "httpKeywordMode".into(),
        or_null(json!({ "$ref": "#/components/schemas/KeywordMode" })),
    );
    p.insert(
        "degradedThresholdMs".into(),
        or_null(json!({ "type": "integer", "minimum": 50, "maximum": 60000 })),
    );
}

fn tcp_monitor(regions: &[String], mode: Mode) -> Value {
    let mut p = monitor_common(mode);
    p.insert("kind".into(), kind("tcp", mode));
    p.insert(
        "target".into(),
        json!({
            "type": "string",
            "maxLength": 253,
            "pattern": anchored(&host_pattern()),
            "description": "A bare hostname or IP address (no scheme or port), public unless the operator allows private targets."
        }),
    );
    p.insert(
        "tcpPort".into(),
        json!({
            "type": "integer",
            "minimum": 1,
            "maximum": 65535,
            "not": { "enum": BLOCKED_TCP_PORTS },
            "description": "Mail relay, mail retrieval and RPC/SMB ports are refused."
        }),
    );
    probed_fields(&mut p, regions);
    not_heartbeat(&mut p);
    not_standard(&mut p);
    let mut required = kind_required(mode).to_vec();
    required.extend([
        "label",
        "target",
        "tcpPort",
        "uptimeIntervalSeconds",
        "regions",
    ]);
    if mode == Mode::Sync {
        required.push("externalId");
    }
    object(
        "A TCP monitor: a host and port that must accept connections.",
        p,
        &required,
    )
}

fn heartbeat_monitor(mode: Mode) -> Value {
    let mut p = monitor_common(mode);
    p.insert("kind".into(), kind("heartbeat", mode));
    p.insert(
        "heartbeatIntervalSeconds".into(),
        json!({ "type": "integer", "enum": INTERVALS, "description": "Not shorter than the plan's smallest interval." }),
    );
    p.insert(
        "heartbeatGraceSeconds".into(),
        json!({ "type": "integer", "enum": HEARTBEAT_GRACES }),
    );
    p.insert(
        "target".into(),
        null_only("heartbeat monitors have no target"),
    );
    p.insert(
        "regions".into(),
        empty_list("heartbeat monitors do not run in regions"),
    );
    p.insert(
        "uptimeIntervalSeconds".into(),
        null_only("heartbeat monitors use heartbeatIntervalSeconds"),
    );
    p.insert("tcpPort".into(), null_only("only for tcp monitors"));
    not_standard(&mut p);
    let mut required = kind_required(mode).to_vec();
    required.extend(["label", "heartbeatIntervalSeconds", "heartbeatGraceSeconds"]);
    object(
        "A heartbeat monitor: your job pings its URL, and a missed ping alerts.",
        p,
        &required,
    )
}

/// Exactly one of the three identifiers, with an optional note.
fn known_certificate() -> Value {
    let hex = json!({ "type": "string", "pattern": "^ *([0-9A-Fa-f]:?){63}[0-9A-Fa-f] *$" });
    let identifiers = [
        ("sha256", hex.clone(), "The certificate's SHA-256 (hex)."),
        (
            "tbsSha256",
            hex,
            "Cert Spotter's `tbs_sha256` (hex): also covers the precertificate.",
        ),
        (
            "pem",
            json!({ "type": "string", "pattern": "-----BEGIN CERTIFICATE-----" }),
            "The certificate in PEM; both hashes are computed from it.",
        ),
    ];
    let variants: Vec<Value> = identifiers
        .iter()
        .map(|(given, schema, description)| {
            let mut p = Map::new();
            for (other, _, _) in &identifiers {
                if other != given {
                    p.insert((*other).into(), null_only("give exactly one identifier"));
                }
            }
            let mut given_schema = schema.clone();
            given_schema["description"] = json!(description);
            p.insert((*given).into(), given_schema);
            p.insert(
                "note".into(),
                or_null(json!({ "type": "string", "maxLength": 500 })),
            );
            object(description, p, &[given])
        })
        .collect();
    json!({
        "description": "A certificate to add to the inventory: exactly one of sha256, tbsSha256 or pem.",
        "oneOf": variants
    })
}

/// The DMARC domain bodies: a domain name (not an address) and a whole
/// percentage.
fn dmarc_domain_bodies(schemas: &mut Map<String, Value>) {
    let threshold = json!({ "type": "integer", "minimum": 1, "maximum": 100 });
    if let Some(input) = schemas.get_mut("DmarcDomainInput") {
        input["properties"]["domain"]["pattern"] = json!(anchored(&format!(
            "{LABEL}(\\.{LABEL})*\\.[A-Za-z]{{2,63}}"
        )));
        input["properties"]["domain"]["maxLength"] = json!(253);
        input["properties"]["failureRateThresholdPct"] = or_null(threshold.clone());
        input["additionalProperties"] = json!(false);
    }
    if let Some(update) = schemas.get_mut("DmarcDomainUpdate") {
        update["properties"]["failureRateThresholdPct"] = threshold;
        update["additionalProperties"] = json!(false);
    }
}
