//! Certificate Transparency findings: a logged certificate that matched a
//! watched domain, and whether the organization knew about it. Pure: the
//! feeds and the matching live in the `ct` crate, the event built from a
//! finding in `alert`, and the Cert Spotter and certwatch bodies in
//! `notify`'s formats.

use serde::{Deserialize, Serialize};

use crate::id::{CtCertificateId, KnownCertificateId, MonitorId, OrgId};
use crate::time::Millis;

use crate::string_enum::string_enum;

string_enum!(plain
    /// Where a finding stands. A match is `Pending` for the grace window, while
    /// the inventory may still catch up; then `Known` or `Suspicious`.
    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    FindingState {
        Pending = "pending",
        Known = "known",
        Suspicious = "suspicious",
    }
);

/// One of the organization's names the certificate is valid for
/// (Cert Spotter's `endpoints[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub dns_name: String,
    /// The watch entry it fell under.
    pub monitored_domain: String,
    /// The certificate names it through a wildcard.
    pub wildcard: bool,
}

/// The issuing CA, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Issuer {
    /// The distinguished name, `C=…, O=…, CN=…`.
    pub name: String,
    pub organization: Option<String>,
    pub common_name: Option<String>,
    pub friendly_name: Option<String>,
    pub website: Option<String>,
    #[serde(default)]
    pub caa_domains: Vec<String>,
    /// Of the issuer's SubjectPublicKeyInfo, when the chain carried it.
    pub pubkey_sha256: Option<String>,
    pub problem_reporting: Option<String>,
}

/// A logged certificate that matched one of an organization's watched domains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtFinding {
    pub id: CtCertificateId,
    pub org_id: OrgId,
    /// The first matching monitor (`None` for certwatch-style entries).
    pub monitor_id: Option<MonitorId>,
    /// Cert Spotter's issuance key: a precert and its certificate share it.
    pub tbs_sha256: String,
    pub cert_sha256: String,
    pub fingerprint_sha1: String,
    pub pubkey_sha256: Option<String>,
    pub dns_names: Vec<String>,
    pub endpoints: Vec<Endpoint>,
    pub issuer: Issuer,
    pub not_before: Millis,
    pub not_after: Millis,
    /// Lowercase hex.
    pub serial: String,
    pub precert: bool,
    /// Base64 DER of what was logged (the precertificate for a precert).
    pub cert_der: Option<String>,
    /// The log's description (or certstream's source name).
    pub source: String,
    pub cert_link: Option<String>,
    pub log_index: Option<u64>,
    pub state: FindingState,
    pub found_at: Millis,
    pub decided_at: Option<Millis>,
}

impl CtFinding {
    /// certwatch's `update_type`.
    pub fn update_type(&self) -> &'static str {
        if self.precert {
            "PrecertLogEntry"
        } else {
            "X509LogEntry"
        }
    }

    /// The matched names, each once (a name under two nested entries has
    /// an endpoint per entry).
    pub fn dns_names_matched(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for endpoint in &self.endpoints {
            if !names.contains(&endpoint.dns_name.as_str()) {
                names.push(&endpoint.dns_name);
            }
        }
        names
    }

    /// The watch entries it fell under, sorted, each once.
    pub fn monitored_domains(&self) -> Vec<&str> {
        let mut entries: Vec<&str> = self
            .endpoints
            .iter()
            .map(|e| e.monitored_domain.as_str())
            .collect();
        entries.sort_unstable();
        entries.dedup();
        entries
    }
}

/// A certificate the organization vouches for: by certificate hash or by
/// `tbs_sha256` (which also covers its precertificate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownCertificate {
    pub id: KnownCertificateId,
    pub org_id: OrgId,
    pub sha256: Option<String>,
    pub tbs_sha256: Option<String>,
    pub note: Option<String>,
    pub created_at: Millis,
}

/// A lowercase 64-hex-digit SHA-256, from user input (colons allowed).
pub fn parse_sha256_hex(s: &str) -> Option<String> {
    let clean: String = s
        .trim()
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    (clean.len() == 64 && clean.bytes().all(|b| b.is_ascii_hexdigit())).then_some(clean)
}

/// A decided-looking finding for tests of what is built from one (events,
/// the Cert Spotter and certwatch bodies).
#[cfg(any(test, feature = "testing"))]
pub fn sample_finding(state: FindingState) -> CtFinding {
    CtFinding {
        id: CtCertificateId::from_string("cmct000000001"),
        org_id: OrgId::from_string("org"),
        monitor_id: None,
        tbs_sha256: "aa".repeat(32),
        cert_sha256: "bb".repeat(32),
        fingerprint_sha1: "cc".repeat(20),
        pubkey_sha256: Some("dd".repeat(32)),
        dns_names: vec!["foo.example.org".into(), "other.net".into()],
        endpoints: vec![Endpoint {
            dns_name: "foo.example.org".into(),
            monitored_domain: "example.org".into(),
            wildcard: false,
        }],
        issuer: Issuer {
            name: "C=US, O=Let's Encrypt, CN=R11".into(),
            organization: Some("Let's Encrypt".into()),
            common_name: Some("R11".into()),
            ..Default::default()
        },
        not_before: 1_761_915_088_000,
        not_after: 1_769_691_088_000,
        serial: "b759".into(),
        precert: true,
        cert_der: None,
        source: "Test log".into(),
        cert_link: None,
        log_index: Some(7),
        state,
        found_at: 0,
        decided_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_input_is_normalized() {
        let colons = "AB:".repeat(31) + "AB";
        assert_eq!(parse_sha256_hex(&colons), Some("ab".repeat(32)));
        assert_eq!(parse_sha256_hex("abc"), None);
    }
}
