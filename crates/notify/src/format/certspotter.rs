//! Cert Spotter's unknown-certificate webhook body, field for field, so a
//! receiver written for Cert Spotter reads CertSentry's CT alerts as is.

use certsentry_domain::ct::CtFinding;
use certsentry_domain::time::Millis;
use serde_json::{Value, json};

/// `html_url` is where the finding can be read.
pub fn payload(finding: &CtFinding, html_url: &str) -> Value {
    json!({
        "id": finding.id.as_str(),
        "html_url": html_url,
        "endpoints": finding.endpoints.iter().map(|e| json!({
            "dns_name": e.dns_name,
            // Cert Spotter spells a domain watched with its subdomains `.example.com`.
            "monitored_domain": format!(".{}", e.monitored_domain),
            "wildcard": e.wildcard,
        })).collect::<Vec<_>>(),
        "issuance": {
            "id": finding.id.as_str(),
            "tbs_sha256": finding.tbs_sha256,
            "cert_sha256": finding.cert_sha256,
            "dns_names": finding.dns_names,
            "pubkey_sha256": finding.pubkey_sha256,
            "issuer": {
                "friendly_name": finding.issuer.friendly_name,
                "website": finding.issuer.website,
                "caa_domains": finding.issuer.caa_domains,
                "pubkey_sha256": finding.issuer.pubkey_sha256,
                "name": finding.issuer.name,
            },
            "not_before": rfc3339_seconds(finding.not_before),
            "not_after": rfc3339_seconds(finding.not_after),
            "revoked": false,
            "problem_reporting": finding.issuer.problem_reporting,
            "cert_der": finding.cert_der,
        },
    })
}

/// Cert Spotter's timestamps: RFC 3339 in whole seconds.
fn rfc3339_seconds(ms: Millis) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use certsentry_domain::ct::{FindingState, sample_finding};

    #[test]
    fn follows_cert_spotters_documented_body() {
        let body = payload(&sample_finding(FindingState::Suspicious), "http://x/1");
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
}
