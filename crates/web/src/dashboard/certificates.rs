//! Certificates: the SSL inventory (soonest expiry first, as
//! `GET /api/v1/certificates` gives it) and the certificates Certificate
//! Transparency logged for watched domains, known or suspicious, where a
//! member marks one as known (`POST /api/v1/ct/known-certificates` with its
//! TBS hash, which covers its precertificate and certificate alike).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use certsentry_api::ApiError;
use certsentry_api::certificates::CertificateView;
use certsentry_api::ct::{CtCertificateView, KnownCertificateInput};
use certsentry_api::error::ApiJson;
use certsentry_domain::people::Permission;
use certsentry_store::FindingQuery;
use serde::Deserialize;

use super::views::{Frame, render, unavailable};
use super::{Dashboard, Signed};

const FINDINGS_PAGE: u32 = 50;
/// Inventory rows per page.
const INVENTORY_PAGE: usize = 50;

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    /// `suspicious`, `known`, or empty for both.
    #[serde(default)]
    ct: String,
    #[serde(default)]
    before: String,
    /// The inventory's page, from 1.
    #[serde(default)]
    page: Option<usize>,
}

#[derive(Template)]
#[template(path = "dashboard/certificates.html")]
struct CertificatesPage {
    frame: Frame,
    inventory: Vec<CertificateView>,
    /// The inventory's page, and whether there are more after it.
    inventory_page: usize,
    more_inventory: bool,
    findings: Vec<CtCertificateView>,
    filters: Filters,
    next: Option<String>,
    may_mark: bool,
}

impl CertificatesPage {
    fn day(&self, iso: &Option<String>) -> String {
        iso.as_deref()
            .map_or("–".to_string(), |d| d.chars().take(10).collect())
    }
    /// The day of an ISO 8601 timestamp.
    fn date<'a>(&self, iso: &'a str) -> &'a str {
        iso.get(..10).unwrap_or(iso)
    }
    fn names(&self, finding: &CtCertificateView) -> String {
        finding.dns_names.join(", ")
    }
}

pub async fn page(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Query(filters): Query<Filters>,
) -> Response {
    // The API's inventory, a page of it, and that page's grades only.
    let Ok(all) = certsentry_api::certificates::inventory(&dashboard.api, signed.org_id()).await
    else {
        return unavailable();
    };
    let inventory_page = filters.page.unwrap_or(1).max(1);
    let more_inventory = all.len() > inventory_page * INVENTORY_PAGE;
    let mut shown: Vec<_> = all
        .into_iter()
        .skip((inventory_page - 1) * INVENTORY_PAGE)
        .take(INVENTORY_PAGE)
        .collect();
    if certsentry_api::certificates::add_grades(&dashboard.api, &mut shown)
        .await
        .is_err()
    {
        return unavailable();
    }
    let inventory: Vec<CertificateView> = shown.into_iter().map(|row| row.view).collect();
    let query = FindingQuery {
        monitor_id: None,
        known: match filters.ct.as_str() {
            "known" => Some(true),
            "suspicious" => Some(false),
            _ => None,
        },
        since: None,
        cursor: Some(filters.before.clone()).filter(|c| !c.is_empty()),
        limit: FINDINGS_PAGE,
    };
    let Ok(findings) = dashboard
        .store
        .list_ct_findings(signed.org_id(), &query)
        .await
    else {
        return unavailable();
    };
    let next = findings.next_cursor.map(|before| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                [("ct", filters.ct.as_str()), ("before", before.as_str())]
                    .iter()
                    .filter(|(_, v)| !v.is_empty()),
            )
            .finish()
    });
    render(&CertificatesPage {
        frame: Frame::new(&signed, "Certificates", "certificates"),
        inventory,
        inventory_page,
        more_inventory,
        findings: findings.items.iter().map(CtCertificateView::from).collect(),
        filters,
        next,
        may_mark: signed.may(Permission::ManageCertificates),
    })
}

#[derive(Deserialize)]
pub struct MarkForm {
    #[serde(default)]
    tbs_sha256: String,
    #[serde(default)]
    note: String,
}

/// `POST /certificates/known`: vouches for a logged certificate.
pub async fn mark_known(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Form(form): Form<MarkForm>,
) -> Response {
    let caller = match dashboard.caller(&signed).await {
        Ok(caller) => Arc::new(caller),
        Err(response) => return response,
    };
    let input = KnownCertificateInput {
        sha256: None,
        tbs_sha256: Some(form.tbs_sha256),
        pem: None,
        note: Some(form.note).filter(|n| !n.trim().is_empty()),
    };
    match certsentry_api::ct::create_known(
        State(dashboard.api.clone()),
        Extension(caller),
        ApiJson(input),
    )
    .await
    {
        Ok(_) => Redirect::to("/certificates").into_response(),
        Err(ApiError::Unavailable { .. }) => unavailable(),
        Err(e) => super::views::error_page(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "Not marked",
            &e.to_string(),
        ),
    }
}
