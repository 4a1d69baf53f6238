//! Status pages: the list (each with its public page as the preview) and
//! the editor: the title, slug, description, whether it is published, the
//! origins that may embed it, and its monitors (which, in what order, under
//! what public label, with the target and certificate health shown or
//! not). A saved page goes through the API's handlers, so the slug rules,
//! the plan's limits and the audit entries are the API's.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use certsentry_api::ApiError;
use certsentry_api::error::ApiJson;
use certsentry_api::inputs::StatusPageInput;
use certsentry_domain::StatusPageId;
use certsentry_domain::people::Permission;
use certsentry_domain::status_page::{StatusPage, StatusPageMonitor};
use certsentry_domain::time::now_ms;
use certsentry_store::MonitorQuery;
use serde::Deserialize;
use serde_json::{Value, json};

use super::views::{Frame, messages_for, not_found, refusal, render, render_form, unavailable};
use super::{Dashboard, Signed};

/// How many of the organization's other monitors the editor offers at
/// once; a search narrows them in a large organization.
const CANDIDATES: u32 = 200;

#[derive(Template)]
#[template(path = "dashboard/status_pages.html")]
struct ListPage {
    frame: Frame,
    pages: Vec<StatusPage>,
    may_manage: bool,
}

pub async fn list(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
) -> Response {
    let Ok(pages) = dashboard.store.list_status_pages(signed.org_id()).await else {
        return unavailable();
    };
    render(&ListPage {
        frame: Frame::new(&signed, "Status pages", "status"),
        pages,
        may_manage: signed.may(Permission::ManageStatusPages),
    })
}

/// One monitor row of the editor.
pub struct Row {
    pub id: String,
    /// The monitor's own label, for the person editing.
    pub label: String,
    pub included: bool,
    pub public_label: String,
    pub show_target: bool,
    pub show_cert_health: bool,
    pub position: usize,
}

#[derive(Template)]
#[template(path = "dashboard/status_page_form.html")]
struct EditorPage {
    frame: Frame,
    /// `None` for a new page.
    id: Option<String>,
    values: BTreeMap<String, String>,
    enabled: bool,
    rows: Vec<Row>,
    q: String,
    may_manage: bool,
    errors: BTreeMap<String, String>,
    error: Option<String>,
}

impl EditorPage {
    fn value(&self, field: &str) -> &str {
        self.values.get(field).map_or("", String::as_str)
    }
    fn error_for(&self, field: &str) -> Option<String> {
        messages_for(&self.errors, field, true)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
}

/// The page's monitors first, in their order, then other monitors of the
/// organization (matching `q`) to add.
async fn rows(
    dashboard: &Dashboard,
    signed: &Signed,
    page: Option<&StatusPage>,
    q: &str,
) -> Result<Vec<Row>, Response> {
    let mut rows: Vec<Row> = Vec::new();
    let shown: &[StatusPageMonitor] = page.map_or(&[], |p| &p.spec.monitors);
    let store = &dashboard.store;
    for (i, entry) in shown.iter().enumerate() {
        let label = match store.get_monitor(signed.org_id(), &entry.monitor_id).await {
            Ok(Some(m)) => m.spec.label,
            Ok(None) => continue,
            Err(_) => return Err(unavailable()),
        };
        rows.push(Row {
            id: entry.monitor_id.to_string(),
            label,
            included: true,
            public_label: entry.public_label.clone(),
            show_target: entry.show_target,
            show_cert_health: entry.show_cert_health,
            position: i + 1,
        });
    }
    let query = MonitorQuery {
        limit: CANDIDATES,
        ..Default::default()
    };
    let q = q.trim().to_lowercase();
    let others = store
        .list_monitors(signed.org_id(), &query)
        .await
        .map_err(|_| unavailable())?;
    for monitor in others.items {
        if shown.iter().any(|s| s.monitor_id == monitor.id)
            || (!q.is_empty() && !monitor.spec.label.to_lowercase().contains(&q))
        {
            continue;
        }
        rows.push(Row {
            id: monitor.id.to_string(),
            public_label: monitor.spec.label.clone(),
            label: monitor.spec.label,
            included: false,
            show_target: false,
            show_cert_health: false,
            position: rows.len() + 1,
        });
    }
    Ok(rows)
}

fn values_of(page: &StatusPage) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("slug".to_string(), page.spec.slug.clone()),
        ("title".to_string(), page.spec.title.clone()),
        (
            "description".to_string(),
            page.spec.description.clone().unwrap_or_default(),
        ),
        (
            "embedOrigins".to_string(),
            page.spec.embed_origins.join("\n"),
        ),
    ])
}

async fn load(dashboard: &Dashboard, signed: &Signed, id: &str) -> Result<StatusPage, Response> {
    match dashboard
        .store
        .get_status_page(signed.org_id(), &StatusPageId::from_string(id))
        .await
    {
        Ok(Some(page)) => Ok(page),
        Ok(None) => Err(not_found()),
        Err(_) => Err(unavailable()),
    }
}

/// `GET /status-pages/new` and `GET /status-pages/:id`.
async fn editor(
    dashboard: &Dashboard,
    signed: &Signed,
    page: Option<&StatusPage>,
    q: &str,
) -> Response {
    let rows = match rows(dashboard, signed, page, q).await {
        Ok(rows) => rows,
        Err(response) => return response,
    };
    let title = page.map_or("New status page".to_string(), |p| p.spec.title.clone());
    render(&EditorPage {
        frame: Frame::new(signed, title, "status"),
        id: page.map(|p| p.id.to_string()),
        values: page.map(values_of).unwrap_or_default(),
        enabled: page.is_none_or(|p| p.spec.enabled),
        rows,
        q: q.to_string(),
        may_manage: signed.may(Permission::ManageStatusPages),
        errors: BTreeMap::new(),
        error: None,
    })
}

pub async fn new_form(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Query(search): Query<Search>,
) -> Response {
    editor(&dashboard, &signed, None, &search.q).await
}

pub async fn edit_form(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    Query(search): Query<Search>,
) -> Response {
    match load(&dashboard, &signed, &id).await {
        Ok(page) => editor(&dashboard, &signed, Some(&page), &search.q).await,
        Err(response) => response,
    }
}

/// The posted editor: its fields, and the API's request body.
struct Posted {
    values: BTreeMap<String, String>,
    enabled: bool,
    rows: Vec<Row>,
    body: Value,
}

fn read(body: &[u8]) -> Posted {
    let mut values = BTreeMap::new();
    let mut monitors: Vec<String> = Vec::new();
    let mut enabled = false;
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(body) {
        match name.as_ref() {
            "monitor" => monitors.push(value.into_owned()),
            "enabled" => enabled = true,
            "csrf_token" => {}
            name if name.contains(':') => {
                fields.insert(name.to_string(), value.into_owned());
            }
            name => {
                values.insert(name.to_string(), value.into_owned());
            }
        }
    }
    let field = |kind: &str, id: &str| fields.get(&format!("{kind}:{id}")).cloned();
    let mut rows: Vec<Row> = monitors
        .iter()
        .enumerate()
        .map(|(i, id)| Row {
            id: id.clone(),
            label: field("name", id).unwrap_or_default(),
            included: field("include", id).is_some(),
            public_label: field("label", id).unwrap_or_default(),
            show_target: field("target", id).is_some(),
            show_cert_health: field("cert", id).is_some(),
            position: field("position", id)
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or(i + 1),
        })
        .collect();
    rows.sort_by_key(|r| (!r.included, r.position));
    let page_monitors: Vec<Value> = rows
        .iter()
        .filter(|r| r.included)
        .map(|r| {
            json!({"monitorId": r.id, "publicLabel": r.public_label.trim(),
                   "showTarget": r.show_target, "showCertHealth": r.show_cert_health})
        })
        .collect();
    let text = |name: &str| {
        values
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut body = json!({"monitors": page_monitors, "enabled": enabled});
    for name in ["slug", "title", "description"] {
        if let Some(value) = text(name) {
            body[name] = json!(value);
        }
    }
    let origins: Vec<String> = values
        .get("embedOrigins")
        .map(|v| {
            v.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    body["embedOrigins"] = json!(origins);
    Posted {
        values,
        enabled,
        rows,
        body,
    }
}

/// The editor again, with the API's refusal beside its fields.
fn refused(signed: &Signed, id: Option<String>, posted: Posted, e: ApiError) -> Response {
    let (errors, error) = refusal(e);
    render_form(
        &EditorPage {
            frame: Frame::new(signed, "Status page", "status"),
            id,
            values: posted.values,
            enabled: posted.enabled,
            rows: posted.rows,
            q: String::new(),
            may_manage: true,
            errors,
            error,
        },
        true,
    )
}

fn input_of(posted: &Posted) -> Result<StatusPageInput, ApiError> {
    serde_json::from_value(posted.body.clone())
        .map_err(|e| ApiError::Internal(format!("The form could not be read: {e}")))
}

/// `POST /status-pages`: `POST /api/v1/status-pages`.
pub async fn create(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    body: Bytes,
) -> Response {
    let posted = read(&body);
    let input = match input_of(&posted) {
        Ok(input) => input,
        Err(e) => return refused(&signed, None, posted, e),
    };
    let caller = match dashboard.caller(&signed).await {
        Ok(caller) => Arc::new(caller),
        Err(response) => return response,
    };
    match certsentry_api::status_pages::create(
        State(dashboard.api.clone()),
        Extension(caller),
        ApiJson(input),
    )
    .await
    {
        Ok((_, Json(made))) => {
            Redirect::to(&format!("/status-pages/{}", made.status_page.id)).into_response()
        }
        Err(ApiError::Unavailable { .. }) => unavailable(),
        Err(e) => refused(&signed, None, posted, e),
    }
}

/// `POST /status-pages/:id`: `PATCH /api/v1/status-pages/:id`.
pub async fn update(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let posted = read(&body);
    let input = match input_of(&posted) {
        Ok(input) => input,
        Err(e) => return refused(&signed, Some(id), posted, e),
    };
    let caller = match dashboard.caller(&signed).await {
        Ok(caller) => Arc::new(caller),
        Err(response) => return response,
    };
    match certsentry_api::status_pages::update(
        State(dashboard.api.clone()),
        Extension(caller),
        Path(id.clone()),
        ApiJson(input),
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/status-pages/{id}")).into_response(),
        Err(ApiError::NotFound(_)) => not_found(),
        Err(ApiError::Unavailable { .. }) => unavailable(),
        Err(e) => refused(&signed, Some(id), posted, e),
    }
}

/// `POST /status-pages/preview`: the editor's form rendered as the public
/// page would be, without saving it (opened in a new tab by the editor's
/// "Preview" button). The page's id, when it exists, keeps its incidents
/// and maintenance windows in the preview.
pub async fn preview(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    body: Bytes,
) -> Response {
    let posted = read(&body);
    let id = posted
        .values
        .get("page")
        .filter(|id| !id.is_empty())
        .cloned();
    let input = match input_of(&posted) {
        Ok(input) => input,
        Err(e) => return refused(&signed, id, posted, e),
    };
    let caller = match dashboard.caller(&signed).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let spec = match certsentry_api::status_pages::prepare(&dashboard.api, &caller, &input).await {
        Ok(spec) => spec,
        Err(ApiError::Unavailable { .. }) => return unavailable(),
        Err(e) => return refused(&signed, id, posted, e),
    };
    // An id names this organization's page, or none: another's incidents
    // must not show through.
    let id = match id {
        None => StatusPageId::generate(),
        Some(id) => match dashboard
            .store
            .get_status_page(signed.org_id(), &StatusPageId::from_string(id))
            .await
        {
            Ok(Some(page)) => page.id,
            Ok(None) => return not_found(),
            Err(_) => return unavailable(),
        },
    };
    let now = now_ms();
    let page = StatusPage {
        id,
        org_id: signed.org_id().clone(),
        spec,
        created_at: now,
        updated_at: now,
    };
    match crate::status::render_draft(&*dashboard.store, &page).await {
        Ok((html, csp)) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
                (header::CONTENT_SECURITY_POLICY, csp),
                (header::CACHE_CONTROL, "no-store".to_string()),
                (header::X_FRAME_OPTIONS, "DENY".to_string()),
            ],
            html,
        )
            .into_response(),
        Err(_) => unavailable(),
    }
}

/// `POST /status-pages/:id/delete`: unpublishes and deletes the page.
pub async fn delete(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    dashboard
        .act_on(
            &signed,
            id,
            certsentry_api::status_pages::remove,
            "/status-pages",
        )
        .await
}
