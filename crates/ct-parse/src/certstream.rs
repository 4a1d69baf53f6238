//! certstream messages: the Elixir server's and the Go server's shapes,
//! full and lite streams. A malformed message is an error the feed counts
//! and skips; it never panics.
//!
//! The message is read in one pass into typed, borrowed fields (strings
//! borrowed where they hold no escapes), not into a `serde_json::Value`
//! tree: a full-stream message carries the subject, extensions and chain,
//! which this client never reads, and building maps of them was most of
//! the JSON cost. Fields are read leniently ([`crate::lenient`]): one of an
//! unexpected type is absent, not an error.

use base64::Engine;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::lenient::{Number, Object, Text, TextList};
use crate::names::normalize;

/// One parsed websocket message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Keep-alive from the server; ignored.
    Heartbeat,
    Entry(Box<StreamEntry>),
    /// A message type this client does not use.
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct StreamEntry {
    pub precert: bool,
    /// `all_domains`, normalized; unparseable names are dropped.
    pub dns_names: Vec<String>,
    /// Lowercase hex; from `sha256`, or computed from `as_der`.
    pub cert_sha256: Option<String>,
    /// Lowercase hex (certwatch's `fingerprint_sha1`).
    pub sha1: Option<String>,
    /// The DER, when the stream carries it (full streams).
    pub der: Option<Vec<u8>>,
    pub serial: Option<String>,
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
    /// `issuer.aggregated` (or the issuer object as given).
    pub issuer: Option<String>,
    pub cert_index: Option<u64>,
    pub cert_link: Option<String>,
    /// Milliseconds.
    pub seen: Option<i64>,
    pub source_name: Option<String>,
    pub source_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed certstream message: {0}")]
pub struct Malformed(pub String);

fn malformed(why: impl Into<String>) -> Malformed {
    Malformed(why.into())
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    message_type: Text<'a>,
    #[serde(borrow, default)]
    data: Object<Data<'a>>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(borrow, default)]
    update_type: Text<'a>,
    #[serde(borrow, default)]
    leaf_cert: Object<Leaf<'a>>,
    #[serde(default)]
    cert_index: Number,
    #[serde(borrow, default)]
    cert_link: Text<'a>,
    #[serde(default)]
    seen: Number,
    #[serde(borrow, default)]
    source: Object<Source<'a>>,
}

#[derive(Deserialize)]
struct Leaf<'a> {
    #[serde(borrow, default)]
    all_domains: TextList<'a>,
    #[serde(borrow, default)]
    as_der: Text<'a>,
    #[serde(borrow, default)]
    sha256: Text<'a>,
    #[serde(borrow, default)]
    sha1: Text<'a>,
    #[serde(borrow, default)]
    serial_number: Text<'a>,
    #[serde(default)]
    not_before: Number,
    #[serde(default)]
    not_after: Number,
    /// Kept raw: read only for its `aggregated`, or written out as given.
    #[serde(borrow)]
    issuer: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Source<'a> {
    #[serde(borrow, default)]
    name: Text<'a>,
    #[serde(borrow, default)]
    url: Text<'a>,
}

#[derive(Deserialize)]
struct Issuer<'a> {
    #[serde(borrow, default)]
    aggregated: Text<'a>,
}

/// Seconds as an integer or a float (both servers' forms) → milliseconds.
fn seconds_to_ms(field: &Number) -> Option<i64> {
    let number = field.0.as_ref()?;
    if let Some(i) = number.as_i64() {
        return Some(i.saturating_mul(1000));
    }
    number
        .as_f64()
        .filter(|f| f.is_finite())
        .map(|f| (f * 1000.0) as i64)
}

/// Lowercase hex without `:` separators, in one pass over the bytes (two
/// fingerprints of every message go through it); `None` if not hex.
fn hex_of(field: &Text<'_>) -> Option<String> {
    let s = field.0.as_deref()?;
    let mut clean = String::with_capacity(s.len());
    for byte in s.bytes() {
        match byte {
            b':' => {}
            b if b.is_ascii_hexdigit() => clean.push(char::from(b.to_ascii_lowercase())),
            _ => return None,
        }
    }
    clean.len().is_multiple_of(2).then_some(clean)
}

/// `issuer.aggregated`, or the issuer object as given, or a plain string.
fn issuer_of(field: Option<&RawValue>) -> Option<String> {
    let raw = field?.get();
    match raw.as_bytes().first() {
        Some(b'{') => {
            let issuer: Issuer<'_> = serde_json::from_str(raw).ok()?;
            issuer
                .aggregated
                .owned()
                // Re-serialized, so it reads the same however it was spaced.
                .or_else(|| {
                    serde_json::from_str::<serde_json::Value>(raw)
                        .ok()
                        .map(|v| v.to_string())
                })
        }
        _ => serde_json::from_str::<String>(raw).ok(),
    }
}

pub fn parse_message(text_of_message: &str) -> Result<Message, Malformed> {
    let doc: Envelope<'_> =
        serde_json::from_str(text_of_message).map_err(|e| malformed(e.to_string()))?;
    let kind = doc
        .message_type
        .0
        .ok_or_else(|| malformed("no message_type"))?;
    match &*kind {
        "heartbeat" => return Ok(Message::Heartbeat),
        "certificate_update" => {}
        other => return Ok(Message::Other(other.to_string())),
    }
    let Some(data) = doc.data.0 else {
        return Err(malformed("no data.update_type"));
    };
    let precert = match data.update_type.0.as_deref() {
        Some("X509LogEntry") => false,
        Some("PrecertLogEntry") => true,
        Some(other) => return Err(malformed(format!("unknown update_type {other:?}"))),
        None => return Err(malformed("no data.update_type")),
    };
    let leaf = data
        .leaf_cert
        .0
        .ok_or_else(|| malformed("no data.leaf_cert"))?;
    let domains = leaf
        .all_domains
        .0
        .ok_or_else(|| malformed("no leaf_cert.all_domains"))?;
    let mut dns_names: Vec<String> = domains
        .iter()
        .filter_map(|name| name.0.as_deref())
        .filter_map(normalize)
        .collect();
    dns_names.sort();
    dns_names.dedup();
    let der = match &leaf.as_der.0 {
        Some(b64) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|e| malformed(format!("as_der: {e}")))?,
        ),
        None => None,
    };
    let cert_sha256 = hex_of(&leaf.sha256)
        .filter(|h| h.len() == 64)
        .or_else(|| der.as_deref().map(crate::facts::sha256_hex));
    let source = data.source.0.as_ref();
    Ok(Message::Entry(Box::new(StreamEntry {
        precert,
        dns_names,
        cert_sha256,
        sha1: hex_of(&leaf.sha1).filter(|h| h.len() == 40),
        der,
        serial: leaf.serial_number.0.as_deref().map(str::to_ascii_lowercase),
        not_before: seconds_to_ms(&leaf.not_before),
        not_after: seconds_to_ms(&leaf.not_after),
        issuer: issuer_of(leaf.issuer),
        cert_index: data
            .cert_index
            .0
            .as_ref()
            .and_then(serde_json::Number::as_u64),
        cert_link: data.cert_link.owned(),
        seen: seconds_to_ms(&data.seen),
        source_name: source.and_then(|s| s.name.owned()),
        source_url: source.and_then(|s| s.url.owned()),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    const ELIXIR_FULL: &str = r#"{"message_type":"certificate_update","data":{"update_type":"X509LogEntry",
      "leaf_cert":{"subject":{"aggregated":"/CN=shop.example.org","CN":"shop.example.org"},
        "extensions":{"subjectAltName":"DNS:shop.example.org"},
        "not_before":1767225600.0,"not_after":1775001600.0,"serial_number":"0A1B2C",
        "fingerprint":"AB:CD:EF:01","as_der":"MAMCAQE=",
        "all_domains":["Shop.Example.ORG.","*.example.org","bücher.example"]},
      "chain":[{"subject":{"aggregated":"/CN=R11"}}],
      "cert_index":12345,"cert_link":"https://ct.example/ct/v1/get-entries?start=12345&end=12345",
      "seen":1767225601.5,"source":{"url":"https://ct.example/","name":"Example Log"}}}"#;

    const GO_LITE: &str = r#"{"message_type":"certificate_update","data":{"update_type":"PrecertLogEntry",
      "leaf_cert":{"all_domains":["api.example.net"],"fingerprint":"01:02","sha1":"0102",
        "sha256":"AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99",
        "not_before":1767225600,"not_after":1775001600,"serial_number":"ff",
        "issuer":{"C":"US","O":"Let's Encrypt","CN":"R11","aggregated":"/C=US/O=Let's Encrypt/CN=R11"}},
      "cert_index":7,"seen":1767225601,"source":{"name":"Go Log","url":"https://go.example/"}}}"#;

    #[test]
    fn elixir_full_stream() {
        let Message::Entry(entry) = parse_message(ELIXIR_FULL).unwrap() else {
            panic!("not an entry")
        };
        assert!(!entry.precert);
        assert_eq!(
            entry.dns_names,
            vec!["*.example.org", "shop.example.org", "xn--bcher-kva.example"]
        );
        assert_eq!(entry.der.as_deref(), Some(&b"\x30\x03\x02\x01\x01"[..]));
        assert_eq!(
            entry.cert_sha256.as_deref(),
            Some(hex::encode(Sha256::digest(b"\x30\x03\x02\x01\x01")).as_str())
        );
        assert_eq!(entry.not_before, Some(1_767_225_600_000));
        assert_eq!(entry.seen, Some(1_767_225_601_500));
        assert_eq!(entry.cert_index, Some(12345));
        assert_eq!(entry.source_name.as_deref(), Some("Example Log"));
        assert_eq!(entry.serial.as_deref(), Some("0a1b2c"));
    }

    #[test]
    fn go_lite_stream_and_heartbeats() {
        let Message::Entry(entry) = parse_message(GO_LITE).unwrap() else {
            panic!("not an entry")
        };
        assert!(entry.precert);
        assert!(entry.der.is_none());
        assert_eq!(
            entry.cert_sha256.as_deref(),
            Some("aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899")
        );
        assert_eq!(entry.not_after, Some(1_775_001_600_000));
        assert_eq!(
            entry.issuer.as_deref(),
            Some("/C=US/O=Let's Encrypt/CN=R11")
        );
        assert_eq!(
            parse_message(r#"{"message_type":"heartbeat","timestamp":1767225600.1}"#),
            Ok(Message::Heartbeat)
        );
        assert_eq!(
            parse_message(r#"{"message_type":"dns_entries","data":[]}"#),
            Ok(Message::Other("dns_entries".into()))
        );
    }

    #[test]
    fn malformed_messages_are_errors() {
        for bad in [
            "",
            "not json",
            "[]",
            r#"{"data":{}}"#,
            r#"{"message_type":"certificate_update"}"#,
            r#"{"message_type":"certificate_update","data":{"update_type":"X509LogEntry"}}"#,
            r#"{"message_type":"certificate_update","data":{"update_type":"Weird","leaf_cert":{}}}"#,
            r#"{"message_type":"certificate_update","data":{"update_type":"X509LogEntry","leaf_cert":{"all_domains":"x"}}}"#,
            r#"{"message_type":"certificate_update","data":{"update_type":"X509LogEntry","leaf_cert":{"all_domains":[],"as_der":"%%%"}}}"#,
        ] {
            assert!(parse_message(bad).is_err(), "{bad}");
        }
    }
}
