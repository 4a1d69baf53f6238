//! Probes: plain async functions that take a target and return an
//! observation. They never panic and never return `Err` for a failed check:
//! a failure is an observation with a precise `error` string.

pub mod certinfo;
pub mod dns;
pub mod http;
pub mod net;
pub mod registration;
pub mod tcp;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;
pub mod tls_scan;

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use serde::Serialize;

/// Settings shared by every probe.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    /// Upper bound for each phase (DNS, connect, TLS, response).
    pub timeout: Duration,
    /// Connect to private, loopback and link-local addresses (tests, intranets).
    pub allow_private_targets: bool,
    /// The pause between two handshakes of a TLS grade scan with one server.
    pub tls_scan_gap: Duration,
    /// Trust anchors in addition to the public web PKI (a private CA, or a test CA).
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Nameservers DNS checks ask; empty means the system's resolver configuration.
    pub dns_servers: Vec<std::net::SocketAddr>,
    /// Where domain registration data (RDAP bootstrap, WHOIS) comes from.
    pub registration: registration::RegistrationConfig,
    /// The region these probes run in, when they run in one place (a probe
    /// agent): named in the uptime check's `User-Agent`, so that a target's
    /// operator can tell the vantage points apart in their logs.
    pub region: Option<String>,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            allow_private_targets: false,
            tls_scan_gap: Duration::from_millis(25),
            extra_roots: Vec::new(),
            dns_servers: Vec::new(),
            registration: registration::RegistrationConfig::default(),
            region: None,
        }
    }
}

impl ProbeConfig {
    /// The root store: webpki-roots plus `extra_roots`.
    pub fn root_store(&self) -> Arc<rustls::RootCertStore> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for root in &self.extra_roots {
            if let Err(e) = roots.add(root.clone()) {
                tracing::warn!(error = %e, "ignoring an extra root certificate");
            }
        }
        Arc::new(roots)
    }
}

/// Reads every certificate of a PEM file (a private CA bundle).
pub fn load_pem_certificates(
    path: &std::path::Path,
) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("reading {}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("parsing {}: {e}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!("{} holds no PEM certificates", path.display()));
    }
    Ok(certificates)
}

/// Per-phase timings in milliseconds; a phase that did not happen is `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Phases {
    pub dns_ms: Option<u32>,
    pub connect_ms: Option<u32>,
    pub tls_ms: Option<u32>,
    pub ttfb_ms: Option<u32>,
}

pub(crate) fn millis(d: Duration) -> u32 {
    d.as_millis().min(u32::MAX as u128) as u32
}

pub(crate) fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Probes with their TLS settings built once.
pub struct Prober {
    pub config: ProbeConfig,
    /// `Err` when no resolver could be built (DNS checks then report it).
    dns: Result<hickory_resolver::TokioResolver, String>,
    verifier: Arc<rustls::client::WebPkiServerVerifier>,
    strict_tls: Arc<rustls::ClientConfig>,
    registration: registration::RegistrationProber,
}

impl Prober {
    pub fn new(config: ProbeConfig) -> Self {
        let verifier = tls::webpki_verifier(&config);
        let mut strict = rustls::ClientConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(config.root_store())
            .with_no_client_auth();
        strict.alpn_protocols = vec![b"http/1.1".to_vec()];
        // Every check makes a full handshake. A resumed TLS session carries
        // the chain of the handshake it came from, unverified again, so a
        // check that resumed would report a certificate the server may have
        // replaced (renewed, or broken) since; and its TLS phase would time
        // a handshake no new visitor gets.
        strict.resumption = rustls::client::Resumption::disabled();
        let dns = dns::resolver(&config.dns_servers, config.timeout);
        let registration =
            registration::RegistrationProber::new(config.registration.clone(), config.timeout);
        Self {
            registration,
            config,
            dns,
            verifier,
            strict_tls: Arc::new(strict),
        }
    }

    /// The settings every probe runs with (the TLS scan takes them too).
    pub fn config(&self) -> &ProbeConfig {
        &self.config
    }

    pub async fn tcp(&self, host: &str, port: u16) -> tcp::TcpObservation {
        tcp::probe(host, port, &self.config).await
    }

    pub async fn http(&self, check: &http::HttpCheck<'_>) -> http::HttpObservation {
        http::probe(check, &self.config, &self.strict_tls).await
    }

    /// Every record type of `name`, or why they could not be asked.
    pub async fn dns(&self, name: &str) -> Result<certsentry_domain::dns::DnsSnapshot, String> {
        match &self.dns {
            Ok(resolver) => Ok(dns::snapshot(resolver, name).await),
            Err(e) => Err(e.clone()),
        }
    }

    /// When the registrable `domain` expires, by RDAP or WHOIS.
    pub async fn registration(&self, domain: &str) -> registration::RegistrationObservation {
        self.registration.lookup(domain).await
    }

    pub async fn tls(&self, host: &str, port: u16) -> tls::TlsObservation {
        tls::inspect(host, port, &self.config, &self.verifier).await
    }
}
