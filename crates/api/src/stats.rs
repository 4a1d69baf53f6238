//! `GET /api/v1/monitors/:id/stats`: per-UTC-day rollups.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use certsentry_domain::stats::DailyStats;
use certsentry_domain::time::{day_of, now_ms, parse_day};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::query::QueryParams;
use crate::state::AppState;
use crate::views::ErrorBody;

/// The longest window one request may ask for.
pub const MAX_DAYS: i64 = 90;
const DEFAULT_DAYS: i64 = 30;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/monitors/{id}/stats", get(stats))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DailyStatsView {
    #[schema(example = "2026-05-01")]
    pub date: String,
    pub total_checks: u64,
    pub failed_checks: u64,
    pub degraded_checks: u64,
    pub avg_latency_ms: Option<u32>,
    /// Null until the day is finalized.
    pub p50_latency_ms: Option<u32>,
    pub p95_latency_ms: Option<u32>,
    pub max_latency_ms: u32,
    pub uptime_percent: Option<f64>,
    pub finalized: bool,
}

impl From<&DailyStats> for DailyStatsView {
    fn from(d: &DailyStats) -> Self {
        Self {
            date: d.day.clone(),
            total_checks: d.total_checks,
            failed_checks: d.failed_checks,
            degraded_checks: d.degraded_checks,
            avg_latency_ms: d.avg_latency_ms(),
            p50_latency_ms: d.p50_latency_ms,
            p95_latency_ms: d.p95_latency_ms,
            max_latency_ms: d.max_latency_ms,
            uptime_percent: d.uptime_percent(),
            finalized: d.finalized,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsList {
    pub stats: Vec<DailyStatsView>,
}

/// Per-UTC-day uptime and latency rollups (days with checks only).
#[utoipa::path(
    get, path = "/api/v1/monitors/{id}/stats", tag = "monitors",
    params(
        ("id" = String, Path),
        ("from" = Option<String>, Query, description = "Start day, YYYY-MM-DD (UTC). Defaults to 29 days before `to`. With `to`, the window spans at most 90 days."),
        ("to" = Option<String>, Query, description = "End day, YYYY-MM-DD (UTC). Defaults to today, or to 89 days after `from` when that is earlier."),
    ),
    responses((status = 200, body = StatsList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn stats(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
    mut params: QueryParams,
) -> ApiResult<Json<StatsList>> {
    let mut day = |name: &str| {
        let raw = params.string(name)?;
        let parsed = parse_day(&raw);
        if parsed.is_none() {
            params.reject(name, "must be a day such as 2026-06-01");
        }
        parsed
    };
    let to_param = day("to");
    let from_param = day("from");
    let today = parse_day(&day_of(now_ms())).expect("today parses");
    // With only `from`, the window runs to today but at most 90 days,
    // so a start long ago is not an error.
    let to = to_param.unwrap_or_else(|| match from_param {
        Some(from) => (from + chrono_days(MAX_DAYS - 1)).min(today).max(from),
        None => today,
    });
    let from = from_param.unwrap_or(to - chrono_days(DEFAULT_DAYS - 1));
    if from > to {
        params.reject("from", "must not be after to");
    } else if (to - from).num_days() + 1 > MAX_DAYS {
        params.reject("from", "the window spans at most 90 days");
    }
    params.finish()?;
    let monitor_id = crate::monitors::load(&state, &caller, &id).await?.id;
    let days = state
        .store
        .list_daily_stats(
            caller.org_id(),
            &monitor_id,
            &from.to_string(),
            &to.to_string(),
        )
        .await?;
    Ok(Json(StatsList {
        stats: days.iter().map(DailyStatsView::from).collect(),
    }))
}

fn chrono_days(n: i64) -> certsentry_domain::time::DayDelta {
    certsentry_domain::time::DayDelta::days(n)
}
