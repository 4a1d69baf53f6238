//! `GET /api/v1/monitors/:id/results` and `POST /api/v1/monitors/:id/check`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use certsentry_domain::check::{CheckResult, CheckStatus, CheckType};
use certsentry_domain::time::format_ms;
use certsentry_store::ResultQuery;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::query::QueryParams;
use crate::state::AppState;
use crate::views::{ErrorBody, MonitorView};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/monitors/{id}/results", get(list))
        .route("/api/v1/monitors/{id}/check", post(check_now))
}

/// One check result, with the reference's fields plus check-specific `details`
/// (phase timings, certificate facts).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultView {
    pub id: String,
    #[serde(rename = "type")]
    pub check_type: CheckType,
    pub status: CheckStatus,
    pub degraded: bool,
    pub region: Option<String>,
    pub latency_ms: Option<u32>,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub created_at: String,
}

impl From<&CheckResult> for ResultView {
    fn from(r: &CheckResult) -> Self {
        Self {
            id: r.id.to_string(),
            check_type: r.check_type,
            status: r.status,
            degraded: r.degraded,
            region: r.region.clone(),
            latency_ms: r.latency_ms,
            http_status: r.http_status,
            error: r.error.clone(),
            details: r.details.clone(),
            created_at: format_ms(r.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultList {
    pub results: Vec<ResultView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckNowResult {
    pub results: Vec<ResultView>,
    /// The monitor with its state after these results.
    pub monitor: MonitorView,
}

/// Raw check results, newest first (kept for 90 days).
#[utoipa::path(
    get, path = "/api/v1/monitors/{id}/results", tag = "monitors",
    params(
        ("id" = String, Path),
        ("type" = Option<String>, Query, description = "ssl, domain, dns, uptime, heartbeat, tcp or ct"),
        ("status" = Option<String>, Query, description = "ok, fail or unknown"),
        ("since" = Option<String>, Query, description = "ISO 8601; results at or after it"),
        ("limit" = Option<u32>, Query, description = "1-500, default 100"),
        ("cursor" = Option<String>, Query),
    ),
    responses((status = 200, body = ResultList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
    mut params: QueryParams,
) -> ApiResult<Json<ResultList>> {
    let query = ResultQuery {
        check_type: params.choice(
            "type",
            "ssl, domain, dns, uptime, heartbeat, tcp or ct",
            CheckType::parse,
        ),
        status: params.choice("status", "ok, fail or unknown", CheckStatus::parse),
        since: params.datetime("since"),
        limit: params.limit("limit", 1, 500, 100),
        cursor: params.cursor(),
    };
    params.finish()?;
    let monitor_id = crate::monitors::load(&state, &caller, &id).await?.id;
    let page = state
        .store
        .list_results(caller.org_id(), &monitor_id, &query)
        .await?;
    Ok(Json(ResultList {
        results: page.items.iter().map(ResultView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Run all of a monitor's checks now and return their results.
#[utoipa::path(
    post, path = "/api/v1/monitors/{id}/check", tag = "monitors",
    params(("id" = String, Path)),
    responses((status = 200, body = CheckNowResult), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn check_now(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
) -> ApiResult<Json<CheckNowResult>> {
    let monitor = crate::monitors::load(&state, &caller, &id).await?;
    let results = state.checker.run_now(&monitor).await?;
    // Reload: the run changed lastStatus and sslNotAfter.
    let monitor = crate::monitors::load(&state, &caller, &id).await?;
    Ok(Json(CheckNowResult {
        results: results.iter().map(ResultView::from).collect(),
        monitor: MonitorView::from(&monitor),
    }))
}
