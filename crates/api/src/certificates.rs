//! `GET /api/v1/certificates`: every standard monitor with SSL checks,
//! soonest expiry first.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Json, Router};
use certsentry_domain::monitor::MonitorKind;
use certsentry_domain::time::format_ms;
use certsentry_store::MonitorQuery;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/certificates", get(list))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateView {
    pub monitor_id: String,
    pub label: String,
    pub target: Option<String>,
    pub issuer: Option<String>,
    pub not_after: Option<String>,
    /// `valid`, `invalid` (see `error`) or `pending` (no check yet).
    #[schema(example = "valid")]
    pub status: String,
    pub error: Option<String>,
    /// The TLS configuration grade (A…F), or null: `A+`, `A`, `A-`, `B` …
    /// `F`, or `T` (untrusted certificate) and `M` (hostname mismatch).
    /// Null until the endpoint's first scan ends; see `GET
    /// /api/v1/monitors/{id}/tls` for the reasons.
    pub grade: Option<String>,
    pub last_checked_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateList {
    pub certificates: Vec<CertificateView>,
}

/// One row of the inventory, with the endpoint its grade is looked up by.
pub struct InventoryRow {
    pub view: CertificateView,
    pub endpoint: Option<String>,
}

/// Every standard monitor that checks its certificate, with the latest
/// verdict, soonest expiry first and those not checked yet last; grades
/// are not filled in (see [`add_grades`]), so a caller showing a page of
/// the list looks up that page's only.
pub async fn inventory(
    state: &AppState,
    org: &certsentry_domain::OrgId,
) -> ApiResult<Vec<InventoryRow>> {
    let mut certs: HashMap<_, _> = state
        .store
        .list_monitor_certificates(org)
        .await?
        .into_iter()
        .map(|c| (c.monitor_id.clone(), c))
        .collect();
    let mut rows: Vec<(Option<i64>, InventoryRow)> = Vec::new();
    let mut query = MonitorQuery {
        kind: Some(MonitorKind::Standard),
        limit: 1000,
        ..Default::default()
    };
    loop {
        let page = state.store.list_monitors(org, &query).await?;
        for monitor in page.items.iter().filter(|m| m.spec.check_ssl) {
            let cert = certs.remove(&monitor.id);
            let status = match &cert {
                None => "pending",
                Some(c) if c.valid => "valid",
                Some(_) => "invalid",
            };
            let not_after = cert.as_ref().and_then(|c| c.not_after);
            rows.push((
                not_after,
                InventoryRow {
                    view: CertificateView {
                        monitor_id: monitor.id.to_string(),
                        label: monitor.spec.label.clone(),
                        target: monitor.spec.target.clone(),
                        issuer: cert.as_ref().and_then(|c| c.issuer.clone()),
                        not_after: not_after.map(format_ms),
                        status: status.into(),
                        error: cert.as_ref().and_then(|c| c.error.clone()),
                        grade: None,
                        last_checked_at: cert.as_ref().map(|c| format_ms(c.checked_at)),
                    },
                    endpoint: monitor.spec.graded_endpoint(),
                },
            ));
        }
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    rows.sort_by_key(|(not_after, _)| (not_after.is_none(), *not_after));
    Ok(rows.into_iter().map(|(_, row)| row).collect())
}

/// Fills in the TLS grade of each row's endpoint, where it has one.
pub async fn add_grades(state: &AppState, rows: &mut [InventoryRow]) -> ApiResult<()> {
    let wanted: Vec<String> = rows.iter().filter_map(|r| r.endpoint.clone()).collect();
    let grades: HashMap<String, String> = state
        .store
        .list_tls_grades(&wanted)
        .await?
        .into_iter()
        .collect();
    for row in rows.iter_mut() {
        row.view.grade = row.endpoint.as_ref().and_then(|e| grades.get(e).cloned());
    }
    Ok(())
}

/// The SSL certificate inventory, soonest expiry first; pending last.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "certificates", responses((status = 200, body = CertificateList)), security(("bearerAuth" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
) -> ApiResult<Json<CertificateList>> {
    let mut rows = inventory(&state, caller.org_id()).await?;
    add_grades(&state, &mut rows).await?;
    Ok(Json(CertificateList {
        certificates: rows.into_iter().map(|row| row.view).collect(),
    }))
}
