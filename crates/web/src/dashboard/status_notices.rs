//! A status page's incidents and maintenance windows: each incident's
//! timeline with a form for its next update, "Open an incident", the
//! windows (upcoming, in progress, completed) with "End now" and
//! "Cancel", and "Schedule maintenance". Writes are the API's handlers with
//! the signed-in person as the caller, so the rules and messages are the
//! API's; a refused form comes back with what was typed and why.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use certsentry_api::ApiError;
use certsentry_api::error::ApiJson;
use certsentry_api::status_notices::{IncidentView, MaintenanceView};
use certsentry_domain::StatusPageId;
use certsentry_domain::people::Permission;
use certsentry_domain::status_page::StatusPage;
use certsentry_domain::time::{format_ms, now_ms};
use serde_json::{Value, json};

use super::views::{Frame, not_found, refusal_text, render_form, unavailable};
use super::{Dashboard, Signed};

#[derive(Template)]
#[template(path = "dashboard/status_notices.html")]
struct NoticesPage {
    frame: Frame,
    page: StatusPage,
    incidents: Vec<IncidentView>,
    windows: Vec<MaintenanceView>,
    /// The page's monitors: `(id, public label)`.
    monitors: Vec<(String, String)>,
    may_manage: bool,
    /// Which form came back refused, what was typed in it, and why.
    form: Option<String>,
    values: BTreeMap<String, String>,
    error: Option<String>,
}

impl NoticesPage {
    fn value(&self, field: &str) -> &str {
        self.values.get(field).map_or("", String::as_str)
    }
    /// The refusal, beside the form it is about.
    fn error_of(&self, form: &str) -> Option<&str> {
        (self.form.as_deref() == Some(form))
            .then_some(self.error.as_deref())
            .flatten()
    }
}

/// What the page shows besides the stored notices.
#[derive(Default)]
struct Refused {
    form: Option<String>,
    values: BTreeMap<String, String>,
    error: Option<String>,
}

async fn notices_page(
    dashboard: &Dashboard,
    signed: &Signed,
    id: &str,
    refused: Refused,
) -> Response {
    let store = &dashboard.store;
    let page_id = StatusPageId::from_string(id.to_string());
    let page = match store.get_status_page(signed.org_id(), &page_id).await {
        Ok(Some(page)) => page,
        Ok(None) => return not_found(),
        Err(_) => return unavailable(),
    };
    let (Ok(incidents), Ok(windows)) = (
        store
            .list_incidents(signed.org_id(), &page.id, None, 50)
            .await,
        store
            .list_maintenance(signed.org_id(), &page.id, None, 50)
            .await,
    ) else {
        return unavailable();
    };
    let now = now_ms();
    let failed = refused.error.is_some();
    render_form(
        &NoticesPage {
            frame: Frame::new(
                signed,
                format!("{}: incidents and maintenance", page.spec.title),
                "status",
            ),
            monitors: page
                .spec
                .monitors
                .iter()
                .map(|m| (m.monitor_id.to_string(), m.public_label.clone()))
                .collect(),
            incidents: incidents.items.iter().map(IncidentView::from).collect(),
            windows: windows
                .items
                .iter()
                .map(|w| MaintenanceView::at(w, now))
                .collect(),
            may_manage: signed.may(Permission::ManageStatusPages),
            page,
            form: refused.form,
            values: refused.values,
            error: refused.error,
        },
        failed,
    )
}

/// `GET /status-pages/:id/notices`.
pub async fn page(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    notices_page(&dashboard, &signed, &id, Refused::default()).await
}

/// A posted form as fields, and the page's monitors ticked in it.
fn fields(body: &[u8]) -> (BTreeMap<String, String>, Vec<String>) {
    let mut values = BTreeMap::new();
    let mut monitors = Vec::new();
    for (name, value) in form_urlencoded::parse(body) {
        match name.as_ref() {
            "monitorIds" => monitors.push(value.into_owned()),
            "csrf_token" => {}
            name => {
                values.insert(name.to_string(), value.into_owned());
            }
        }
    }
    (values, monitors)
}

/// A `datetime-local` value (`2026-12-05T14:30`, read as UTC, as the
/// form says) as the API's RFC 3339.
fn rfc3339(local: &str) -> String {
    let local = local.trim();
    match local.len() {
        16 => format!("{local}:00Z"),
        19 => format!("{local}Z"),
        _ => local.to_string(),
    }
}

/// The body as the API reads it, or why it cannot be.
fn input<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, ApiError> {
    serde_json::from_value(body)
        .map_err(|e| ApiError::Internal(format!("The form could not be read: {e}")))
}

/// After a write: back to the page, or the page with the refusal.
async fn after<T>(
    dashboard: &Dashboard,
    signed: &Signed,
    id: &str,
    form: &str,
    values: BTreeMap<String, String>,
    done: Result<T, ApiError>,
) -> Response {
    match done {
        Ok(_) => Redirect::to(&format!("/status-pages/{id}/notices")).into_response(),
        Err(ApiError::NotFound(_)) => not_found(),
        Err(ApiError::Unavailable { .. }) => unavailable(),
        Err(e) => {
            let refused = Refused {
                form: Some(form.to_string()),
                values,
                error: Some(refusal_text(e)),
            };
            notices_page(dashboard, signed, id, refused).await
        }
    }
}

async fn caller(
    dashboard: &Dashboard,
    signed: &Signed,
) -> Result<Arc<certsentry_api::auth::Caller>, Response> {
    dashboard.caller(signed).await.map(Arc::new)
}

/// Reads `body` as the API's input and calls its handler with the person
/// as the caller; then back to the page, or the page with the refusal
/// beside `form`.
async fn submit<I, T, Fut>(
    dashboard: &Dashboard,
    signed: &Signed,
    (id, form): (&str, &str),
    values: BTreeMap<String, String>,
    body: Value,
    call: impl FnOnce(
        State<certsentry_api::AppState>,
        Extension<Arc<certsentry_api::auth::Caller>>,
        ApiJson<I>,
    ) -> Fut,
) -> Response
where
    I: serde::de::DeserializeOwned,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let caller = match caller(dashboard, signed).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let done = match input::<I>(body) {
        Ok(input) => call(
            State(dashboard.api.clone()),
            Extension(caller),
            ApiJson(input),
        )
        .await
        .map(|_| ()),
        Err(e) => Err(e),
    };
    after(dashboard, signed, id, form, values, done).await
}

/// `POST /status-pages/:id/incidents`: opens an incident.
pub async fn open_incident(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let (values, _) = fields(&body);
    let body = json!({"title": values.get("title"), "state": values.get("state"),
                      "body": values.get("body")});
    let page = id.clone();
    submit(
        &dashboard,
        &signed,
        (&id, "incident"),
        values,
        body,
        |s, c, j| certsentry_api::status_notices::create_incident(s, c, Path(page), j),
    )
    .await
}

/// `POST /status-pages/:id/incidents/:iid/updates`: the next update.
pub async fn add_update(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path((id, iid)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (values, _) = fields(&body);
    let body = json!({"state": values.get("state"), "body": values.get("body")});
    let form = format!("update-{iid}");
    let path = (id.clone(), iid);
    submit(
        &dashboard,
        &signed,
        (&id, &form),
        values,
        body,
        |s, c, j| certsentry_api::status_notices::add_update(s, c, Path(path), j),
    )
    .await
}

/// `POST /status-pages/:id/maintenance`: schedules a window.
pub async fn schedule(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let (values, monitors) = fields(&body);
    let time = |field: &str| values.get(field).map(|v| rfc3339(v));
    let message = values.get("message").filter(|m| !m.trim().is_empty());
    let body = json!({"title": values.get("title"), "message": message,
                      "startsAt": time("startsAt"), "endsAt": time("endsAt"),
                      "monitorIds": monitors});
    let page = id.clone();
    submit(
        &dashboard,
        &signed,
        (&id, "maintenance"),
        values,
        body,
        |s, c, j| certsentry_api::status_notices::create_maintenance(s, c, Path(page), j),
    )
    .await
}

/// `POST /status-pages/:id/maintenance/:mid/end`: ends a window now.
pub async fn end_now(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path((id, mid)): Path<(String, String)>,
) -> Response {
    let body = json!({"endsAt": format_ms(now_ms() + 1_000)});
    let form = format!("window-{mid}");
    let path = (id.clone(), mid);
    submit(
        &dashboard,
        &signed,
        (&id, &form),
        BTreeMap::new(),
        body,
        |s, c, j| certsentry_api::status_notices::update_maintenance(s, c, Path(path), j),
    )
    .await
}

/// `POST /status-pages/:id/maintenance/:mid/delete`: cancels a window.
pub async fn cancel(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path((id, mid)): Path<(String, String)>,
) -> Response {
    let caller = match caller(&dashboard, &signed).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let done = certsentry_api::status_notices::remove_maintenance(
        State(dashboard.api.clone()),
        Extension(caller),
        Path((id.clone(), mid.clone())),
    )
    .await;
    after(
        &dashboard,
        &signed,
        &id,
        &format!("window-{mid}"),
        BTreeMap::new(),
        done,
    )
    .await
}
