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
    Router::new().route("/certificates", get(list))
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

/// The SSL certificate inventory, soonest expiry first; pending last.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "certificates", responses((status = 200, body = CertificateList)), security(("bearerAuth" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
) -> ApiResult<Json<CertificateList>> {
    let mut certs: HashMap<_, _> = state
        .store
        .list_monitor_certificates(caller.org_id())
        .await?
        .into_iter()
        .map(|c| (c.monitor_id.clone(), c))
        .collect();
    let mut rows: Vec<(Option<i64>, CertificateView)> = Vec::new();
    let mut endpoints: Vec<Option<String>> = Vec::new();
    let mut query = MonitorQuery {
        kind: Some(MonitorKind::Standard),
        limit: 100,
        ..Default::default()
    };
    loop {
        let page = state.store.list_monitors(caller.org_id(), &query).await?;
        for monitor in page.items.iter().filter(|m| m.spec.check_ssl) {
            let cert = certs.remove(&monitor.id);
            let status = match &cert {
                None => "pending",
                Some(c) if c.valid => "valid",
                Some(_) => "invalid",
            };
            let not_after = cert.as_ref().and_then(|c| c.not_after);
            endpoints.push(monitor.spec.graded_endpoint());
            rows.push((
                not_after,
                CertificateView {
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
            ));
        }
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    let wanted: Vec<String> = endpoints.iter().flatten().cloned().collect();
    let grades: HashMap<String, String> = state
        .store
        .list_tls_grades(&wanted)
        .await?
        .into_iter()
        .collect();
    for ((_, view), endpoint) in rows.iter_mut().zip(&endpoints) {
        view.grade = endpoint.as_ref().and_then(|e| grades.get(e).cloned());
    }
    rows.sort_by_key(|(not_after, _)| (not_after.is_none(), *not_after));
    Ok(Json(CertificateList {
        certificates: rows.into_iter().map(|(_, view)| view).collect(),
    }))
}
