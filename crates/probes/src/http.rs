//! HTTP(S) uptime checks built from a standard monitor's fields.

use std::sync::Arc;
use std::time::Instant;

use certsentry_domain::monitor::{
    HttpHeader, HttpMethod, KeywordMode, MonitorSpec, parse_expected_status,
};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use url::Url;

use crate::net::{connect, resolve};
use crate::tls::ServedTls;
use crate::{Phases, ProbeConfig, millis};

/// Redirect hops an uptime check follows.
pub const MAX_REDIRECTS: u32 = 5;
/// Bytes of body read when looking for a keyword.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
const USER_AGENT: &str = concat!("CertSentry/", env!("CARGO_PKG_VERSION"), " (uptime check)");

/// `CertSentry/<version> (uptime check)`, with `; region <name>` inside the
/// parentheses when the probes run in one region.
fn user_agent(config: &ProbeConfig) -> std::borrow::Cow<'static, str> {
    match &config.region {
        None => USER_AGENT.into(),
        Some(region) => format!(
            "CertSentry/{} (uptime check; region {region})",
            env!("CARGO_PKG_VERSION")
        )
        .into(),
    }
}

/// What to request and how to judge the answer.
#[derive(Debug, Clone)]
pub struct HttpCheck<'a> {
    /// A hostname (meaning `https://host/`) or a full http(s) URL.
    pub target: &'a str,
    pub method: HttpMethod,
    pub headers: &'a [HttpHeader],
    pub body: Option<&'a str>,
    /// `"200-299"` or `"200,301"`; `None` means 200-399.
    pub expected_status: Option<&'a str>,
    pub keyword: Option<&'a str>,
    pub keyword_mode: KeywordMode,
    pub degraded_threshold_ms: Option<u32>,
    /// Keep what the first HTTPS hop's handshake served
    /// ([`HttpObservation::served_tls`]), so that the monitor's SSL check
    /// can read it instead of opening a second connection.
    pub keep_served_tls: bool,
}

impl<'a> HttpCheck<'a> {
    /// The uptime check of a standard monitor, if it has a target.
    pub fn from_spec(spec: &'a MonitorSpec) -> Option<Self> {
        Some(Self {
            target: spec.target.as_deref()?,
            method: spec.http_method,
            headers: &spec.http_headers,
            body: spec.http_body.as_deref(),
            expected_status: spec.http_expected_status.as_deref(),
            keyword: spec.http_keyword.as_deref(),
            keyword_mode: spec.http_keyword_mode.unwrap_or(KeywordMode::Present),
            degraded_threshold_ms: spec.degraded_threshold_ms,
            keep_served_tls: false,
        })
    }
}

/// What an uptime check saw. Agents upload it as it is (`/agent/v1`), so
/// the server judges their checks with the same code as its own.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpObservation {
    pub ok: bool,
    /// Passed, but slower than the degraded threshold.
    pub degraded: bool,
    /// From the first byte sent to the last byte judged, across redirects.
    pub latency_ms: u32,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    /// Of the last hop.
    pub phases: Phases,
    pub final_url: String,
    pub redirects: u32,
    /// `Strict-Transport-Security`'s `max-age` on the last HTTPS hop (the
    /// TLS grade's A+ needs it).
    pub hsts_max_age: Option<u64>,
    /// The first hop's verified handshake, when [`HttpCheck::keep_served_tls`]
    /// asked for it. Never uploaded: an agent's SSL checks are not its own.
    #[serde(skip)]
    pub served_tls: Option<ServedTls>,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

fn initial_url(target: &str) -> Result<Url, String> {
    let text = if target.contains("://") {
        target.to_string()
    } else {
        format!("https://{target}/")
    };
    Url::parse(&text).map_err(|e| format!("invalid target URL: {e}"))
}

fn method_of(method: HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Delete => Method::DELETE,
    }
}

struct Hop {
    status: u16,
    location: Option<String>,
    body: Option<Bytes>,
    hsts_max_age: Option<u64>,
    served_tls: Option<ServedTls>,
}

/// `max-age` from a `Strict-Transport-Security` value (RFC 6797), which
/// browsers honour only over HTTPS.
fn hsts_max_age(value: &str) -> Option<u64> {
    value.split(';').find_map(|directive| {
        let (name, age) = directive.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| age.trim().trim_matches('"').parse().ok())?
    })
}

pub async fn probe(
    check: &HttpCheck<'_>,
    config: &ProbeConfig,
    tls: &Arc<rustls::ClientConfig>,
) -> HttpObservation {
    let started = Instant::now();
    let mut observation = HttpObservation {
        ok: false,
        degraded: false,
        latency_ms: 0,
        http_status: None,
        error: None,
        phases: Phases::default(),
        final_url: check.target.to_string(),
        redirects: 0,
        hsts_max_age: None,
        served_tls: None,
    };
    let outcome = run(check, config, tls, &mut observation).await;
    observation.latency_ms = millis(started.elapsed());
    match outcome {
        Ok(()) => {
            observation.ok = true;
            observation.degraded = check
                .degraded_threshold_ms
                .is_some_and(|limit| observation.latency_ms > limit);
        }
        Err(error) => observation.error = Some(error),
    }
    observation
}

async fn run(
    check: &HttpCheck<'_>,
    config: &ProbeConfig,
    tls: &Arc<rustls::ClientConfig>,
    observation: &mut HttpObservation,
) -> Result<(), String> {
    let mut url = initial_url(check.target)?;
    let mut method = method_of(check.method);
    let mut body = check.body.map(str::to_string);
    // Only the first hop goes to the SSL check's endpoint, so only it keeps
    // its handshake; a redirect's hops copy no chain.
    let mut hop_check = check.clone();
    loop {
        observation.final_url = url.to_string();
        observation.phases = Phases::default();
        let hop = request(
            &url,
            &method,
            &hop_check,
            body.as_deref(),
            config,
            tls,
            &mut observation.phases,
        )
        .await?;
        observation.http_status = Some(hop.status);
        observation.hsts_max_age = hop.hsts_max_age;
        if hop_check.keep_served_tls {
            observation.served_tls = hop.served_tls;
            hop_check.keep_served_tls = false;
        }
        let redirect = matches!(hop.status, 301 | 302 | 303 | 307 | 308);
        if let (true, Some(location)) = (redirect, hop.location) {
            if observation.redirects >= MAX_REDIRECTS {
                return Err(format!("too many redirects (more than {MAX_REDIRECTS})"));
            }
            observation.redirects += 1;
            url = url
                .join(&location)
                .map_err(|e| format!("bad redirect Location {location:?}: {e}"))?;
            if (301..=303).contains(&hop.status) && method != Method::HEAD {
                method = Method::GET;
                body = None;
            }
            continue;
        }
        return judge(check, hop.status, hop.body.as_deref());
    }
}

fn judge(check: &HttpCheck<'_>, status: u16, body: Option<&[u8]>) -> Result<(), String> {
    let ranges = parse_expected_status(check.expected_status.unwrap_or("200-399"))?;
    if !ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&status)) {
        return Err(format!("HTTP {status}"));
    }
    if let Some(keyword) = check.keyword {
        let found = body.is_some_and(|b| String::from_utf8_lossy(b).contains(keyword));
        match (check.keyword_mode, found) {
            (KeywordMode::Present, false) => return Err(format!("keyword \"{keyword}\" absent")),
            (KeywordMode::Absent, true) => return Err(format!("keyword \"{keyword}\" present")),
            _ => {}
        }
    }
    Ok(())
}

async fn request(
    url: &Url,
    method: &Method,
    check: &HttpCheck<'_>,
    body: Option<&str>,
    config: &ProbeConfig,
    tls: &Arc<rustls::ClientConfig>,
    phases: &mut Phases,
) -> Result<Hop, String> {
    let https = match url.scheme() {
        "https" => true,
        "http" => false,
        other => return Err(format!("unsupported scheme {other}")),
    };
    let host = url
        .host_str()
        .ok_or("URL has no host")?
        .trim_matches(['[', ']'])
        .to_string();
    let port = url
        .port_or_known_default()
        .unwrap_or(if https { 443 } else { 80 });
    let hop_started = Instant::now();
    let addresses = resolve(&host, port, config, phases).await?;
    let stream = connect(&addresses, config, phases).await?;
    let mut served_tls = None;
    let io: Box<dyn Io> = if https {
        let name = ServerName::try_from(host.clone())
            .map_err(|_| format!("invalid server name {host}"))?;
        let tls_started = Instant::now();
        let stream = tokio::time::timeout(
            config.timeout,
            TlsConnector::from(tls.clone()).connect(name, stream),
        )
        .await
        .map_err(|_| "TLS handshake timeout".to_string())?
        .map_err(|e| format!("TLS handshake failed: {e}"))?;
        phases.tls_ms = Some(millis(tls_started.elapsed()));
        if check.keep_served_tls {
            let (_, connection) = stream.get_ref();
            let (protocol, cipher) = crate::tls::negotiated(connection);
            served_tls = Some(ServedTls {
                host: host.clone(),
                port,
                chain: connection
                    .peer_certificates()
                    .unwrap_or_default()
                    .iter()
                    .map(|c| c.clone().into_owned())
                    .collect(),
                protocol,
                cipher,
                phases: phases.clone(),
                latency_ms: millis(hop_started.elapsed()),
            });
        }
        Box::new(stream)
    } else {
        Box::new(stream)
    };
    let (mut sender, connection) = http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut builder = Request::builder()
        .method(method.clone())
        .uri(&url[url::Position::BeforePath..url::Position::AfterQuery])
        .header(
            hyper::header::HOST,
            &url[url::Position::BeforeHost..url::Position::AfterPort],
        )
        .header(hyper::header::USER_AGENT, user_agent(config).as_ref())
        .header(hyper::header::ACCEPT, "*/*");
    for header in check.headers {
        builder = builder.header(header.name.as_str(), header.value.as_str());
    }
    let request = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default().to_string())))
        .map_err(|e| format!("invalid request: {e}"))?;
    let sent = Instant::now();
    let response = tokio::time::timeout(config.timeout, sender.send_request(request))
        .await
        .map_err(|_| "response timeout".to_string())?
        .map_err(|e| format!("HTTP request failed: {e}"))?;
    phases.ttfb_ms = Some(millis(sent.elapsed()));
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(hyper::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let hsts_max_age = (url.scheme() == "https")
        .then(|| {
            response
                .headers()
                .get(hyper::header::STRICT_TRANSPORT_SECURITY)
        })
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(hsts_max_age);
    let body = if check.keyword.is_some() && *method != Method::HEAD {
        let limited = Limited::new(response.into_body(), MAX_BODY_BYTES);
        match tokio::time::timeout(config.timeout, limited.collect()).await {
            Err(_) => return Err("response body timeout".into()),
            Ok(Ok(collected)) => Some(collected.to_bytes()),
            // A body over MAX_BODY_BYTES (or a broken one) fails the check.
            Ok(Err(e)) => return Err(format!("reading body failed: {e}")),
        }
    } else {
        None
    };
    Ok(Hop {
        status,
        location,
        body,
        hsts_max_age,
        served_tls,
    })
}
