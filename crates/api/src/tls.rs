//! The TLS grade's full findings:
//! - `GET /api/v1/monitors/:id/tls`: the monitor's endpoint;
//! - `GET /api/v1/tls-scans?host=…&port=…`: an endpoint one of the
//!   organization's monitors checks (never another organization's).
//!
//! Grades are per endpoint and shared; these show the latest scan.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use certsentry_domain::monitor::endpoint_key;
use certsentry_domain::time::format_ms;
use certsentry_domain::tls::TlsReport;
use certsentry_store::MonitorQuery;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::query::QueryParams;
use crate::state::AppState;
use crate::views::ErrorBody;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/monitors/{id}/tls", get(monitor_tls))
        .route("/api/v1/tls-scans", get(endpoint_tls))
}

/// One reason behind the grade.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonView {
    #[schema(example = "tls10_offered")]
    pub code: String,
    /// The grade this reason caps at (`F`…`A`, `A-` for a warning, `A`
    /// for what withholds A+, `T`/`M` for trust and name); null for a
    /// score deduction.
    #[schema(example = "B")]
    pub cap: Option<String>,
    #[schema(example = "TLS 1.0 is offered")]
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuiteView {
    pub id: u16,
    #[schema(example = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")]
    pub name: String,
    /// `rsa`, `dhe`, `ecdhe`, `dh`, `anonymous`, `tls13` or `other`.
    pub key_exchange: String,
    /// `null`, `rc4`, `des`, `tripledes`, `aes`, `chacha20`, `camellia`, `aria` or `other`.
    pub cipher: String,
    pub bits: u16,
    pub aead: bool,
    pub cbc: bool,
    pub export: bool,
    pub forward_secret: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProtocolView {
    /// `SSLv2`, `SSLv3`, `TLSv1.0`, `TLSv1.1`, `TLSv1.2` or `TLSv1.3`.
    #[schema(example = "TLSv1.2")]
    pub version: String,
    /// In the server's order of preference when it enforces one.
    pub suites: Vec<SuiteView>,
    /// Null with fewer than two suites.
    pub server_order: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlagsView {
    pub forward_secrecy: bool,
    pub aead_only: bool,
    pub rc4: bool,
    pub triple_des: bool,
    pub cbc_on_tls10: bool,
    pub null_ciphers: bool,
    pub export: bool,
    pub anonymous: bool,
    pub secure_renegotiation: bool,
    /// Null when the server speaks one version only.
    pub fallback_scsv: Option<bool>,
    pub ocsp_stapling: bool,
    pub hsts_max_age: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    /// `rsa`, `ec`, `ed25519`, `dsa` or `other`.
    pub kind: String,
    pub bits: u16,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateFactorsView {
    pub expired: bool,
    pub self_signed: bool,
    pub untrusted: bool,
    pub hostname_mismatch: bool,
    pub sha1_signature: bool,
    pub incomplete_chain: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConformanceView {
    pub conforms: bool,
    pub differences: Vec<String>,
}

/// Mozilla's server-side TLS profiles (5.7); not part of the grade.
#[derive(Debug, Serialize, ToSchema)]
pub struct MozillaView {
    pub modern: ConformanceView,
    pub intermediate: ConformanceView,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TlsView {
    #[schema(example = "shop.example.com:443")]
    pub endpoint: String,
    /// `smtp`, `imap` or `pop3` when scanned through STARTTLS.
    pub starttls: Option<String>,
    pub graded_at: String,
    /// `A+`, `A`, `A-`, `B` … `F`, `T` (trust) or `M` (hostname).
    #[schema(example = "A")]
    pub grade: String,
    pub grade_ignoring_trust: String,
    pub score: u32,
    pub protocol_score: u32,
    pub key_exchange_score: u32,
    pub cipher_score: u32,
    pub reasons: Vec<ReasonView>,
    pub protocols: Vec<ProtocolView>,
    /// Key exchange groups by IANA name.
    pub groups: Vec<String>,
    pub dh_bits: Option<u16>,
    pub key: Option<KeyView>,
    pub flags: FlagsView,
    pub certificate: CertificateFactorsView,
    pub mozilla: MozillaView,
    pub handshakes: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TlsReply {
    pub tls: TlsView,
}

/// A serde enum's wire name.
fn name_of(value: impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl From<TlsReport> for TlsView {
    fn from(r: TlsReport) -> Self {
        use certsentry_domain::tls::{Cipher, KeyExchange, TlsVersion};
        let f = &r.findings;
        let suites: Vec<_> = f.all_suites().collect();
        let any = |test: &dyn Fn(TlsVersion, &certsentry_domain::tls::Suite) -> bool| {
            suites.iter().any(|(v, s)| test(*v, s))
        };
        let conformance = |c: certsentry_domain::tls::mozilla::Conformance| ConformanceView {
            conforms: c.conforms,
            differences: c.differences,
        };
        Self {
            flags: FlagsView {
                forward_secrecy: f.forward_secrecy_everywhere(),
                aead_only: f.aead_only(),
                rc4: any(&|_, s| s.cipher == Cipher::Rc4),
                triple_des: any(&|_, s| s.cipher == Cipher::TripleDes),
                cbc_on_tls10: any(&|v, s| v <= TlsVersion::Tls10 && s.cbc),
                null_ciphers: any(&|_, s| s.cipher == Cipher::Null),
                export: any(&|_, s| s.export),
                anonymous: any(&|_, s| s.key_exchange == KeyExchange::Anonymous),
                secure_renegotiation: f.secure_renegotiation,
                fallback_scsv: f.fallback_scsv,
                ocsp_stapling: f.ocsp_stapling,
                hsts_max_age: f.hsts_max_age,
            },
            protocols: f
                .protocols
                .iter()
                .map(|p| ProtocolView {
                    version: name_of(p.version),
                    suites: p
                        .suites
                        .iter()
                        .map(|s| SuiteView {
                            id: s.id,
                            name: s.name.clone(),
                            key_exchange: name_of(s.key_exchange),
                            cipher: name_of(s.cipher),
                            bits: s.bits,
                            aead: s.aead,
                            cbc: s.cbc,
                            export: s.export,
                            forward_secret: s.forward_secret(),
                        })
                        .collect(),
                    server_order: p.server_order,
                })
                .collect(),
            groups: f.groups.clone(),
            dh_bits: f.dh_bits,
            key: f.key.map(|k| KeyView {
                kind: name_of(k.kind),
                bits: k.bits,
            }),
            certificate: CertificateFactorsView {
                expired: f.certificate.expired,
                self_signed: f.certificate.self_signed,
                untrusted: f.certificate.untrusted,
                hostname_mismatch: f.certificate.hostname_mismatch,
                sha1_signature: f.certificate.sha1_signature,
                incomplete_chain: f.certificate.incomplete_chain,
            },
            handshakes: f.handshakes,
            endpoint: r.endpoint,
            starttls: r.starttls,
            graded_at: format_ms(r.graded_at),
            grade: r.grade.grade,
            grade_ignoring_trust: r.grade.grade_ignoring_trust,
            score: r.grade.score,
            protocol_score: r.grade.protocol_score,
            key_exchange_score: r.grade.key_exchange_score,
            cipher_score: r.grade.cipher_score,
            reasons: r
                .grade
                .reasons
                .into_iter()
                .map(|x| ReasonView {
                    code: x.code,
                    cap: x.cap,
                    message: x.message,
                })
                .collect(),
            mozilla: MozillaView {
                modern: conformance(r.mozilla.modern),
                intermediate: conformance(r.mozilla.intermediate),
            },
        }
    }
}

/// The endpoint's latest graded scan, or 404 with why there is none.
async fn report_of(state: &AppState, endpoint: &str) -> ApiResult<Json<TlsReply>> {
    let record = state.store.get_tls_scan(endpoint).await?;
    let report = record
        .as_ref()
        .and_then(|r| r.report.clone())
        .and_then(|json| serde_json::from_value::<TlsReport>(json).ok());
    match (report, record) {
        (Some(report), _) => Ok(Json(TlsReply {
            tls: TlsView::from(report),
        })),
        (None, Some(record)) if record.error.is_some() => Err(ApiError::NotFound(format!(
            "{endpoint} has no TLS grade: {}",
            record.error.unwrap_or_default()
        ))),
        _ => Err(ApiError::NotFound(format!(
            "{endpoint} has no TLS grade yet: grades follow an SSL check, within seconds"
        ))),
    }
}

/// The TLS configuration grade of the monitor's endpoint, with every
/// reason, the protocols and suites found, and Mozilla's profiles.
#[utoipa::path(
    get, path = "/api/v1/monitors/{id}/tls", tag = "monitors",
    params(("id" = String, Path)),
    responses((status = 200, body = TlsReply), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn monitor_tls(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    Path(id): Path<String>,
) -> ApiResult<Json<TlsReply>> {
    let monitor = crate::monitors::load(&state, &caller, &id).await?;
    let endpoint = monitor.spec.graded_endpoint().ok_or_else(|| {
        ApiError::NotFound(
            "This monitor has no graded endpoint: grades cover SSL checks and mail ports".into(),
        )
    })?;
    report_of(&state, &endpoint).await
}

/// An endpoint's TLS grade, for an endpoint one of your monitors checks.
#[utoipa::path(
    get, path = "/api/v1/tls-scans", tag = "monitors",
    params(
        ("host" = String, Query, min_length = 1, description = "The endpoint's host name or address."),
        ("port" = Option<u16>, Query, minimum = 1, maximum = 65535, description = "The endpoint's port [default: 443]."),
    ),
    responses((status = 200, body = TlsReply), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearerAuth" = []))
)]
pub async fn endpoint_tls(
    State(state): State<AppState>,
    Extension(caller): Extension<Arc<Caller>>,
    mut params: QueryParams,
) -> ApiResult<Json<TlsReply>> {
    let host = params.string("host");
    let port = params.limit("port", 1, 65_535, 443) as u16;
    if host.is_none() {
        params.reject("host", "is required");
    }
    params.finish()?;
    let host = host.unwrap_or_default().to_ascii_lowercase();
    let endpoint = endpoint_key(host.trim_matches(['[', ']']), port);
    let mut query = MonitorQuery {
        limit: 100,
        ..Default::default()
    };
    loop {
        let page = state.store.list_monitors(caller.org_id(), &query).await?;
        if page
            .items
            .iter()
            .any(|m| m.spec.graded_endpoint().as_deref() == Some(endpoint.as_str()))
        {
            return report_of(&state, &endpoint).await;
        }
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    Err(ApiError::NotFound(format!(
        "None of your monitors checks {endpoint}"
    )))
}
