//! The certificate factors of the grade, judged on the chain the server
//! actually sent in its TLS 1.2 (or older) flight, so a server rustls
//! cannot finish a handshake with is still judged; the same webpki
//! verifier and the same reading of its errors as the SSL check.

use std::sync::Arc;

use certsentry_domain::tls::{CertificateFactors, CertificateKey, KeyKind};
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, Error};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// The leaf's public key type and size.
pub fn key_of(leaf: &[u8]) -> Option<CertificateKey> {
    let (_, cert) = X509Certificate::from_der(leaf).ok()?;
    let key = cert.public_key();
    Some(match key.parsed().ok()? {
        PublicKey::RSA(rsa) => CertificateKey {
            kind: KeyKind::Rsa,
            bits: rsa.key_size() as u16,
        },
        PublicKey::EC(point) => CertificateKey {
            kind: KeyKind::Ec,
            bits: point.key_size() as u16,
        },
        PublicKey::DSA(_) => CertificateKey {
            kind: KeyKind::Dsa,
            bits: 1024,
        },
        _ if key.algorithm.algorithm.to_id_string() == "1.3.101.112" => CertificateKey {
            kind: KeyKind::Ed25519,
            bits: 256,
        },
        _ => CertificateKey {
            kind: KeyKind::Other,
            bits: 0,
        },
    })
}

/// sha1WithRSAEncryption, ecdsa-with-SHA1 and dsa-with-sha1.
const SHA1_SIGNATURES: [&str; 3] = [
    "1.2.840.113549.1.1.5",
    "1.2.840.10045.4.1",
    "1.2.840.10040.4.3",
];

/// Judges `chain` (leaf first) for `host`.
pub fn factors(
    chain: &[Vec<u8>],
    host: &str,
    verifier: &Arc<rustls::client::WebPkiServerVerifier>,
) -> CertificateFactors {
    let Some(leaf) = chain.first() else {
        return CertificateFactors::default();
    };
    let mut factors = CertificateFactors::default();
    let parsed = X509Certificate::from_der(leaf).ok().map(|(_, c)| c);
    if let Some(cert) = &parsed {
        factors.sha1_signature =
            SHA1_SIGNATURES.contains(&cert.signature_algorithm.algorithm.to_id_string().as_str());
    }
    let self_signed = parsed.as_ref().is_some_and(|c| c.subject() == c.issuer());
    let end_entity = CertificateDer::from(leaf.as_slice());
    let intermediates: Vec<CertificateDer<'_>> = chain[1..]
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let Ok(name) = ServerName::try_from(host.trim_matches(['[', ']'])) else {
        return factors;
    };
    let judged =
        verifier.verify_server_cert(&end_entity, &intermediates, &name, &[], UnixTime::now());
    if let Err(Error::InvalidCertificate(error)) = judged {
        match error {
            // Whatever webpki calls it (an unknown issuer, or a CA
            // certificate used as the leaf), a self-issued leaf is that.
            _ if self_signed => factors.self_signed = true,
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                factors.expired = true
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                factors.hostname_mismatch = true
            }
            // A lone leaf from an issuer we cannot find: the server most
            // likely left out its intermediate (as the SSL check reads it).
            CertificateError::UnknownIssuer if chain.len() == 1 => factors.incomplete_chain = true,
            _ => factors.untrusted = true,
        }
    }
    factors
}
