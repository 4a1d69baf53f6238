//! Webhook signatures, one function per scheme we send, and the matching
//! verification functions for Rust receivers. Every comparison is constant
//! time (`Mac::verify_slice`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use certsentry_domain::channel::SigningScheme;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// How far a signed timestamp may be from now (the API reference's 5 minutes).
pub const TOLERANCE_SECONDS: i64 = 300;

fn mac(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length")
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = mac(key);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// The key of a Standard Webhooks secret: the base64 after `whsec_`.
fn standard_key(secret: &str) -> Result<Vec<u8>, VerifyError> {
    BASE64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| VerifyError::BadSecret)
}

/// What a delivery carries besides its body.
pub struct SignInput<'a> {
    pub scheme: SigningScheme,
    /// Current secret first; during a rotation's overlap, the previous one too.
    pub secrets: &'a [&'a str],
    /// The delivery id: `webhook-id` and the idempotency key.
    pub message_id: &'a str,
    /// Unix seconds, fresh on every attempt.
    pub timestamp: i64,
    pub body: &'a [u8],
    /// The `hmac-sha256` header name.
    pub signature_header: Option<&'a str>,
}

/// The signature headers for one attempt.
pub fn sign(input: &SignInput<'_>) -> Vec<(String, String)> {
    let ts = input.timestamp.to_string();
    let Some(current) = input.secrets.first() else {
        return Vec::new();
    };
    match input.scheme {
        SigningScheme::None => Vec::new(),
        SigningScheme::CertSentry => vec![
            ("X-CertSentry-Timestamp".into(), ts.clone()),
            (
                "X-CertSentry-Signature".into(),
                hex::encode(hmac_sha256(
                    current.as_bytes(),
                    &[ts.as_bytes(), b".", input.body],
                )),
            ),
        ],
        SigningScheme::HmacSha256 => vec![(
            input
                .signature_header
                .unwrap_or(certsentry_domain::channel::DEFAULT_SIGNATURE_HEADER)
                .to_string(),
            format!(
                "sha256={}",
                hex::encode(hmac_sha256(current.as_bytes(), &[input.body]))
            ),
        )],
        SigningScheme::StandardWebhooks => {
            let signatures: Vec<String> = input
                .secrets
                .iter()
                .filter_map(|secret| standard_key(secret).ok())
                .map(|key| {
                    let sig = hmac_sha256(
                        &key,
                        &[
                            input.message_id.as_bytes(),
                            b".",
                            ts.as_bytes(),
                            b".",
                            input.body,
                        ],
                    );
                    format!("v1,{}", BASE64.encode(sig))
                })
                .collect();
            let signature = signatures.join(" ");
            let mut headers = Vec::new();
            for prefix in ["webhook", "svix"] {
                headers.push((format!("{prefix}-id"), input.message_id.to_string()));
                headers.push((format!("{prefix}-timestamp"), ts.clone()));
                headers.push((format!("{prefix}-signature"), signature.clone()));
            }
            headers
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing header {0}")]
    MissingHeader(String),
    #[error("the timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("the timestamp is more than 5 minutes from now")]
    Stale,
    #[error("the secret is not a valid whsec_ secret")]
    BadSecret,
    #[error("no signature matches")]
    Mismatch,
}

/// Looks a header up by name, case-insensitively.
fn header<'a>(headers: &'a [(String, String)], name: &str) -> Result<&'a str, VerifyError> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .ok_or_else(|| VerifyError::MissingHeader(name.to_string()))
}

fn fresh(timestamp: &str, now: i64) -> Result<(), VerifyError> {
    let ts: i64 = timestamp.parse().map_err(|_| VerifyError::BadTimestamp)?;
    if (now - ts).abs() > TOLERANCE_SECONDS {
        return Err(VerifyError::Stale);
    }
    Ok(())
}

/// Checks a received request against `scheme`. `now` is Unix seconds;
/// `signature_header` names the `hmac-sha256` header (default `X-Signature`).
pub fn verify(
    scheme: SigningScheme,
    secret: &str,
    headers: &[(String, String)],
    body: &[u8],
    now: i64,
    signature_header: Option<&str>,
) -> Result<(), VerifyError> {
    match scheme {
        SigningScheme::None => Ok(()),
        SigningScheme::CertSentry => {
            let ts = header(headers, "X-CertSentry-Timestamp")?;
            fresh(ts, now)?;
            let given = hex::decode(header(headers, "X-CertSentry-Signature")?)
                .map_err(|_| VerifyError::Mismatch)?;
            let mut mac = mac(secret.as_bytes());
            mac.update(ts.as_bytes());
            mac.update(b".");
            mac.update(body);
            mac.verify_slice(&given).map_err(|_| VerifyError::Mismatch)
        }
        SigningScheme::HmacSha256 => {
            let name =
                signature_header.unwrap_or(certsentry_domain::channel::DEFAULT_SIGNATURE_HEADER);
            let value = header(headers, name)?;
            let given = value
                .strip_prefix("sha256=")
                .and_then(|h| hex::decode(h).ok())
                .ok_or(VerifyError::Mismatch)?;
            let mut mac = mac(secret.as_bytes());
            mac.update(body);
            mac.verify_slice(&given).map_err(|_| VerifyError::Mismatch)
        }
        SigningScheme::StandardWebhooks => {
            let get = |name: &str| {
                header(headers, &format!("webhook-{name}"))
                    .or_else(|_| header(headers, &format!("svix-{name}")))
            };
            let id = get("id")?;
            let ts = get("timestamp")?;
            fresh(ts, now)?;
            let key = standard_key(secret)?;
            let matched = get("signature")?.split_whitespace().any(|candidate| {
                let Some(b64) = candidate.strip_prefix("v1,") else {
                    return false;
                };
                let Ok(given) = BASE64.decode(b64) else {
                    return false;
                };
                let mut mac = mac(&key);
                mac.update(id.as_bytes());
                mac.update(b".");
                mac.update(ts.as_bytes());
                mac.update(b".");
                mac.update(body);
                mac.verify_slice(&given).is_ok()
            });
            if matched {
                Ok(())
            } else {
                Err(VerifyError::Mismatch)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;

    /// Pinned vectors for the two hex schemes, computed apart from this
    /// code by the API reference's own Python `verify` snippet and the
    /// `sha256=` snippet of the HMAC reference (Python's `hmac` module):
    ///   hmac.new(secret.encode(), f"{ts}.".encode() + body, sha256).hexdigest()
    ///   "sha256=" + hmac.new(secret.encode(), body, sha256).hexdigest()
    #[test]
    fn certsentry_and_hmac_sha256_test_vectors() {
        const SECRET: &str = "a3f1c9e0b7d24c58a1e6f0d3b9c27e4455aa01b2c3d4e5f60718293a4b5c6d7e";
        let signed = |scheme| {
            sign(&SignInput {
                scheme,
                secrets: &[SECRET],
                message_id: "msg_1",
                timestamp: 1649367553,
                body: BODY,
                signature_header: None,
            })
        };
        let ours = signed(SigningScheme::CertSentry);
        assert_eq!(
            ours,
            vec![
                (
                    "X-CertSentry-Timestamp".to_string(),
                    "1649367553".to_string()
                ),
                (
                    "X-CertSentry-Signature".to_string(),
                    "b6bc2c9afabfffbbb4adb1ce8da90974c8a0d62568e3e019888f989e34e763d9".to_string()
                ),
            ]
        );
        assert_eq!(
            signed(SigningScheme::HmacSha256),
            vec![(
                "X-Signature".to_string(),
                "sha256=c6415c4571a2e50942d43f961604f543c58a69f46b6ab0eba20d395e409ea47e"
                    .to_string()
            )]
        );
    }

    #[test]
    fn standard_webhooks_test_vector() {
        let headers = sign(&SignInput {
            scheme: SigningScheme::StandardWebhooks,
            secrets: &["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"],
            message_id: "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            timestamp: 1649367553,
            body: BODY,
            signature_header: None,
        });
        let get = |name: &str| headers.iter().find(|(k, _)| k == name).unwrap().1.clone();
        assert_eq!(
            get("webhook-signature"),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
        assert_eq!(get("svix-signature"), get("webhook-signature"));
        assert_eq!(get("svix-id"), "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk");
        assert!(
            verify(
                SigningScheme::StandardWebhooks,
                "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                &headers,
                BODY,
                1649367553 + 10,
                None
            )
            .is_ok()
        );
        assert_eq!(
            verify(
                SigningScheme::StandardWebhooks,
                "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                &headers,
                BODY,
                1649367553 + 301,
                None
            ),
            Err(VerifyError::Stale)
        );
    }

    #[test]
    fn rotation_sends_both_signatures_and_each_verifies() {
        let (new, old) = (
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        );
        let headers = sign(&SignInput {
            scheme: SigningScheme::StandardWebhooks,
            secrets: &[new, old],
            message_id: "msg_1",
            timestamp: 100,
            body: b"{}",
            signature_header: None,
        });
        let signature = &headers
            .iter()
            .find(|(k, _)| k == "webhook-signature")
            .unwrap()
            .1;
        assert_eq!(signature.split(' ').count(), 2);
        for secret in [new, old] {
            assert!(
                verify(
                    SigningScheme::StandardWebhooks,
                    secret,
                    &headers,
                    b"{}",
                    100,
                    None
                )
                .is_ok()
            );
        }
    }

    #[test]
    fn certsentry_and_hmac_schemes_round_trip_and_reject_tampering() {
        for scheme in [SigningScheme::CertSentry, SigningScheme::HmacSha256] {
            let headers = sign(&SignInput {
                scheme,
                secrets: &["s3cret"],
                message_id: "d1",
                timestamp: 1_700_000_000,
                body: b"{\"a\":1}",
                signature_header: Some("X-AlertifyPro-Signature"),
            });
            let name = Some("X-AlertifyPro-Signature");
            assert!(
                verify(
                    scheme,
                    "s3cret",
                    &headers,
                    b"{\"a\":1}",
                    1_700_000_000,
                    name
                )
                .is_ok()
            );
            assert_eq!(
                verify(
                    scheme,
                    "s3cret",
                    &headers,
                    b"{\"a\":2}",
                    1_700_000_000,
                    name
                ),
                Err(VerifyError::Mismatch)
            );
            assert_eq!(
                verify(scheme, "other", &headers, b"{\"a\":1}", 1_700_000_000, name),
                Err(VerifyError::Mismatch)
            );
        }
        let hmac = sign(&SignInput {
            scheme: SigningScheme::HmacSha256,
            secrets: &["s3cret"],
            message_id: "d1",
            timestamp: 0,
            body: b"x",
            signature_header: None,
        });
        assert_eq!(hmac[0].0, "X-Signature");
        assert!(hmac[0].1.starts_with("sha256="));
    }
}
