//! Certificate Transparency findings: a logged certificate that matched a
//! watched domain, and whether the organization knew about it. Pure: the
//! feeds and the matching live in the `ct` crate; this module holds what is
//! stored and what the alert payloads (CertSentry, Cert Spotter, certwatch)
//! say about it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::alert::{Event, EventMonitor, EventType, Severity};
use crate::id::{CtCertificateId, EventId, KnownCertificateId, MonitorId, OrgId};
use crate::time::{Millis, format_ms};

/// The fields of certwatch's alert JSON, in the order certwatch writes them.
pub const CERTWATCH_FIELDS: [&str; 15] = [
    "fingerprint_sha1",
    "severity",
    "matched_entries",
    "matched_sans",
    "all_sans",
    "issuer_o",
    "issuer_cn",
    "not_before",
    "not_after",
    "lifetime_days",
    "source_log",
    "cert_link",
    "serial",
    "update_type",
    "seen_at",
];

/// A certwatch alert JSON with its fields back in certwatch's order (a
/// `jsonb` column keeps them in its own).
pub fn certwatch_ordered(payload: &Value) -> Value {
    let Some(object) = payload.as_object() else {
        return payload.clone();
    };
    let mut ordered = serde_json::Map::new();
    for field in CERTWATCH_FIELDS {
        if let Some(value) = object.get(field) {
            ordered.insert(field.to_string(), value.clone());
        }
    }
    for (key, value) in object {
        if !ordered.contains_key(key) {
            ordered.insert(key.clone(), value.clone());
        }
    }
    Value::Object(ordered)
}

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
    fn dns_names_matched(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for endpoint in &self.endpoints {
            if !names.contains(&endpoint.dns_name.as_str()) {
                names.push(&endpoint.dns_name);
            }
        }
        names
    }

    fn monitored_domains(&self) -> Vec<&str> {
        let mut entries: Vec<&str> = self
            .endpoints
            .iter()
            .map(|e| e.monitored_domain.as_str())
            .collect();
        entries.sort_unstable();
        entries.dedup();
        entries
    }

    /// Cert Spotter's unknown-certificate webhook body, field for field.
    /// `html_url` is where this finding can be read.
    pub fn certspotter_payload(&self, html_url: &str) -> Value {
        json!({
            "id": self.id.as_str(),
            "html_url": html_url,
            "endpoints": self.endpoints.iter().map(|e| json!({
                "dns_name": e.dns_name,
                // Cert Spotter spells a domain watched with its subdomains `.example.com`.
                "monitored_domain": format!(".{}", e.monitored_domain),
                "wildcard": e.wildcard,
            })).collect::<Vec<_>>(),
            "issuance": {
                "id": self.id.as_str(),
                "tbs_sha256": self.tbs_sha256,
                "cert_sha256": self.cert_sha256,
                "dns_names": self.dns_names,
                "pubkey_sha256": self.pubkey_sha256,
                "issuer": {
                    "friendly_name": self.issuer.friendly_name,
                    "website": self.issuer.website,
                    "caa_domains": self.issuer.caa_domains,
                    "pubkey_sha256": self.issuer.pubkey_sha256,
                    "name": self.issuer.name,
                },
                "not_before": format_seconds(self.not_before),
                "not_after": format_seconds(self.not_after),
                "revoked": false,
                "problem_reporting": self.issuer.problem_reporting,
                "cert_der": self.cert_der,
            },
        })
    }

    /// certwatch's alert JSON, field for field, in [`CERTWATCH_FIELDS`] order.
    pub fn certwatch_payload(&self, seen_at: Millis) -> Value {
        let lifetime_days = (self.not_after - self.not_before) as f64 / 86_400_000.0;
        json!({
            "fingerprint_sha1": self.fingerprint_sha1,
            "severity": if self.state == FindingState::Known { "info" } else { "suspicious" },
            "matched_entries": self.monitored_domains(),
            "matched_sans": self.dns_names_matched(),
            "all_sans": self.dns_names,
            "issuer_o": self.issuer.organization,
            "issuer_cn": self.issuer.common_name,
            "not_before": self.not_before / 1000,
            "not_after": self.not_after / 1000,
            "lifetime_days": (lifetime_days * 100.0).round() / 100.0,
            "source_log": self.source,
            "cert_link": self.cert_link,
            "serial": self.serial.to_ascii_uppercase(),
            "update_type": self.update_type(),
            "seen_at": seen_at / 1000,
        })
    }

    /// The `ct.new_certificate` event of a decided finding. `details` is
    /// what the CertSentry payload shows; the Cert Spotter and certwatch
    /// bodies ride along under [`FORMAT_BODIES`] (never shown, only sent).
    pub fn event(&self, monitor: Option<EventMonitor>, html_url: &str, now: Millis) -> Event {
        let known = self.state == FindingState::Known;
        let details = json!({
            "Certificate": self.dns_names.join(", "),
            "Matched": self.dns_names_matched().join(", "),
            "Issuer": self.issuer.friendly_name.clone().unwrap_or_else(|| self.issuer.name.clone()),
            "Known": known,
            "Valid from": format_ms(self.not_before),
            "Valid until": format_ms(self.not_after),
            "Serial": self.serial,
            "tbsSha256": self.tbs_sha256,
            "certSha256": self.cert_sha256,
            "Log": self.source,
            "certificateId": self.id.as_str(),
            FORMAT_BODIES: {
                "certspotter": self.certspotter_payload(html_url),
                "certwatch": self.certwatch_payload(now),
            },
        });
        Event {
            id: EventId::generate(),
            org_id: self.org_id.clone(),
            monitor_id: self.monitor_id.clone(),
            environment_id: None,
            event_type: EventType::CtNewCertificate,
            // Known certificates are on record, nothing to act on.
            severity: if known {
                Severity::Resolved
            } else {
                Severity::Warning
            },
            status: self.state.as_str().to_string(),
            monitor,
            details,
            created_at: now,
        }
    }
}

/// The `details` key that carries the other formats' bodies of a CT event.
pub const FORMAT_BODIES: &str = "_formats";

/// Cert Spotter's timestamps: RFC 3339 in whole seconds.
fn format_seconds(ms: Millis) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(state: FindingState) -> CtFinding {
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

    #[test]
    fn certwatch_payload_follows_the_seed() {
        let body = finding(FindingState::Suspicious).certwatch_payload(1_761_918_776_000);
        assert_eq!(body["severity"], "suspicious");
        assert_eq!(body["matched_entries"], json!(["example.org"]));
        assert_eq!(body["matched_sans"], json!(["foo.example.org"]));
        assert_eq!(body["not_before"], 1_761_915_088);
        assert_eq!(body["lifetime_days"], 90.0);
        assert_eq!(body["serial"], "B759");
        assert_eq!(body["update_type"], "PrecertLogEntry");
        assert_eq!(body["seen_at"], 1_761_918_776);
        let known = finding(FindingState::Known).certwatch_payload(0);
        assert_eq!(known["severity"], "info");
        let fields: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(fields, CERTWATCH_FIELDS);
        // Keys shuffled (as jsonb stores them) come back in certwatch's order.
        let mut shuffled = serde_json::Map::new();
        for (k, v) in body.as_object().unwrap().iter().rev() {
            shuffled.insert(k.clone(), v.clone());
        }
        shuffled.insert("extra".into(), json!(1));
        let ordered = certwatch_ordered(&Value::Object(shuffled));
        let keys: Vec<&String> = ordered.as_object().unwrap().keys().collect();
        assert_eq!(keys[..15], CERTWATCH_FIELDS);
        assert_eq!(keys[15], "extra");
    }

    #[test]
    fn certspotter_payload_follows_the_seed() {
        let body = finding(FindingState::Suspicious).certspotter_payload("http://x/1");
        assert_eq!(body["endpoints"][0]["monitored_domain"], ".example.org");
        assert_eq!(body["issuance"]["not_before"], "2025-10-31T12:51:28Z");
        assert_eq!(body["issuance"]["revoked"], false);
        let keys: Vec<&String> = body["issuance"].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "id",
                "tbs_sha256",
                "cert_sha256",
                "dns_names",
                "pubkey_sha256",
                "issuer",
                "not_before",
                "not_after",
                "revoked",
                "problem_reporting",
                "cert_der"
            ]
        );
    }

    #[test]
    fn events_grade_known_and_suspicious() {
        let suspicious = finding(FindingState::Suspicious).event(None, "u", 5);
        assert_eq!(suspicious.severity, Severity::Warning);
        assert_eq!(suspicious.status, "suspicious");
        let known = finding(FindingState::Known).event(None, "u", 5);
        assert_eq!(known.severity, Severity::Resolved);
        assert!(known.payload()["details"].get(FORMAT_BODIES).is_none());
    }

    #[test]
    fn sha256_input_is_normalized() {
        let colons = "AB:".repeat(31) + "AB";
        assert_eq!(parse_sha256_hex(&colons), Some("ab".repeat(32)));
        assert_eq!(parse_sha256_hex("abc"), None);
    }
}
