//! `/api/v1/ct`: Certificate Transparency findings and the known-certificate
//! inventory they are checked against.
//!
//! - `GET /ct/certificates` (`monitor`, `known`, `since`, cursor) and
//!   `GET /ct/certificates/:id`: matched issuances, known or suspicious.
//! - `POST /ct/known-certificates` with `{"sha256"}`, `{"tbsSha256"}` or
//!   `{"pem"}` and an optional `note`; `GET` lists, `DELETE /:id` removes.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};
use certsentry_domain::audit::AuditEvent;
use certsentry_domain::ct::{CtFinding, KnownCertificate, parse_sha256_hex};
use certsentry_domain::time::{format_ms, now_ms};
use certsentry_domain::{CtCertificateId, FieldErrors, KnownCertificateId, MonitorId};
use certsentry_store::{FindingQuery, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::query::QueryParams;
use crate::state::AppState;
use crate::views::{ErrorBody, OkBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/ct/certificates", get(list_certificates))
        .route("/api/v1/ct/certificates/{id}", get(retrieve_certificate))
        .route(
            "/api/v1/ct/known-certificates",
            get(list_known).post(create_known),
        )
        .route("/api/v1/ct/known-certificates/{id}", delete(remove_known))
}

/// A certificate logged for a watched domain.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CtCertificateView {
    pub id: String,
    pub monitor_id: Option<String>,
    /// `known` or `suspicious`.
    pub status: String,
    pub known: bool,
    pub dns_names: Vec<String>,
    /// The watched names it covers: `{dnsName, monitoredDomain, wildcard}`.
    #[schema(value_type = Vec<Object>)]
    pub endpoints: serde_json::Value,
    pub tbs_sha256: String,
    pub cert_sha256: String,
    pub pubkey_sha256: Option<String>,
    #[schema(value_type = Object)]
    pub issuer: serde_json::Value,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    /// `precert` or `certificate`.
    pub entry_type: String,
    /// The log (or certstream source) it was found in.
    pub source: String,
    pub log_index: Option<u64>,
    pub cert_link: Option<String>,
    pub found_at: String,
    pub decided_at: Option<String>,
}

impl From<&CtFinding> for CtCertificateView {
    fn from(f: &CtFinding) -> Self {
        Self {
            id: f.id.to_string(),
            monitor_id: f.monitor_id.as_ref().map(|m| m.to_string()),
            status: f.state.as_str().into(),
            known: f.state == certsentry_domain::ct::FindingState::Known,
            dns_names: f.dns_names.clone(),
            endpoints: json!(
                f.endpoints
                    .iter()
                    .map(|e| json!({
                        "dnsName": e.dns_name,
                        "monitoredDomain": e.monitored_domain,
                        "wildcard": e.wildcard,
                    }))
                    .collect::<Vec<_>>()
            ),
            tbs_sha256: f.tbs_sha256.clone(),
            cert_sha256: f.cert_sha256.clone(),
            pubkey_sha256: f.pubkey_sha256.clone(),
            issuer: json!({
                "name": f.issuer.name,
                "friendlyName": f.issuer.friendly_name,
                "website": f.issuer.website,
            }),
            serial: f.serial.clone(),
            not_before: format_ms(f.not_before),
            not_after: format_ms(f.not_after),
            entry_type: if f.precert { "precert" } else { "certificate" }.into(),
            source: f.source.clone(),
            log_index: f.log_index,
            cert_link: f.cert_link.clone(),
            found_at: format_ms(f.found_at),
            decided_at: f.decided_at.map(format_ms),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CtCertificateList {
    pub certificates: Vec<CtCertificateView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CtCertificateEnvelope {
    pub certificate: CtCertificateView,
}

/// Certificates logged for the organization's watched domains, newest first.
#[utoipa::path(
    get, path = "/api/v1/ct/certificates", tag = "ct",
    params(
        ("monitor" = Option<String>, Query, description = "a monitor id"),
        ("known" = Option<bool>, Query, description = "true: known only; false: suspicious only"),
        ("since" = Option<String>, Query, description = "ISO 8601"),
        ("limit" = Option<u32>, Query, description = "1-500, default 100"),
        ("cursor" = Option<String>, Query),
    ),
    responses((status = 200, body = CtCertificateList), (status = 400, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn list_certificates(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    mut params: QueryParams,
) -> ApiResult<Json<CtCertificateList>> {
    let query = FindingQuery {
        monitor_id: params.string("monitor").map(MonitorId::from_string),
        known: params.bool("known"),
        since: params.datetime("since"),
        limit: params.limit("limit", 1, 500, 100),
        cursor: params.cursor(),
    };
    params.finish()?;
    let page = state
        .store
        .list_ct_findings(caller.org_id(), &query)
        .await?;
    Ok(Json(CtCertificateList {
        certificates: page.items.iter().map(CtCertificateView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One logged certificate (the Cert Spotter payload's `html_url`).
#[utoipa::path(
    get, path = "/api/v1/ct/certificates/{id}", tag = "ct",
    params(("id" = String, Path)),
    responses((status = 200, body = CtCertificateEnvelope), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn retrieve_certificate(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
) -> ApiResult<Json<CtCertificateEnvelope>> {
    let finding = state
        .store
        .get_ct_finding(caller.org_id(), &CtCertificateId::from_string(id))
        .await?
        .filter(|f| f.state != certsentry_domain::ct::FindingState::Pending)
        .ok_or_else(|| ApiError::not_found("Certificate"))?;
    Ok(Json(CtCertificateEnvelope {
        certificate: CtCertificateView::from(&finding),
    }))
}

/// A body of `POST /ct/known-certificates`: one of the three identifiers.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KnownCertificateInput {
    /// The certificate's SHA-256 (hex).
    pub sha256: Option<String>,
    /// Cert Spotter's `tbs_sha256` (hex): also covers the precertificate.
    pub tbs_sha256: Option<String>,
    /// The certificate in PEM; both hashes are computed from it.
    pub pem: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KnownCertificateView {
    pub id: String,
    pub sha256: Option<String>,
    pub tbs_sha256: Option<String>,
    pub note: Option<String>,
    pub created_at: String,
}

impl From<&KnownCertificate> for KnownCertificateView {
    fn from(k: &KnownCertificate) -> Self {
        Self {
            id: k.id.to_string(),
            sha256: k.sha256.clone(),
            tbs_sha256: k.tbs_sha256.clone(),
            note: k.note.clone(),
            created_at: format_ms(k.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KnownCertificateEnvelope {
    pub known_certificate: KnownCertificateView,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KnownCertificateList {
    pub known_certificates: Vec<KnownCertificateView>,
    pub next_cursor: Option<String>,
}

/// Validates a body into the hashes to store.
fn known_hashes(
    input: &KnownCertificateInput,
) -> Result<(Option<String>, Option<String>), FieldErrors> {
    let mut errors = FieldErrors::new();
    let given = [
        input.sha256.is_some(),
        input.tbs_sha256.is_some(),
        input.pem.is_some(),
    ]
    .iter()
    .filter(|g| **g)
    .count();
    if given != 1 {
        errors.add("sha256", "give exactly one of sha256, tbsSha256 or pem");
        return Err(errors);
    }
    if input.note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        errors.add("note", "must be at most 500 characters");
    }
    let hex = |field: &str, value: &Option<String>, errors: &mut FieldErrors| {
        value.as_ref().and_then(|v| {
            let parsed = parse_sha256_hex(v);
            if parsed.is_none() {
                errors.add(field, "must be a SHA-256 in hex (64 digits)");
            }
            parsed
        })
    };
    let mut sha256 = hex("sha256", &input.sha256, &mut errors);
    let mut tbs_sha256 = hex("tbsSha256", &input.tbs_sha256, &mut errors);
    if let Some(pem) = &input.pem {
        match certsentry_ct::facts::pem_hashes(pem) {
            Ok((cert, tbs)) => {
                sha256 = Some(cert);
                tbs_sha256 = Some(tbs);
            }
            Err(e) => errors.add("pem", e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok((sha256, tbs_sha256))
    } else {
        Err(errors)
    }
}

fn audit(
    caller: &Caller,
    action: &str,
    id: &KnownCertificateId,
    metadata: serde_json::Value,
) -> AuditEvent {
    AuditEvent::new(
        caller.org_id(),
        &caller.actor(),
        action,
        "knownCertificate",
        id.as_str(),
        metadata,
    )
}

/// Add a certificate to the inventory: CT matches of it are `known`.
#[utoipa::path(
    post, path = "/api/v1/ct/known-certificates", tag = "ct",
    request_body = KnownCertificateInput,
    responses((status = 201, body = KnownCertificateEnvelope), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn create_known(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    ApiJson(input): ApiJson<KnownCertificateInput>,
) -> ApiResult<(StatusCode, Json<KnownCertificateEnvelope>)> {
    let (sha256, tbs_sha256) = known_hashes(&input).map_err(ApiError::validation)?;
    let known = KnownCertificate {
        id: KnownCertificateId::generate(),
        org_id: caller.org_id().clone(),
        sha256,
        tbs_sha256,
        note: input.note.filter(|n| !n.trim().is_empty()),
        created_at: now_ms(),
    };
    state
        .store
        .create_known_certificate(
            &known,
            &audit(
                &caller,
                "knownCertificate.create",
                &known.id,
                json!({ "sha256": known.sha256, "tbsSha256": known.tbs_sha256 }),
            ),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(KnownCertificateEnvelope {
            known_certificate: KnownCertificateView::from(&known),
        }),
    ))
}

/// The inventory, newest first.
#[utoipa::path(
    get, path = "/api/v1/ct/known-certificates", tag = "ct",
    params(
        ("limit" = Option<u32>, Query, description = "1-500, default 100"),
        ("cursor" = Option<String>, Query),
    ),
    responses((status = 200, body = KnownCertificateList)),
    security(("bearerAuth" = []))
)]
pub async fn list_known(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    mut params: QueryParams,
) -> ApiResult<Json<KnownCertificateList>> {
    let limit = params.limit("limit", 1, 500, 100);
    let cursor = params.cursor();
    params.finish()?;
    let page = state
        .store
        .list_known_certificates(caller.org_id(), cursor.as_deref(), limit)
        .await?;
    Ok(Json(KnownCertificateList {
        known_certificates: page.items.iter().map(KnownCertificateView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Remove a certificate from the inventory.
#[utoipa::path(
    delete, path = "/api/v1/ct/known-certificates/{id}", tag = "ct",
    params(("id" = String, Path)),
    responses((status = 200, body = OkBody), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn remove_known(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
) -> ApiResult<Json<OkBody>> {
    let id = KnownCertificateId::from_string(id);
    let audit = audit(&caller, "knownCertificate.delete", &id, json!({}));
    match state
        .store
        .delete_known_certificate(caller.org_id(), &id, &audit)
        .await
    {
        Ok(()) => Ok(OkBody::new()),
        Err(StoreError::NotFound) => Err(ApiError::not_found("Known certificate")),
        Err(e) => Err(e.into()),
    }
}
