//! The DMARC request and response bodies, in the API reference's shapes.

use certsentry_domain::dmarc::{DmarcDomain, DmarcReport, DmarcSource, RejectedImport};
use certsentry_domain::time::format_ms;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /dmarc/domains`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DmarcDomainInput {
    /// The domain whose reports are collected; IDNs are stored in their
    /// `xn--` form.
    #[schema(example = "example.com")]
    pub domain: String,
    /// Alert when a report's failing share is over this percentage (1-100, default 5).
    #[serde(default, deserialize_with = "crate::inputs::whole_number")]
    #[schema(value_type = Option<i64>)]
    pub failure_rate_threshold_pct: Option<i64>,
}

/// `PATCH /dmarc/domains/:id`: the threshold is what can change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DmarcDomainUpdate {
    #[serde(deserialize_with = "crate::inputs::whole_number_required")]
    #[schema(value_type = i64)]
    pub failure_rate_threshold_pct: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DmarcDomainView {
    pub id: String,
    pub domain: String,
    pub failure_rate_threshold_pct: u32,
    pub last_failure_rate_alert_at: Option<String>,
    pub created_at: String,
}

impl From<&DmarcDomain> for DmarcDomainView {
    fn from(d: &DmarcDomain) -> Self {
        Self {
            id: d.id.to_string(),
            domain: d.domain.clone(),
            failure_rate_threshold_pct: d.failure_rate_threshold_pct,
            last_failure_rate_alert_at: d.last_failure_rate_alert_at.map(format_ms),
            created_at: format_ms(d.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DmarcDomainEnvelope {
    pub domain: DmarcDomainView,
}

/// Create and rotate: the reporting address, shown this once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DmarcDomainWithAddress {
    pub domain: DmarcDomainView,
    /// Point the domain's DMARC record at it: `rua=mailto:<this>`. Only a
    /// hash is kept; a rotation issues a new one.
    #[schema(example = "dmarc+k3v9x0q2m7c1a8z4p6w5n2r0@reports.example.net")]
    pub rua_address: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DmarcDomainList {
    pub domains: Vec<DmarcDomainView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DmarcReportView {
    pub id: String,
    pub reporter_org: String,
    pub external_id: String,
    pub begin_at: String,
    pub end_at: String,
    /// The `policy_published` fields the report carried (`domain`, `p`,
    /// `pct`, `sp`, `np`, `adkim`, `aspf`).
    #[schema(value_type = Object)]
    pub policy_published: serde_json::Value,
    pub message_count: u64,
    pub fail_count: u64,
}

impl From<&DmarcReport> for DmarcReportView {
    fn from(r: &DmarcReport) -> Self {
        let s = &r.summary;
        Self {
            id: r.id.to_string(),
            reporter_org: s.reporter_org.clone(),
            external_id: s.external_id.clone(),
            begin_at: format_ms(s.begin_at),
            end_at: format_ms(s.end_at),
            policy_published: s.policy.to_json(),
            message_count: s.message_count,
            fail_count: s.fail_count,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DmarcReportList {
    pub reports: Vec<DmarcReportView>,
    pub next_cursor: Option<String>,
}

/// An upload's answer: the reports in the file.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DmarcUploadResult {
    pub reports: Vec<DmarcReportView>,
    /// True when every report in the file was already stored.
    pub duplicate: bool,
    /// TLS reports (RFC 8460) in the file, kept but not listed here.
    pub tls_reports: usize,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DmarcSourceView {
    pub ip: String,
    pub first_seen_at: String,
    pub last_seen_at: String,
    pub pass_count: u64,
    pub fail_count: u64,
    /// The reverse DNS name, once looked up.
    pub ptr: Option<String>,
}

impl From<&DmarcSource> for DmarcSourceView {
    fn from(s: &DmarcSource) -> Self {
        Self {
            ip: s.ip.to_string(),
            first_seen_at: format_ms(s.first_seen_at),
            last_seen_at: format_ms(s.last_seen_at),
            pass_count: s.pass_count,
            fail_count: s.fail_count,
            ptr: s.ptr.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DmarcSourceList {
    pub sources: Vec<DmarcSourceView>,
}

/// A received file that could not be read, with the reason.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DmarcImportView {
    pub id: String,
    pub domain_id: String,
    /// `smtp`, `upload` or `imap`.
    pub via: String,
    pub reason: String,
    pub size_bytes: u64,
    pub received_at: String,
}

impl From<&RejectedImport> for DmarcImportView {
    fn from(i: &RejectedImport) -> Self {
        Self {
            id: i.id.to_string(),
            domain_id: i.domain_id.to_string(),
            via: i.via.clone(),
            reason: i.reason.clone(),
            size_bytes: i.size_bytes,
            received_at: format_ms(i.received_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DmarcImportList {
    pub imports: Vec<DmarcImportView>,
    pub next_cursor: Option<String>,
}
