//! `GET /api/v1/audit-logs`, on plans with audit logs.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Json, Router};
use certsentry_store::AuditQuery;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::query::QueryParams;
use crate::state::AppState;
use crate::views::{AuditLogList, AuditLogView, ErrorBody};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/audit-logs", get(list))
}

/// List audit events, newest first.
#[utoipa::path(
    get, path = "/api/v1/audit-logs", tag = "audit logs",
    params(
        ("action" = Option<String>, Query, description = "Action verb, e.g. monitor.update"),
        ("targetType" = Option<String>, Query, description = "monitor, apiKey, environment, statusPage, organization"),
        ("since" = Option<String>, Query, description = "ISO 8601; events at or after it"),
        ("limit" = Option<u32>, Query, description = "1-500, default 100"),
        ("cursor" = Option<String>, Query),
    ),
    responses((status = 200, body = AuditLogList), (status = 400, description = "invalid_input, or plan_limit without audit logs", body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    mut params: QueryParams,
) -> ApiResult<Json<AuditLogList>> {
    if !caller.plan.audit_logs {
        return Err(ApiError::PlanLimit(format!(
            "The {} plan does not include audit logs. Upgrade to Agency.",
            caller.plan.display_name
        )));
    }
    let query = AuditQuery {
        action: params.string("action"),
        target_type: params.string("targetType"),
        since: params.datetime("since"),
        limit: params.limit("limit", 1, 500, 100),
        cursor: params.cursor(),
    };
    params.finish()?;
    let page = state.store.list_audit(caller.org_id(), &query).await?;
    Ok(Json(AuditLogList {
        audit_logs: page.items.iter().map(AuditLogView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
