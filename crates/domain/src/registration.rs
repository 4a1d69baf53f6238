//! Domain registration data: which domain is registered, where its RDAP
//! server is (the IANA bootstrap), and when it expires (RDAP `events[]` or
//! the free-text WHOIS answer). Pure parsing; the probes crate does the I/O.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::Value;

use crate::time::{Millis, parse_datetime};

/// The registrable domain of `host` (`www.shop.example.co.uk` →
/// `example.co.uk`), by the public suffix list. `None` for a bare public
/// suffix, an IP address, or a name under no known suffix.
pub fn registrable_domain(host: &str) -> Option<String> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let domain = psl::domain(host.as_bytes())?;
    if !domain.suffix().is_known() {
        return None;
    }
    std::str::from_utf8(domain.as_bytes())
        .ok()
        .map(str::to_string)
}

/// IANA's RDAP bootstrap for DNS (RFC 9224): which RDAP base URLs serve
/// which TLDs.
#[derive(Debug, Clone, Default)]
pub struct RdapBootstrap {
    /// `(tld, base URLs)`; HTTPS URLs first.
    services: Vec<(String, Vec<String>)>,
}

impl RdapBootstrap {
    /// Parses the `dns.json` format: `{"services": [[[tlds…], [urls…]], …]}`.
    /// Malformed entries are skipped; a file with no usable entry is an error.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let doc: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("not RDAP bootstrap JSON: {e}"))?;
        let services = doc["services"]
            .as_array()
            .ok_or("not an RDAP bootstrap file: no \"services\" array")?;
        let mut out = Vec::new();
        for service in services {
            let (Some(tlds), Some(urls)) = (service[0].as_array(), service[1].as_array()) else {
                continue;
            };
            let mut urls: Vec<String> = urls
                .iter()
                .filter_map(Value::as_str)
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                .map(str::to_string)
                .collect();
            // Prefer HTTPS, as RFC 9224 asks.
            urls.sort_by_key(|u| !u.starts_with("https://"));
            if urls.is_empty() {
                continue;
            }
            for tld in tlds.iter().filter_map(Value::as_str) {
                out.push((tld.trim_matches('.').to_ascii_lowercase(), urls.clone()));
            }
        }
        if out.is_empty() {
            return Err("the RDAP bootstrap file lists no services".into());
        }
        Ok(Self { services: out })
    }

    /// The base URLs for `domain`: the entry matching the most labels wins.
    pub fn base_urls(&self, domain: &str) -> Option<&[String]> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        self.services
            .iter()
            .filter(|(tld, _)| domain == *tld || domain.ends_with(&format!(".{tld}")))
            .max_by_key(|(tld, _)| tld.split('.').count())
            .map(|(_, urls)| urls.as_slice())
    }

    pub fn len(&self) -> usize {
        self.services.len()
    }

    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }
}

/// The RDAP lookup URL for `domain` under `base` (with or without a trailing slash).
pub fn rdap_domain_url(base: &str, domain: &str) -> String {
    format!("{}/domain/{domain}", base.trim_end_matches('/'))
}

/// The top-level `events[]` entry with `eventAction == "expiration"`.
/// `Ok(None)` when the registry publishes no expiration event.
pub fn rdap_expiration(doc: &Value) -> Result<Option<Millis>, String> {
    let Some(events) = doc["events"].as_array() else {
        return Ok(None);
    };
    let Some(event) = events
        .iter()
        .find(|e| e["eventAction"].as_str() == Some("expiration"))
    else {
        return Ok(None);
    };
    let date = event["eventDate"].as_str().unwrap_or_default();
    parse_datetime(date)
        .map(Some)
        .ok_or_else(|| format!("unreadable RDAP eventDate {date:?}"))
}

/// What a WHOIS answer says about expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WhoisExpiry {
    /// The date, and the field it came from.
    Found(Millis, String),
    /// An expiry field exists but its date is in no format we trust.
    Unreadable(String),
    /// No expiry field at all.
    Missing,
}

/// Expiry field names as registries spell them, lowercased, most specific first.
const EXPIRY_FIELDS: &[&str] = &[
    "registry expiry date",
    "registrar registration expiration date",
    "domain expiration date",
    "expiration date",
    "expiry date",
    "expire date",
    "expiration time",
    "expires on",
    "expires at",
    "expires",
    "expire",
    "paid-till",
    "renewal date",
    "record expires on",
    "validity",
];

/// Finds the expiry in a WHOIS answer. A date in an ambiguous format
/// (`03/04/2027`) is `Unreadable`: "unknown" is better than a wrong guess.
pub fn whois_expiry(text: &str) -> WhoisExpiry {
    let fields: Vec<(String, &str)> = text
        .lines()
        .filter(|line| !line.trim_start().starts_with(['%', '#', '>']))
        .filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            let value = value.trim();
            (!value.is_empty()).then(|| (key.trim().to_ascii_lowercase(), value))
        })
        .collect();
    let mut unreadable = None;
    for wanted in EXPIRY_FIELDS {
        for (key, value) in fields.iter().filter(|(key, _)| key == wanted) {
            match parse_whois_date(value) {
                Some(ms) => return WhoisExpiry::Found(ms, key.clone()),
                None => unreadable = unreadable.or_else(|| Some(value.to_string())),
            }
        }
    }
    unreadable.map_or(WhoisExpiry::Missing, WhoisExpiry::Unreadable)
}

/// The `refer:` (or `whois:`) server in an IANA answer about a TLD.
pub fn whois_referral(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim();
        ((key == "refer" || key == "whois") && !value.is_empty()).then(|| value.to_string())
    })
}

/// A WHOIS time zone abbreviation's offset from UTC in minutes, for the
/// zones registries are seen to print. Ambiguous abbreviations (`CST`,
/// `IST`, …) are not listed: a time in them is unknown, not guessed.
fn zone_offset_minutes(zone: &str) -> Option<i64> {
    let hours: f64 = match zone.to_ascii_uppercase().as_str() {
        "UTC" | "GMT" | "Z" | "UT" | "WET" => 0.0,
        "BST" | "CET" | "WEST" | "MET" => 1.0,
        "CEST" | "EET" | "SAST" | "MEST" => 2.0,
        "EEST" | "MSK" => 3.0,
        "ICT" | "WIB" => 7.0,
        "HKT" | "SGT" | "AWST" | "PHT" => 8.0,
        "JST" | "KST" => 9.0,
        "ACST" => 9.5,
        "AEST" => 10.0,
        "AEDT" => 11.0,
        "NZST" => 12.0,
        "NZDT" => 13.0,
        "BRT" | "ART" | "CLST" => -3.0,
        "CLT" | "EDT" | "AST" => -4.0,
        "EST" | "CDT" => -5.0,
        "MDT" => -6.0,
        "PDT" | "MST" => -7.0,
        "PST" => -8.0,
        _ => return None,
    };
    Some((hours * 60.0) as i64)
}

/// Splits a trailing zone, `… 10:00:00 CLST` or `… (JST)`, from the date.
fn split_zone(value: &str) -> (&str, Option<&str>) {
    if let Some((core, note)) = value.split_once(" (") {
        let zone = note.trim_end_matches(')').trim();
        let is_zone = !zone.is_empty() && zone.chars().all(|c| c.is_ascii_alphabetic());
        return (core.trim(), is_zone.then_some(zone));
    }
    match value.rsplit_once(' ') {
        Some((core, last))
            if !last.is_empty()
                && last.len() <= 5
                && last.chars().all(|c| c.is_ascii_alphabetic()) =>
        {
            (core.trim(), Some(last))
        }
        _ => (value, None),
    }
}

/// Date formats seen in WHOIS answers, all unambiguous (year first, or a
/// month name). A time is read in its named zone (UTC when none is named);
/// a time in a zone not known for certain is no date at all.
fn parse_whois_date(value: &str) -> Option<Millis> {
    let value = value.trim();
    if let Some(ms) = parse_datetime(value) {
        return Some(ms);
    }
    let (core, zone) = split_zone(value);
    let offset = match zone {
        None => Some(0),
        Some(zone) => zone_offset_minutes(zone),
    };
    const DATETIMES: &[&str] = &[
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y.%m.%d %H:%M:%S",
        "%Y/%m/%d %H:%M:%S",
        "%d-%b-%Y %H:%M:%S",
    ];
    for format in DATETIMES {
        if let Ok(dt) = NaiveDateTime::parse_from_str(core, format) {
            return offset.map(|minutes| dt.and_utc().timestamp_millis() - minutes * 60_000);
        }
    }
    // A date, possibly followed by a time we do not need.
    let date = core.split_whitespace().next().unwrap_or(core);
    const DATES: &[&str] = &[
        "%Y-%m-%d", "%Y.%m.%d", "%Y/%m/%d", "%Y%m%d", "%d-%b-%Y", "%d %b %Y", "%d.%m.%Y",
    ];
    for format in DATES {
        if let Ok(day) = NaiveDate::parse_from_str(date, format) {
            return Some(day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis());
        }
    }
    // "14 Aug 2027" spans several words.
    if let Ok(day) = NaiveDate::parse_from_str(core, "%d %b %Y") {
        return Some(day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::format_ms;

    #[test]
    fn registrable_domains_follow_the_public_suffix_list() {
        assert_eq!(
            registrable_domain("www.shop.example.co.uk").as_deref(),
            Some("example.co.uk")
        );
        assert_eq!(
            registrable_domain("Acme.Example.COM.").as_deref(),
            Some("example.com")
        );
        assert_eq!(registrable_domain("co.uk"), None);
        assert_eq!(registrable_domain("192.0.2.1"), None);
    }

    const BOOTSTRAP: &str = r#"{
      "description": "RDAP bootstrap file for Domain Name System registrations",
      "publication": "2026-06-01T00:00:00Z",
      "services": [
        [["com", "net"], ["http://rdap.example/com/", "https://rdap.verisign.example/com/v1/"]],
        [["uk"], ["https://rdap.nominet.example/uk/"]],
        [["broken"]],
        [["co.uk"], ["https://rdap.second-level.example/"]]
      ],
      "version": "1.0"
    }"#;

    #[test]
    fn bootstrap_picks_https_and_the_longest_match() {
        let bootstrap = RdapBootstrap::parse(BOOTSTRAP.as_bytes()).unwrap();
        assert_eq!(
            bootstrap.base_urls("example.com").unwrap()[0],
            "https://rdap.verisign.example/com/v1/"
        );
        assert_eq!(
            bootstrap.base_urls("example.co.uk").unwrap()[0],
            "https://rdap.second-level.example/"
        );
        assert_eq!(
            bootstrap.base_urls("example.org.uk").unwrap()[0],
            "https://rdap.nominet.example/uk/"
        );
        assert!(bootstrap.base_urls("example.io").is_none());
        assert!(bootstrap.base_urls("notcom").is_none());
        assert!(RdapBootstrap::parse(b"{\"services\": []}").is_err());
        assert!(RdapBootstrap::parse(b"<html>").is_err());
        assert_eq!(
            rdap_domain_url("https://r.example/com/v1/", "example.com"),
            "https://r.example/com/v1/domain/example.com"
        );
    }

    #[test]
    fn rdap_expiration_reads_the_top_level_event() {
        let doc: Value = serde_json::from_str(
            r#"{"objectClassName":"domain","ldhName":"EXAMPLE.COM",
               "entities":[{"events":[{"eventAction":"expiration","eventDate":"2001-01-01T00:00:00Z"}]}],
               "events":[{"eventAction":"registration","eventDate":"1995-08-14T04:00:00Z"},
                         {"eventAction":"expiration","eventDate":"2027-08-13T04:00:00Z"}]}"#,
        )
        .unwrap();
        assert_eq!(
            rdap_expiration(&doc).unwrap().map(format_ms).as_deref(),
            Some("2027-08-13T04:00:00.000Z")
        );
        assert_eq!(
            rdap_expiration(&serde_json::json!({"events": []})),
            Ok(None)
        );
        assert!(
            rdap_expiration(
                &serde_json::json!({"events": [{"eventAction": "expiration", "eventDate": "soon"}]})
            )
            .is_err()
        );
    }

    fn found(text: &str) -> Option<String> {
        match whois_expiry(text) {
            WhoisExpiry::Found(ms, _) => Some(format_ms(ms)),
            _ => None,
        }
    }

    #[test]
    fn whois_expiry_spellings() {
        let cases = [
            (
                "Registry Expiry Date: 2027-08-13T04:00:00Z",
                "2027-08-13T04:00:00.000Z",
            ),
            (
                "Registrar Registration Expiration Date: 2027-08-13T04:00:00.000+00:00",
                "2027-08-13T04:00:00.000Z",
            ),
            ("   Expiry date:  13-Aug-2027", "2027-08-13T00:00:00.000Z"),
            (
                "paid-till:     2027-08-13T21:00:00Z",
                "2027-08-13T21:00:00.000Z",
            ),
            (
                "Expiration Time: 2027-08-13 12:30:00",
                "2027-08-13T12:30:00.000Z",
            ),
            ("expires:     2027-08-13", "2027-08-13T00:00:00.000Z"),
            ("Expires On: 2027.08.13", "2027-08-13T00:00:00.000Z"),
            // 10:00 in Japan is 01:00 UTC.
            (
                "Expiration Date: 2027/08/13 10:00:00 (JST)",
                "2027-08-13T01:00:00.000Z",
            ),
            (
                "Expiry Date: 2027-08-13 10:00:00 CEST",
                "2027-08-13T08:00:00.000Z",
            ),
            (
                "Expiry Date: 2027-08-13 10:00:00 UTC",
                "2027-08-13T10:00:00.000Z",
            ),
            (
                "Expiration date: 13.08.2027 00:00:00",
                "2027-08-13T00:00:00.000Z",
            ),
            // Chilean summer time is UTC-3.
            (
                "renewal date: 2027-08-13 10:00:00 CLST",
                "2027-08-13T13:00:00.000Z",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(found(text).as_deref(), Some(want), "{text}");
        }
    }

    #[test]
    fn whois_never_guesses() {
        assert_eq!(
            whois_expiry("Domain Name: EXAMPLE.XYZ\nRegistrar: Someone\n"),
            WhoisExpiry::Missing
        );
        assert_eq!(
            whois_expiry("Expiry Date: 03/04/2027\n"),
            WhoisExpiry::Unreadable("03/04/2027".into())
        );
        // CST is China's or the US's: a time in it is not guessed.
        assert_eq!(
            whois_expiry("Expiry Date: 2027-08-13 10:00:00 CST\n"),
            WhoisExpiry::Unreadable("2027-08-13 10:00:00 CST".into())
        );
        // Comments never count, even when they look like fields.
        assert_eq!(
            whois_expiry("% Expiry Date: 2027-01-01\n"),
            WhoisExpiry::Missing
        );
        // The registry's date wins over a less specific field.
        assert_eq!(
            found("Expires: 2030-01-01\nRegistry Expiry Date: 2027-08-13T04:00:00Z\n").as_deref(),
            Some("2027-08-13T04:00:00.000Z")
        );
    }

    #[test]
    fn iana_referral() {
        let answer = "% IANA WHOIS server\n\ndomain:       XYZ\n\nrefer:        whois.nic.xyz\n";
        assert_eq!(whois_referral(answer).as_deref(), Some("whois.nic.xyz"));
        assert_eq!(whois_referral("domain: EXAMPLE\n"), None);
    }
}
