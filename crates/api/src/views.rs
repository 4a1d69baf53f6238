//! Response shapes, field for field as the API reference shows them.

use certsentry_domain::audit::AuditEvent;
use certsentry_domain::monitor::{HttpMethod, KeywordMode, Monitor, MonitorKind, MonitorStatus};
use certsentry_domain::org::Environment;
use certsentry_domain::status_page::StatusPage;
use certsentry_domain::time::format_ms;
use serde::Serialize;
use utoipa::ToSchema;

/// What a header value is shown as: values are write-only secrets.
pub const MASKED: &str = "********";

#[derive(Debug, Serialize, ToSchema)]
pub struct HeaderView {
    pub name: String,
    /// Always masked.
    #[schema(example = "********")]
    pub value: String,
}

/// A monitor. Fields that do not apply to its kind are `null` (or `false`/`[]`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonitorView {
    #[schema(example = "cmb1xk2lq0001v8d3")]
    pub id: String,
    pub kind: MonitorKind,
    pub label: String,
    pub target: Option<String>,
    pub enabled: bool,
    pub check_ssl: bool,
    pub check_domain: bool,
    pub check_dns: bool,
    pub check_uptime: bool,
    pub check_ct: bool,
    pub uptime_interval_seconds: Option<u32>,
    pub regions: Vec<String>,
    pub alert_lead_days: Vec<u16>,
    pub external_id: Option<String>,
    pub environment_id: Option<String>,
    pub tcp_port: Option<u16>,
    pub heartbeat_interval_seconds: Option<u32>,
    pub heartbeat_grace_seconds: Option<u32>,
    /// Heartbeat monitors only: ping `/api/ping/<token>`.
    pub heartbeat_token: Option<String>,
    pub http_method: Option<HttpMethod>,
    pub http_headers: Vec<HeaderView>,
    pub http_body: Option<String>,
    pub http_expected_status: Option<String>,
    pub http_keyword: Option<String>,
    pub http_keyword_mode: Option<KeywordMode>,
    pub degraded_threshold_ms: Option<u32>,
    pub last_status: MonitorStatus,
    pub ssl_not_after: Option<String>,
    pub domain_expiry: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Monitor> for MonitorView {
    fn from(m: &Monitor) -> Self {
        let s = &m.spec;
        let standard = s.kind == MonitorKind::Standard;
        Self {
            id: m.id.to_string(),
            kind: s.kind,
            label: s.label.clone(),
            target: s.target.clone(),
            enabled: s.enabled,
            check_ssl: s.check_ssl,
            check_domain: s.check_domain,
            check_dns: s.check_dns,
            check_uptime: s.check_uptime,
            check_ct: s.check_ct,
            uptime_interval_seconds: s.uptime_interval_seconds,
            regions: s.regions.clone(),
            alert_lead_days: s.alert_lead_days.clone(),
            external_id: s.external_id.clone(),
            environment_id: s.environment_id.as_ref().map(ToString::to_string),
            tcp_port: s.tcp_port,
            heartbeat_interval_seconds: s.heartbeat_interval_seconds,
            heartbeat_grace_seconds: s.heartbeat_grace_seconds,
            heartbeat_token: m.heartbeat_token.clone(),
            http_method: standard.then_some(s.http_method),
            http_headers: s
                .http_headers
                .iter()
                .map(|h| HeaderView {
                    name: h.name.clone(),
                    value: MASKED.into(),
                })
                .collect(),
            http_body: s.http_body.clone(),
            http_expected_status: s.http_expected_status.clone(),
            http_keyword: s.http_keyword.clone(),
            http_keyword_mode: s.http_keyword_mode,
            degraded_threshold_ms: s.degraded_threshold_ms,
            last_status: m.last_status,
            ssl_not_after: m.ssl_not_after.map(format_ms),
            domain_expiry: m.domain_expiry.map(format_ms),
            created_at: format_ms(m.created_at),
            updated_at: format_ms(m.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MonitorEnvelope {
    pub monitor: MonitorView,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonitorList {
    pub monitors: Vec<MonitorView>,
    pub next_cursor: Option<String>,
}

// `{"ok": true}`, the body of deletes and pings. Named `OkBody` so that it
// does not shadow `Result::Ok`; the OpenAPI document still calls it `Ok`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Ok)]
pub struct OkBody {
    #[schema(example = true)]
    pub ok: bool,
}

impl OkBody {
    pub fn new() -> axum::Json<Self> {
        axum::Json(Self { ok: true })
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncResult {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub deleted: Vec<String>,
    pub dry_run: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentView {
    pub id: String,
    pub name: String,
}

impl From<&Environment> for EnvironmentView {
    fn from(e: &Environment) -> Self {
        Self {
            id: e.id.to_string(),
            name: e.name.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentList {
    pub environments: Vec<EnvironmentView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnvironmentEnvelope {
    pub environment: EnvironmentView,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusPageMonitorView {
    pub monitor_id: String,
    pub public_label: String,
    pub show_target: bool,
    pub show_cert_health: bool,
    pub sort_order: u32,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusPageView {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
    pub monitors: Vec<StatusPageMonitorView>,
    /// Beyond the API reference: origins allowed to frame the public page.
    pub embed_origins: Vec<String>,
}

impl From<&StatusPage> for StatusPageView {
    fn from(p: &StatusPage) -> Self {
        Self {
            id: p.id.to_string(),
            slug: p.spec.slug.clone(),
            title: p.spec.title.clone(),
            description: p.spec.description.clone(),
            enabled: p.spec.enabled,
            created_at: format_ms(p.created_at),
            updated_at: format_ms(p.updated_at),
            embed_origins: p.spec.embed_origins.clone(),
            monitors: p
                .spec
                .monitors
                .iter()
                .enumerate()
                .map(|(i, m)| StatusPageMonitorView {
                    monitor_id: m.monitor_id.to_string(),
                    public_label: m.public_label.clone(),
                    show_target: m.show_target,
                    show_cert_health: m.show_cert_health,
                    sort_order: i as u32,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusPageList {
    pub status_pages: Vec<StatusPageView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusPageEnvelope {
    pub status_page: StatusPageView,
}

/// An audit entry. `actorEmail` is the person's email when a person signed
/// in to the dashboard acted, and null for API keys and the CLI, whose
/// name is in `actorName`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogView {
    pub id: String,
    pub action: String,
    pub actor_id: String,
    pub actor_email: Option<String>,
    pub actor_name: String,
    pub target_type: String,
    pub target_id: String,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    pub created_at: String,
}

impl From<&AuditEvent> for AuditLogView {
    fn from(e: &AuditEvent) -> Self {
        Self {
            id: e.id.to_string(),
            action: e.action.clone(),
            actor_id: e.actor.id.clone(),
            actor_email: e.actor.email.clone(),
            actor_name: e.actor.name.clone(),
            target_type: e.target_type.clone(),
            target_id: e.target_id.clone(),
            metadata: e.metadata.clone(),
            created_at: format_ms(e.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogList {
    pub audit_logs: Vec<AuditLogView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    #[schema(example = "plan_limit")]
    pub code: String,
    pub message: String,
    /// Field path to problem, for `invalid_input`.
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// Every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}
