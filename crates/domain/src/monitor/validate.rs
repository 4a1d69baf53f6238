//! The rules that turn a [`MonitorDraft`] into a [`MonitorSpec`], every one
//! of the API reference's "Create a monitor", with the I/O-free half of the
//! private-target rule.

use std::net::IpAddr;

use super::*;
use crate::errors::FieldErrors;
use crate::net;
use crate::plan::Plan;

/// Allowed check intervals, shared by uptime and heartbeat monitors.
pub const INTERVALS: [i64; 5] = [60, 300, 900, 3600, 86400];
/// Allowed heartbeat grace periods.
pub const HEARTBEAT_GRACES: [i64; 4] = [60, 300, 900, 3600];
/// TCP ports refused as targets: mail relay and submission (abuse magnets),
/// mail retrieval, and Windows/RPC services that should never face a prober.
/// chargen (19), SMTP (25, 465, 587, 2525), POP3 (110, 995), IMAP (143, 993),
/// rpcbind (111) and MS-RPC/NetBIOS/SMB (135, 137-139, 445).
pub const BLOCKED_TCP_PORTS: [u16; 15] = [
    19, 25, 110, 111, 135, 137, 138, 139, 143, 445, 465, 587, 993, 995, 2525,
];

pub fn is_blocked_port(port: u16) -> bool {
    BLOCKED_TCP_PORTS.contains(&port)
}

const MAX_LABEL: usize = 100;
pub const MAX_HEADERS: usize = 10;
/// The longest target (a URL) a monitor may have.
pub const MAX_TARGET: usize = 2048;
const MAX_BODY: usize = 2048;
pub const MAX_LEAD_DAYS: usize = 10;
const MAX_KEYWORD: usize = 200;
const MAX_HEADER_VALUE: usize = 4096;
/// Headers the prober owns; letting users set them would break requests.
/// Headers the prober sets itself; a monitor may not override them.
pub const RESERVED_HEADERS: [&str; 5] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
];

/// What `validate_monitor` needs to know about the world.
pub struct ValidationContext<'a> {
    /// Configured region names.
    pub regions: &'a [String],
    pub plan: &'a Plan,
    pub allow_private_targets: bool,
    /// The stored definition when updating: it supplies header values sent
    /// as `null`, the environment when `environmentId` is omitted, and the kind.
    pub existing: Option<&'a MonitorSpec>,
}

/// Why a monitor definition was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorRejection {
    /// Field-level problems (`invalid_input`).
    Invalid(FieldErrors),
    /// Valid, but beyond the plan (`plan_limit`), with the message to show.
    PlanLimit(String),
}

/// Where a network check connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetHost {
    Ip(IpAddr),
    Name(String),
}

/// Parses a bare host: an IP literal or a DNS name (IDNs become punycode).
fn parse_bare_host(s: &str) -> Result<TargetHost, String> {
    let trimmed = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    if let Ok(ip) = trimmed.parse::<IpAddr>() {
        return Ok(TargetHost::Ip(ip));
    }
    if s.contains(['/', ':', '@', '?', '#', ' ']) {
        return Err("must be a hostname or a full http(s) URL".into());
    }
    match url::Host::parse(s) {
        Ok(url::Host::Domain(domain)) => {
            let domain = domain.trim_end_matches('.').to_string();
            let labels_ok = !domain.is_empty()
                && domain.len() <= 253
                && domain.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                });
            if labels_ok {
                Ok(TargetHost::Name(domain))
            } else {
                Err("is not a valid hostname".into())
            }
        }
        // Numeric forms other than the dotted quad (`0x7f.1`, `0177.0.0.1`,
        // `2130706433`) are read as IPv4 by URL parsers; they hide what
        // address is meant, so they are refused rather than rewritten.
        Ok(url::Host::Ipv4(_)) => Err(NON_CANONICAL_IP.into()),
        Ok(url::Host::Ipv6(ip)) => Ok(TargetHost::Ip(IpAddr::V6(ip))),
        Err(_) => Err("is not a valid hostname".into()),
    }
}

const NON_CANONICAL_IP: &str = "an IPv4 address must be written as four decimal numbers (a.b.c.d)";

/// The host as written in a URL, before the URL parser normalizes it.
fn written_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(host_port.split(':').next().unwrap_or(host_port))
}

/// Parses a standard monitor's target: a hostname or an http(s) URL.
/// Returns the normalized target string and its host.
pub(super) fn parse_host_or_url(s: &str) -> Result<(String, TargetHost), String> {
    if s.contains("://") {
        let url = url::Url::parse(s).map_err(|e| format!("is not a valid URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("URL scheme must be http or https".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not contain credentials; use httpHeaders instead".into());
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => TargetHost::Name(d.trim_end_matches('.').to_string()),
            Some(url::Host::Ipv4(ip)) => {
                if written_host(s).is_none_or(|h| h.parse::<std::net::Ipv4Addr>().is_err()) {
                    return Err(NON_CANONICAL_IP.into());
                }
                TargetHost::Ip(IpAddr::V4(ip))
            }
            Some(url::Host::Ipv6(ip)) => TargetHost::Ip(IpAddr::V6(ip)),
            None => return Err("URL must have a host".into()),
        };
        Ok((s.to_string(), host))
    } else {
        let host = parse_bare_host(s)?;
        let normalized = match &host {
            TargetHost::Ip(ip) => ip.to_string(),
            TargetHost::Name(name) => name.clone(),
        };
        Ok((normalized, host))
    }
}

/// Checks what can be known about a host without DNS. Names are resolved
/// and checked again by the caller.
fn check_host_locality(host: &TargetHost, allow_private: bool) -> Result<(), String> {
    let policy = net::TargetPolicy::new(allow_private);
    match host {
        TargetHost::Ip(ip) => policy.check_ip(*ip),
        TargetHost::Name(name) => policy.check_name(name),
    }
    .map_err(String::from)
}

/// Parses `"200-299"`, `"200,301"` and mixes of both; codes are 100-599.
pub fn parse_expected_status(s: &str) -> Result<Vec<(u16, u16)>, String> {
    let err = || format!("\"{s}\" is not a status list such as \"200-299\" or \"200,301\"");
    let mut ranges = Vec::new();
    for item in s.split(',') {
        let item = item.trim();
        let (lo, hi) = match item.split_once('-') {
            Some((lo, hi)) => (lo.trim(), hi.trim()),
            None => (item, item),
        };
        let lo: u16 = lo.parse().map_err(|_| err())?;
        let hi: u16 = hi.parse().map_err(|_| err())?;
        if !(100..=599).contains(&lo) || !(100..=599).contains(&hi) || lo > hi {
            return Err(err());
        }
        ranges.push((lo, hi));
    }
    Ok(ranges)
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Validates a monitor definition and returns the definition to store.
pub fn validate_monitor(
    input: &MonitorDraft,
    ctx: &ValidationContext<'_>,
) -> Result<MonitorSpec, MonitorRejection> {
    let mut errors = FieldErrors::new();
    let kind = input
        .kind
        .or(ctx.existing.map(|e| e.kind))
        .unwrap_or(MonitorKind::Standard);
    if let Some(existing) = ctx.existing
        && existing.kind != kind
    {
        errors.add(
            "kind",
            format!(
                "a monitor's kind can't change (it is {}); create a new monitor instead",
                existing.kind.as_str()
            ),
        );
    }
    let standard = kind == MonitorKind::Standard;
    let probed = kind != MonitorKind::Heartbeat;

    let label = match input.label.as_deref().map(str::trim) {
        None => {
            errors.add("label", "is required");
            String::new()
        }
        Some(l) if l.is_empty() || l.chars().count() > MAX_LABEL => {
            errors.add("label", "must be 1-100 characters");
            String::new()
        }
        Some(l) => l.to_string(),
    };

    let target = validate_target(input, kind, ctx.allow_private_targets, &mut errors);

    let mut check = |field: &str, value: Option<bool>, required: bool| -> bool {
        match value {
            None if required => {
                errors.add(field, "is required for standard monitors");
                false
            }
            Some(true) if !standard => {
                errors.add(field, "is only for standard monitors");
                false
            }
            v => v.unwrap_or(false),
        }
    };
    let check_ssl = check("checkSsl", input.check_ssl, standard);
    let check_domain = check("checkDomain", input.check_domain, standard);
    let check_dns = check("checkDns", input.check_dns, standard);
    let check_uptime = check("checkUptime", input.check_uptime, standard);
    let check_ct = check("checkCt", input.check_ct, false);

    let uptime_interval_seconds = match input.uptime_interval_seconds {
        None if probed => {
            errors.add("uptimeIntervalSeconds", "is required");
            None
        }
        None => None,
        Some(_) if !probed => {
            errors.add(
                "uptimeIntervalSeconds",
                "is not used by heartbeat monitors; set heartbeatIntervalSeconds",
            );
            None
        }
        Some(v) if INTERVALS.contains(&v) => Some(v as u32),
        Some(_) => {
            errors.add(
                "uptimeIntervalSeconds",
                "must be one of 60, 300, 900, 3600 or 86400",
            );
            None
        }
    };

    let regions = validate_regions(input, probed, ctx, &mut errors);
    let alert_lead_days = validate_lead_days(input, standard, &mut errors);

    let external_id = input.external_id.as_deref().map(str::trim).and_then(|id| {
        let ok = !id.is_empty()
            && id.len() <= 100
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:/".contains(&b));
        if ok {
            Some(id.to_string())
        } else {
            errors.add(
                "externalId",
                "must be 1-100 letters, digits or - _ . : / characters",
            );
            None
        }
    });

    let environment_id = match &input.environment_id {
        Some(Some(id)) => Some(EnvironmentId::from_string(id.clone())),
        Some(None) => None,
        None => ctx.existing.and_then(|e| e.environment_id.clone()),
    };

    let tcp_port = match input.tcp_port {
        None if kind == MonitorKind::Tcp => {
            errors.add("tcpPort", "is required for tcp monitors");
            None
        }
        None => None,
        Some(_) if kind != MonitorKind::Tcp => {
            errors.add("tcpPort", "is only for tcp monitors");
            None
        }
        Some(p) if !(1..=65535).contains(&p) => {
            errors.add("tcpPort", "must be 1-65535");
            None
        }
        Some(p) if is_blocked_port(p as u16) => {
            errors.add(
                "tcpPort",
                format!("port {p} is blocked (mail relay, mail retrieval and RPC/SMB ports)"),
            );
            None
        }
        Some(p) => Some(p as u16),
    };

    let heartbeat = kind == MonitorKind::Heartbeat;
    let heartbeat_interval_seconds = heartbeat_value(
        "heartbeatIntervalSeconds",
        input.heartbeat_interval_seconds,
        heartbeat,
        &INTERVALS,
        "60, 300, 900, 3600 or 86400",
        &mut errors,
    );
    let heartbeat_grace_seconds = heartbeat_value(
        "heartbeatGraceSeconds",
        input.heartbeat_grace_seconds,
        heartbeat,
        &HEARTBEAT_GRACES,
        "60, 300, 900 or 3600",
        &mut errors,
    );

    let http = validate_http_options(input, standard, ctx.existing, &mut errors);

    if !errors.is_empty() {
        return Err(MonitorRejection::Invalid(errors));
    }
    let plan = ctx.plan;
    if regions.len() > plan.max_regions as usize {
        let noun = if plan.max_regions == 1 {
            "region"
        } else {
            "regions"
        };
        return Err(MonitorRejection::PlanLimit(format!(
            "The {} plan allows {} {noun} per monitor. Upgrade to add more.",
            plan.display_name, plan.max_regions
        )));
    }
    if let Some(seconds) = uptime_interval_seconds.or(heartbeat_interval_seconds)
        && seconds < plan.min_interval_seconds
    {
        return Err(MonitorRejection::PlanLimit(format!(
            "The {} plan's smallest interval is {} seconds; {seconds} is shorter. \
             Choose {} or longer, or upgrade.",
            plan.display_name, plan.min_interval_seconds, plan.min_interval_seconds
        )));
    }
    if check_ct && !plan.ct {
        return Err(MonitorRejection::PlanLimit(format!(
            "The {} plan does not include Certificate Transparency monitoring (checkCt). \
             Upgrade to Pro or higher.",
            plan.display_name
        )));
    }

    Ok(MonitorSpec {
        kind,
        label,
        target,
        enabled: input.enabled.unwrap_or(true),
        check_ssl,
        check_domain,
        check_dns,
        check_uptime,
        check_ct,
        uptime_interval_seconds,
        regions,
        alert_lead_days,
        external_id,
        environment_id,
        tcp_port,
        heartbeat_interval_seconds,
        heartbeat_grace_seconds,
        http_method: http.method,
        http_headers: http.headers,
        http_body: http.body,
        http_expected_status: http.expected_status,
        http_keyword: http.keyword,
        http_keyword_mode: http.keyword_mode,
        degraded_threshold_ms: http.degraded_threshold_ms,
    })
}

fn validate_target(
    input: &MonitorDraft,
    kind: MonitorKind,
    allow_private: bool,
    errors: &mut FieldErrors,
) -> Option<String> {
    let raw = input.target.as_deref().map(str::trim);
    let parsed = match (kind, raw) {
        (MonitorKind::Heartbeat, None) => return None,
        (MonitorKind::Heartbeat, Some(_)) => {
            errors.add("target", "heartbeat monitors have no target");
            return None;
        }
        (_, None) | (_, Some("")) => {
            errors.add("target", "is required");
            return None;
        }
        (_, Some(t)) if t.chars().count() > MAX_TARGET => {
            errors.add("target", "must be at most 2048 characters");
            return None;
        }
        (MonitorKind::Tcp, Some(t)) => parse_bare_host(t)
            .map_err(|_| "must be a bare hostname or public IP address (no scheme or port)".into())
            .map(|host| match &host {
                TargetHost::Ip(ip) => (ip.to_string(), host),
                TargetHost::Name(n) => (n.clone(), host),
            }),
        (MonitorKind::Standard, Some(t)) => parse_host_or_url(t),
    };
    match parsed.and_then(|(target, host)| {
        check_host_locality(&host, allow_private)?;
        Ok(target)
    }) {
        Ok(target) => Some(target),
        Err(message) => {
            errors.add("target", message);
            None
        }
    }
}

fn validate_regions(
    input: &MonitorDraft,
    probed: bool,
    ctx: &ValidationContext<'_>,
    errors: &mut FieldErrors,
) -> Vec<String> {
    let Some(regions) = &input.regions else {
        if probed {
            errors.add("regions", "is required");
        }
        return Vec::new();
    };
    if !probed {
        if !regions.is_empty() {
            errors.add("regions", "heartbeat monitors do not run in regions");
        }
        return Vec::new();
    }
    if regions.is_empty() {
        errors.add("regions", "must name at least one region");
    }
    let mut seen = Vec::new();
    for (i, region) in regions.iter().enumerate() {
        if !ctx.regions.iter().any(|r| r == region) {
            errors.add(
                format!("regions[{i}]"),
                format!(
                    "unknown region \"{region}\"; one of: {}",
                    ctx.regions.join(", ")
                ),
            );
        } else if seen.contains(region) {
            errors.add(
                format!("regions[{i}]"),
                format!("duplicate region \"{region}\""),
            );
        } else {
            seen.push(region.clone());
        }
    }
    seen
}

fn validate_lead_days(input: &MonitorDraft, standard: bool, errors: &mut FieldErrors) -> Vec<u16> {
    let Some(days) = &input.alert_lead_days else {
        if standard {
            errors.add("alertLeadDays", "is required for standard monitors");
        }
        return Vec::new();
    };
    if !standard && !days.is_empty() {
        errors.add("alertLeadDays", "is only for standard monitors");
        return Vec::new();
    }
    if days.len() > MAX_LEAD_DAYS {
        errors.add("alertLeadDays", "at most 10 values");
    }
    let mut out = Vec::with_capacity(days.len());
    for (i, &d) in days.iter().enumerate() {
        if !(1..=365).contains(&d) {
            errors.add(format!("alertLeadDays[{i}]"), "must be 1-365 days");
        } else if out.contains(&(d as u16)) {
            errors.add(
                format!("alertLeadDays[{i}]"),
                format!("duplicate value {d}"),
            );
        } else {
            out.push(d as u16);
        }
    }
    out
}

fn heartbeat_value(
    field: &str,
    value: Option<i64>,
    heartbeat: bool,
    allowed: &[i64],
    allowed_text: &str,
    errors: &mut FieldErrors,
) -> Option<u32> {
    match value {
        None if heartbeat => {
            errors.add(field, "is required for heartbeat monitors");
            None
        }
        None => None,
        Some(_) if !heartbeat => {
            errors.add(field, "is only for heartbeat monitors");
            None
        }
        Some(v) if allowed.contains(&v) => Some(v as u32),
        Some(_) => {
            errors.add(field, format!("must be one of {allowed_text}"));
            None
        }
    }
}

#[derive(Default)]
struct HttpOptions {
    method: HttpMethod,
    headers: Vec<HttpHeader>,
    body: Option<String>,
    expected_status: Option<String>,
    keyword: Option<String>,
    keyword_mode: Option<KeywordMode>,
    degraded_threshold_ms: Option<u32>,
}

fn validate_http_options(
    input: &MonitorDraft,
    standard: bool,
    existing: Option<&MonitorSpec>,
    errors: &mut FieldErrors,
) -> HttpOptions {
    if !standard {
        let used = [
            ("httpMethod", input.http_method.is_some()),
            (
                "httpHeaders",
                input.http_headers.as_ref().is_some_and(|h| !h.is_empty()),
            ),
            ("httpBody", input.http_body.is_some()),
            ("httpExpectedStatus", input.http_expected_status.is_some()),
            ("httpKeyword", input.http_keyword.is_some()),
            ("httpKeywordMode", input.http_keyword_mode.is_some()),
            ("degradedThresholdMs", input.degraded_threshold_ms.is_some()),
        ];
        for (field, present) in used {
            if present {
                errors.add(field, "is only for standard monitors");
            }
        }
        return HttpOptions::default();
    }
    let method = input.http_method.unwrap_or_default();
    let headers = validate_headers(
        input.http_headers.as_deref().unwrap_or(&[]),
        existing,
        errors,
    );

    let body = input.http_body.clone();
    if let Some(b) = &body {
        if b.chars().count() > MAX_BODY {
            errors.add("httpBody", "at most 2048 characters");
        } else if !method.allows_body() {
            errors.add("httpBody", "requires httpMethod POST, PUT or PATCH");
        }
    }

    let expected_status =
        input
            .http_expected_status
            .as_deref()
            .and_then(|s| match parse_expected_status(s) {
                Ok(_) => Some(s.split(',').map(str::trim).collect::<Vec<_>>().join(",")),
                Err(message) => {
                    errors.add("httpExpectedStatus", message);
                    None
                }
            });

    let keyword = input.http_keyword.clone();
    if let Some(k) = &keyword
        && (k.is_empty() || k.chars().count() > MAX_KEYWORD)
    {
        errors.add("httpKeyword", "must be 1-200 characters");
    }
    let keyword_mode = match (&keyword, input.http_keyword_mode) {
        (Some(_), mode) => Some(mode.unwrap_or(KeywordMode::Present)),
        (None, Some(_)) => {
            errors.add("httpKeywordMode", "requires httpKeyword");
            None
        }
        (None, None) => None,
    };

    let degraded_threshold_ms = match input.degraded_threshold_ms {
        Some(ms) if !(50..=60_000).contains(&ms) => {
            errors.add("degradedThresholdMs", "must be 50-60000 ms");
            None
        }
        other => other.map(|ms| ms as u32),
    };

    HttpOptions {
        method,
        headers,
        body,
        expected_status,
        keyword,
        keyword_mode,
        degraded_threshold_ms,
    }
}

fn validate_headers(
    input: &[HeaderDraft],
    existing: Option<&MonitorSpec>,
    errors: &mut FieldErrors,
) -> Vec<HttpHeader> {
    if input.len() > MAX_HEADERS {
        errors.add("httpHeaders", "at most 10 headers");
    }
    let mut out: Vec<HttpHeader> = Vec::with_capacity(input.len());
    for (i, header) in input.iter().enumerate() {
        let name = header.name.trim();
        let field = format!("httpHeaders[{i}]");
        if !is_token(name) {
            errors.add(format!("{field}.name"), "is not a valid header name");
            continue;
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            errors.add(
                format!("{field}.name"),
                format!("{name} is set by the prober"),
            );
            continue;
        }
        if out.iter().any(|h| h.name.eq_ignore_ascii_case(name)) {
            errors.add(format!("{field}.name"), format!("duplicate header {name}"));
            continue;
        }
        let value = match &header.value {
            Some(v) => v.clone(),
            None => match existing.and_then(|spec| {
                spec.http_headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case(name))
            }) {
                Some(stored) => stored.value.clone(),
                None => {
                    errors.add(
                        format!("{field}.value"),
                        "is required: null keeps a stored value, and this header has none",
                    );
                    continue;
                }
            },
        };
        if value.chars().count() > MAX_HEADER_VALUE || value.contains(['\r', '\n', '\0']) {
            errors.add(
                format!("{field}.value"),
                "must be at most 4096 characters without line breaks",
            );
            continue;
        }
        out.push(HttpHeader {
            name: name.to_string(),
            value,
        });
    }
    out
}

/// The secret in a heartbeat monitor's ping URL.
pub fn new_heartbeat_token() -> String {
    use rand::RngExt;
    rand::rng()
        .sample_iter(&rand::distr::Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}
