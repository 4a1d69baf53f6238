//! TLS inspection: a real handshake with SNI that captures the served chain
//! even when it is invalid. The verifier runs full webpki verification,
//! records the chain and the verdict, and then lets the handshake finish so
//! that an expired or mismatched certificate can still be described.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use serde::Serialize;
use tokio_rustls::TlsConnector;

use crate::certinfo::{self, CertInfo};
use crate::net::{connect, resolve};
use crate::{Phases, ProbeConfig, crypto_provider, millis};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsObservation {
    /// The chain verified and the leaf is in its validity window.
    pub valid: bool,
    /// Why not: `expired`, `not yet valid`, `hostname mismatch`, `self-signed`,
    /// `unknown issuer`, `incomplete chain`, or a connection/handshake error.
    pub error: Option<String>,
    pub latency_ms: u32,
    pub phases: Phases,
    pub protocol: Option<String>,
    pub cipher: Option<String>,
    /// As served, leaf first.
    pub chain: Vec<CertInfo>,
}

impl TlsObservation {
    pub fn leaf(&self) -> Option<&CertInfo> {
        self.chain.first()
    }
}

/// A handshake the uptime check completed with full certificate
/// verification: what an SSL check of the same endpoint would have seen
/// (see [`served`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ServedTls {
    /// The endpoint, as the SSL check names it: the name sent as SNI.
    pub host: String,
    pub port: u16,
    /// As served, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    pub protocol: String,
    pub cipher: String,
    /// DNS, connect and TLS of that hop.
    pub phases: Phases,
    /// From the hop's start to the end of its handshake.
    pub latency_ms: u32,
}

/// What a [`recording_client`] saw of the server's certificate.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) verdict: Option<Result<(), rustls::Error>>,
    /// The server stapled an OCSP response.
    pub(crate) stapled: bool,
}

#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    recorded: Arc<Mutex<Recorded>>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ());
        let mut recorded = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
        recorded.chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        recorded.verdict = Some(verdict);
        recorded.stapled = !ocsp_response.is_empty();
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A client that finishes any handshake, recording the chain the server
/// sent and webpki's verdict on it (the verdict is the caller's to act on).
pub(crate) fn recording_client(
    verifier: &Arc<WebPkiServerVerifier>,
    recorded: Arc<Mutex<Recorded>>,
) -> Result<rustls::ClientConfig, String> {
    Ok(
        rustls::ClientConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup failed: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(RecordingVerifier {
                inner: verifier.clone(),
                recorded,
            }))
            .with_no_client_auth(),
    )
}

/// Builds the webpki verifier the inspector wraps.
pub fn webpki_verifier(config: &ProbeConfig) -> Arc<WebPkiServerVerifier> {
    WebPkiServerVerifier::builder_with_provider(config.root_store(), crypto_provider())
        .build()
        .expect("a non-empty root store builds a verifier")
}

/// Names a verification failure the way the API reports it.
fn reason(error: &rustls::Error, chain: &[CertInfo]) -> String {
    let rustls::Error::InvalidCertificate(cert_error) = error else {
        return format!("invalid certificate: {error}");
    };
    match cert_error {
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => "expired".into(),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "not yet valid".into()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "hostname mismatch".into()
        }
        CertificateError::UnknownIssuer => match chain {
            [leaf] if leaf.self_signed => "self-signed".into(),
            // A lone leaf from an issuer we cannot find: the server most likely
            // left out its intermediate.
            [_] => "incomplete chain".into(),
            _ => "unknown issuer".into(),
        },
        other => format!("invalid certificate: {other:?}"),
    }
}

/// Handshakes with `host:port` (SNI = host) and describes what was served.
pub async fn inspect(
    host: &str,
    port: u16,
    config: &ProbeConfig,
    verifier: &Arc<WebPkiServerVerifier>,
) -> TlsObservation {
    let started = Instant::now();
    let mut phases = Phases::default();
    let recorded = Arc::new(Mutex::new(Recorded::default()));
    let handshake = handshake(host, port, config, verifier, recorded.clone(), &mut phases).await;
    let Recorded { chain, verdict, .. } =
        std::mem::take(&mut *recorded.lock().unwrap_or_else(|p| p.into_inner()));
    let chain = describe_chain(&chain);
    let (protocol, cipher, handshake_error) = match handshake {
        Ok((protocol, cipher)) => (Some(protocol), Some(cipher), None),
        Err(e) => (None, None, Some(e)),
    };
    let error = match (handshake_error, verdict) {
        (_, Some(Err(e))) => Some(reason(&e, &chain)),
        (Some(e), _) => Some(e),
        (None, Some(Ok(()))) => None,
        (None, None) => Some("TLS handshake failed: no certificate was served".into()),
    };
    TlsObservation {
        valid: error.is_none(),
        error,
        latency_ms: millis(started.elapsed()),
        phases,
        protocol,
        cipher,
        chain,
    }
}

async fn handshake(
    host: &str,
    port: u16,
    config: &ProbeConfig,
    verifier: &Arc<WebPkiServerVerifier>,
    recorded: Arc<Mutex<Recorded>>,
    phases: &mut Phases,
) -> Result<(String, String), String> {
    let server_name = ServerName::try_from(host.to_string())
        .map_err(|_| format!("invalid server name {host}"))?;
    let addresses = resolve(host, port, config, phases).await?;
    let stream = connect(&addresses, config, phases).await?;
    let client = recording_client(verifier, recorded)?;
    let started = Instant::now();
    let tls = tokio::time::timeout(
        config.timeout,
        TlsConnector::from(Arc::new(client)).connect(server_name, stream),
    )
    .await
    .map_err(|_| "TLS handshake timeout".to_string())?
    .map_err(|e| format!("TLS handshake failed: {e}"))?;
    phases.tls_ms = Some(millis(started.elapsed()));
    let (_, connection) = tls.get_ref();
    Ok(negotiated(connection))
}

/// The protocol version and cipher suite a handshake settled on, as the
/// SSL check reports them (`TLSv1_3`, `TLS13_AES_256_GCM_SHA384`).
pub(crate) fn negotiated(connection: &rustls::ClientConnection) -> (String, String) {
    let protocol = connection
        .protocol_version()
        .map(|v| format!("{v:?}"))
        .unwrap_or_default();
    let cipher = connection
        .negotiated_cipher_suite()
        .map(|c| format!("{:?}", c.suite()))
        .unwrap_or_default();
    (protocol, cipher)
}

/// The SSL check's observation of a handshake an uptime check already
/// made. That handshake passed full webpki verification (the uptime
/// check's client is strict), so the chain is valid; one that failed never
/// gets here, and the SSL check then inspects on its own connection to say
/// why.
pub fn served(served: ServedTls) -> TlsObservation {
    TlsObservation {
        valid: true,
        error: None,
        latency_ms: served.latency_ms,
        phases: served.phases,
        protocol: Some(served.protocol),
        cipher: Some(served.cipher),
        chain: describe_chain(&served.chain),
    }
}

/// Each served certificate's facts, leaf first; one x509-parser rejects is
/// left out rather than failing the check.
fn describe_chain(chain: &[CertificateDer<'_>]) -> Vec<CertInfo> {
    chain
        .iter()
        .filter_map(|der| certinfo::parse(der).ok())
        .collect()
}
