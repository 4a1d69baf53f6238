//! `/api/v1/notification-channels`: where alerts go. The API reference configures
//! channels in a dashboard; here they are an API (and CLI) resource.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use certsentry_domain::ChannelId;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::channel::{
    Channel, ChannelType, SigningScheme, mask_secret, validate_channel,
};

use crate::inputs::ChannelInput;
use certsentry_domain::time::{format_ms, now_ms};
use certsentry_notify::http::redact_url;
use certsentry_store::StoreError;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;
use crate::views::{ErrorBody, OkBody};

/// How long a rotated-out secret keeps signing.
const ROTATION_OVERLAP_MS: i64 = 24 * 3600 * 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/notification-channels", get(list).post(create))
        .route(
            "/api/v1/notification-channels/{id}",
            get(retrieve).patch(update).delete(remove),
        )
        .route(
            "/api/v1/notification-channels/{id}/rotate-secret",
            post(rotate_secret),
        )
        .route("/api/v1/notification-channels/{id}/test", post(send_test))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SmtpView {
    pub host: String,
    pub port: u16,
    pub tls: String,
    pub username: Option<String>,
    /// `********` when set; never shown.
    pub password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelView {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub channel_type: String,
    /// A password in the URL is shown as `********`.
    pub url: Option<String>,
    pub format: String,
    pub signing: String,
    pub signature_header: Option<String>,
    pub events: Vec<String>,
    pub monitor_ids: Vec<String>,
    pub environment_ids: Vec<String>,
    pub include_known_certificates: bool,
    pub enabled: bool,
    pub smtp: Option<SmtpView>,
    pub from: Option<String>,
    pub to: Vec<String>,
    /// Telegram; masked (`********` and the last 4 characters) in reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_thread_id: Option<i64>,
    /// ntfy; masked in reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// PagerDuty; masked in reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<String>,
    /// Only in the create and rotate-secret responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Channel> for ChannelView {
    fn from(c: &Channel) -> Self {
        let s = &c.spec;
        Self {
            id: c.id.to_string(),
            name: s.name.clone(),
            channel_type: s.channel_type.as_str().into(),
            url: s.url.as_deref().map(redact_url),
            format: s.format.as_str().into(),
            signing: s.signing.as_str().into(),
            signature_header: s.signature_header.clone(),
            events: s.events.iter().map(|e| e.as_str().to_string()).collect(),
            monitor_ids: s.monitor_ids.clone(),
            environment_ids: s.environment_ids.clone(),
            include_known_certificates: s.include_known_certificates,
            enabled: s.enabled,
            smtp: s.smtp.as_ref().map(|m| SmtpView {
                host: m.host.clone(),
                port: m.port,
                tls: m.tls.as_str().into(),
                username: m.username.clone(),
                password: m.password.as_ref().map(|_| "********".into()),
            }),
            from: s.from.clone(),
            to: s.to.clone(),
            bot_token: s.bot_token.as_deref().map(mask_secret),
            chat_id: s.chat_id.clone(),
            message_thread_id: s.message_thread_id,
            token: s.token.as_deref().map(mask_secret),
            routing_key: s.routing_key.as_deref().map(mask_secret),
            secret: None,
            created_at: format_ms(c.created_at),
            updated_at: format_ms(c.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelEnvelope {
    pub channel: ChannelView,
    /// On create and update: advice about a valid channel (a Slack or
    /// Teams URL on another host than the service's own).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelList {
    pub channels: Vec<ChannelView>,
}

fn audit(caller: &Caller, action: &str, channel: &Channel) -> AuditEvent {
    AuditEvent::new(
        caller.org_id(),
        &caller.actor(),
        action,
        "notificationChannel",
        channel.id.as_str(),
        json!({ "name": channel.spec.name }),
    )
}

async fn load(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Channel> {
    state
        .store
        .get_channel(caller.org_id(), &ChannelId::from_string(id))
        .await?
        .ok_or_else(|| ApiError::not_found("Notification channel"))
}

/// Validates a body, including the SSRF rule for the webhook URL.
async fn prepare(
    state: &AppState,
    caller: &Caller,
    input: ChannelInput,
    previous: Option<&certsentry_domain::channel::ChannelSpec>,
) -> ApiResult<certsentry_domain::channel::ChannelSpec> {
    let spec = validate_channel(input.into(), previous).map_err(ApiError::validation)?;
    if spec.events.iter().any(|e| e.is_audit()) && !caller.plan.audit_logs {
        return Err(ApiError::PlanLimit(format!(
            "The {} plan has no audit logs, so it cannot stream audit.event. Upgrade to use the audit webhook.",
            caller.plan.display_name
        )));
    }
    // Chat services are reached over https; plain http only where private
    // targets are allowed (tests, a relay on the LAN).
    if spec.channel_type != ChannelType::Webhook
        && !state.config.allow_private_targets
        && spec
            .url
            .as_deref()
            .is_some_and(|u| !u.starts_with("https://"))
    {
        return Err(ApiError::invalid("url", "must be an https:// URL"));
    }
    if let Some(url) = &spec.url
        && let Err(message) = crate::targets::check_webhook_url(
            url,
            state.config.allow_private_targets,
            &state.config.probe.dns_servers,
        )
        .await
    {
        return Err(ApiError::invalid("url", message));
    }
    Ok(spec)
}

/// List notification channels.
#[utoipa::path(
    get, path = "/api/v1/notification-channels", tag = "notification-channels",
    responses((status = 200, body = ChannelList)),
    security(("bearerAuth" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
) -> ApiResult<Json<ChannelList>> {
    let channels = state.store.list_channels(caller.org_id()).await?;
    Ok(Json(ChannelList {
        channels: channels.iter().map(ChannelView::from).collect(),
    }))
}

/// Create a channel. The response carries the signing `secret`, once.
#[utoipa::path(
    post, path = "/api/v1/notification-channels", tag = "notification-channels",
    request_body = Object,
    responses((status = 201, body = ChannelEnvelope), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    ApiJson(input): ApiJson<ChannelInput>,
) -> ApiResult<(StatusCode, Json<ChannelEnvelope>)> {
    let spec = prepare(&state, &caller, input, None).await?;
    let channel = Channel::new(caller.org_id().clone(), spec);
    state
        .store
        .create_channel(
            &channel,
            &audit(&caller, "notificationChannel.create", &channel),
        )
        .await?;
    let mut view = ChannelView::from(&channel);
    view.secret = channel.secret.clone();
    let warnings = certsentry_domain::channel::channel_warnings(&channel.spec);
    Ok((
        StatusCode::CREATED,
        Json(ChannelEnvelope {
            channel: view,
            warnings,
        }),
    ))
}

/// Retrieve a channel (never its secret).
#[utoipa::path(
    get, path = "/api/v1/notification-channels/{id}", tag = "notification-channels",
    params(("id" = String, Path)),
    responses((status = 200, body = ChannelEnvelope), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn retrieve(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
) -> ApiResult<Json<ChannelEnvelope>> {
    let channel = load(&state, &caller, &id).await?;
    Ok(Json(ChannelEnvelope {
        channel: ChannelView::from(&channel),
        warnings: Vec::new(),
    }))
}

/// Replace a channel's definition. The secret stays, unless the signing
/// scheme changes (the new secret is then in the response, once).
#[utoipa::path(
    patch, path = "/api/v1/notification-channels/{id}", tag = "notification-channels",
    params(("id" = String, Path)), request_body = Object,
    responses((status = 200, body = ChannelEnvelope), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ChannelInput>,
) -> ApiResult<Json<ChannelEnvelope>> {
    let mut channel = load(&state, &caller, &id).await?;
    // Secrets left out are kept only while the channel keeps its type.
    let previous = (input.channel_type == Some(channel.spec.channel_type)).then_some(&channel.spec);
    let spec = prepare(&state, &caller, input, previous).await?;
    let rekeyed =
        spec.signing != channel.spec.signing || spec.channel_type != channel.spec.channel_type;
    if rekeyed {
        channel.secret = Channel::secret_for(&spec);
        channel.previous_secret = None;
        channel.previous_expires_at = None;
    }
    channel.spec = spec;
    channel.updated_at = now_ms();
    match state
        .store
        .update_channel(
            &channel,
            &audit(&caller, "notificationChannel.update", &channel),
        )
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(ApiError::not_found("Notification channel")),
        Err(e) => return Err(e.into()),
    }
    let mut view = ChannelView::from(&channel);
    if rekeyed {
        view.secret = channel.secret.clone();
    }
    let warnings = certsentry_domain::channel::channel_warnings(&channel.spec);
    Ok(Json(ChannelEnvelope {
        channel: view,
        warnings,
    }))
}

/// Delete a channel; its pending deliveries are dropped.
#[utoipa::path(
    delete, path = "/api/v1/notification-channels/{id}", tag = "notification-channels",
    params(("id" = String, Path)),
    responses((status = 200, body = OkBody), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
) -> ApiResult<Json<OkBody>> {
    let channel = load(&state, &caller, &id).await?;
    match state
        .store
        .delete_channel(
            caller.org_id(),
            &channel.id,
            &audit(&caller, "notificationChannel.delete", &channel),
        )
        .await
    {
        Ok(()) => Ok(OkBody::new()),
        Err(StoreError::NotFound) => Err(ApiError::not_found("Notification channel")),
        Err(e) => Err(e.into()),
    }
}

/// Rotate the signing secret. The old one keeps signing for 24 hours
/// (Standard Webhooks deliveries carry both signatures meanwhile).
#[utoipa::path(
    post, path = "/api/v1/notification-channels/{id}/rotate-secret", tag = "notification-channels",
    params(("id" = String, Path)),
    responses((status = 200, body = ChannelEnvelope), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn rotate_secret(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
) -> ApiResult<Json<ChannelEnvelope>> {
    let mut channel = load(&state, &caller, &id).await?;
    if channel.spec.signing == SigningScheme::None || channel.secret.is_none() {
        return Err(ApiError::invalid(
            "signing",
            "this channel does not sign, so it has no secret",
        ));
    }
    let now = now_ms();
    channel.previous_secret = channel.secret.take();
    channel.previous_expires_at = Some(now + ROTATION_OVERLAP_MS);
    channel.secret = Channel::secret_for(&channel.spec);
    channel.updated_at = now;
    state
        .store
        .update_channel(
            &channel,
            &audit(&caller, "notificationChannel.rotateSecret", &channel),
        )
        .await?;
    let mut view = ChannelView::from(&channel);
    view.secret = channel.secret.clone();
    Ok(Json(ChannelEnvelope {
        channel: view,
        warnings: Vec::new(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestSent {
    pub ok: bool,
    /// The sample event; its delivery shows in `GET /api/v1/deliveries?eventId=…`.
    pub event_id: String,
}

/// Send a sample `uptime.down` event to this channel now.
#[utoipa::path(
    post, path = "/api/v1/notification-channels/{id}/test", tag = "notification-channels",
    params(("id" = String, Path)),
    responses((status = 202, body = TestSent), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn send_test(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<TestSent>)> {
    let channel = load(&state, &caller, &id).await?;
    let event = certsentry_notify::format::sample_event(caller.org_id());
    state
        .store
        .record_alert(None, Some(&event), Some(&channel.id))
        .await?;
    state.checker.alerter().outbox_waker().notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(TestSent {
            ok: true,
            event_id: event.id.to_string(),
        }),
    ))
}
