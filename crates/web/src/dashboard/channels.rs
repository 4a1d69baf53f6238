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
use certsentry_domain::org::Environment;
use certsentry_domain::people::Permission;
use certsentry_store::DeliveryQuery;
use serde::Deserialize;
use serde_json::Value;

use super::channel_form::ChannelForm;
use super::views::{Frame, not_found, refusal, render_form, unavailable};
use super::{Dashboard, Signed};

/// Deliveries shown on a channel's page.
const DELIVERIES: u32 = 50;

#[derive(Template)]
#[template(path = "dashboard/channels.html")]
struct ChannelsPage {
    frame: Frame,
    channels: Vec<ChannelView>,
    may_manage: bool,
    form: ChannelForm,
    editing: bool,
    /// A new channel's signing secret, shown once.
    secret: Option<String>,
}

async fn environments(
    dashboard: &Dashboard,
    signed: &Signed,
) -> Result<Vec<Environment>, Response> {
    dashboard
        .store
        .list_environments(signed.org_id())
        .await
        .map_err(|_| unavailable())
}

async fn channels_page(
    dashboard: &Dashboard,
    signed: &Signed,
    form: ChannelForm,
    secret: Option<String>,
) -> Response {
    let Ok(channels) = dashboard.store.list_channels(signed.org_id()).await else {
        return unavailable();
    };
    let failed = form.failed();
    render_form(
        &ChannelsPage {
            frame: Frame::new(signed, "Notification channels", "channels"),
            channels: channels.iter().map(ChannelView::from).collect(),
            may_manage: signed.may(Permission::ManageChannels),
            form,
            editing: false,
            secret,
        },
        failed,
    )
}

pub async fn page(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
) -> Response {
    let environments = match environments(&dashboard, &signed).await {
        Ok(environments) => environments,
        Err(response) => return response,
    };
    channels_page(&dashboard, &signed, ChannelForm::blank(environments), None).await
}

/// The API's request body, or why the form could not be read.
fn read_input(body: Value) -> Result<ChannelInput, (BTreeMap<String, String>, Option<String>)> {
    serde_json::from_value(body).map_err(|e| {
        (
            BTreeMap::new(),
            Some(format!("The form could not be read: {e}")),
        )
    })
}

/// `POST /settings/channels`: `POST /api/v1/notification-channels`.
pub async fn create(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    body: Bytes,
) -> Response {
    let environments = match environments(&dashboard, &signed).await {
        Ok(environments) => environments,
        Err(response) => return response,
    };
    let form = ChannelForm::posted(&body, environments);
    let input = match read_input(form.to_body()) {
        Ok(input) => input,
        Err(why) => return channels_page(&dashboard, &signed, form.refused(why), None).await,
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
            let blank = ChannelForm::blank(form.environments);
            channels_page(&dashboard, &signed, blank, secret).await
        }
        Err(ApiError::Unavailable { .. }) => unavailable(),
        Err(e) => channels_page(&dashboard, &signed, form.refused(refusal(e)), None).await,
    }
}

#[derive(Template)]
#[template(path = "dashboard/channel.html")]
struct ChannelPage {
    frame: Frame,
    channel: ChannelView,
    deliveries: Vec<DeliveryView>,
    may_manage: bool,
    form: ChannelForm,
    editing: bool,
    /// A new signing secret (after a rotation or a new scheme), shown once.
    secret: Option<String>,
}

/// What the channel page is showing besides the stored channel.
#[derive(Default)]
struct Shown {
    /// The edit form as posted, when it comes back refused.
    form: Option<ChannelForm>,
    secret: Option<String>,
    notice: Option<String>,
}

async fn channel_page(
    dashboard: &Dashboard,
    signed: &Signed,
    id: String,
    shown: Shown,
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
    let form = match shown.form {
        Some(form) => form,
        None => match environments(dashboard, signed).await {
            Ok(environments) => ChannelForm::stored(&channel, environments),
            Err(response) => return response,
        },
    };
    let failed = form.failed();
    let view = ChannelView::from(&channel);
    render_form(
        &ChannelPage {
            frame: Frame::new(signed, view.name.clone(), "channels").with_notice(shown.notice),
            channel: view,
            deliveries: deliveries.items.iter().map(DeliveryView::from).collect(),
            may_manage: signed.may(Permission::ManageChannels),
            form,
            editing: true,
            secret: shown.secret,
        },
        failed,
    )
}

/// `GET /settings/channels/:id`: the channel, its edit form and its
/// delivery log.
pub async fn channel(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    channel_page(&dashboard, &signed, id, Shown::default()).await
}

/// `POST /settings/channels/:id`: `PATCH /api/v1/notification-channels/:id`.
pub async fn update(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let stored = match dashboard
        .store
        .get_channel(signed.org_id(), &ChannelId::from_string(id.clone()))
        .await
    {
        Ok(Some(channel)) => channel,
        Ok(None) => return not_found(),
        Err(_) => return unavailable(),
    };
    let environments = match environments(&dashboard, &signed).await {
        Ok(environments) => environments,
        Err(response) => return response,
    };
    let form = ChannelForm::posted(&body, environments);
    let input = match read_input(form.to_update_body(&stored)) {
        Ok(input) => input,
        Err(why) => {
            let shown = Shown {
                form: Some(form.refused(why)),
                ..Shown::default()
            };
            return channel_page(&dashboard, &signed, id, shown).await;
        }
    };
    let caller = match dashboard.caller(&signed).await {
        Ok(caller) => Arc::new(caller),
        Err(response) => return response,
    };
    let shown = match certsentry_api::channels::update(
        State(dashboard.api.clone()),
        Extension(caller),
        Path(id.clone()),
        ApiJson(input),
    )
    .await
    {
        Ok(Json(saved)) => Shown {
            form: None,
            secret: saved.channel.secret,
            notice: Some(saved_notice(&saved.warnings)),
        },
        Err(ApiError::NotFound(_)) => return not_found(),
        Err(ApiError::Unavailable { .. }) => return unavailable(),
        Err(e) => Shown {
            form: Some(form.refused(refusal(e))),
            ..Shown::default()
        },
    };
    channel_page(&dashboard, &signed, id, shown).await
}

fn saved_notice(warnings: &[String]) -> String {
    if warnings.is_empty() {
        "Saved.".into()
    } else {
        format!("Saved. {}", warnings.join(" "))
    }
}

/// `POST /settings/channels/:id/rotate-secret`: a new signing secret,
/// shown once; the old one keeps signing for 24 hours.
pub async fn rotate_secret(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    let caller = match dashboard.caller(&signed).await {
        Ok(caller) => Arc::new(caller),
        Err(response) => return response,
    };
    let shown = match certsentry_api::channels::rotate_secret(
        State(dashboard.api.clone()),
        Extension(caller),
        Path(id.clone()),
    )
    .await
    {
        Ok(Json(rotated)) => Shown {
            secret: rotated.channel.secret,
            notice: Some("New signing secret made. The old one keeps working for 24 hours.".into()),
            ..Shown::default()
        },
        Err(ApiError::NotFound(_)) => return not_found(),
        Err(ApiError::Unavailable { .. }) => return unavailable(),
        Err(e) => Shown {
            notice: Some(e.to_string()),
            ..Shown::default()
        },
    };
    channel_page(&dashboard, &signed, id, shown).await
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
