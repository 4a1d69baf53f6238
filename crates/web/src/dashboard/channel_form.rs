//! The notification channel form, shared by "new channel" and a channel's
//! edit form: what was typed (or what is stored), turned into the API's
//! request body, with the API's messages beside each field.
//!
//! Secrets are never put back into a form: a bot token, access token,
//! routing key or SMTP password left blank keeps the stored one (the API's
//! own rule for an update), and a URL whose password is shown masked is
//! sent back as the stored URL.

use std::collections::BTreeMap;

use certsentry_api::channels::ChannelView;
use certsentry_domain::alert::EventType;
use certsentry_domain::channel::{Channel, ChannelType, PayloadFormat, SigningScheme};
use certsentry_domain::org::Environment;
use serde_json::{Map, Value, json};

use super::views::messages_for;

/// Text fields sent as they are typed, when filled in.
const TEXT_FIELDS: &[&str] = &[
    "name",
    "type",
    "url",
    "format",
    "signing",
    "signatureHeader",
    "from",
    "botToken",
    "chatId",
    "token",
    "routingKey",
];

/// The form's state: values as typed or stored, the ticked lists, and the
/// API's refusal when it comes back.
pub struct ChannelForm {
    pub values: BTreeMap<String, String>,
    pub events: Vec<String>,
    pub environment_ids: Vec<String>,
    pub errors: BTreeMap<String, String>,
    pub error: Option<String>,
    /// The organization's environments, to scope the channel to.
    pub environments: Vec<Environment>,
    pub types: &'static [ChannelType],
    pub formats: &'static [PayloadFormat],
    pub schemes: &'static [SigningScheme],
    pub all_events: &'static [EventType],
}

impl ChannelForm {
    /// An empty form: a new channel is enabled unless unticked.
    pub fn blank(environments: Vec<Environment>) -> Self {
        let mut values = BTreeMap::new();
        values.insert("enabled".into(), "on".into());
        Self::with(values, Vec::new(), Vec::new(), environments)
    }

    fn with(
        values: BTreeMap<String, String>,
        events: Vec<String>,
        environment_ids: Vec<String>,
        environments: Vec<Environment>,
    ) -> Self {
        Self {
            values,
            events,
            environment_ids,
            errors: BTreeMap::new(),
            error: None,
            environments,
            types: ChannelType::ALL,
            formats: PayloadFormat::ALL,
            schemes: SigningScheme::ALL,
            all_events: EventType::ALL,
        }
    }

    /// A form posted by the browser.
    pub fn posted(body: &[u8], environments: Vec<Environment>) -> Self {
        let mut values = BTreeMap::new();
        let (mut events, mut environment_ids) = (Vec::new(), Vec::new());
        for (name, value) in form_urlencoded::parse(body) {
            match name.as_ref() {
                "events" => events.push(value.into_owned()),
                "environmentIds" => environment_ids.push(value.into_owned()),
                "csrf_token" => {}
                name => {
                    values.insert(name.to_string(), value.into_owned());
                }
            }
        }
        Self::with(values, events, environment_ids, environments)
    }

    /// A stored channel in the form, as the API reads it back (secrets
    /// masked, and so left out of the inputs).
    pub fn stored(channel: &Channel, environments: Vec<Environment>) -> Self {
        let view = ChannelView::from(channel);
        let mut values = BTreeMap::new();
        let mut put = |field: &str, value: Option<String>| {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                values.insert(field.to_string(), value);
            }
        };
        put("toggles", Some("1".into()));
        put("name", Some(view.name));
        put("type", Some(view.channel_type));
        put("url", view.url);
        put("format", Some(view.format));
        put("signing", Some(view.signing));
        put("signatureHeader", view.signature_header);
        put("from", view.from);
        put("to", Some(view.to.join(", ")));
        put("chatId", view.chat_id);
        put(
            "messageThreadId",
            view.message_thread_id.map(|t| t.to_string()),
        );
        put("monitorIds", Some(view.monitor_ids.join(", ")));
        put("enabled", view.enabled.then(|| "on".into()));
        put(
            "includeKnownCertificates",
            view.include_known_certificates.then(|| "on".into()),
        );
        if let Some(smtp) = view.smtp {
            put("smtpHost", Some(smtp.host));
            put("smtpPort", Some(smtp.port.to_string()));
            put("smtpTls", Some(smtp.tls));
            put("smtpUsername", smtp.username);
        }
        Self::with(values, view.events, view.environment_ids, environments)
    }

    pub fn refused(mut self, refusal: (BTreeMap<String, String>, Option<String>)) -> Self {
        (self.errors, self.error) = refusal;
        self
    }

    pub fn failed(&self) -> bool {
        self.error.is_some() || !self.errors.is_empty()
    }

    pub fn value(&self, field: &str) -> &str {
        self.values.get(field).map_or("", String::as_str)
    }
    pub fn is(&self, field: &str, value: &str) -> bool {
        self.value(field) == value
    }
    pub fn ticked(&self, field: &str) -> bool {
        self.values.contains_key(field)
    }
    pub fn has_event(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == event)
    }
    pub fn has_environment(&self, id: &str) -> bool {
        self.environment_ids.iter().any(|e| e == id)
    }
    pub fn error_for(&self, field: &str) -> Option<String> {
        messages_for(&self.errors, field, true)
    }

    fn filled(&self, field: &str) -> Option<&str> {
        self.values
            .get(field)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The API's request body: text fields as typed, the ticked lists,
    /// comma-separated lists split, the SMTP fields nested. The two
    /// checkboxes count only when the form had them (`toggles`), so a
    /// script posting the older fields alone still gets the defaults.
    pub fn to_body(&self) -> Value {
        let mut body = Map::new();
        for field in TEXT_FIELDS {
            if let Some(text) = self.filled(field) {
                body.insert((*field).into(), json!(text));
            }
        }
        if let Some(thread) = self.filled("messageThreadId") {
            let value = thread
                .parse::<i64>()
                .map_or_else(|_| json!(thread), |n| json!(n));
            body.insert("messageThreadId".into(), value);
        }
        if !self.events.is_empty() {
            body.insert("events".into(), json!(self.events));
        }
        for field in ["to", "monitorIds"] {
            if let Some(list) = self.filled(field) {
                let items: Vec<&str> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .collect();
                body.insert(field.into(), json!(items));
            }
        }
        if self.ticked("toggles") {
            body.insert("environmentIds".into(), json!(self.environment_ids));
            body.insert("enabled".into(), json!(self.ticked("enabled")));
            body.insert(
                "includeKnownCertificates".into(),
                json!(self.ticked("includeKnownCertificates")),
            );
        }
        let mut smtp = Map::new();
        for (field, key) in [
            ("smtpHost", "host"),
            ("smtpTls", "tls"),
            ("smtpUsername", "username"),
            ("smtpPassword", "password"),
        ] {
            if let Some(text) = self.filled(field) {
                smtp.insert(key.into(), json!(text));
            }
        }
        if let Some(port) = self.filled("smtpPort") {
            let value = port
                .parse::<u16>()
                .map_or_else(|_| json!(port), |n| json!(n));
            smtp.insert("port".into(), value);
        }
        if !smtp.is_empty() {
            body.insert("smtp".into(), Value::Object(smtp));
        }
        Value::Object(body)
    }

    /// The body for an update of `stored`: as [`to_body`](Self::to_body),
    /// with the URL shown masked sent back as the stored URL.
    pub fn to_update_body(&self, stored: &Channel) -> Value {
        let mut body = self.to_body();
        let shown = ChannelView::from(stored).url;
        if shown.is_some() && self.filled("url") == shown.as_deref() {
            body["url"] = json!(stored.spec.url);
        }
        body
    }
}
