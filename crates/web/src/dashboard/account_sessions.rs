//! Account → Sessions: where the person is signed in (the browser, when
//! the session began and was last active), with a way to end any one of
//! them, and "sign out everywhere" beside.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use certsentry_domain::time::{Millis, now_ms};
use serde::Deserialize;
use serde_json::Value;
use tower_sessions::Session;

use super::views::{Frame, minute, not_found, render, unavailable};
use super::{DEVICE_KEY, Dashboard, SEEN_KEY, SINCE_KEY, Signed, sessions};

/// One live session, as the list shows it.
struct SessionRow {
    /// The SHA-256 of the session's id: what the store knows it by, and
    /// useless as a cookie, so it can name the session in a form.
    handle: String,
    device: String,
    since: String,
    seen: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "dashboard/sessions.html")]
struct SessionsPage {
    frame: Frame,
    sessions: Vec<SessionRow>,
}

/// A time kept in the session's data, shown to the minute.
fn time_in(data: &Value, key: &str) -> String {
    data.get(key)
        .and_then(Value::as_i64)
        .map_or_else(|| "unknown".into(), |at: Millis| minute(at))
}

fn current_handle(session: &Session) -> Option<String> {
    session.id().map(|id| sessions::id_hash(&id))
}

pub async fn page(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    session: Session,
) -> Response {
    let Ok(stored) = dashboard
        .store
        .list_user_sessions(&signed.user.id, now_ms())
        .await
    else {
        return unavailable();
    };
    let current = current_handle(&session);
    let mut rows: Vec<SessionRow> = stored
        .into_iter()
        .map(|record| {
            let data: Value = serde_json::from_str(&record.data).unwrap_or(Value::Null);
            SessionRow {
                current: current.as_deref() == Some(record.id_hash.as_str()),
                device: data
                    .get(DEVICE_KEY)
                    .and_then(Value::as_str)
                    .unwrap_or("an unknown browser")
                    .to_string(),
                since: time_in(&data, SINCE_KEY),
                seen: time_in(&data, SEEN_KEY),
                handle: record.id_hash,
            }
        })
        .collect();
    // This session first, then the most recently active.
    rows.sort_by(|a, b| b.current.cmp(&a.current).then(b.seen.cmp(&a.seen)));
    render(&SessionsPage {
        frame: Frame::new(&signed, "Sessions", "account"),
        sessions: rows,
    })
}

#[derive(Deserialize)]
pub struct EndForm {
    #[serde(default)]
    session: String,
}

/// Ends one of the person's own sessions; ending this one signs out.
pub async fn end(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    session: Session,
    Form(form): Form<EndForm>,
) -> Response {
    let store = &dashboard.store;
    let Ok(stored) = store.list_user_sessions(&signed.user.id, now_ms()).await else {
        return unavailable();
    };
    // Only a session of this person: a handle is not an authorization.
    if !stored.iter().any(|s| s.id_hash == form.session) {
        return not_found();
    }
    if current_handle(&session).as_deref() == Some(form.session.as_str()) {
        let _ = session.flush().await;
        return Redirect::to("/login").into_response();
    }
    match store.delete_session(&form.session).await {
        Ok(()) => Redirect::to("/account/sessions").into_response(),
        Err(_) => unavailable(),
    }
}
