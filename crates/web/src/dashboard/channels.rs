//! Settings → Notification channels: every type in one form (the API says
//! which fields a type needs, beside each field), the signing secret shown
//! once on create, "send test", and each channel's delivery log with
//! redeliver. Writes go through the API's handlers with the signed-in
//! person as the caller.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::{Extension, Form, Json};
use certsentry_api::ApiError;
use certsentry_api::channels::ChannelView;
use certsentry_api::error::ApiJson;
use certsentry_api::events::DeliveryView;
use certsentry_api::inputs::ChannelInput;
use certsentry_domain::ChannelId;
use certsentry_domain::alert::EventType;
use certsentry_domain::channel::{ChannelType, PayloadFormat, SigningScheme};
use certsentry_domain::people::Permission;
use certsentry_store::DeliveryQuery;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::views::{Frame, messages_for, not_found, refusal, render, render_form, unavailable};
use super::{Dashboard, Signed};

/// Deliveries shown on a channel's page.
const DELIVERIES: u32 = 50;

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

#[derive(Template)]
#[template(path = "dashboard/channels.html")]
struct ChannelsPage {
    frame: Frame,
    channels: Vec<ChannelView>,
    may_manage: bool,
    types: &'static [ChannelType],
    formats: &'static [PayloadFormat],
    schemes: &'static [SigningScheme],
    events: &'static [EventType],
    /// What was typed, when the form comes back.
    values: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
    error: Option<String>,
    /// A new channel's signing secret, shown once.
    secret: Option<String>,
}

impl ChannelsPage {
    fn value(&self, field: &str) -> &str {
        self.values.get(field).map_or("", String::as_str)
    }
    fn is(&self, field: &str, value: &str) -> bool {
        self.value(field) == value
    }
    fn error_for(&self, field: &str) -> Option<String> {
        messages_for(&self.errors, field, true)
    }
}

async fn channels_page(
    dashboard: &Dashboard,
    signed: &Signed,
    values: BTreeMap<String, String>,
    refusal: (BTreeMap<String, String>, Option<String>),
    secret: Option<String>,
) -> Response {
    let Ok(channels) = dashboard.store.list_channels(signed.org_id()).await else {
        return unavailable();
    };
    let (errors, error) = refusal;
    let failed = error.is_some() || !errors.is_empty();
    render_form(
        &ChannelsPage {
            frame: Frame::new(signed, "Notification channels", "channels"),
            channels: channels.iter().map(ChannelView::from).collect(),
            may_manage: signed.may(Permission::ManageChannels),
            types: ChannelType::ALL,
            formats: PayloadFormat::ALL,
            schemes: SigningScheme::ALL,
            events: EventType::ALL,
            values,
            errors,
            error,
            secret,
        },
        failed,
    )
}

pub async fn page(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
) -> Response {
    channels_page(
        &dashboard,
        &signed,
        BTreeMap::new(),
        (BTreeMap::new(), None),
        None,
    )
    .await
}

/// The API's request body for a posted form: text fields as typed, the
/// ticked events, `to` split at commas, the SMTP fields nested.
fn to_body(values: &BTreeMap<String, String>, events: &[String]) -> Value {
    let mut body = Map::new();
    for field in TEXT_FIELDS {
        if let Some(text) = values
            .get(*field)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
        {
            body.insert((*field).into(), json!(text));
        }
    }
    if let Some(thread) = values
        .get("messageThreadId")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    {
        body.insert(
            "messageThreadId".into(),
            thread
                .parse::<i64>()
                .map_or_else(|_| json!(thread), |n| json!(n)),
        );
    }
    if !events.is_empty() {
        body.insert("events".into(), json!(events));
    }
    if let Some(to) = values.get("to").filter(|v| !v.trim().is_empty()) {
        let to: Vec<&str> = to
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        body.insert("to".into(), json!(to));
    }
    let mut smtp = Map::new();
    for (field, key) in [
        ("smtpHost", "host"),
        ("smtpTls", "tls"),
        ("smtpUsername", "username"),
        ("smtpPassword", "password"),
    ] {
        if let Some(text) = values
            .get(field)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
        {
            smtp.insert(key.into(), json!(text));
        }
    }
    if let Some(port) = values
        .get("smtpPort")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    {
        smtp.insert(
            "port".into(),
            port.parse::<u16>()
                .map_or_else(|_| json!(port), |n| json!(n)),
        );
    }
    if !smtp.is_empty() {
        body.insert("smtp".into(), Value::Object(smtp));
    }
    Value::Object(body)
}

/// `POST /settings/channels`: `POST /api/v1/notification-channels`.
pub async fn create(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    body: Bytes,
) -> Response {
    let mut values = BTreeMap::new();
    let mut events = Vec::new();
    for (name, value) in form_urlencoded::parse(&body) {
        match name.as_ref() {
            "events" => events.push(value.into_owned()),
            "csrf_token" => {}
            name => {
                values.insert(name.to_string(), value.into_owned());
            }
        }
    }
    let input: ChannelInput = match serde_json::from_value(to_body(&values, &events)) {
        Ok(input) => input,
        Err(e) => {
            let refusal = (
                BTreeMap::new(),
                Some(format!("The form could not be read: {e}")),
            );
            return channels_page(&dashboard, &signed, values, refusal, None).await;
        }
    };
    let caller = match dashboard.caller(&signed).await {
        Ok(caller) => Arc::new(caller),
        Err(response) => return response,
    };
    match certsentry_api::channels::create(
        State(dashboard.api.clone()),
        Extension(caller),
        ApiJson(input),
    )
    .await
    {
        Ok((_, Json(made))) => {
            let secret = made.channel.secret.clone();
            channels_page(
                &dashboard,
                &signed,
                BTreeMap::new(),
                (BTreeMap::new(), None),
                secret,
            )
            .await
        }
        Err(ApiError::Unavailable { .. }) => unavailable(),
        Err(e) => channels_page(&dashboard, &signed, values, refusal(e), None).await,
    }
}

#[derive(Template)]
#[template(path = "dashboard/channel.html")]
struct ChannelPage {
    frame: Frame,
    channel: ChannelView,
    deliveries: Vec<DeliveryView>,
    may_manage: bool,
}

/// `GET /settings/channels/:id`: the channel and its delivery log.
pub async fn channel(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    let store = &dashboard.store;
    let channel_id = ChannelId::from_string(id);
    let channel = match store.get_channel(signed.org_id(), &channel_id).await {
        Ok(Some(channel)) => channel,
        Ok(None) => return not_found(),
        Err(_) => return unavailable(),
    };
    let query = DeliveryQuery {
        channel_id: Some(channel_id),
        event_id: None,
        status: None,
        cursor: None,
        limit: DELIVERIES,
    };
    let Ok(deliveries) = store.list_deliveries(signed.org_id(), &query).await else {
        return unavailable();
    };
    let view = ChannelView::from(&channel);
    render(&ChannelPage {
        frame: Frame::new(&signed, view.name.clone(), "channels"),
        channel: view,
        deliveries: deliveries.items.iter().map(DeliveryView::from).collect(),
        may_manage: signed.may(Permission::ManageChannels),
    })
}

/// `POST /settings/channels/:id/test`: a sample event, delivered now.
pub async fn send_test(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    let then = format!("/settings/channels/{id}");
    dashboard
        .act_on(&signed, id, certsentry_api::channels::send_test, &then)
        .await
}

/// `POST /settings/channels/:id/delete`.
pub async fn delete(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    dashboard
        .act_on(
            &signed,
            id,
            certsentry_api::channels::remove,
            "/settings/channels",
        )
        .await
}

#[derive(Deserialize)]
pub struct RedeliverForm {
    /// The channel whose page to return to.
    #[serde(default)]
    channel: String,
}

/// `POST /settings/deliveries/:id/redeliver`: the same delivery (and
/// idempotency key), sent again now.
pub async fn redeliver(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    Form(form): Form<RedeliverForm>,
) -> Response {
    // Back to the channel's page; the id is ours to shape, not a URL.
    let back: String = form
        .channel
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    dashboard
        .act_on(
            &signed,
            id,
            certsentry_api::events::redeliver,
            &format!("/settings/channels/{back}"),
        )
        .await
}
