//! The channel rules, driven through the JSON bodies clients send.

use super::ChannelInput;
use certsentry_domain::channel::*;

fn input(json: serde_json::Value) -> ChannelDraft {
    serde_json::from_value::<ChannelInput>(json).unwrap().into()
}

#[test]
fn webhook_defaults_and_rules() {
    let spec = validate_channel(
        input(serde_json::json!({"name": "Ops", "type": "webhook", "url": "https://hooks.example.com/x"})),
        None,
    )
    .unwrap();
    assert_eq!(spec.format, PayloadFormat::CertSentry);
    assert_eq!(spec.signing, SigningScheme::CertSentry);
    assert!(spec.enabled && spec.events.is_empty());

    let hmac = validate_channel(
        input(serde_json::json!({"name": "A", "type": "webhook", "url": "http://h.example/", "signing": "hmac-sha256"})),
        None,
    )
    .unwrap();
    assert_eq!(hmac.signature_header.as_deref(), Some("X-Signature"));

    let errors = validate_channel(
        input(serde_json::json!({"type": "webhook", "url": "ftp://x", "signatureHeader": "X"})),
        None,
    )
    .unwrap_err();
    assert_eq!(errors.get("name"), Some("is required"));
    assert!(errors.get("url").is_some());
    assert!(errors.get("signatureHeader").is_some());

    let ct = validate_channel(
        input(serde_json::json!({"name": "CT", "type": "webhook", "url": "https://h.example/", "format": "certspotter", "events": ["uptime.down"]})),
        None,
    )
    .unwrap_err();
    assert!(ct.get("events").unwrap().contains("ct.new_certificate"));
    assert!(serde_json::from_value::<ChannelInput>(serde_json::json!({"format": "xml"})).is_err());
    assert!(serde_json::from_value::<ChannelInput>(serde_json::json!({"colour": "red"})).is_err());
}

#[test]
fn email_needs_smtp_from_and_to() {
    let errors = validate_channel(
        input(serde_json::json!({"name": "Mail", "type": "email", "to": ["bad"]})),
        None,
    )
    .unwrap_err();
    for field in ["smtp", "from", "to[0]"] {
        assert!(errors.get(field).is_some(), "{field}");
    }
    let body = serde_json::json!({"name": "Mail", "type": "email", "smtp": {"host": "smtp.example.com", "tls": "tls"}, "from": "alerts@example.com", "to": ["ops@example.com"]});
    let mut stored = validate_channel(input(body.clone()), None).unwrap();
    stored.smtp.as_mut().unwrap().password = Some("kept".into());
    let spec = validate_channel(input(body), Some(&stored)).unwrap();
    let smtp = spec.smtp.unwrap();
    assert_eq!((smtp.port, smtp.password.as_deref()), (465, Some("kept")));
    assert_eq!(spec.signing, SigningScheme::None);
}

#[test]
fn email_addresses_follow_the_documented_pattern() {
    use certsentry_domain::channel::valid_email;
    let pattern = regex_lite::Regex::new(crate::openapi::EMAIL_PATTERN).unwrap();
    for address in [
        "ops@example.com",
        "a.b+alerts@mail.example.co.uk",
        "x@xn--bcher-kva.example",
        "o'brien@example.org",
        "ops@example",
        "ops@@example.com",
        "ops @example.com",
        "<ops@example.com>",
        "ops@exa mple.com",
        "ops@bücher.example",
        "ôps@example.com",
        "ops@example..com",
        "@example.com",
        "ops\u{7}@example.com",
    ] {
        assert_eq!(
            valid_email(address),
            pattern.is_match(address),
            "the server and the document disagree on {address:?}"
        );
    }
}

#[test]
fn webhook_channels_refuse_email_fields() {
    let errors = validate_channel(
        input(serde_json::json!({
            "name": "Ops", "type": "webhook", "url": "https://hooks.example.com/x",
            "from": "alerts@example.com", "to": ["ops@example.com"], "smtp": { "host": "mail.example.com" }
        })),
        None,
    )
    .unwrap_err();
    for field in ["from", "to", "smtp"] {
        assert_eq!(errors.get(field), Some("applies only to email channels"));
    }
}

/// Telegram's chat id as a number, a string, or a number with a zero
/// fraction (an integer to JSON Schema, as schemathesis sends it); a real
/// fraction or another type is refused.
#[test]
fn telegram_chat_ids_are_integers_as_json_schema_reads_them() {
    let chat = |value: serde_json::Value| {
        serde_json::from_value::<ChannelInput>(serde_json::json!({
            "name": "ops", "type": "telegram", "chatId": value
        }))
        .map(|i| i.chat_id)
    };
    assert_eq!(
        chat(serde_json::json!(-1001234)).unwrap().as_deref(),
        Some("-1001234")
    );
    assert_eq!(chat(serde_json::json!(0.0)).unwrap().as_deref(), Some("0"));
    assert_eq!(
        chat(serde_json::json!(-100.0)).unwrap().as_deref(),
        Some("-100")
    );
    assert_eq!(
        chat(serde_json::json!("@ops_room")).unwrap().as_deref(),
        Some("@ops_room")
    );
    let refused = chat(serde_json::json!(1.5)).unwrap_err().to_string();
    assert!(refused.contains("is not a chat id"), "{refused}");
    assert!(chat(serde_json::json!(true)).is_err());
}
