//! certwatch's alert JSON, field for field and in certwatch's order, for
//! the `certwatch` payload format and for `certsentry certwatch`'s
//! `alerts.payload` column.

use certsentry_domain::ct::{CtFinding, FindingState};
use certsentry_domain::time::Millis;
use serde_json::{Value, json};

/// The fields of certwatch's alert JSON, in the order certwatch writes them.
pub const FIELDS: [&str; 15] = [
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

/// The alert for `finding`, first seen at `seen_at`.
pub fn payload(finding: &CtFinding, seen_at: Millis) -> Value {
    let lifetime_days = (finding.not_after - finding.not_before) as f64 / 86_400_000.0;
    json!({
        "fingerprint_sha1": finding.fingerprint_sha1,
        "severity": if finding.state == FindingState::Known { "info" } else { "suspicious" },
        "matched_entries": finding.monitored_domains(),
        "matched_sans": finding.dns_names_matched(),
        "all_sans": finding.dns_names,
        "issuer_o": finding.issuer.organization,
        "issuer_cn": finding.issuer.common_name,
        "not_before": finding.not_before / 1000,
        "not_after": finding.not_after / 1000,
        "lifetime_days": (lifetime_days * 100.0).round() / 100.0,
        "source_log": finding.source,
        "cert_link": finding.cert_link,
        "serial": finding.serial.to_ascii_uppercase(),
        "update_type": finding.update_type(),
        "seen_at": seen_at / 1000,
    })
}

/// An alert JSON with its fields back in certwatch's order (a `jsonb`
/// column keeps them in its own); unknown fields follow.
pub fn ordered(payload: &Value) -> Value {
    let Some(object) = payload.as_object() else {
        return payload.clone();
    };
    let mut ordered = serde_json::Map::new();
    for field in FIELDS {
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

#[cfg(test)]
mod tests {
    use super::*;
    use certsentry_domain::ct::sample_finding;

    #[test]
    fn follows_certwatchs_alert_json() {
        let body = payload(&sample_finding(FindingState::Suspicious), 1_761_918_776_000);
        assert_eq!(body["severity"], "suspicious");
        assert_eq!(body["matched_entries"], json!(["example.org"]));
        assert_eq!(body["matched_sans"], json!(["foo.example.org"]));
        assert_eq!(body["not_before"], 1_761_915_088);
        assert_eq!(body["lifetime_days"], 90.0);
        assert_eq!(body["serial"], "B759");
        assert_eq!(body["update_type"], "PrecertLogEntry");
        assert_eq!(body["seen_at"], 1_761_918_776);
        let known = payload(&sample_finding(FindingState::Known), 0);
        assert_eq!(known["severity"], "info");
        let fields: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(fields, FIELDS);
        // Keys shuffled (as jsonb stores them) come back in certwatch's order.
        let mut shuffled = serde_json::Map::new();
        for (k, v) in body.as_object().unwrap().iter().rev() {
            shuffled.insert(k.clone(), v.clone());
        }
        shuffled.insert("extra".into(), json!(1));
        let ordered = ordered(&Value::Object(shuffled));
        let keys: Vec<&String> = ordered.as_object().unwrap().keys().collect();
        assert_eq!(keys[..15], FIELDS);
        assert_eq!(keys[15], "extra");
    }
}
