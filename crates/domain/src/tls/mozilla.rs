//! Conformance to Mozilla's server-side TLS recommendations (version 5.7):
//! the "modern" profile (TLS 1.3 only) and the "intermediate" one (TLS 1.2
//! and 1.3 with AEAD, forward-secret suites). Reported beside the grade,
//! never part of it, with each difference in words.

use serde::{Deserialize, Serialize};

use super::{KeyKind, TlsFindings, TlsVersion};

/// TLS 1.3's three suites, which both profiles allow.
const TLS13_SUITES: [u16; 3] = [0x1301, 0x1302, 0x1303];

/// The intermediate profile's TLS 1.2 suites.
const INTERMEDIATE_TLS12_SUITES: [u16; 9] = [
    0xC02B, // ECDHE-ECDSA-AES128-GCM-SHA256
    0xC02F, // ECDHE-RSA-AES128-GCM-SHA256
    0xC02C, // ECDHE-ECDSA-AES256-GCM-SHA384
    0xC030, // ECDHE-RSA-AES256-GCM-SHA384
    0xCCA9, // ECDHE-ECDSA-CHACHA20-POLY1305
    0xCCA8, // ECDHE-RSA-CHACHA20-POLY1305
    0x009E, // DHE-RSA-AES128-GCM-SHA256
    0x009F, // DHE-RSA-AES256-GCM-SHA384
    0xCCAA, // DHE-RSA-CHACHA20-POLY1305
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profiles {
    pub modern: Conformance,
    pub intermediate: Conformance,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conformance {
    pub conforms: bool,
    pub differences: Vec<String>,
}

impl Conformance {
    fn of(differences: Vec<String>) -> Self {
        Self {
            conforms: differences.is_empty(),
            differences,
        }
    }
}

pub fn profiles(findings: &TlsFindings) -> Profiles {
    Profiles {
        modern: Conformance::of(modern(findings)),
        intermediate: Conformance::of(intermediate(findings)),
    }
}

fn modern(findings: &TlsFindings) -> Vec<String> {
    let mut differences = Vec::new();
    for p in findings
        .protocols
        .iter()
        .filter(|p| p.version != TlsVersion::Tls13)
    {
        differences.push(format!(
            "{} is offered; modern is TLS 1.3 only",
            p.version.name()
        ));
    }
    if !findings.offers(TlsVersion::Tls13) {
        differences.push("TLS 1.3 is not offered".into());
    }
    differences.extend(outside_suites(findings, TlsVersion::Tls13, &TLS13_SUITES));
    differences
}

fn intermediate(findings: &TlsFindings) -> Vec<String> {
    let mut differences = Vec::new();
    for p in findings
        .protocols
        .iter()
        .filter(|p| p.version < TlsVersion::Tls12)
    {
        differences.push(format!(
            "{} is offered; intermediate is TLS 1.2 and 1.3",
            p.version.name()
        ));
    }
    if !findings.offers(TlsVersion::Tls12) && !findings.offers(TlsVersion::Tls13) {
        differences.push("neither TLS 1.2 nor TLS 1.3 is offered".into());
    }
    differences.extend(outside_suites(
        findings,
        TlsVersion::Tls12,
        &INTERMEDIATE_TLS12_SUITES,
    ));
    differences.extend(outside_suites(findings, TlsVersion::Tls13, &TLS13_SUITES));
    if let Some(dh) = findings.dh_bits.filter(|bits| *bits < 2048) {
        differences.push(format!(
            "DHE uses {dh}-bit parameters; at least 2048 are recommended"
        ));
    }
    if let Some(key) = findings
        .key
        .filter(|k| k.kind == KeyKind::Rsa && k.bits < 2048)
    {
        differences.push(format!(
            "the RSA key has {} bits; at least 2048 are recommended",
            key.bits
        ));
    }
    differences
}

fn outside_suites(findings: &TlsFindings, version: TlsVersion, allowed: &[u16]) -> Vec<String> {
    findings
        .protocols
        .iter()
        .filter(|p| p.version == version)
        .flat_map(|p| p.suites.iter())
        .filter(|s| !allowed.contains(&s.id))
        .map(|s| format!("{} on {} is not in the profile", s.name, version.name()))
        .collect()
}
