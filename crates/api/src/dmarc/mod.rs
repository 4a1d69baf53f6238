//! `/api/v1/dmarc`: the domains whose aggregate reports are collected,
//! their reports and sources, refused imports, and the HTTP upload (for
//! users whose report mail lands elsewhere). The reporting address's token
//! is shown once, on create and rotate, and stored only as a hash.

pub mod views;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use certsentry_dmarc::IntakeError;
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::dmarc::{
    DEFAULT_FAILURE_RATE_THRESHOLD_PCT, DmarcDomain, PREVIOUS_TOKEN_GRACE_MS, RuaToken,
    normalize_domain, reporting_address, validate_threshold,
};
use certsentry_domain::time::now_ms;
use certsentry_domain::{DmarcDomainId, FieldErrors};
use certsentry_store::StoreError;
use serde_json::json;

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::query::QueryParams;
use crate::state::AppState;
use crate::views::{ErrorBody, OkBody};
pub use views::*;

/// The largest report file accepted, by upload as by SMTP.
pub const MAX_REPORT_BYTES: usize = 25 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/dmarc/domains", get(list).post(create))
        .route(
            "/api/v1/dmarc/domains/{id}",
            get(retrieve).patch(update).delete(remove),
        )
        .route(
            "/api/v1/dmarc/domains/{id}/rotate-token",
            post(rotate_token),
        )
        .route(
            "/api/v1/dmarc/domains/{id}/reports",
            get(list_reports)
                .post(upload)
                .layer(DefaultBodyLimit::max(MAX_REPORT_BYTES)),
        )
        .route("/api/v1/dmarc/domains/{id}/sources", get(list_sources))
        .route("/api/v1/dmarc/imports", get(list_imports))
}

fn audit(caller: &Caller, action: &str, domain: &DmarcDomain) -> AuditEvent {
    AuditEvent::new(
        caller.org_id(),
        &caller.actor(),
        action,
        "dmarcDomain",
        domain.id.as_str(),
        json!({ "domain": domain.domain, "failureRateThresholdPct": domain.failure_rate_threshold_pct }),
    )
}

/// The caller's domain `id`, or `not_found` (also for other organizations').
async fn load(state: &AppState, caller: &Caller, id: &str) -> ApiResult<DmarcDomain> {
    state
        .store
        .get_dmarc_domain(caller.org_id(), &DmarcDomainId::from_string(id.to_string()))
        .await?
        .ok_or_else(|| ApiError::not_found("DMARC domain"))
}

fn with_address(
    state: &AppState,
    domain: &DmarcDomain,
    token: &RuaToken,
) -> DmarcDomainWithAddress {
    DmarcDomainWithAddress {
        domain: DmarcDomainView::from(domain),
        rua_address: reporting_address(&token.plaintext, &state.config.dmarc_mail_domain),
    }
}

/// DMARC domains of the organization, oldest first.
#[utoipa::path(
    get, path = "/api/v1/dmarc/domains", tag = "dmarc",
    responses((status = 200, body = DmarcDomainList)),
    security(("bearerAuth" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
) -> ApiResult<Json<DmarcDomainList>> {
    let domains = state.store.list_dmarc_domains(caller.org_id()).await?;
    Ok(Json(DmarcDomainList {
        domains: domains.iter().map(DmarcDomainView::from).collect(),
    }))
}

/// Add a domain; the answer carries its reporting address, shown once.
#[utoipa::path(
    post, path = "/api/v1/dmarc/domains", tag = "dmarc", request_body = DmarcDomainInput,
    responses((status = 201, body = DmarcDomainWithAddress), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    ApiJson(input): ApiJson<DmarcDomainInput>,
) -> ApiResult<(StatusCode, Json<DmarcDomainWithAddress>)> {
    let mut errors = FieldErrors::new();
    let name = normalize_domain(&input.domain)
        .map_err(|problem| errors.add("domain", problem))
        .ok();
    let threshold = validate_threshold(
        input
            .failure_rate_threshold_pct
            .unwrap_or(DEFAULT_FAILURE_RATE_THRESHOLD_PCT as i64),
    )
    .map_err(|problem| errors.add("failureRateThresholdPct", problem))
    .ok();
    let (Some(name), Some(threshold)) = (name, threshold) else {
        return Err(ApiError::validation(errors));
    };
    let plan = &caller.plan;
    let domain = DmarcDomain::new(caller.org_id().clone(), name, threshold);
    let token = RuaToken::generate();
    let max = plan.max_dmarc_domains;
    match state
        .store
        .create_dmarc_domain(
            &domain,
            &token.hash,
            max,
            &audit(&caller, "dmarcDomain.create", &domain),
        )
        .await
    {
        Ok(()) => Ok((
            StatusCode::CREATED,
            Json(with_address(&state, &domain, &token)),
        )),
        Err(StoreError::QuotaExceeded { .. }) if max == 0 => Err(ApiError::PlanLimit(format!(
            "The {} plan does not include DMARC monitoring. Upgrade to Pro or higher.",
            plan.display_name
        ))),
        Err(StoreError::QuotaExceeded { .. }) => {
            let noun = if max == 1 { "domain" } else { "domains" };
            Err(ApiError::PlanLimit(format!(
                "The {} plan allows {max} DMARC {noun}. Upgrade to add more.",
                plan.display_name
            )))
        }
        Err(StoreError::Conflict(_)) => Err(ApiError::Conflict(format!(
            "{} is already a DMARC domain of this organization.",
            domain.domain
        ))),
        Err(e) => Err(e.into()),
    }
}

/// One domain, as `{ "domain": { ... } }`.
#[utoipa::path(
    get, path = "/api/v1/dmarc/domains/{id}", tag = "dmarc",
    params(("id" = String, Path)),
    responses((status = 200, body = DmarcDomainEnvelope), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn retrieve(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
) -> ApiResult<Json<DmarcDomainEnvelope>> {
    let domain = load(&state, &caller, &id).await?;
    Ok(Json(DmarcDomainEnvelope {
        domain: DmarcDomainView::from(&domain),
    }))
}

/// Change the failure-rate threshold.
#[utoipa::path(
    patch, path = "/api/v1/dmarc/domains/{id}", tag = "dmarc",
    params(("id" = String, Path)), request_body = DmarcDomainUpdate,
    responses((status = 200, body = DmarcDomainEnvelope), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DmarcDomainUpdate>,
) -> ApiResult<Json<DmarcDomainEnvelope>> {
    let mut domain = load(&state, &caller, &id).await?;
    domain.failure_rate_threshold_pct = validate_threshold(input.failure_rate_threshold_pct)
        .map_err(|problem| ApiError::invalid("failureRateThresholdPct", problem))?;
    domain.updated_at = now_ms();
    match state
        .store
        .update_dmarc_domain(&domain, &audit(&caller, "dmarcDomain.update", &domain))
        .await
    {
        Ok(()) => Ok(Json(DmarcDomainEnvelope {
            domain: DmarcDomainView::from(&domain),
        })),
        Err(StoreError::NotFound) => Err(ApiError::not_found("DMARC domain")),
        Err(e) => Err(e.into()),
    }
}

/// Delete a domain with its reports and sources; its address stops working.
#[utoipa::path(
    delete, path = "/api/v1/dmarc/domains/{id}", tag = "dmarc",
    params(("id" = String, Path)),
    responses((status = 200, body = OkBody), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn remove(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
) -> ApiResult<Json<OkBody>> {
    let domain = load(&state, &caller, &id).await?;
    match state
        .store
        .delete_dmarc_domain(
            caller.org_id(),
            &domain.id,
            &audit(&caller, "dmarcDomain.delete", &domain),
        )
        .await
    {
        Ok(()) => Ok(OkBody::new()),
        Err(StoreError::NotFound) => Err(ApiError::not_found("DMARC domain")),
        Err(e) => Err(e.into()),
    }
}

/// A new reporting address, shown once; the old one keeps working for 7 days.
#[utoipa::path(
    post, path = "/api/v1/dmarc/domains/{id}/rotate-token", tag = "dmarc",
    params(("id" = String, Path)),
    responses((status = 200, body = DmarcDomainWithAddress), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn rotate_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
) -> ApiResult<Json<DmarcDomainWithAddress>> {
    let domain = load(&state, &caller, &id).await?;
    let token = RuaToken::generate();
    state
        .store
        .rotate_dmarc_token(
            caller.org_id(),
            &domain.id,
            &token.hash,
            now_ms() + PREVIOUS_TOKEN_GRACE_MS,
            &audit(&caller, "dmarcDomain.rotateToken", &domain),
        )
        .await?;
    Ok(Json(with_address(&state, &domain, &token)))
}

/// Aggregate reports, newest first.
#[utoipa::path(
    get, path = "/api/v1/dmarc/domains/{id}/reports", tag = "dmarc",
    params(
        ("id" = String, Path),
        ("limit" = Option<u32>, Query, description = "1-200, default 50"),
        ("cursor" = Option<String>, Query),
    ),
    responses((status = 200, body = DmarcReportList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn list_reports(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
    mut params: QueryParams,
) -> ApiResult<Json<DmarcReportList>> {
    let limit = params.limit("limit", 1, 200, 50);
    let cursor = params.cursor();
    params.finish()?;
    let domain = load(&state, &caller, &id).await?;
    let page = state
        .store
        .list_dmarc_reports(caller.org_id(), &domain.id, cursor.as_deref(), limit)
        .await?;
    Ok(Json(DmarcReportList {
        reports: page.items.iter().map(DmarcReportView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Upload a report file: XML, `.xml.gz`, `.zip` or a whole mail (`.eml`),
/// recognized by its content. `201` with the stored reports; `200` with
/// `"duplicate": true` when they were all stored already; `422` with the
/// reason when nothing in it can be read.
#[utoipa::path(
    post, path = "/api/v1/dmarc/domains/{id}/reports", tag = "dmarc",
    params(("id" = String, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "A DMARC aggregate report: XML, gzip, zip or a mail holding one."),
    responses((status = 201, body = DmarcUploadResult), (status = 200, body = DmarcUploadResult), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn upload(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<DmarcUploadResult>)> {
    let domain = load(&state, &caller, &id).await?;
    let imported = match state.dmarc.import(&domain, body.to_vec(), "upload").await {
        Ok(imported) => imported,
        Err(IntakeError::Unreadable(reason)) => return Err(ApiError::invalid("body", reason)),
        Err(IntakeError::Store(e)) => return Err(e.into()),
    };
    let duplicate = imported.tls_reports == 0 && imported.reports.iter().all(|r| r.duplicate);
    let status = if duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(DmarcUploadResult {
            reports: imported
                .reports
                .iter()
                .map(|r| DmarcReportView::from(&r.report))
                .collect(),
            duplicate,
            tls_reports: imported.tls_reports,
        }),
    ))
}

/// Every source IP seen sending as the domain, most recently active first.
#[utoipa::path(
    get, path = "/api/v1/dmarc/domains/{id}/sources", tag = "dmarc",
    params(
        ("id" = String, Path),
        ("limit" = Option<u32>, Query, description = "1-1000, default 200"),
    ),
    responses((status = 200, body = DmarcSourceList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn list_sources(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
    mut params: QueryParams,
) -> ApiResult<Json<DmarcSourceList>> {
    let limit = params.limit("limit", 1, 1000, 200);
    params.finish()?;
    let domain = load(&state, &caller, &id).await?;
    let sources = state
        .store
        .list_dmarc_sources(caller.org_id(), &domain.id, limit)
        .await?;
    Ok(Json(DmarcSourceList {
        sources: sources.iter().map(DmarcSourceView::from).collect(),
    }))
}

/// Received files that could not be read, newest first, with the reason.
#[utoipa::path(
    get, path = "/api/v1/dmarc/imports", tag = "dmarc",
    params(
        ("limit" = Option<u32>, Query, description = "1-200, default 50"),
        ("cursor" = Option<String>, Query),
    ),
    responses((status = 200, body = DmarcImportList), (status = 400, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn list_imports(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    mut params: QueryParams,
) -> ApiResult<Json<DmarcImportList>> {
    let limit = params.limit("limit", 1, 200, 50);
    let cursor = params.cursor();
    params.finish()?;
    let page = state
        .store
        .list_rejected_imports(caller.org_id(), cursor.as_deref(), limit)
        .await?;
    Ok(Json(DmarcImportList {
        imports: page.items.iter().map(DmarcImportView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
