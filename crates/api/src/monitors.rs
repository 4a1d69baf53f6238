//! `/api/v1/monitors`: list, create, retrieve, update (full replace), delete.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Json, Router};
use certsentry_domain::FieldErrors;
use certsentry_domain::MonitorId;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::monitor::{
    Monitor, MonitorDraft, MonitorKind, MonitorRejection, MonitorSpec, ValidationContext,
    validate_monitor,
};

use crate::inputs::MonitorInput;
use certsentry_domain::time::now_ms;
use certsentry_store::{MonitorQuery, StoreError};
use serde_json::json;

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::query::QueryParams;
use crate::state::AppState;
use crate::targets::check_resolved_target;
use crate::views::{ErrorBody, MonitorEnvelope, MonitorList, MonitorView, OkBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/monitors", get(list).post(create))
        .route(
            "/api/v1/monitors/{id}",
            get(retrieve).patch(update).delete(remove),
        )
}

/// Runs every rule on a monitor definition, the ones needing I/O included
/// (environment ownership, where the target resolves).
pub async fn prepare_monitor(
    state: &AppState,
    caller: &Caller,
    input: &MonitorInput,
    existing: Option<&MonitorSpec>,
) -> Result<MonitorSpec, MonitorRejection> {
    let context = ValidationContext {
        regions: &state.config.regions,
        plan: &caller.plan,
        allow_private_targets: state.config.allow_private_targets,
        existing,
    };
    let spec = validate_monitor(&MonitorDraft::from(input.clone()), &context)?;
    let mut errors = FieldErrors::new();
    if let Some(env) = &spec.environment_id {
        let unchanged = existing.is_some_and(|e| e.environment_id.as_ref() == Some(env));
        if !unchanged {
            match state.store.get_environment(caller.org_id(), env).await {
                Ok(Some(_)) => {}
                Ok(None) => errors.add("environmentId", "no such environment in this organization"),
                Err(e) => {
                    tracing::error!(error = %e, "environment lookup failed");
                    errors.add("environmentId", "could not be checked; try again");
                }
            }
        }
    }
    if let Err(message) = check_resolved_target(
        &spec,
        state.config.allow_private_targets,
        &state.config.probe.dns_servers,
    )
    .await
    {
        errors.add("target", message);
    }
    errors.into_result().map_err(MonitorRejection::Invalid)?;
    Ok(spec)
}

fn rejection_to_error(rejection: MonitorRejection) -> ApiError {
    match rejection {
        MonitorRejection::Invalid(details) => ApiError::validation(details),
        MonitorRejection::PlanLimit(message) => ApiError::PlanLimit(message),
    }
}

/// The API reference's wording: "The Starter plan allows 10 monitors. Upgrade to add more."
pub fn monitor_quota_message(caller: &Caller) -> String {
    format!(
        "The {} plan allows {} monitors. Upgrade to add more.",
        caller.plan.display_name, caller.plan.max_monitors
    )
}

pub fn external_id_conflict(external_id: Option<&str>) -> ApiError {
    ApiError::Conflict(format!(
        "A monitor with externalId \"{}\" already exists.",
        external_id.unwrap_or_default()
    ))
}

pub fn new_monitor(caller: &Caller, spec: MonitorSpec) -> Monitor {
    Monitor::new(caller.org_id().clone(), spec)
}

pub fn monitor_audit(
    caller: &Caller,
    action: &str,
    monitor: &Monitor,
    via: Option<&str>,
) -> AuditEvent {
    let mut metadata = json!({ "label": monitor.spec.label, "kind": monitor.spec.kind.as_str() });
    if let Some(external_id) = &monitor.spec.external_id {
        metadata["externalId"] = json!(external_id);
    }
    if let Some(via) = via {
        metadata["via"] = json!(via);
    }
    AuditEvent::new(
        caller.org_id(),
        &caller.actor(),
        action,
        "monitor",
        monitor.id.as_str(),
        metadata,
    )
}

/// List monitors, oldest first.
#[utoipa::path(
    get, path = "/api/v1/monitors", tag = "monitors",
    params(
        ("kind" = Option<String>, Query, description = "standard, tcp or heartbeat"),
        ("enabled" = Option<bool>, Query, description = "true or false"),
        ("limit" = Option<u32>, Query, description = "Page size, 1-100. Defaults to 50."),
        ("cursor" = Option<String>, Query, description = "A previous response's nextCursor"),
    ),
    responses((status = 200, body = MonitorList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    mut params: QueryParams,
) -> ApiResult<Response> {
    let query = MonitorQuery {
        kind: params.choice("kind", "standard, tcp or heartbeat", MonitorKind::parse),
        enabled: params.bool("enabled"),
        limit: params.limit("limit", 1, 100, 50),
        cursor: params.cursor(),
    };
    params.finish()?;
    let page = state
        .store
        .list_monitors_shared(caller.org_id(), &query)
        .await?;
    Ok(state
        .monitor_json
        .list(&page.items, page.next_cursor.as_deref()))
}

/// Create a monitor.
#[utoipa::path(
    post, path = "/api/v1/monitors", tag = "monitors", request_body = MonitorInput,
    responses(
        (status = 201, body = MonitorEnvelope),
        (status = 400, description = "invalid_input (unreadable body) or plan_limit", body = ErrorBody),
        (status = 409, description = "conflict: duplicate externalId", body = ErrorBody),
        (status = 422, description = "invalid_input with details", body = ErrorBody),
    ),
    security(("bearerAuth" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    ApiJson(input): ApiJson<MonitorInput>,
) -> ApiResult<(StatusCode, Json<MonitorEnvelope>)> {
    let monitor = create_monitor(&state, &caller, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(MonitorEnvelope {
            monitor: MonitorView::from(&monitor),
        }),
    ))
}

/// Validates `input` as the API does (every rule, the plan's quota, the
/// target's addresses) and stores the monitor: the one way a monitor is
/// created, by the API and by the dashboard's form.
pub async fn create_monitor(
    state: &AppState,
    caller: &Caller,
    input: &MonitorInput,
) -> ApiResult<Monitor> {
    let spec = prepare_monitor(state, caller, input, None)
        .await
        .map_err(rejection_to_error)?;
    let monitor = new_monitor(caller, spec);
    let audit = monitor_audit(caller, "monitor.create", &monitor, None);
    match state
        .store
        .create_monitor(&monitor, caller.plan.max_monitors, &audit)
        .await
    {
        Ok(()) => {}
        Err(StoreError::QuotaExceeded { .. }) => {
            return Err(ApiError::PlanLimit(monitor_quota_message(caller)));
        }
        Err(StoreError::Conflict(_)) => {
            return Err(external_id_conflict(monitor.spec.external_id.as_deref()));
        }
        Err(e) => return Err(e.into()),
    }
    state.refresh_ct_watch(monitor.spec.check_ct).await;
    Ok(monitor)
}

/// The caller's monitor `id`, or `not_found` (also for other organizations' monitors).
pub(crate) async fn load(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Monitor> {
    // Unwrapped without a copy where the store made a fresh one (Postgres).
    load_shared(state, caller, id)
        .await
        .map(Arc::unwrap_or_clone)
}

/// [`load`] as the store holds it, for reads that only render it.
async fn load_shared(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Arc<Monitor>> {
    state
        .store
        .get_monitor_shared(caller.org_id(), &MonitorId::from_string(id))
        .await?
        .ok_or_else(|| ApiError::not_found("Monitor"))
}

/// Retrieve a monitor.
#[utoipa::path(
    get, path = "/api/v1/monitors/{id}", tag = "monitors",
    params(("id" = String, Path)),
    responses((status = 200, body = MonitorEnvelope), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn retrieve(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let monitor = load_shared(&state, &caller, &id).await?;
    Ok(state.monitor_json.envelope(&monitor))
}

/// Update a monitor: the body replaces the definition; omitted optional
/// fields fall back to their defaults, except `environmentId` (omit to keep)
/// and header values sent as `null` (keep the stored value).
#[utoipa::path(
    patch, path = "/api/v1/monitors/{id}", tag = "monitors", request_body = MonitorInput,
    params(("id" = String, Path)),
    responses(
        (status = 200, body = MonitorEnvelope), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
    ),
    security(("bearerAuth" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<MonitorInput>,
) -> ApiResult<Json<MonitorEnvelope>> {
    let existing = load(&state, &caller, &id).await?;
    let existing_watched = existing.spec.check_ct;
    let spec = prepare_monitor(&state, &caller, &input, Some(&existing.spec))
        .await
        .map_err(rejection_to_error)?;
    let updated = Monitor {
        spec,
        updated_at: now_ms(),
        ..existing
    };
    let audit = monitor_audit(&caller, "monitor.update", &updated, None);
    match state.store.update_monitor(&updated, &audit).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(external_id_conflict(updated.spec.external_id.as_deref()));
        }
        Err(StoreError::NotFound) => return Err(ApiError::not_found("Monitor")),
        Err(e) => return Err(e.into()),
    }
    state
        .refresh_ct_watch(existing_watched || updated.spec.check_ct)
        .await;
    Ok(Json(MonitorEnvelope {
        monitor: MonitorView::from(&updated),
    }))
}

/// Delete a monitor and its check history.
#[utoipa::path(
    delete, path = "/api/v1/monitors/{id}", tag = "monitors",
    params(("id" = String, Path)),
    responses((status = 200, body = OkBody), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
) -> ApiResult<Json<OkBody>> {
    let monitor = load(&state, &caller, &id).await?;
    let audit = monitor_audit(&caller, "monitor.delete", &monitor, None);
    match state
        .store
        .delete_monitor(caller.org_id(), &monitor.id, &audit)
        .await
    {
        Ok(()) => {
            state.refresh_ct_watch(monitor.spec.check_ct).await;
            Ok(OkBody::new())
        }
        Err(StoreError::NotFound) => Err(ApiError::not_found("Monitor")),
        Err(e) => Err(e.into()),
    }
}
