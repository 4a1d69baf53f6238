//! Beyond the API reference: a status page's incidents and maintenance
//! windows, under `/api/v1/status-pages/{id}/…`.
//!
//! - `incidents`: opened with a title and a first update, then told as a
//!   timeline of updates (`investigating` → `identified` → `monitoring` →
//!   `resolved`). The engine also opens one when a monitor on the page has
//!   a confirmed outage, and resolves it on recovery.
//! - `maintenance`: windows announced ahead of time; while one is active its
//!   monitors show "maintenance", no `uptime.down` is sent for them, and the
//!   time is left out of the page's uptime.
//!
//! Every write is audited; every list is newest first and cursor-paginated.

mod views;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::status_page::StatusPage;
use certsentry_domain::status_page::incident::{
    Incident, validate_incident, validate_incident_update,
};
use certsentry_domain::status_page::maintenance::{Maintenance, validate_maintenance};
use certsentry_domain::time::now_ms;
use certsentry_domain::{IncidentId, MaintenanceId, MonitorId};
use certsentry_store::StoreError;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::query::QueryParams;
use crate::state::AppState;
use crate::status_pages::load;
use crate::views::{ErrorBody, OkBody};
pub use views::*;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/status-pages/{id}/incidents",
            get(list_incidents).post(create_incident),
        )
        .route(
            "/api/v1/status-pages/{id}/incidents/{iid}",
            get(retrieve_incident),
        )
        .route(
            "/api/v1/status-pages/{id}/incidents/{iid}/updates",
            post(add_update),
        )
        .route(
            "/api/v1/status-pages/{id}/maintenance",
            get(list_maintenance).post(create_maintenance),
        )
        .route(
            "/api/v1/status-pages/{id}/maintenance/{mid}",
            get(retrieve_maintenance)
                .patch(update_maintenance)
                .delete(remove_maintenance),
        )
}

fn audit(caller: &Caller, action: &str, kind: &str, id: &str, metadata: Value) -> AuditEvent {
    AuditEvent::new(caller.org_id(), &caller.actor(), action, kind, id, metadata)
}

/// A page's incidents, newest first.
#[utoipa::path(
    get, path = "/api/v1/status-pages/{id}/incidents", tag = "status pages",
    params(
        ("id" = String, Path),
        ("limit" = Option<u32>, Query, description = "1-200, default 50"),
        ("cursor" = Option<String>, Query),
    ),
    responses((status = 200, body = IncidentList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn list_incidents(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
    mut params: QueryParams,
) -> ApiResult<Json<IncidentList>> {
    let limit = params.limit("limit", 1, 200, 50);
    let cursor = params.cursor();
    params.finish()?;
    let page = load(&state, &caller, &id).await?;
    let listed = state
        .store
        .list_incidents(caller.org_id(), &page.id, cursor.as_deref(), limit)
        .await?;
    Ok(Json(IncidentList {
        incidents: listed.items.iter().map(IncidentView::from).collect(),
        next_cursor: listed.next_cursor,
    }))
}

/// Open an incident with its first update.
#[utoipa::path(
    post, path = "/api/v1/status-pages/{id}/incidents", tag = "status pages",
    params(("id" = String, Path)), request_body = IncidentInput,
    responses((status = 201, body = IncidentEnvelope), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn create_incident(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<IncidentInput>,
) -> ApiResult<(StatusCode, Json<IncidentEnvelope>)> {
    let spec = validate_incident(&input.into()).map_err(ApiError::validation)?;
    let page = load(&state, &caller, &id).await?;
    let incident = Incident::open(
        &page.org_id,
        &page.id,
        spec.title,
        spec.state,
        spec.body,
        None,
        now_ms(),
    );
    let record = audit(
        &caller,
        "incident.create",
        "incident",
        incident.id.as_str(),
        json!({"statusPageId": page.id, "title": incident.title, "state": incident.state.as_str()}),
    );
    state
        .store
        .create_incident(&incident, Some(&record))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(IncidentEnvelope {
            incident: IncidentView::from(&incident),
        }),
    ))
}

async fn load_incident(
    state: &AppState,
    caller: &Caller,
    id: &str,
    iid: &str,
) -> ApiResult<Incident> {
    let page = load(state, caller, id).await?;
    state
        .store
        .get_incident(caller.org_id(), &page.id, &IncidentId::from_string(iid))
        .await?
        .ok_or_else(|| ApiError::not_found("Incident"))
}

/// Retrieve an incident with its timeline.
#[utoipa::path(
    get, path = "/api/v1/status-pages/{id}/incidents/{iid}", tag = "status pages",
    params(("id" = String, Path), ("iid" = String, Path)),
    responses((status = 200, body = IncidentEnvelope), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn retrieve_incident(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path((id, iid)): Path<(String, String)>,
) -> ApiResult<Json<IncidentEnvelope>> {
    let incident = load_incident(&state, &caller, &id, &iid).await?;
    Ok(Json(IncidentEnvelope {
        incident: IncidentView::from(&incident),
    }))
}

/// Add an update to an incident's timeline; the incident takes its state
/// (`resolved` resolves it, any other state reopens it).
#[utoipa::path(
    post, path = "/api/v1/status-pages/{id}/incidents/{iid}/updates", tag = "status pages",
    params(("id" = String, Path), ("iid" = String, Path)), request_body = IncidentUpdateInput,
    responses((status = 201, body = IncidentEnvelope), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn add_update(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path((id, iid)): Path<(String, String)>,
    ApiJson(input): ApiJson<IncidentUpdateInput>,
) -> ApiResult<(StatusCode, Json<IncidentEnvelope>)> {
    let (next, body) = validate_incident_update(&input.into()).map_err(ApiError::validation)?;
    let mut incident = load_incident(&state, &caller, &id, &iid).await?;
    let before = incident.state;
    incident.push(next, body, now_ms());
    let record = audit(
        &caller,
        "incident.update",
        "incident",
        incident.id.as_str(),
        json!({"state": {"before": before.as_str(), "after": next.as_str()}}),
    );
    match state
        .store
        .add_incident_update(&incident, Some(&record))
        .await
    {
        Ok(()) => Ok((
            StatusCode::CREATED,
            Json(IncidentEnvelope {
                incident: IncidentView::from(&incident),
            }),
        )),
        Err(StoreError::NotFound) => Err(ApiError::not_found("Incident")),
        Err(e) => Err(e.into()),
    }
}

fn page_monitors(page: &StatusPage) -> Vec<MonitorId> {
    page.spec
        .monitors
        .iter()
        .map(|m| m.monitor_id.clone())
        .collect()
}

/// A page's maintenance windows, newest first.
#[utoipa::path(
    get, path = "/api/v1/status-pages/{id}/maintenance", tag = "status pages",
    params(
        ("id" = String, Path),
        ("limit" = Option<u32>, Query, description = "1-200, default 50"),
        ("cursor" = Option<String>, Query),
    ),
    responses((status = 200, body = MaintenanceList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn list_maintenance(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
    mut params: QueryParams,
) -> ApiResult<Json<MaintenanceList>> {
    let limit = params.limit("limit", 1, 200, 50);
    let cursor = params.cursor();
    params.finish()?;
    let page = load(&state, &caller, &id).await?;
    let listed = state
        .store
        .list_maintenance(caller.org_id(), &page.id, cursor.as_deref(), limit)
        .await?;
    let now = now_ms();
    Ok(Json(MaintenanceList {
        maintenance_windows: listed
            .items
            .iter()
            .map(|m| MaintenanceView::at(m, now))
            .collect(),
        next_cursor: listed.next_cursor,
    }))
}

/// Announce a maintenance window.
#[utoipa::path(
    post, path = "/api/v1/status-pages/{id}/maintenance", tag = "status pages",
    params(("id" = String, Path)), request_body = MaintenanceInput,
    responses((status = 201, body = MaintenanceEnvelope), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn create_maintenance(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<MaintenanceInput>,
) -> ApiResult<(StatusCode, Json<MaintenanceEnvelope>)> {
    let page = load(&state, &caller, &id).await?;
    let now = now_ms();
    let spec = validate_maintenance(&input.into(), None, &page_monitors(&page), now)
        .map_err(ApiError::validation)?;
    let window = Maintenance {
        id: MaintenanceId::generated_at(now),
        org_id: page.org_id.clone(),
        page_id: page.id.clone(),
        spec,
        created_at: now,
        updated_at: now,
    };
    let record = audit(
        &caller,
        "maintenance.create",
        "maintenance",
        window.id.as_str(),
        json!({"statusPageId": page.id, "title": window.spec.title}),
    );
    state.store.create_maintenance(&window, &record).await?;
    Ok((
        StatusCode::CREATED,
        Json(MaintenanceEnvelope {
            maintenance_window: MaintenanceView::at(&window, now),
        }),
    ))
}

async fn load_window(
    state: &AppState,
    caller: &Caller,
    id: &str,
    mid: &str,
) -> ApiResult<(StatusPage, Maintenance)> {
    let page = load(state, caller, id).await?;
    let window = state
        .store
        .get_maintenance(caller.org_id(), &page.id, &MaintenanceId::from_string(mid))
        .await?
        .ok_or_else(|| ApiError::not_found("Maintenance window"))?;
    Ok((page, window))
}

/// Retrieve a maintenance window.
#[utoipa::path(
    get, path = "/api/v1/status-pages/{id}/maintenance/{mid}", tag = "status pages",
    params(("id" = String, Path), ("mid" = String, Path)),
    responses((status = 200, body = MaintenanceEnvelope), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn retrieve_maintenance(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path((id, mid)): Path<(String, String)>,
) -> ApiResult<Json<MaintenanceEnvelope>> {
    let (_, window) = load_window(&state, &caller, &id, &mid).await?;
    Ok(Json(MaintenanceEnvelope {
        maintenance_window: MaintenanceView::at(&window, now_ms()),
    }))
}

/// Change a maintenance window (fields left out keep their values); set
/// `endsAt` to now to end it early.
#[utoipa::path(
    patch, path = "/api/v1/status-pages/{id}/maintenance/{mid}", tag = "status pages",
    params(("id" = String, Path), ("mid" = String, Path)), request_body = MaintenanceUpdateInput,
    responses((status = 200, body = MaintenanceEnvelope), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn update_maintenance(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path((id, mid)): Path<(String, String)>,
    ApiJson(input): ApiJson<MaintenanceUpdateInput>,
) -> ApiResult<Json<MaintenanceEnvelope>> {
    let (page, existing) = load_window(&state, &caller, &id, &mid).await?;
    let now = now_ms();
    let spec = validate_maintenance(
        &input.into(),
        Some(&existing.spec),
        &page_monitors(&page),
        now,
    )
    .map_err(ApiError::validation)?;
    let window = Maintenance {
        spec,
        updated_at: now,
        ..existing
    };
    let record = audit(
        &caller,
        "maintenance.update",
        "maintenance",
        window.id.as_str(),
        json!({"statusPageId": page.id, "title": window.spec.title}),
    );
    match state.store.update_maintenance(&window, &record).await {
        Ok(()) => Ok(Json(MaintenanceEnvelope {
            maintenance_window: MaintenanceView::at(&window, now),
        })),
        Err(StoreError::NotFound) => Err(ApiError::not_found("Maintenance window")),
        Err(e) => Err(e.into()),
    }
}

/// Cancel (delete) a maintenance window.
#[utoipa::path(
    delete, path = "/api/v1/status-pages/{id}/maintenance/{mid}", tag = "status pages",
    params(("id" = String, Path), ("mid" = String, Path)),
    responses((status = 200, body = OkBody), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn remove_maintenance(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path((id, mid)): Path<(String, String)>,
) -> ApiResult<Json<OkBody>> {
    let (page, window) = load_window(&state, &caller, &id, &mid).await?;
    let record = audit(
        &caller,
        "maintenance.delete",
        "maintenance",
        window.id.as_str(),
        json!({"statusPageId": page.id, "title": window.spec.title}),
    );
    match state
        .store
        .delete_maintenance(caller.org_id(), &window.id, &record)
        .await
    {
        Ok(()) => Ok(OkBody::new()),
        Err(StoreError::NotFound) => Err(ApiError::not_found("Maintenance window")),
        Err(e) => Err(e.into()),
    }
}
