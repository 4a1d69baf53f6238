//! `GET /api/v1/events`, `GET /api/v1/deliveries` and
//! `POST /api/v1/deliveries/:id/redeliver`: what fired, and what was sent.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use certsentry_domain::alert::{Event, EventType};
use certsentry_domain::time::{format_ms, now_ms};
use certsentry_domain::{ChannelId, DeliveryId, MonitorId};
use certsentry_store::{Delivery, DeliveryQuery, DeliveryStatus, EventQuery, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::query::QueryParams;
use crate::state::AppState;
use crate::views::{ErrorBody, OkBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/events", get(list_events))
        .route("/api/v1/deliveries", get(list_deliveries))
        .route("/api/v1/deliveries/{id}/redeliver", post(redeliver))
}

/// An event: the webhook payload's fields plus its id.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: String,
    pub event: String,
    pub severity: String,
    pub status: String,
    #[schema(value_type = Object)]
    pub monitor: serde_json::Value,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub timestamp: String,
}

impl From<&Event> for EventView {
    fn from(e: &Event) -> Self {
        Self {
            id: e.id.to_string(),
            event: e.event_type.as_str().into(),
            severity: e.severity.as_str().into(),
            status: e.status.clone(),
            monitor: serde_json::to_value(&e.monitor).unwrap_or_default(),
            details: e.details.clone(),
            timestamp: format_ms(e.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventList {
    pub events: Vec<EventView>,
    pub next_cursor: Option<String>,
}

/// Alert events, newest first.
#[utoipa::path(
    get, path = "/api/v1/events", tag = "events",
    params(
        ("monitor" = Option<String>, Query, description = "a monitor id"),
        ("type" = Option<String>, Query, description = "an event type, e.g. uptime.down"),
        ("since" = Option<String>, Query, description = "ISO 8601"),
        ("limit" = Option<u32>, Query, description = "1-500, default 100"),
        ("cursor" = Option<String>, Query),
    ),
    responses((status = 200, body = EventList), (status = 400, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn list_events(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    mut params: QueryParams,
) -> ApiResult<Json<EventList>> {
    let query = EventQuery {
        monitor_id: params.string("monitor").map(MonitorId::from_string),
        event_type: params
            .choice(
                "type",
                "an event type such as uptime.down",
                EventType::parse,
            )
            .map(|t| t.as_str().to_string()),
        since: params.datetime("since"),
        limit: params.limit("limit", 1, 500, 100),
        cursor: params.cursor(),
    };
    params.finish()?;
    let page = state.store.list_events(caller.org_id(), &query).await?;
    Ok(Json(EventList {
        events: page.items.iter().map(EventView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    pub attempt: u32,
    pub status_code: Option<u16>,
    pub duration_ms: u32,
    /// The first 4 KiB of the response.
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    /// Also the `Idempotency-Key` (and `webhook-id`) of every attempt.
    pub id: String,
    pub event_id: String,
    pub channel_id: String,
    /// pending, delivered or failed.
    pub status: String,
    pub attempts: Vec<AttemptView>,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        Self {
            id: d.id.to_string(),
            event_id: d.event_id.to_string(),
            channel_id: d.channel_id.to_string(),
            status: d.status.as_str().into(),
            attempts: d
                .attempt_log
                .iter()
                .map(|a| AttemptView {
                    attempt: a.attempt,
                    status_code: a.status_code,
                    duration_ms: a.duration_ms,
                    response_body: a.response_body.clone(),
                    error: a.error.clone(),
                    created_at: format_ms(a.created_at),
                })
                .collect(),
            next_attempt_at: (d.status == DeliveryStatus::Pending)
                .then(|| format_ms(d.next_attempt_at)),
            created_at: format_ms(d.created_at),
            updated_at: format_ms(d.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryView>,
    pub next_cursor: Option<String>,
}

/// Deliveries with their attempts, newest first.
#[utoipa::path(
    get, path = "/api/v1/deliveries", tag = "events",
    params(
        ("channelId" = Option<String>, Query),
        ("eventId" = Option<String>, Query),
        ("status" = Option<String>, Query, description = "pending, delivered or failed"),
        ("limit" = Option<u32>, Query, description = "1-500, default 100"),
        ("cursor" = Option<String>, Query),
    ),
    responses((status = 200, body = DeliveryList), (status = 400, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    mut params: QueryParams,
) -> ApiResult<Json<DeliveryList>> {
    let query = DeliveryQuery {
        channel_id: params.string("channelId").map(ChannelId::from_string),
        event_id: params.string("eventId"),
        status: params.choice(
            "status",
            "pending, delivered or failed",
            DeliveryStatus::parse,
        ),
        limit: params.limit("limit", 1, 500, 100),
        cursor: params.cursor(),
    };
    params.finish()?;
    let page = state.store.list_deliveries(caller.org_id(), &query).await?;
    Ok(Json(DeliveryList {
        deliveries: page.items.iter().map(DeliveryView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Send a delivery again now (same id, so the same idempotency key).
#[utoipa::path(
    post, path = "/api/v1/deliveries/{id}/redeliver", tag = "events",
    params(("id" = String, Path)),
    responses((status = 200, body = OkBody), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn redeliver(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
) -> ApiResult<Json<OkBody>> {
    match state
        .store
        .redeliver(caller.org_id(), &DeliveryId::from_string(id), now_ms())
        .await
    {
        Ok(()) => {
            state.checker.alerter().outbox_waker().notify_one();
            Ok(OkBody::new())
        }
        Err(StoreError::NotFound) => Err(ApiError::not_found("Delivery")),
        Err(e) => Err(e.into()),
    }
}
