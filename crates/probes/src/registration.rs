//! Domain registration expiry: RDAP first (servers found through IANA's
//! bootstrap file), WHOIS on port 43 for TLDs without RDAP.
//!
//! The bootstrap file is downloaded from IANA at run time and cached in the
//! data dir; a configured file or URL overrides that. Offline with no cached
//! copy, the observation says plainly that the bootstrap data is missing.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use certsentry_domain::registration::{
    RdapBootstrap, WhoisExpiry, rdap_domain_url, rdap_expiration, whois_expiry, whois_referral,
};
use certsentry_domain::time::Millis;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;

/// IANA's official bootstrap file for DNS registrations.
pub const IANA_RDAP_BOOTSTRAP_URL: &str = "https://data.iana.org/rdap/dns.json";
/// The IANA WHOIS server, asked which server serves a TLD.
pub const IANA_WHOIS: &str = "whois.iana.org:43";
/// The cache file name inside the data dir.
const CACHE_FILE: &str = "rdap-dns.json";
/// IANA changes the file a few times a month; a week-old copy is fine.
const CACHE_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// After a failed load, wait this long before trying again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(300);
/// WHOIS answers are small; anything longer is cut off.
const WHOIS_MAX_BYTES: u64 = 256 * 1024;

/// Where registration data comes from.
#[derive(Debug, Clone)]
pub struct RegistrationConfig {
    /// Where the official bootstrap is downloaded from and cached
    /// ([`IANA_RDAP_BOOTSTRAP_URL`]; tests point it elsewhere).
    pub official_bootstrap_url: String,
    /// A path or http(s) URL of a `dns.json` bootstrap file, overriding IANA's.
    pub rdap_bootstrap: Option<String>,
    /// Where the downloaded IANA file is cached (`None`: not cached).
    pub cache_dir: Option<PathBuf>,
    /// A `host[:port]` WHOIS server (port 43 by default) asked for every
    /// domain, instead of the server IANA refers to (tests, or a registrar's
    /// own server).
    pub whois_server: Option<String>,
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        Self {
            official_bootstrap_url: IANA_RDAP_BOOTSTRAP_URL.to_string(),
            rdap_bootstrap: None,
            cache_dir: None,
            whois_server: None,
        }
    }
}

/// What a registration lookup found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationObservation {
    pub domain: String,
    pub expires_at: Option<Millis>,
    /// `rdap` or `whois`, when an expiry was found.
    pub source: Option<&'static str>,
    /// The RDAP URL or WHOIS server that answered.
    pub server: Option<String>,
    /// Why the expiry is unknown (each source's reason, joined with "; ").
    pub error: Option<String>,
    pub latency_ms: u32,
}

struct Loaded {
    bootstrap: Result<std::sync::Arc<RdapBootstrap>, String>,
    at: Instant,
}

pub struct RegistrationProber {
    config: RegistrationConfig,
    timeout: Duration,
    http: reqwest::Client,
    bootstrap: Mutex<Option<Loaded>>,
}

impl RegistrationProber {
    pub fn new(config: RegistrationConfig, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("certsentry/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .unwrap_or_default();
        Self {
            config,
            timeout,
            http,
            bootstrap: Mutex::new(None),
        }
    }

    /// Looks up when `domain` (a registrable domain) expires.
    pub async fn lookup(&self, domain: &str) -> RegistrationObservation {
        let started = Instant::now();
        let mut reasons = Vec::new();
        let mut found = None;
        match self.bootstrap().await {
            Ok(bootstrap) => match bootstrap.base_urls(domain) {
                Some(bases) => match self.rdap(&bases[0], domain).await {
                    Ok(Some(ms)) => found = Some((ms, "rdap", rdap_domain_url(&bases[0], domain))),
                    Ok(None) => reasons.push("RDAP: no expiration event".to_string()),
                    Err(e) => reasons.push(format!("RDAP: {e}")),
                },
                None => reasons.push("RDAP: no server for this TLD".to_string()),
            },
            Err(e) => reasons.push(e),
        }
        if found.is_none() {
            match self.whois(domain).await {
                Ok((ms, server)) => found = Some((ms, "whois", server)),
                Err(e) => reasons.push(format!("WHOIS: {e}")),
            }
        }
        let latency_ms = crate::millis(started.elapsed());
        match found {
            Some((ms, source, server)) => RegistrationObservation {
                domain: domain.to_string(),
                expires_at: Some(ms),
                source: Some(source),
                server: Some(server),
                error: None,
                latency_ms,
            },
            None => RegistrationObservation {
                domain: domain.to_string(),
                expires_at: None,
                source: None,
                server: None,
                error: Some(reasons.join("; ")),
                latency_ms,
            },
        }
    }

    async fn rdap(&self, base: &str, domain: &str) -> Result<Option<Millis>, String> {
        let url = rdap_domain_url(base, domain);
        let response = self
            .http
            .get(&url)
            .header("accept", "application/rdap+json, application/json")
            .send()
            .await
            .map_err(|e| describe_reqwest(&e))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err("domain not found (404)".into());
        }
        if !status.is_success() {
            return Err(format!("HTTP {}", status.as_u16()));
        }
        let body = response.bytes().await.map_err(|e| describe_reqwest(&e))?;
        let doc: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("invalid JSON: {e}"))?;
        rdap_expiration(&doc)
    }

    async fn whois(&self, domain: &str) -> Result<(Millis, String), String> {
        let server = match &self.config.whois_server {
            Some(server) => with_default_port(server),
            None => {
                let tld = domain.rsplit('.').next().unwrap_or(domain);
                let answer = whois_query(IANA_WHOIS, tld, self.timeout).await?;
                let host = whois_referral(&answer)
                    .ok_or_else(|| format!("IANA knows no WHOIS server for .{tld}"))?;
                with_default_port(&host)
            }
        };
        let answer = whois_query(&server, domain, self.timeout).await?;
        match whois_expiry(&answer) {
            WhoisExpiry::Found(ms, _) => Ok((ms, server)),
            WhoisExpiry::Unreadable(value) => Err(format!("unrecognised expiry date {value:?}")),
            WhoisExpiry::Missing => Err(format!("{server} gave no expiry date")),
        }
    }

    /// The bootstrap file, loaded once and refreshed daily.
    async fn bootstrap(&self) -> Result<std::sync::Arc<RdapBootstrap>, String> {
        let mut loaded = self.bootstrap.lock().await;
        if let Some(current) = loaded.as_ref() {
            let fresh_for = match current.bootstrap {
                Ok(_) => Duration::from_secs(24 * 3600),
                Err(_) => RETRY_AFTER_FAILURE,
            };
            if current.at.elapsed() < fresh_for {
                return current.bootstrap.clone();
            }
        }
        let bootstrap = self.load_bootstrap().await.map(std::sync::Arc::new);
        if let Err(e) = &bootstrap {
            tracing::warn!(error = %e, "RDAP bootstrap unavailable");
        }
        *loaded = Some(Loaded {
            bootstrap: bootstrap.clone(),
            at: Instant::now(),
        });
        bootstrap
    }

    async fn load_bootstrap(&self) -> Result<RdapBootstrap, String> {
        if let Some(source) = &self.config.rdap_bootstrap {
            let bytes = if source.starts_with("http://") || source.starts_with("https://") {
                self.download(source).await
            } else {
                tokio::fs::read(source)
                    .await
                    .map_err(|e| format!("reading {source}: {e}"))
            };
            return bytes
                .and_then(|b| RdapBootstrap::parse(&b))
                .map_err(|e| format!("RDAP bootstrap data missing: {e}"));
        }
        let cache = self
            .config
            .cache_dir
            .as_ref()
            .map(|dir| dir.join(CACHE_FILE));
        let cached = match &cache {
            Some(path) => read_cache(path).await,
            None => None,
        };
        if let Some((bytes, age)) = &cached
            && *age < CACHE_MAX_AGE
            && let Ok(bootstrap) = RdapBootstrap::parse(bytes)
        {
            return Ok(bootstrap);
        }
        let official = &self.config.official_bootstrap_url;
        let downloaded = self
            .download(official)
            .await
            .and_then(|bytes| RdapBootstrap::parse(&bytes).map(|b| (b, bytes)));
        match downloaded {
            Ok((bootstrap, bytes)) => {
                if let Some(path) = &cache
                    && let Err(e) = write_cache(path, &bytes).await
                {
                    tracing::warn!(error = %e, path = %path.display(), "caching the RDAP bootstrap failed");
                }
                tracing::info!(services = bootstrap.len(), url = %official, "downloaded the RDAP bootstrap");
                Ok(bootstrap)
            }
            Err(download_error) => {
                // A stale copy beats none.
                if let Some((bytes, _)) = &cached
                    && let Ok(bootstrap) = RdapBootstrap::parse(bytes)
                {
                    tracing::warn!(error = %download_error, "using a stale cached RDAP bootstrap");
                    return Ok(bootstrap);
                }
                let cached_at = cache
                    .map(|p| format!(" and no cached copy at {}", p.display()))
                    .unwrap_or_default();
                Err(format!(
                    "RDAP bootstrap data missing: downloading {official} failed ({download_error}){cached_at}; set --rdap-bootstrap to a file or URL"
                ))
            }
        }
    }

    async fn download(&self, url: &str) -> Result<Vec<u8>, String> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| describe_reqwest(&e))?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status().as_u16()));
        }
        response
            .bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| describe_reqwest(&e))
    }
}

async fn read_cache(path: &std::path::Path) -> Option<(Vec<u8>, Duration)> {
    let modified = tokio::fs::metadata(path).await.ok()?.modified().ok()?;
    let age = SystemTime::now()
        .duration_since(modified)
        .unwrap_or_default();
    Some((tokio::fs::read(path).await.ok()?, age))
}

/// Writes through a temporary file so a crash never leaves half a cache.
async fn write_cache(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let partial = path.with_extension("json.partial");
    tokio::fs::write(&partial, bytes).await?;
    tokio::fs::rename(&partial, path).await
}

fn with_default_port(host: &str) -> String {
    if host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        host.to_string()
    } else {
        format!("{host}:43")
    }
}

/// One RFC 3912 exchange: send the query line, read until the server closes.
async fn whois_query(server: &str, query: &str, timeout: Duration) -> Result<String, String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(server)
            .await
            .map_err(|e| format!("connecting to {server}: {e}"))?;
        stream
            .write_all(format!("{query}\r\n").as_bytes())
            .await
            .map_err(|e| format!("writing to {server}: {e}"))?;
        let mut answer = Vec::new();
        stream
            .take(WHOIS_MAX_BYTES)
            .read_to_end(&mut answer)
            .await
            .map_err(|e| format!("reading from {server}: {e}"))?;
        Ok(String::from_utf8_lossy(&answer).into_owned())
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("{server} timed out"))?
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        format!(
            "connect failed: {}",
            certsentry_domain::errors::innermost_cause(e)
        )
    } else {
        e.to_string()
    }
}
