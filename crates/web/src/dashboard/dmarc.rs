//! DMARC: the organization's domains, each domain's reporting address
//! (shown once, on add and on rotate, as the API shows it), its reports and
//! its sending sources with their pass and fail counts. Writes go through
//! the API's handlers with the signed-in person as the caller, so the
//! plan's quota, the domain rules and the audit entries are the API's.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::response::Response;
use axum::{Extension, Form, Json};
use certsentry_api::ApiError;
use certsentry_api::dmarc::views::DmarcDomainInput;
use certsentry_api::error::ApiJson;
use certsentry_domain::DmarcDomainId;
use certsentry_domain::dmarc::{DmarcDomain, DmarcReport, DmarcSource};
use certsentry_domain::people::Permission;
use certsentry_domain::time::format_ms;
use serde::Deserialize;

use super::views::{Frame, minute, not_found, render_form, unavailable};
use super::{Dashboard, Signed};

/// Reports and sources listed on a domain's page.
const LISTED: u32 = 50;

#[derive(Template)]
#[template(path = "dashboard/dmarc.html")]
struct DomainsPage {
    frame: Frame,
    domains: Vec<DmarcDomain>,
    may_manage: bool,
    /// A reporting address just issued (added or rotated), shown once.
    address: Option<(String, String)>,
    error: Option<String>,
}

impl DomainsPage {
    fn day(&self, at: &i64) -> String {
        day(*at)
    }
}

async fn domains_page(
    dashboard: &Dashboard,
    signed: &Signed,
    address: Option<(String, String)>,
    error: Option<String>,
) -> Response {
    let Ok(domains) = dashboard.store.list_dmarc_domains(signed.org_id()).await else {
        return unavailable();
    };
    let failed = error.is_some();
    render_form(
        &DomainsPage {
            frame: Frame::new(signed, "DMARC", "dmarc"),
            domains,
            may_manage: signed.may(Permission::ManageDmarc),
            address,
            error,
        },
        failed,
    )
}

pub async fn page(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
) -> Response {
    domains_page(&dashboard, &signed, None, None).await
}

#[derive(Deserialize)]
pub struct DomainForm {
    #[serde(default)]
    domain: String,
    #[serde(default)]
    threshold: String,
}

/// `POST /dmarc`: `POST /api/v1/dmarc/domains`.
pub async fn add(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Form(form): Form<DomainForm>,
) -> Response {
    let threshold = form.threshold.trim();
    let failure_rate_threshold_pct = if threshold.is_empty() {
        None
    } else {
        match threshold.parse() {
            Ok(pct) => Some(pct),
            Err(_) => {
                let error = "The threshold must be a whole percentage, 1-100.".to_string();
                return domains_page(&dashboard, &signed, None, Some(error)).await;
            }
        }
    };
    let caller = match dashboard.caller(&signed).await {
        Ok(caller) => Arc::new(caller),
        Err(response) => return response,
    };
    let input = DmarcDomainInput {
        domain: form.domain,
        failure_rate_threshold_pct,
    };
    match certsentry_api::dmarc::create(
        State(dashboard.api.clone()),
        Extension(caller),
        ApiJson(input),
    )
    .await
    {
        Ok((_, Json(made))) => {
            let address = Some((made.domain.domain.clone(), made.rua_address));
            domains_page(&dashboard, &signed, address, None).await
        }
        Err(ApiError::Unavailable { .. }) => unavailable(),
        Err(e) => domains_page(&dashboard, &signed, None, Some(e.to_string())).await,
    }
}

/// `POST /dmarc/:id/rotate`: a new reporting address, shown once; the old
/// one keeps working for 7 days.
pub async fn rotate(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    let caller = match dashboard.caller(&signed).await {
        Ok(caller) => Arc::new(caller),
        Err(response) => return response,
    };
    match certsentry_api::dmarc::rotate_token(
        State(dashboard.api.clone()),
        Extension(caller),
        Path(id),
    )
    .await
    {
        Ok(Json(made)) => {
            let address = Some((made.domain.domain.clone(), made.rua_address));
            domains_page(&dashboard, &signed, address, None).await
        }
        Err(ApiError::NotFound(_)) => not_found(),
        Err(_) => unavailable(),
    }
}

/// `POST /dmarc/:id/delete`: the domain and its reports.
pub async fn delete(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    dashboard
        .act_on(&signed, id, certsentry_api::dmarc::remove, "/dmarc")
        .await
}

pub struct SourceRow {
    pub ip: String,
    pub name: String,
    pub pass: u64,
    pub fail: u64,
    /// Percent of the bar that passes, for the pass/fail bar's width.
    pub pass_pct: u64,
    pub last_seen: String,
}

pub struct ReportRow {
    pub reporter: String,
    pub period: String,
    pub messages: u64,
    pub failing: String,
    pub received: String,
}

#[derive(Template)]
#[template(path = "dashboard/dmarc_domain.html")]
struct DomainPage {
    frame: Frame,
    domain: DmarcDomain,
    sources: Vec<SourceRow>,
    reports: Vec<ReportRow>,
    /// Files of this domain that could not be read, newest first.
    refused: Vec<RefusedRow>,
    may_manage: bool,
    error: Option<String>,
}

/// A report file that was kept but could not be read.
struct RefusedRow {
    via: String,
    reason: String,
    size: u64,
    received: String,
}

fn day(at: i64) -> String {
    format_ms(at)[..10].to_string()
}

fn source_row(source: &DmarcSource) -> SourceRow {
    let total = source.pass_count + source.fail_count;
    SourceRow {
        ip: source.ip.to_string(),
        name: source.ptr.clone().unwrap_or_default(),
        pass: source.pass_count,
        fail: source.fail_count,
        pass_pct: (source.pass_count * 100).checked_div(total).unwrap_or(0),
        last_seen: day(source.last_seen_at),
    }
}

fn report_row(report: &DmarcReport) -> ReportRow {
    let summary = &report.summary;
    ReportRow {
        reporter: summary.reporter_org.clone(),
        period: format!("{} – {}", day(summary.begin_at), day(summary.end_at)),
        messages: summary.message_count,
        failing: format!("{:.1} %", summary.failure_rate_pct()),
        received: day(report.received_at),
    }
}

/// `GET /dmarc/:id`: who sends as the domain, and the reports.
pub async fn domain(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
) -> Response {
    domain_page(&dashboard, &signed, id, None, None).await
}

async fn domain_page(
    dashboard: &Dashboard,
    signed: &Signed,
    id: String,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let store = &dashboard.store;
    let id = DmarcDomainId::from_string(id);
    let domain = match store.get_dmarc_domain(signed.org_id(), &id).await {
        Ok(Some(domain)) => domain,
        Ok(None) => return not_found(),
        Err(_) => return unavailable(),
    };
    let sources = store.list_dmarc_sources(signed.org_id(), &id, LISTED).await;
    let reports = store
        .list_dmarc_reports(signed.org_id(), &id, None, LISTED)
        .await;
    let refused = store
        .list_rejected_imports(signed.org_id(), None, 200)
        .await;
    let (Ok(sources), Ok(reports), Ok(refused)) = (sources, reports, refused) else {
        return unavailable();
    };
    let failed = error.is_some();
    render_form(
        &DomainPage {
            frame: Frame::new(signed, domain.domain.clone(), "dmarc").with_notice(notice),
            sources: sources.iter().map(source_row).collect(),
            reports: reports.items.iter().map(report_row).collect(),
            refused: refused
                .items
                .iter()
                .filter(|r| r.domain_id == domain.id)
                .map(|r| RefusedRow {
                    via: r.via.clone(),
                    reason: r.reason.clone(),
                    size: r.size_bytes,
                    received: minute(r.received_at),
                })
                .collect(),
            domain,
            may_manage: signed.may(Permission::ManageDmarc),
            error,
        },
        failed,
    )
}

/// `POST /dmarc/:id/reports`: a report file from the browser (a
/// multipart form's `report` file), given to the API's upload, which reads
/// XML, gzip, zip or a whole mail by their content.
pub async fn upload(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> Response {
    let mut file = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some("report") {
            file = field.bytes().await.ok();
        }
    }
    let Some(file) = file.filter(|f| !f.is_empty()) else {
        let error = Some("Choose a report file to upload.".to_string());
        return domain_page(&dashboard, &signed, id, None, error).await;
    };
    let caller = match dashboard.caller(&signed).await {
        Ok(caller) => Arc::new(caller),
        Err(response) => return response,
    };
    let done = certsentry_api::dmarc::upload(
        State(dashboard.api.clone()),
        Extension(caller),
        Path(id.clone()),
        file,
    )
    .await;
    match done {
        Ok((_, Json(result))) => {
            let notice = if result.duplicate {
                "Already stored: nothing new in that file.".to_string()
            } else {
                format!(
                    "Stored {} report(s).",
                    result.reports.len() + result.tls_reports
                )
            };
            domain_page(&dashboard, &signed, id, Some(notice), None).await
        }
        Err(ApiError::NotFound(_)) => not_found(),
        Err(ApiError::Unavailable { .. }) => unavailable(),
        Err(e) => domain_page(&dashboard, &signed, id, None, Some(e.to_string())).await,
    }
}

#[derive(Deserialize)]
pub struct ThresholdForm {
    #[serde(default)]
    threshold: String,
}

/// `POST /dmarc/:id/threshold`: the failure rate that alerts.
pub async fn threshold(
    State(dashboard): State<Dashboard>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<String>,
    Form(form): Form<ThresholdForm>,
) -> Response {
    let caller = match dashboard.caller(&signed).await {
        Ok(caller) => Arc::new(caller),
        Err(response) => return response,
    };
    let body =
        serde_json::json!({"failureRateThresholdPct": form.threshold.trim().parse::<i64>().ok()});
    let input = match serde_json::from_value(body) {
        Ok(input) => input,
        Err(_) => {
            let error = Some("The threshold is a whole number of percent, 1 to 100.".to_string());
            return domain_page(&dashboard, &signed, id, None, error).await;
        }
    };
    match certsentry_api::dmarc::update(
        State(dashboard.api.clone()),
        Extension(caller),
        Path(id.clone()),
        ApiJson(input),
    )
    .await
    {
        Ok(_) => {
            domain_page(
                &dashboard,
                &signed,
                id,
                Some("Threshold saved.".into()),
                None,
            )
            .await
        }
        Err(ApiError::NotFound(_)) => not_found(),
        Err(ApiError::Unavailable { .. }) => unavailable(),
        Err(e) => domain_page(&dashboard, &signed, id, None, Some(e.to_string())).await,
    }
}
