//! `/agent/v1`: the server's side of the probe agents' protocol (written
//! down in `certsentry_agent::protocol`). Agents authenticate with a token
//! scoped to one region, stored as its hash like an API key; the token
//! opens these endpoints and nothing else.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use certsentry_agent::protocol::{
    Job, JobsRequest, JobsResponse, MAX_BATCH, MAX_WAIT_SECONDS, Observation, ResultsRequest,
    ResultsResponse,
};
use certsentry_domain::ResultId;
use certsentry_domain::agent::{AgentToken, MIN_LEASE_MS, hash_agent_token, is_agent_token};
use certsentry_domain::check::CheckResult;
use certsentry_domain::monitor::Monitor;
use certsentry_domain::time::now_ms;
use certsentry_engine::results;
use certsentry_store::{JobClaim, KeyedResult};

use crate::error::ApiJson;
use crate::views::ErrorBody;
use crate::{ApiError, ApiResult, AppState};

/// How often a waiting long poll looks for new jobs.
const RECHECK: Duration = Duration::from_secs(2);
/// Results checked longer ago than this are refused as history nobody
/// keeps (the agent's buffer holds a day).
const OLDEST_UPLOAD_MS: i64 = 7 * 86_400_000;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/agent/v1/regions/{region}/jobs", post(jobs))
        .route("/agent/v1/regions/{region}/results", post(upload))
        .route_layer(middleware::from_fn_with_state(state, require_agent))
}

/// Signs the agent in by its token and marks it seen.
async fn require_agent(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| is_agent_token(t));
    let Some(token) = token else {
        return ApiError::Unauthorized(
            "Send Authorization: Bearer cst_... (an agent token).".into(),
        )
        .into_response();
    };
    let agent = match state.store.find_agent_token(&hash_agent_token(token)).await {
        Ok(Some(agent)) => agent,
        Ok(None) => {
            return ApiError::Unauthorized("Unknown or revoked agent token.".into())
                .into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    if let Err(e) = state.store.touch_agent_token(&agent.id, now_ms()).await {
        return ApiError::from(e).into_response();
    }
    req.extensions_mut().insert(Arc::new(agent));
    next.run(req).await
}

/// The region's agents that called within a lease (this one included):
/// they share its jobs.
async fn live_agents(state: &AppState, region: &str, now: i64) -> ApiResult<u32> {
    let tokens = state.store.list_agent_tokens().await?;
    let live = tokens
        .iter()
        .filter(|t| t.region == region && t.revoked_at.is_none())
        .filter(|t| t.last_seen_at.is_some_and(|at| now - at <= MIN_LEASE_MS))
        .count();
    Ok(live.max(1) as u32)
}

fn own_region(agent: &AgentToken, region: &str) -> ApiResult<()> {
    if agent.region == region {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "This agent token is for the region \"{}\", not \"{region}\".",
            agent.region
        )))
    }
}

/// Renews the agent's leases and claims more of the region's jobs; answers
/// at once when the agent has something to learn, or after the wait.
#[utoipa::path(
    post, path = "/agent/v1/regions/{region}/jobs", tag = "agents",
    params(("region" = String, Path)), request_body = JobsRequest,
    responses((status = 200, body = JobsResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("agentToken" = []))
)]
pub async fn jobs(
    State(state): State<AppState>,
    Extension(agent): Extension<Arc<AgentToken>>,
    Path(region): Path<String>,
    ApiJson(request): ApiJson<JobsRequest>,
) -> ApiResult<Json<JobsResponse>> {
    own_region(&agent, &region)?;
    let capacity = request.capacity.unwrap_or(1000);
    if !(1..=10_000).contains(&capacity) {
        return Err(ApiError::invalid("capacity", "must be between 1 and 10000"));
    }
    let known: HashMap<&str, i64> = request
        .known
        .iter()
        .map(|k| (k.monitor_id.as_str(), k.version))
        .collect();
    let wait = Duration::from_secs(u64::from(request.wait_seconds.min(MAX_WAIT_SECONDS)));
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let now = now_ms();
        let claim = JobClaim {
            region: &region,
            holder: agent.id.as_str(),
            now,
            capacity,
            sharers: live_agents(&state, &region, now).await?,
        };
        let held = state.store.claim_jobs(&claim).await?;
        let changed: Vec<&Monitor> = held
            .jobs
            .iter()
            .filter(|m| known.get(m.id.as_str()) != Some(&m.updated_at))
            .collect();
        let dropped = known.len() + changed.len() > held.jobs.len();
        if !changed.is_empty() || dropped || tokio::time::Instant::now() + RECHECK > deadline {
            return Ok(Json(JobsResponse {
                region,
                held: held.jobs.iter().map(|m| m.id.to_string()).collect(),
                jobs: changed
                    .into_iter()
                    .map(|m| Job {
                        monitor_id: m.id.to_string(),
                        version: m.updated_at,
                        spec: m.spec.clone(),
                    })
                    .collect(),
                lease_seconds: (MIN_LEASE_MS / 1000) as u32,
            }));
        }
        tokio::time::sleep(RECHECK).await;
    }
}

/// The check result an upload describes, judged by the server's own rules.
fn result_of(monitor: &Monitor, region: &str, observation: &Observation, at: i64) -> CheckResult {
    let mut result = match observation {
        Observation::Uptime(seen) => results::uptime(monitor, region, seen),
        Observation::Tcp(tcp) => results::tcp(monitor, region, tcp.port, &tcp.seen),
    };
    result.created_at = at;
    result.id = ResultId::generated_at(at);
    result
}

/// Stores a batch of results (once per key) and applies them to the
/// outage rule, unless they are too old to matter.
#[utoipa::path(
    post, path = "/agent/v1/regions/{region}/results", tag = "agents",
    params(("region" = String, Path)), request_body = ResultsRequest,
    responses((status = 200, body = ResultsResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("agentToken" = []))
)]
pub async fn upload(
    State(state): State<AppState>,
    Extension(agent): Extension<Arc<AgentToken>>,
    Path(region): Path<String>,
    ApiJson(request): ApiJson<ResultsRequest>,
) -> ApiResult<Json<ResultsResponse>> {
    own_region(&agent, &region)?;
    if request.results.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "results",
            format!("at most {MAX_BATCH} results per upload"),
        ));
    }
    let now = now_ms();
    let mut ids: Vec<String> = request
        .results
        .iter()
        .map(|u| u.monitor_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    let monitors: HashMap<String, Monitor> = state
        .store
        .region_job_monitors(&region, &ids)
        .await?
        .into_iter()
        .map(|m| (m.id.to_string(), m))
        .collect();
    let mut answer = ResultsResponse::default();
    let mut by_monitor: HashMap<&str, Vec<KeyedResult>> = HashMap::new();
    for upload in &request.results {
        let Some(monitor) = monitors.get(&upload.monitor_id) else {
            answer.ignored += 1;
            continue;
        };
        if upload.checked_at < now - OLDEST_UPLOAD_MS {
            answer.ignored += 1;
            continue;
        }
        // A clock ahead of ours is believed only up to now.
        let at = upload.checked_at.min(now);
        by_monitor
            .entry(upload.monitor_id.as_str())
            .or_default()
            .push(KeyedResult {
                key: format!("{}:{}", agent.region, upload.key),
                result: result_of(monitor, &region, &upload.observation, at),
            });
    }
    let uploads = by_monitor
        .into_iter()
        .map(|(id, keyed)| (monitors[id].clone(), keyed))
        .collect();
    let ingested = state.checker.ingest_uploaded(uploads, now).await?;
    answer.stored += ingested.stored;
    answer.duplicates += ingested.duplicates;
    Ok(Json(answer))
}
