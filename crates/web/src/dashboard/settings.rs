//! Settings → Environments and Settings → Audit log. Environments are made
//! and deleted through the API's own handlers, called with the signed-in
//! person as the caller, so names, conflicts and audit entries are the
//! API's; the audit log is read as `GET /api/v1/audit-logs` reads it,
//! behind the same plan rule.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use certsentry_api::ApiError;
use certsentry_api::error::ApiJson;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::org::Environment;
use certsentry_domain::people::Permission;
use certsentry_domain::time::format_ms;
use certsentry_store::AuditQuery;
use serde::Deserialize;

use super::views::{Frame, render, render_form, unavailable};
use super::{Dashboard, Signed};

#[derive(Template)]
#[template(path = "dashboard/environments.html")]
struct EnvironmentsPage {
    frame: Frame,
    environments: Vec<Environment>,
    may_manage: bool,
    error: Option<String>,
}

async fn environments_page(
    dashboard: &Dashboard,
    signed: &Signed,
    error: Option<String>,
) -> Response {
    let Ok(environments) = dashboard.store.list_environments(signed.org_id()).await else {
        return unavailable();
    };
    let failed = error.is_some();
    render_form(
        &EnvironmentsPage {
            frame: Frame::new(signed, "Environments", "environments"),
            environments,
            may_manage: signed.may(Permission::ManageEnvironments),
            error,
        },
        failed,
    )
}

pub async fn environments(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
) -> Response {
    environments_page(&dashboard, &signed, None).await
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

/// `POST /settings/environments`, through `POST /api/v1/environments`.
pub async fn create_environment(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Form(form): Form<NameForm>,
) -> Response {
    let caller = match dashboard.caller(&signed).await {
        Ok(caller) => Arc::new(caller),
        Err(response) => return response,
    };
    let input = certsentry_api::environments::EnvironmentInput { name: form.name };
    match certsentry_api::environments::create(
        State(dashboard.api.clone()),
        Extension(caller),
        ApiJson(input),
    )
    .await
    {
        Ok(_) => Redirect::to("/settings/environments").into_response(),
        Err(ApiError::Unavailable { .. }) => unavailable(),
        Err(e) => environments_page(&dashboard, &signed, Some(e.to_string())).await,
    }
}

/// `POST /settings/environments/:id/delete`, through
/// `DELETE /api/v1/environments/:id`.
pub async fn delete_environment(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    dashboard
        .act_on(
            &signed,
            id,
            certsentry_api::environments::remove,
            "/settings/environments",
        )
        .await
}

/// Rows per page of the audit log.
const AUDIT_PAGE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct AuditFilters {
    #[serde(default)]
    action: String,
    #[serde(default, rename = "targetType")]
    target_type: String,
    #[serde(default)]
    before: String,
}

pub struct AuditRow {
    pub when: String,
    pub action: String,
    pub who: String,
    pub target: String,
    pub metadata: String,
}

#[derive(Template)]
#[template(path = "dashboard/audit.html")]
struct AuditPage {
    frame: Frame,
    filters: AuditFilters,
    /// `None`: the plan has no audit log (the reason instead).
    rows: Result<Vec<AuditRow>, String>,
    next: Option<String>,
}

fn row(entry: &AuditEvent) -> AuditRow {
    AuditRow {
        when: format_ms(entry.created_at)[..19].replace('T', " "),
        action: entry.action.clone(),
        who: entry
            .actor
            .email
            .clone()
            .unwrap_or_else(|| entry.actor.name.clone()),
        target: format!("{} {}", entry.target_type, entry.target_id),
        metadata: entry.metadata.to_string(),
    }
}

/// `GET /settings/audit`: newest first, filtered by action and target
/// type, 50 per page.
pub async fn audit(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Query(filters): Query<AuditFilters>,
) -> Response {
    let caller = match dashboard.caller(&signed).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let frame = Frame::new(&signed, "Audit log", "audit");
    if !caller.plan.audit_logs {
        let reason = format!(
            "The {} plan does not include audit logs. Upgrade to Agency.",
            caller.plan.display_name
        );
        return render(&AuditPage {
            frame,
            filters,
            rows: Err(reason),
            next: None,
        });
    }
    let query = AuditQuery {
        action: Some(filters.action.trim().to_string()).filter(|a| !a.is_empty()),
        target_type: Some(filters.target_type.trim().to_string()).filter(|t| !t.is_empty()),
        since: None,
        cursor: Some(filters.before.clone()).filter(|c| !c.is_empty()),
        limit: AUDIT_PAGE,
    };
    let Ok(page) = dashboard.store.list_audit(signed.org_id(), &query).await else {
        return unavailable();
    };
    let next = page.next_cursor.map(|before| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                [
                    ("action", filters.action.as_str()),
                    ("targetType", filters.target_type.as_str()),
                    ("before", before.as_str()),
                ]
                .iter()
                .filter(|(_, v)| !v.is_empty()),
            )
            .finish()
    });
    render(&AuditPage {
        frame,
        rows: Ok(page.items.iter().map(row).collect()),
        filters,
        next,
    })
}
