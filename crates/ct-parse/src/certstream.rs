//! certstream messages: the Elixir server's and the Go server's shapes,
//! full and lite streams. A malformed message is an error the feed counts
//! and skips; it never panics.
//!
//! The message is read into borrowed views (`&RawValue` per field, strings
//! borrowed where they hold no escapes), not into a `serde_json::Value`
//! tree: a full-stream message carries the subject, extensions and chain,
//! which this client never reads, and building maps of them was most of
//! the JSON cost. Each field is then read as leniently as before: a field
//! of an unexpected type is absent, not an error.

use std::borrow::Cow;

use base64::Engine;
use serde::Deserialize;
use serde_json::value::RawValue;

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

/// A JSON field not yet read: parsed on demand, with its type checked then.
type Field<'a> = Option<&'a RawValue>;

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    message_type: Field<'a>,
    #[serde(borrow)]
    data: Field<'a>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(borrow)]
    update_type: Field<'a>,
    #[serde(borrow)]
    leaf_cert: Field<'a>,
    #[serde(borrow)]
    cert_index: Field<'a>,
    #[serde(borrow)]
    cert_link: Field<'a>,
    #[serde(borrow)]
    seen: Field<'a>,
    #[serde(borrow)]
    source: Field<'a>,
}

#[derive(Deserialize)]
struct Leaf<'a> {
    #[serde(borrow)]
    all_domains: Field<'a>,
    #[serde(borrow)]
    as_der: Field<'a>,
    #[serde(borrow)]
    sha256: Field<'a>,
    #[serde(borrow)]
    sha1: Field<'a>,
    #[serde(borrow)]
    serial_number: Field<'a>,
    #[serde(borrow)]
    not_before: Field<'a>,
    #[serde(borrow)]
    not_after: Field<'a>,
    #[serde(borrow)]
    issuer: Field<'a>,
}

#[derive(Deserialize)]
struct Source<'a> {
    #[serde(borrow)]
    name: Field<'a>,
    #[serde(borrow)]
    url: Field<'a>,
}

#[derive(Deserialize)]
struct Issuer<'a> {
    #[serde(borrow)]
    aggregated: Field<'a>,
}

/// `field` as `T`, or `None` when it is absent, `null` or of another type.
fn read<'a, T: Deserialize<'a>>(field: Field<'a>) -> Option<T> {
    serde_json::from_str(field?.get()).ok()
}

/// `field` as a string, borrowed unless it holds escapes (serde reads a
/// `Cow<str>` as owned, so the borrowed form is tried first).
fn text<'a>(field: Field<'a>) -> Option<Cow<'a, str>> {
    let raw = field?.get();
    match serde_json::from_str::<&'a str>(raw) {
        Ok(borrowed) => Some(Cow::Borrowed(borrowed)),
        Err(_) => serde_json::from_str::<String>(raw).ok().map(Cow::Owned),
    }
}

/// Seconds as an integer or a float (both servers' forms) → milliseconds.
fn seconds_to_ms(field: Field<'_>) -> Option<i64> {
    let number = read::<serde_json::Number>(field)?;
    if let Some(i) = number.as_i64() {
        return Some(i.saturating_mul(1000));
    }
    number
        .as_f64()
        .filter(|f| f.is_finite())
        .map(|f| (f * 1000.0) as i64)
}

fn hex_of(field: Field<'_>) -> Option<String> {
    let s = text(field)?;
    let clean: String = s.chars().filter(|c| *c != ':').collect();
    (clean.len().is_multiple_of(2) && clean.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| clean.to_ascii_lowercase())
}

/// `issuer.aggregated`, or the issuer object as given, or a plain string.
fn issuer_of(field: Field<'_>) -> Option<String> {
    let raw = field?;
    match raw.get().as_bytes().first() {
        Some(b'{') => {
            let issuer: Issuer<'_> = serde_json::from_str(raw.get()).ok()?;
            text(issuer.aggregated)
                .map(Cow::into_owned)
                // Re-serialized, so it reads the same however it was spaced.
                .or_else(|| read::<serde_json::Value>(Some(raw)).map(|v| v.to_string()))
        }
        _ => text(Some(raw)).map(Cow::into_owned),
    }
}

pub fn parse_message(text_of_message: &str) -> Result<Message, Malformed> {
    let doc: Envelope<'_> =
        serde_json::from_str(text_of_message).map_err(|e| malformed(e.to_string()))?;
    let kind = text(doc.message_type).ok_or_else(|| malformed("no message_type"))?;
    match &*kind {
        "heartbeat" => return Ok(Message::Heartbeat),
        "certificate_update" => {}
        other => return Ok(Message::Other(other.to_string())),
    }
    let data: Option<Data<'_>> = read(doc.data);
    let Some(data) = data else {
        return Err(malformed("no data.update_type"));
    };
    let precert = match text(data.update_type).as_deref() {
        Some("X509LogEntry") => false,
        Some("PrecertLogEntry") => true,
        Some(other) => return Err(malformed(format!("unknown update_type {other:?}"))),
        None => return Err(malformed("no data.update_type")),
    };
    let leaf: Leaf<'_> = read(data.leaf_cert).ok_or_else(|| malformed("no data.leaf_cert"))?;
    let domains: Vec<Field<'_>> =
        read(leaf.all_domains).ok_or_else(|| malformed("no leaf_cert.all_domains"))?;
    let mut dns_names: Vec<String> = domains
        .into_iter()
        .filter_map(text)
        .filter_map(|name| normalize(&name))
        .collect();
    dns_names.sort();
    dns_names.dedup();
    let der = match text(leaf.as_der) {
        Some(b64) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|e| malformed(format!("as_der: {e}")))?,
        ),
        None => None,
    };
    let cert_sha256 = hex_of(leaf.sha256)
        .filter(|h| h.len() == 64)
        .or_else(|| der.as_deref().map(crate::facts::sha256_hex));
    let source: Option<Source<'_>> = read(data.source);
    Ok(Message::Entry(Box::new(StreamEntry {
        precert,
        dns_names,
        cert_sha256,
        sha1: hex_of(leaf.sha1).filter(|h| h.len() == 40),
        der,
        serial: text(leaf.serial_number).map(|s| s.to_ascii_lowercase()),
        not_before: seconds_to_ms(leaf.not_before),
        not_after: seconds_to_ms(leaf.not_after),
        issuer: issuer_of(leaf.issuer),
        cert_index: read(data.cert_index),
        cert_link: text(data.cert_link).map(Cow::into_owned),
        seen: seconds_to_ms(data.seen),
        source_name: source
            .as_ref()
            .and_then(|s| text(s.name))
            .map(Cow::into_owned),
        source_url: source
            .as_ref()
            .and_then(|s| text(s.url))
            .map(Cow::into_owned),
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
