//! `/api/v1/environments`: the organization's environment labels.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};
use certsentry_domain::EnvironmentId;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::org::{Environment, validate_environment_name};
use certsentry_domain::time::now_ms;
use certsentry_store::StoreError;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;
use crate::views::{EnvironmentEnvelope, EnvironmentList, EnvironmentView, ErrorBody, OkBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/environments", get(list).post(create))
        .route("/api/v1/environments/{id}", delete(remove))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentInput {
    /// 1-50 characters, unique in the organization.
    pub name: String,
}

/// List environments.
#[utoipa::path(
    get, path = "/api/v1/environments", tag = "environments",
    responses((status = 200, body = EnvironmentList)),
    security(("bearerAuth" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
) -> ApiResult<Json<EnvironmentList>> {
    let environments = state.store.list_environments(caller.org_id()).await?;
    Ok(Json(EnvironmentList {
        environments: environments.iter().map(EnvironmentView::from).collect(),
    }))
}

/// Create an environment (the hosted product does this in its dashboard).
#[utoipa::path(
    post, path = "/api/v1/environments", tag = "environments", request_body = EnvironmentInput,
    responses((status = 201, body = EnvironmentEnvelope), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    ApiJson(input): ApiJson<EnvironmentInput>,
) -> ApiResult<(StatusCode, Json<EnvironmentEnvelope>)> {
    let name = validate_environment_name(&input.name)
        .map_err(|problem| ApiError::invalid("name", problem))?;
    let env = Environment {
        id: EnvironmentId::generate(),
        org_id: caller.org_id().clone(),
        name,
        created_at: now_ms(),
    };
    let audit = AuditEvent::new(
        caller.org_id(),
        &caller.actor(),
        "environment.create",
        "environment",
        env.id.as_str(),
        json!({"name": env.name}),
    );
    match state.store.create_environment(&env, &audit).await {
        Ok(()) => Ok((
            StatusCode::CREATED,
            Json(EnvironmentEnvelope {
                environment: EnvironmentView::from(&env),
            }),
        )),
        Err(StoreError::Conflict(_)) => Err(ApiError::Conflict(format!(
            "An environment named \"{}\" already exists.",
            env.name
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Delete an environment; its monitors keep running, with no environment.
#[utoipa::path(
    delete, path = "/api/v1/environments/{id}", tag = "environments",
    params(("id" = String, Path)),
    responses((status = 200, body = OkBody), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
) -> ApiResult<Json<OkBody>> {
    let id = EnvironmentId::from_string(id);
    let env = state
        .store
        .get_environment(caller.org_id(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("Environment"))?;
    let audit = AuditEvent::new(
        caller.org_id(),
        &caller.actor(),
        "environment.delete",
        "environment",
        id.as_str(),
        json!({"name": env.name}),
    );
    match state
        .store
        .delete_environment(caller.org_id(), &id, &audit)
        .await
    {
        Ok(()) => Ok(OkBody::new()),
        Err(StoreError::NotFound) => Err(ApiError::not_found("Environment")),
        Err(e) => Err(e.into()),
    }
}
