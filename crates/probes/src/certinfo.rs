//! Facts about one served certificate, parsed leniently with x509-parser.
//! The issuer, validity, key hash and `tbs_sha256` come from
//! `certsentry_ct_parse`, the same code CT reads certificates with.

use std::net::IpAddr;

use certsentry_ct_parse::{facts, tbs};
use certsentry_domain::time::Millis;
use serde::Serialize;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertInfo {
    pub subject: String,
    /// The issuer's full distinguished name.
    pub issuer_dn: String,
    /// The issuer's organization (or common name): "Let's Encrypt".
    pub issuer: String,
    pub not_before: Millis,
    pub not_after: Millis,
    /// Hex SHA-256 of the whole certificate (DER).
    pub sha256: String,
    /// Hex SHA-256 of the SubjectPublicKeyInfo.
    pub spki_sha256: String,
    /// Cert Spotter's `tbs_sha256`: how CT findings recognize this
    /// certificate's precertificate.
    pub tbs_sha256: Option<String>,
    /// DNS names and IP addresses from the subjectAltName extension.
    pub sans: Vec<String>,
    pub self_signed: bool,
}

/// Parses a DER certificate; a malformed one is an error string, never a panic.
pub fn parse(der: &[u8]) -> Result<CertInfo, String> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| format!("unparseable certificate: {e}"))?;
    let described = facts::describe(&cert.tbs_certificate);
    let sans = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(dns) => Some(dns.to_ascii_lowercase()),
                GeneralName::IPAddress(bytes) => ip_from_bytes(bytes).map(|ip| ip.to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        self_signed: cert.subject() == cert.issuer(),
        issuer: described.issuer_name(),
        issuer_dn: described.issuer_dn,
        not_before: described.not_before,
        not_after: described.not_after,
        sha256: facts::sha256_hex(der),
        spki_sha256: described.pubkey_sha256,
        tbs_sha256: tbs::certificate_tbs(der)
            .and_then(tbs::tbs_sha256)
            .map(hex::encode),
        sans,
    })
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => None,
    }
}
