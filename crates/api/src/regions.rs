//! `GET /api/v1/regions` (an extension of the reference): the configured
//! regions, whether agents or the server nodes serve each, and its agents.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use certsentry_domain::time::format_ms;
use serde::Serialize;
use utoipa::ToSchema;

use crate::views::ErrorBody;
use crate::{ApiResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/regions", get(list))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegionAgent {
    pub id: String,
    /// When the agent last called the server; `null` before its first call.
    pub last_seen_at: Option<String>,
    /// How many of the region's jobs it holds now (an extension).
    pub jobs: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub name: String,
    /// `agents` once an agent of the region has connected (the server then
    /// leaves the region's uptime and TCP checks to them), else `server`.
    pub served_by: String,
    pub agents: Vec<RegionAgent>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegionList {
    pub regions: Vec<Region>,
}

/// The regions and who serves them.
#[utoipa::path(
    get, path = "/api/v1/regions", tag = "regions",
    responses((status = 200, body = RegionList), (status = 401, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<RegionList>> {
    let tokens = state.store.list_agent_tokens().await?;
    let held: std::collections::HashMap<String, u64> = state
        .store
        .held_job_counts(certsentry_domain::time::now_ms())
        .await?
        .into_iter()
        .collect();
    let regions = state
        .config
        .regions
        .iter()
        .map(|name| {
            let agents: Vec<RegionAgent> = tokens
                .iter()
                .filter(|t| &t.region == name && t.revoked_at.is_none())
                .map(|t| RegionAgent {
                    id: t.id.to_string(),
                    last_seen_at: t.last_seen_at.map(format_ms),
                    jobs: held.get(t.id.as_str()).copied().unwrap_or(0),
                })
                .collect();
            let served_by = if agents.iter().any(|a| a.last_seen_at.is_some()) {
                "agents"
            } else {
                "server"
            };
            Region {
                name: name.clone(),
                served_by: served_by.into(),
                agents,
            }
        })
        .collect();
    Ok(Json(RegionList { regions }))
}
