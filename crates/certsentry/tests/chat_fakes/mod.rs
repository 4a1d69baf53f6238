//! Fakes of the chat and paging services on loopback, one server for all:
//! each path answers as its service does, after holding the request to
//! the rules the service documents (`certsentry_notify::testing`). A
//! request a service would refuse gets the service's own refusal (so the
//! delivery fails, visibly), and a service can be told to answer its next
//! requests with its own kind of 429.
//!
//! | path | service |
//! |---|---|
//! | `/slack/…` | Slack incoming webhook |
//! | `/teams/…` | Teams workflow webhook |
//! | `/api/webhooks/<id>/<token>` | Discord webhook |
//! | `/telegram/bot<token>/sendMessage` | Telegram bot API |
//! | `/v2/enqueue` | PagerDuty Events API v2 |
//! | `/ntfy/<topic>` | ntfy |
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use certsentry_notify::testing;
use serde_json::{Value, json};

/// One request a fake received, and whether the service would refuse it.
#[derive(Debug, Clone)]
pub struct Received {
    pub service: &'static str,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
    /// The service's complaint, when it refused the request.
    pub refused: Option<String>,
    pub rate_limited: bool,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct State {
    log: Mutex<Vec<Received>>,
    /// Service → how many more requests get a 429.
    rate_limits: Mutex<HashMap<&'static str, u32>>,
}

pub struct ChatFakes {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    state: Arc<State>,
}

impl ChatFakes {
    pub async fn start() -> Self {
        let state = Arc::new(State::default());
        let shared = state.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = shared.clone();
            async move { answer(&state, uri, headers, body) }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, state }
    }

    /// The next `count` requests to `service` are answered with its 429,
    /// asking to wait one second.
    pub fn rate_limit(&self, service: &'static str, count: u32) {
        self.state
            .rate_limits
            .lock()
            .unwrap()
            .insert(service, count);
    }

    pub fn requests(&self) -> Vec<Received> {
        self.state.log.lock().unwrap().clone()
    }

    /// The requests so far once at least `n` have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..600 {
            if self.state.log.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let requests = self.requests();
        assert!(
            requests.len() >= n,
            "{} of {n} requests arrived: {requests:#?}",
            requests.len()
        );
        requests
    }
}

fn service_of(path: &str) -> Option<&'static str> {
    Some(match path {
        p if p.starts_with("/slack/") => "slack",
        p if p.starts_with("/teams/") => "teams",
        p if p.starts_with("/api/webhooks/") => "discord",
        p if p.starts_with("/telegram/bot") && p.ends_with("/sendMessage") => "telegram",
        "/v2/enqueue" => "pagerduty",
        p if p.starts_with("/ntfy/") => "ntfy",
        _ => return None,
    })
}

fn answer(state: &State, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let Some(service) = service_of(uri.path()) else {
        return (StatusCode::NOT_FOUND, "no such fake").into_response();
    };
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let rate_limited = {
        let mut limits = state.rate_limits.lock().unwrap();
        match limits.get_mut(service) {
            Some(left) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        }
    };
    let refused = if rate_limited {
        None
    } else {
        check(service, &headers, &body).err()
    };
    state.log.lock().unwrap().push(Received {
        service,
        target: uri.to_string(),
        headers,
        body: body.to_vec(),
        at: Instant::now(),
        refused: refused.clone(),
        rate_limited,
    });
    if rate_limited {
        return too_many(service);
    }
    match refused {
        Some(problem) => refusal(service, &problem),
        None => accepted(service, &body, uri.query().unwrap_or_default()),
    }
}

fn check(service: &str, headers: &[(String, String)], body: &[u8]) -> Result<(), String> {
    if service == "ntfy" {
        return testing::check_ntfy(headers, body);
    }
    let json: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    match service {
        "slack" => testing::check_slack(&json),
        "teams" => testing::check_teams(&json),
        "discord" => testing::check_discord(&json),
        "telegram" => testing::check_telegram(&json),
        "pagerduty" => testing::check_pagerduty(&json),
        _ => unreachable!("listed in service_of"),
    }
}

/// Each service's own 429: Slack by header, Discord in both, Telegram in
/// its body only.
fn too_many(service: &str) -> Response {
    let retry = [("retry-after", "1")];
    match service {
        "discord" => (
            StatusCode::TOO_MANY_REQUESTS,
            retry,
            axum::Json(
                json!({"message": "You are being rate limited.", "retry_after": 1.0, "global": false}),
            ),
        )
            .into_response(),
        "telegram" => (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(
                json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}}),
            ),
        )
            .into_response(),
        _ => (StatusCode::TOO_MANY_REQUESTS, retry, "rate_limited").into_response(),
    }
}

fn refusal(service: &str, problem: &str) -> Response {
    let bad = StatusCode::BAD_REQUEST;
    match service {
        "slack" => (bad, "invalid_blocks").into_response(),
        "discord" => (
            bad,
            axum::Json(json!({"code": 50035, "message": "Invalid Form Body", "errors": problem})),
        )
            .into_response(),
        "telegram" => (
            bad,
            axum::Json(json!({"ok": false, "error_code": 400, "description": problem})),
        )
            .into_response(),
        "pagerduty" => (
            bad,
            axum::Json(
                json!({"status": "invalid event", "message": "Event object is invalid", "errors": [problem]}),
            ),
        )
            .into_response(),
        _ => (bad, problem.to_string()).into_response(),
    }
}

fn accepted(service: &str, body: &[u8], query: &str) -> Response {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match service {
        "slack" => (StatusCode::OK, "ok").into_response(),
        "teams" => StatusCode::ACCEPTED.into_response(),
        "discord" if query.contains("wait=true") => (
            StatusCode::OK,
            axum::Json(json!({"id": "1", "type": 0, "embeds": json["embeds"]})),
        )
            .into_response(),
        "discord" => StatusCode::NO_CONTENT.into_response(),
        "telegram" => axum::Json(
            json!({"ok": true, "result": {"message_id": 1, "chat": {"id": json["chat_id"]}}}),
        )
        .into_response(),
        "pagerduty" => (
            StatusCode::ACCEPTED,
            axum::Json(
                json!({"status": "success", "message": "Event processed", "dedup_key": json["dedup_key"]}),
            ),
        )
            .into_response(),
        _ => axum::Json(json!({"id": "x1", "event": "message"})).into_response(),
    }
}
