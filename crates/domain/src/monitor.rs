//! Monitors: the wire input and the validated definition we store. The
//! rules between them (every rule of the API reference's "Create a monitor")
//! are in [`validate`].

use serde::{Deserialize, Serialize};

use crate::id::{EnvironmentId, MonitorId, OrgId};
use crate::string_enum::string_enum;
use crate::time::Millis;

string_enum!(plain
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    MonitorKind {
        Standard = "standard",
        Tcp = "tcp",
        Heartbeat = "heartbeat",
    }
);

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    fn allows_body(self) -> bool {
        matches!(self, Self::Post | Self::Put | Self::Patch)
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeywordMode {
    Present,
    Absent,
}

string_enum!(plain
    /// The monitor's overall state, kept current by the check engine.
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[derive(Default, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    MonitorStatus {
        Up = "up",
        Down = "down",
        Degraded = "degraded",
        #[default]
        Unknown = "unknown",
    }
);

/// A request header the uptime check sends. The value is a secret: it is
/// stored, used by probes, and never shown back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

/// A validated monitor definition: what the user controls. Stored as JSON,
/// compared as a whole to decide whether a sync changed anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MonitorSpec {
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
    pub environment_id: Option<EnvironmentId>,
    pub tcp_port: Option<u16>,
    pub heartbeat_interval_seconds: Option<u32>,
    pub heartbeat_grace_seconds: Option<u32>,
    pub http_method: HttpMethod,
    pub http_headers: Vec<HttpHeader>,
    pub http_body: Option<String>,
    pub http_expected_status: Option<String>,
    pub http_keyword: Option<String>,
    pub http_keyword_mode: Option<KeywordMode>,
    pub degraded_threshold_ms: Option<u32>,
}

impl MonitorSpec {
    /// A standard monitor with every optional field at its default: SSL,
    /// domain and uptime checks on, DNS and CT off, every 300 s, the usual
    /// lead days. Callers change what they need with struct update syntax.
    pub fn standard(label: &str, target: &str, regions: Vec<String>) -> Self {
        Self {
            kind: MonitorKind::Standard,
            label: label.into(),
            target: Some(target.into()),
            enabled: true,
            check_ssl: true,
            check_domain: true,
            check_dns: false,
            check_uptime: true,
            check_ct: false,
            uptime_interval_seconds: Some(300),
            regions,
            alert_lead_days: vec![30, 14, 7],
            external_id: None,
            environment_id: None,
            tcp_port: None,
            heartbeat_interval_seconds: None,
            heartbeat_grace_seconds: None,
            http_method: HttpMethod::Get,
            http_headers: Vec::new(),
            http_body: None,
            http_expected_status: None,
            http_keyword: None,
            http_keyword_mode: None,
            degraded_threshold_ms: None,
        }
    }

    /// The host a network check connects to, if any.
    pub fn target_host(&self) -> Option<TargetHost> {
        let target = self.target.as_deref()?;
        parse_host_or_url(target).ok().map(|(_, host)| host)
    }

    /// The host and port an SSL check handshakes with: the target's host,
    /// and the URL's explicit port or 443 (an `http://` target is still
    /// checked on 443).
    pub fn tls_endpoint(&self) -> Option<(String, u16)> {
        let host = match self.target_host()? {
            TargetHost::Ip(ip) => ip.to_string(),
            TargetHost::Name(name) => name,
        };
        let target = self.target.as_deref()?;
        let port = if target.contains("://") {
            url::Url::parse(target).ok()?.port()
        } else {
            None
        };
        Some((host, port.unwrap_or(443)))
    }

    /// The host and port the TLS grade scans, if this monitor has one: a
    /// standard monitor with SSL checks, or a `tcp` monitor on a mail port
    /// that speaks STARTTLS (25, 587, 143, 110).
    pub fn graded_target(&self) -> Option<(String, u16)> {
        match self.kind {
            MonitorKind::Standard if self.check_ssl => self.tls_endpoint(),
            MonitorKind::Tcp if matches!(self.tcp_port, Some(25 | 587 | 143 | 110)) => {
                Some((self.target.clone()?, self.tcp_port?))
            }
            _ => None,
        }
    }

    /// [`MonitorSpec::graded_target`] as `host:port`, the key grades are
    /// shared under.
    pub fn graded_endpoint(&self) -> Option<String> {
        let (host, port) = self.graded_target()?;
        Some(endpoint_key(&host, port))
    }
}

/// `host:port`, with an IPv6 host in brackets.
pub fn endpoint_key(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A stored monitor: its definition plus the state the system keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitor {
    pub id: MonitorId,
    pub org_id: OrgId,
    pub spec: MonitorSpec,
    /// Heartbeat monitors only: the secret in the ping URL.
    pub heartbeat_token: Option<String>,
    pub last_status: MonitorStatus,
    pub ssl_not_after: Option<Millis>,
    pub domain_expiry: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Monitor {
    /// A new monitor of `org`: a fresh id, `unknown` state, and for heartbeat
    /// monitors a fresh ping token.
    pub fn new(org_id: OrgId, spec: MonitorSpec) -> Self {
        let now = crate::time::now_ms();
        Self {
            id: MonitorId::generate(),
            org_id,
            heartbeat_token: (spec.kind == MonitorKind::Heartbeat).then(new_heartbeat_token),
            spec,
            last_status: MonitorStatus::Unknown,
            ssl_not_after: None,
            domain_expiry: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A request header as sent; `value: None` keeps the stored value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeaderDraft {
    pub name: String,
    pub value: Option<String>,
}

/// A monitor as a client described it (create, update, or one item of a
/// sync), before validation. Every field is optional: what an update leaves
/// out is kept. The API's `MonitorInput` is its JSON shape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonitorDraft {
    pub kind: Option<MonitorKind>,
    pub label: Option<String>,
    pub target: Option<String>,
    pub enabled: Option<bool>,
    pub check_ssl: Option<bool>,
    pub check_domain: Option<bool>,
    pub check_dns: Option<bool>,
    pub check_uptime: Option<bool>,
    pub check_ct: Option<bool>,
    pub uptime_interval_seconds: Option<i64>,
    pub regions: Option<Vec<String>>,
    pub alert_lead_days: Option<Vec<i64>>,
    pub external_id: Option<String>,
    /// `Some(None)`: explicitly no environment; `None`: unchanged.
    pub environment_id: Option<Option<String>>,
    pub tcp_port: Option<i64>,
    pub heartbeat_interval_seconds: Option<i64>,
    pub heartbeat_grace_seconds: Option<i64>,
    pub http_method: Option<HttpMethod>,
    pub http_headers: Option<Vec<HeaderDraft>>,
    pub http_body: Option<String>,
    pub http_expected_status: Option<String>,
    pub http_keyword: Option<String>,
    pub http_keyword_mode: Option<KeywordMode>,
    pub degraded_threshold_ms: Option<i64>,
}

mod validate;
pub use validate::*;
