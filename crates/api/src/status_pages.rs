//! `/api/v1/status-pages`. Slugs are global; the plan's page quota applies.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Json, Router};
use certsentry_domain::FieldErrors;
use certsentry_domain::StatusPageId;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::status_page::{
    StatusPage, StatusPageDraft, StatusPageSpec, validate_status_page,
};

use crate::inputs::StatusPageInput;
use certsentry_domain::time::now_ms;
use certsentry_store::StoreError;
use serde_json::json;

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;
use crate::views::{ErrorBody, OkBody, StatusPageEnvelope, StatusPageList, StatusPageView};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/status-pages", get(list).post(create))
        .route(
            "/api/v1/status-pages/{id}",
            get(retrieve).patch(update).delete(remove),
        )
}

/// Validates a page, including that every monitor belongs to the organization.
/// The page a body describes, checked as create and update check it (the
/// dashboard's preview renders it without saving).
pub async fn prepare(
    state: &AppState,
    caller: &Caller,
    input: &StatusPageInput,
) -> ApiResult<StatusPageSpec> {
    let spec = validate_status_page(
        &StatusPageDraft::from(input.clone()),
        caller.plan.max_status_page_monitors as usize,
    )
    .map_err(ApiError::validation)?;
    let mut errors = FieldErrors::new();
    for (i, entry) in spec.monitors.iter().enumerate() {
        if state
            .store
            .get_monitor(caller.org_id(), &entry.monitor_id)
            .await?
            .is_none()
        {
            errors.add(
                format!("monitors[{i}].monitorId"),
                "no such monitor in this organization",
            );
        }
    }
    errors.into_result().map_err(ApiError::validation)?;
    Ok(spec)
}

fn slug_taken(slug: &str) -> ApiError {
    ApiError::Conflict(format!("The slug \"{slug}\" is already taken."))
}

fn page_audit(caller: &Caller, action: &str, page: &StatusPage) -> AuditEvent {
    AuditEvent::new(
        caller.org_id(),
        &caller.actor(),
        action,
        "statusPage",
        page.id.as_str(),
        json!({"slug": page.spec.slug}),
    )
}

/// List status pages with their monitors in display order.
#[utoipa::path(get, path = "/api/v1/status-pages", tag = "status pages", responses((status = 200, body = StatusPageList)), security(("bearerAuth" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
) -> ApiResult<Json<StatusPageList>> {
    let pages = state.store.list_status_pages(caller.org_id()).await?;
    Ok(Json(StatusPageList {
        status_pages: pages.iter().map(StatusPageView::from).collect(),
    }))
}

/// Create a status page.
#[utoipa::path(
    post, path = "/api/v1/status-pages", tag = "status pages", request_body = StatusPageInput,
    responses((status = 201, body = StatusPageEnvelope), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    ApiJson(input): ApiJson<StatusPageInput>,
) -> ApiResult<(StatusCode, Json<StatusPageEnvelope>)> {
    let spec = prepare(&state, &caller, &input).await?;
    let now = now_ms();
    let page = StatusPage {
        id: StatusPageId::generate(),
        org_id: caller.org_id().clone(),
        spec,
        created_at: now,
        updated_at: now,
    };
    let max = caller.plan.max_status_pages;
    match state
        .store
        .create_status_page(&page, max, &page_audit(&caller, "statusPage.create", &page))
        .await
    {
        Ok(()) => Ok((
            StatusCode::CREATED,
            Json(StatusPageEnvelope {
                status_page: StatusPageView::from(&page),
            }),
        )),
        Err(StoreError::QuotaExceeded { .. }) => {
            let noun = if max == 1 {
                "status page"
            } else {
                "status pages"
            };
            Err(ApiError::PlanLimit(format!(
                "The {} plan allows {max} {noun}. Upgrade to add more.",
                caller.plan.display_name
            )))
        }
        Err(StoreError::Conflict(_)) => Err(slug_taken(&page.spec.slug)),
        Err(e) => Err(e.into()),
    }
}

/// The caller's page `id`, or 404 (also for the pages' incidents and
/// maintenance windows).
pub(crate) async fn load(state: &AppState, caller: &Caller, id: &str) -> ApiResult<StatusPage> {
    state
        .store
        .get_status_page(caller.org_id(), &StatusPageId::from_string(id))
        .await?
        .ok_or_else(|| ApiError::not_found("Status page"))
}

/// Retrieve a status page.
#[utoipa::path(get, path = "/api/v1/status-pages/{id}", tag = "status pages", params(("id" = String, Path)),
    responses((status = 200, body = StatusPageEnvelope), (status = 404, body = ErrorBody)), security(("bearerAuth" = [])))]
pub async fn retrieve(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
) -> ApiResult<Json<StatusPageEnvelope>> {
    let page = load(&state, &caller, &id).await?;
    Ok(Json(StatusPageEnvelope {
        status_page: StatusPageView::from(&page),
    }))
}

/// Replace a status page's definition; the monitor list is replaced wholesale.
#[utoipa::path(patch, path = "/api/v1/status-pages/{id}", tag = "status pages", params(("id" = String, Path)), request_body = StatusPageInput,
    responses((status = 200, body = StatusPageEnvelope), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<StatusPageInput>,
) -> ApiResult<Json<StatusPageEnvelope>> {
    let existing = load(&state, &caller, &id).await?;
    let spec = prepare(&state, &caller, &input).await?;
    let page = StatusPage {
        spec,
        updated_at: now_ms(),
        ..existing
    };
    match state
        .store
        .update_status_page(&page, &page_audit(&caller, "statusPage.update", &page))
        .await
    {
        Ok(()) => Ok(Json(StatusPageEnvelope {
            status_page: StatusPageView::from(&page),
        })),
        Err(StoreError::Conflict(_)) => Err(slug_taken(&page.spec.slug)),
        Err(StoreError::NotFound) => Err(ApiError::not_found("Status page")),
        Err(e) => Err(e.into()),
    }
}

/// Unpublish and delete a status page.
#[utoipa::path(delete, path = "/api/v1/status-pages/{id}", tag = "status pages", params(("id" = String, Path)),
    responses((status = 200, body = OkBody), (status = 404, body = ErrorBody)), security(("bearerAuth" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
) -> ApiResult<Json<OkBody>> {
    let page = load(&state, &caller, &id).await?;
    match state
        .store
        .delete_status_page(
            caller.org_id(),
            &page.id,
            &page_audit(&caller, "statusPage.delete", &page),
        )
        .await
    {
        Ok(()) => Ok(OkBody::new()),
        Err(StoreError::NotFound) => Err(ApiError::not_found("Status page")),
        Err(e) => Err(e.into()),
    }
}
