//! The TLS grade, after SSL Labs' rating guide (2009r and the caps added
//! since): a score from protocol support (30 %), key exchange (30 %) and
//! cipher strength (40 %) gives A to F; caps lower it for known problems;
//! trust and hostname problems replace the letter with T or M. Every cap,
//! deduction and warning is a [`Reason`], so the letter always comes with
//! its why.
//!
//! One deliberate difference: a server that offers only TLS 1.3 counts as
//! protected against downgrade. SSL Labs requires `TLS_FALLBACK_SCSV` for
//! A+ and so denies it to TLS 1.3-only servers, which cannot be downgraded
//! at all (ssllabs-scan issue #711).

use serde::{Deserialize, Serialize};

use super::{Cipher, KeyExchange, KeyKind, TlsFindings, TlsVersion};

/// HSTS must last at least 180 days for A+.
pub const HSTS_MIN_FOR_A_PLUS: u64 = 180 * 86_400;

/// A letter, best last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Letter {
    F,
    E,
    D,
    C,
    B,
    #[serde(rename = "A-")]
    AMinus,
    A,
    #[serde(rename = "A+")]
    APlus,
}

impl Letter {
    pub fn as_str(self) -> &'static str {
        match self {
            Letter::F => "F",
            Letter::E => "E",
            Letter::D => "D",
            Letter::C => "C",
            Letter::B => "B",
            Letter::AMinus => "A-",
            Letter::A => "A",
            Letter::APlus => "A+",
        }
    }

    fn of_score(score: u32) -> Self {
        match score {
            80.. => Letter::A,
            65.. => Letter::B,
            50.. => Letter::C,
            35.. => Letter::D,
            20.. => Letter::E,
            _ => Letter::F,
        }
    }
}

/// One reason behind the grade: a cap (the grade can be no better than
/// `cap`), a warning (`cap` is `A-`), something that withholds A+ (`cap`
/// is `A`), or a score deduction (`cap` is `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    pub cap: Option<String>,
    pub message: String,
}

/// The grade with its parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grade {
    /// `A+`, `A`, `A-`, `B` … `F`, or `T` (trust) or `M` (hostname).
    pub grade: String,
    /// The letter the configuration earns when trust is set aside.
    pub grade_ignoring_trust: String,
    pub score: u32,
    pub protocol_score: u32,
    pub key_exchange_score: u32,
    pub cipher_score: u32,
    pub reasons: Vec<Reason>,
}

fn protocol_points(version: TlsVersion) -> u32 {
    match version {
        TlsVersion::Ssl2 => 0,
        TlsVersion::Ssl3 => 80,
        TlsVersion::Tls10 => 90,
        TlsVersion::Tls11 => 95,
        TlsVersion::Tls12 | TlsVersion::Tls13 => 100,
    }
}

fn key_points(bits: u32) -> u32 {
    match bits {
        0 => 0,
        1..=511 => 20,
        512..=1023 => 40,
        1024..=2047 => 80,
        2048..=4095 => 90,
        _ => 100,
    }
}

fn cipher_points(bits: u16) -> u32 {
    match bits {
        0 => 0,
        1..=127 => 20,
        128..=255 => 80,
        _ => 100,
    }
}

struct Builder {
    cap: Letter,
    reasons: Vec<Reason>,
}

impl Builder {
    fn cap(&mut self, cap: Letter, code: &'static str, message: impl Into<String>) {
        self.cap = self.cap.min(cap);
        self.reasons.push(Reason {
            code: code.into(),
            cap: Some(cap.as_str().into()),
            message: message.into(),
        });
    }

    fn note(&mut self, code: &'static str, message: impl Into<String>) {
        self.reasons.push(Reason {
            code: code.into(),
            cap: None,
            message: message.into(),
        });
    }
}

/// Grades `findings`; `None` when the server speaks no TLS at all.
pub fn grade(findings: &TlsFindings) -> Option<Grade> {
    let best = findings.best()?;
    let worst = findings.protocols.iter().map(|p| p.version).min()?;
    let mut b = Builder {
        cap: Letter::APlus,
        reasons: Vec::new(),
    };

    let protocol_score = (protocol_points(best) + protocol_points(worst)) / 2;
    if protocol_score < 100 {
        b.note(
            "protocol_score",
            format!(
                "Protocol support scores {protocol_score}: the best is {}, the worst {}",
                best.name(),
                worst.name()
            ),
        );
    }
    let (key_exchange_score, weakest) = key_exchange(findings);
    if key_exchange_score < 100 {
        b.note(
            "key_exchange_score",
            format!("Key exchange scores {key_exchange_score}: the weakest is {weakest}"),
        );
    }
    let cipher_bits: Vec<u16> = findings.all_suites().map(|(_, s)| s.bits).collect();
    let strongest = cipher_bits.iter().copied().max().unwrap_or(0);
    let weakest_cipher = cipher_bits.iter().copied().min().unwrap_or(0);
    let cipher_score = (cipher_points(strongest) + cipher_points(weakest_cipher)) / 2;
    if cipher_score < 100 {
        b.note(
            "cipher_score",
            format!(
                "Cipher strength scores {cipher_score}: from {weakest_cipher} to {strongest} bits"
            ),
        );
    }
    let score = (30 * protocol_score + 30 * key_exchange_score + 40 * cipher_score + 50) / 100;

    caps(findings, best, &mut b);
    let mut letter = Letter::of_score(score).min(b.cap);
    if letter == Letter::A || letter == Letter::APlus {
        letter = a_variants(findings, &mut b);
    }
    let ignoring_trust = letter.as_str().to_string();
    let grade = trust(findings, &mut b).unwrap_or_else(|| ignoring_trust.clone());
    Some(Grade {
        grade,
        grade_ignoring_trust: ignoring_trust,
        score,
        protocol_score,
        key_exchange_score,
        cipher_score,
        reasons: b.reasons,
    })
}

/// The weakest key exchange over every suite, scored, and described.
fn key_exchange(findings: &TlsFindings) -> (u32, String) {
    let key_bits = findings.key.map_or(2048, |k| k.rsa_equivalent());
    let key_name = findings.key.map_or("the certificate key".to_string(), |k| {
        format!("a {}-bit {} key", k.bits, k.kind.name())
    });
    let mut worst = (u32::MAX, String::new());
    for (_, suite) in findings.all_suites() {
        let (bits, what) = match suite.key_exchange {
            KeyExchange::Anonymous => (0, "anonymous key exchange".to_string()),
            _ if suite.export => (512, "an EXPORT key exchange".to_string()),
            KeyExchange::Dhe => {
                let dh = findings.dh_bits.map_or(key_bits, u32::from);
                if dh < key_bits {
                    (dh, format!("{dh}-bit DH parameters"))
                } else {
                    (key_bits, key_name.clone())
                }
            }
            // (EC)DHE on a named group is at least as strong as 3,072-bit RSA.
            KeyExchange::Ecdhe | KeyExchange::Tls13 => (key_bits.min(3072), key_name.clone()),
            _ => (key_bits, key_name.clone()),
        };
        let points = key_points(bits);
        if points < worst.0 {
            worst = (points, what);
        }
    }
    if worst.0 == u32::MAX {
        (key_points(key_bits), key_name)
    } else {
        worst
    }
}

fn caps(findings: &TlsFindings, best: TlsVersion, b: &mut Builder) {
    use Letter::*;
    if findings.offers(TlsVersion::Ssl2) {
        b.cap(F, "ssl2_offered", "SSL 2.0 is offered");
    }
    if best == TlsVersion::Ssl3 {
        b.cap(F, "ssl3_best", "SSL 3.0 is the best protocol offered");
    } else if findings.offers(TlsVersion::Ssl3) {
        b.cap(C, "ssl3_offered", "SSL 3.0 is offered (POODLE)");
    }
    let suites: Vec<_> = findings.all_suites().collect();
    if suites.iter().any(|(_, s)| s.export) {
        b.cap(F, "export_suites", "EXPORT cipher suites are offered");
    }
    if suites
        .iter()
        .any(|(_, s)| s.key_exchange == KeyExchange::Anonymous)
    {
        b.cap(F, "anonymous_suites", "Anonymous cipher suites are offered");
    }
    if suites.iter().any(|(_, s)| s.cipher == Cipher::Null) {
        b.cap(
            F,
            "null_suites",
            "NULL (unencrypted) cipher suites are offered",
        );
    }
    if let Some(key) = findings.key.filter(|k| k.kind == KeyKind::Rsa) {
        if key.bits <= 1024 {
            b.cap(
                F,
                "rsa_key_1024_or_less",
                format!(
                    "The RSA key has {} bits, few enough to be factored",
                    key.bits
                ),
            );
        } else if key.bits < 2048 {
            b.cap(
                B,
                "rsa_key_below_2048",
                format!("The RSA key has {} bits", key.bits),
            );
        }
    }
    if let Some(dh) = findings.dh_bits {
        if dh < 1024 {
            b.cap(
                F,
                "dh_below_1024",
                format!("DHE uses {dh}-bit parameters (Logjam)"),
            );
        } else if dh < 2048 {
            b.cap(B, "dh_below_2048", format!("DHE uses {dh}-bit parameters"));
        }
    }
    let rc4: Vec<TlsVersion> = suites
        .iter()
        .filter(|(_, s)| s.cipher == Cipher::Rc4)
        .map(|(v, _)| *v)
        .collect();
    if rc4.iter().any(|v| *v >= TlsVersion::Tls11) {
        b.cap(F, "rc4_modern", "RC4 is offered with TLS 1.1 or later");
    } else if !rc4.is_empty() {
        b.cap(C, "rc4_offered", "RC4 is offered");
    }
    if best < TlsVersion::Tls12 {
        b.cap(C, "no_tls12", "Neither TLS 1.2 nor TLS 1.3 is offered");
    }
    if suites
        .iter()
        .any(|(v, s)| s.cipher == Cipher::TripleDes && *v >= TlsVersion::Tls11)
    {
        b.cap(
            C,
            "3des_modern",
            "3DES is offered with TLS 1.1 or later (Sweet32)",
        );
    }
    if findings.offers(TlsVersion::Tls10) {
        b.cap(B, "tls10_offered", "TLS 1.0 is offered");
    }
    if findings.offers(TlsVersion::Tls11) {
        b.cap(B, "tls11_offered", "TLS 1.1 is offered");
    }
    if !suites.iter().any(|(_, s)| s.forward_secret()) {
        b.cap(
            B,
            "no_forward_secrecy",
            "No cipher suite has forward secrecy",
        );
    }
    if !suites.iter().any(|(_, s)| s.aead) {
        b.cap(
            B,
            "no_aead",
            "No AEAD cipher suite (GCM, CCM or ChaCha20-Poly1305) is offered",
        );
    }
    if findings.certificate.incomplete_chain {
        b.cap(
            B,
            "incomplete_chain",
            "The server does not send the intermediate certificates",
        );
    }
    if findings.certificate.sha1_signature {
        b.cap(B, "sha1_signature", "The certificate is signed with SHA-1");
    }
}

/// A, A− or A+ for a configuration that scored and capped at A.
fn a_variants(findings: &TlsFindings, b: &mut Builder) -> Letter {
    let warnings_before = b.reasons.len();
    let warn = |b: &mut Builder, code: &str, message: &str| {
        b.reasons.push(Reason {
            code: code.into(),
            cap: Some("A-".into()),
            message: message.into(),
        })
    };
    if !findings.offers(TlsVersion::Tls13) {
        warn(b, "no_tls13", "TLS 1.3 is not offered");
    }
    let renegotiates = findings
        .protocols
        .iter()
        .any(|p| p.version < TlsVersion::Tls13);
    if renegotiates && !findings.secure_renegotiation {
        warn(
            b,
            "no_secure_renegotiation",
            "Secure renegotiation (RFC 5746) is not supported",
        );
    }
    if findings
        .protocols
        .iter()
        .any(|p| p.version == TlsVersion::Tls12 && p.server_order == Some(false))
    {
        warn(
            b,
            "no_server_order",
            "The server does not enforce its own cipher suite order on TLS 1.2",
        );
    }
    if b.reasons.len() > warnings_before {
        return Letter::AMinus;
    }
    let only_tls13 = findings
        .protocols
        .iter()
        .all(|p| p.version == TlsVersion::Tls13);
    let fallback_protected = only_tls13 || findings.fallback_scsv == Some(true);
    let mut letter = Letter::APlus;
    let mut withhold = |code: &str, message: String| {
        letter = Letter::A;
        b.reasons.push(Reason {
            code: code.into(),
            cap: Some("A".into()),
            message,
        });
    };
    match findings.hsts_max_age {
        // Mail is not browsed: HSTS means nothing to an SMTP client.
        _ if findings.starttls => {}
        None => withhold("no_hsts", "No Strict-Transport-Security header".into()),
        Some(age) if age < HSTS_MIN_FOR_A_PLUS => withhold(
            "hsts_short",
            format!("HSTS max-age is {age} s, under 180 days"),
        ),
        Some(_) => {}
    }
    if !fallback_protected {
        withhold(
            "no_fallback_scsv",
            "TLS_FALLBACK_SCSV is not honoured, so a downgrade is not refused".into(),
        );
    }
    letter
}

/// `T` or `M` when the certificate cannot be trusted for this name.
fn trust(findings: &TlsFindings, b: &mut Builder) -> Option<String> {
    let c = &findings.certificate;
    let mut letter = None;
    for (problem, code, message) in [
        (c.expired, "expired", "The certificate has expired"),
        (
            c.self_signed,
            "self_signed",
            "The certificate is self-signed",
        ),
        (
            c.untrusted,
            "untrusted",
            "The certificate does not chain to a trusted root",
        ),
    ] {
        if problem {
            b.reasons.push(Reason {
                code: code.into(),
                cap: Some("T".into()),
                message: message.into(),
            });
            letter = Some("T".to_string());
        }
    }
    if c.hostname_mismatch {
        b.reasons.push(Reason {
            code: "hostname_mismatch".into(),
            cap: Some("M".into()),
            message: "The certificate does not name this host".into(),
        });
        letter.get_or_insert_with(|| "M".to_string());
    }
    letter
}

#[cfg(test)]
mod tests;
