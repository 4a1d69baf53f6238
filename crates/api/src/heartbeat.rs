//! Heartbeat pings: `GET|POST|HEAD /api/ping/<token>` records success,
//! `/api/ping/<token>/fail` an explicit failure. Anonymous: the token is the
//! secret. Each monitor (so each token) has its own request budget,
//! counted once the token is found.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use certsentry_domain::alert::HeartbeatAlertState;
use certsentry_domain::check::{CheckResult, CheckStatus, CheckType};
use certsentry_domain::monitor::{MonitorKind, MonitorStatus};
use certsentry_domain::time::now_ms;
use certsentry_store::{CheckRecord, HeartbeatState, MonitorState};

use crate::error::ApiError;
use crate::monitor_json::json_response;
use crate::state::AppState;

/// Pings one token may send per minute; a cron job needs far fewer.
pub const PINGS_PER_MINUTE: u32 = 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/ping/{token}",
            get(success).post(success).head(success),
        )
        .route(
            "/api/ping/{token}/fail",
            get(failure).post(failure).head(failure),
        )
}

async fn success(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    record(&state, &token, true)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn failure(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    record(&state, &token, false)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn record(state: &AppState, token: &str, succeeded: bool) -> Result<Response, ApiError> {
    let monitor = match state.store.find_heartbeat_monitor(token).await? {
        Some(m) if m.spec.kind == MonitorKind::Heartbeat => m,
        _ => {
            return Err(ApiError::NotFound(
                "No heartbeat monitor has this ping URL.".into(),
            ));
        }
    };
    let decision = state.limiter.check_ping(&monitor.id, PINGS_PER_MINUTE);
    if !decision.allowed {
        return Err(ApiError::RateLimited {
            retry_after: decision.retry_after,
        });
    }
    let now = now_ms();
    let result = CheckResult {
        status: if succeeded {
            CheckStatus::Ok
        } else {
            CheckStatus::Fail
        },
        error: (!succeeded).then(|| "job reported failure".to_string()),
        created_at: now,
        ..CheckResult::blank(&monitor, CheckType::Heartbeat, None)
    };
    let last_status = if succeeded {
        MonitorStatus::Up
    } else {
        MonitorStatus::Down
    };
    // Most pings change nothing but the ping time: the monitor row is
    // written only when the status flips.
    let next = (last_status != monitor.last_status).then_some(MonitorState {
        last_status,
        ssl_not_after: monitor.ssl_not_after,
        domain_expiry: monitor.domain_expiry,
    });
    let ping = HeartbeatState {
        monitor_id: monitor.id.clone(),
        org_id: monitor.org_id.clone(),
        last_ping_at: now,
        last_ping_ok: succeeded,
        missed: false,
    };
    state
        .checker
        .writer()
        .write_ping(CheckRecord {
            org_id: monitor.org_id.clone(),
            monitor_id: monitor.id.clone(),
            results: vec![result],
            state: next,
            ping: Some(ping),
            certificate: None,
        })
        .await?;
    // A failure, or the first ping after a miss or failure, may fire an
    // event; a healthy monitor's ping cannot, and skips the lookup.
    if !succeeded || monitor.last_status != MonitorStatus::Up {
        let now_state = if succeeded {
            HeartbeatAlertState::Ok
        } else {
            HeartbeatAlertState::Failed
        };
        state
            .checker
            .alerter()
            .apply(&monitor, HeartbeatAlertState::KEY, |previous| {
                certsentry_domain::alert::heartbeat(
                    previous,
                    now_state,
                    (!succeeded).then_some("job reported failure"),
                )
            })
            .await?;
    }
    let mut response = json_response(Bytes::from_static(OK_BODY));
    let headers = response.headers_mut();
    headers.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(decision.remaining),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A ping's answer, `OkBody` as the API writes it, written out once
/// rather than serialized per ping (1.4% of a ping's CPU under `perf`).
const OK_BODY: &[u8] = br#"{"ok":true}"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::OkBody;

    #[test]
    fn the_written_out_answer_is_what_the_api_serializes() {
        let serialized = serde_json::to_vec(&OkBody { ok: true }).unwrap();
        assert_eq!(OK_BODY, serialized.as_slice());
    }
}
