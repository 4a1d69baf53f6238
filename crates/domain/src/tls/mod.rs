//! What a TLS configuration scan finds, in terms the grade is decided on:
//! the protocol versions a server speaks, the cipher suites it accepts on
//! each (in its order of preference, when it has one), the key exchange,
//! the hygiene flags, and the certificate factors the SSL check already
//! judges. The scanner (`probes::tls_scan`) fills it from raw handshakes;
//! [`grade::grade`] turns it into a letter with every reason spelled out,
//! and [`mozilla`] compares it with Mozilla's server-side TLS profiles.

pub mod grade;
pub mod mozilla;
pub mod rule;

use serde::{Deserialize, Serialize};

/// A protocol version, oldest first (the order is used: "the best").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TlsVersion {
    #[serde(rename = "SSLv2")]
    Ssl2,
    #[serde(rename = "SSLv3")]
    Ssl3,
    #[serde(rename = "TLSv1.0")]
    Tls10,
    #[serde(rename = "TLSv1.1")]
    Tls11,
    #[serde(rename = "TLSv1.2")]
    Tls12,
    #[serde(rename = "TLSv1.3")]
    Tls13,
}

impl TlsVersion {
    pub const ALL: [TlsVersion; 6] = [
        TlsVersion::Ssl2,
        TlsVersion::Ssl3,
        TlsVersion::Tls10,
        TlsVersion::Tls11,
        TlsVersion::Tls12,
        TlsVersion::Tls13,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::Ssl2 => "SSL 2.0",
            TlsVersion::Ssl3 => "SSL 3.0",
            TlsVersion::Tls10 => "TLS 1.0",
            TlsVersion::Tls11 => "TLS 1.1",
            TlsVersion::Tls12 => "TLS 1.2",
            TlsVersion::Tls13 => "TLS 1.3",
        }
    }

    /// The version's number on the wire (`0x0303` for TLS 1.2).
    pub fn wire(self) -> u16 {
        match self {
            TlsVersion::Ssl2 => 0x0002,
            TlsVersion::Ssl3 => 0x0300,
            TlsVersion::Tls10 => 0x0301,
            TlsVersion::Tls11 => 0x0302,
            TlsVersion::Tls12 => 0x0303,
            TlsVersion::Tls13 => 0x0304,
        }
    }

    pub fn from_wire(wire: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.wire() == wire)
    }
}

/// How a suite agrees on its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyExchange {
    /// The client encrypts the secret to the certificate's RSA key: no
    /// forward secrecy.
    Rsa,
    Dhe,
    Ecdhe,
    /// Static (EC)DH: no forward secrecy.
    Dh,
    /// No server authentication at all.
    Anonymous,
    /// TLS 1.3: always (EC)DHE.
    Tls13,
    Other,
}

/// The bulk cipher, as far as the grade cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cipher {
    Null,
    Rc4,
    Des,
    TripleDes,
    Aes,
    Chacha20,
    Camellia,
    Aria,
    Other,
}

/// One cipher suite the server accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Suite {
    pub id: u16,
    /// The IANA name, e.g. `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
    pub name: String,
    pub key_exchange: KeyExchange,
    pub cipher: Cipher,
    /// The cipher's effective strength in bits (112 for 3DES).
    pub bits: u16,
    pub aead: bool,
    pub cbc: bool,
    /// An EXPORT suite (40- or 56-bit, from the 1990s' export rules).
    pub export: bool,
}

impl Suite {
    pub fn forward_secret(&self) -> bool {
        matches!(
            self.key_exchange,
            KeyExchange::Dhe | KeyExchange::Ecdhe | KeyExchange::Tls13
        )
    }
}

/// The suites of one protocol version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtocolSuites {
    pub version: TlsVersion,
    /// In the server's order of preference when it enforces one, else in
    /// the order found.
    pub suites: Vec<Suite>,
    /// Whether the server picks by its own order rather than the client's
    /// (`None`: fewer than two suites, so there is no order to enforce).
    pub server_order: Option<bool>,
}

/// The certificate's public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateKey {
    pub kind: KeyKind,
    pub bits: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    Rsa,
    Ec,
    Ed25519,
    Dsa,
    Other,
}

impl KeyKind {
    /// The key type as people write it: `RSA`, `EC`, …
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Rsa => "RSA",
            KeyKind::Ec => "EC",
            KeyKind::Ed25519 => "Ed25519",
            KeyKind::Dsa => "DSA",
            KeyKind::Other => "other",
        }
    }
}

impl CertificateKey {
    /// Strength in RSA-equivalent bits (NIST SP 800-57): a 256-bit EC key
    /// is as strong as 3,072-bit RSA.
    pub fn rsa_equivalent(&self) -> u32 {
        match self.kind {
            KeyKind::Ec | KeyKind::Ed25519 => match self.bits {
                0..=191 => 1024,
                192..=223 => 2048,
                224..=255 => 2048,
                256..=383 => 3072,
                384..=511 => 7680,
                _ => 15360,
            },
            _ => u32::from(self.bits),
        }
    }
}

/// The certificate problems the SSL check already judges, judged on the
/// chain the server actually sends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateFactors {
    pub expired: bool,
    pub self_signed: bool,
    pub untrusted: bool,
    pub hostname_mismatch: bool,
    pub sha1_signature: bool,
    /// The server leaves out an intermediate a client needs.
    pub incomplete_chain: bool,
}

/// Everything a scan found about one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsFindings {
    /// Only the versions the server speaks, oldest first.
    pub protocols: Vec<ProtocolSuites>,
    /// Key exchange groups, by IANA name (`x25519`, `secp256r1`, …).
    pub groups: Vec<String>,
    /// The DH parameter size of DHE suites, when any is offered.
    pub dh_bits: Option<u16>,
    pub key: Option<CertificateKey>,
    /// RFC 5746 (`renegotiation_info`), on the versions that renegotiate.
    pub secure_renegotiation: bool,
    /// `TLS_FALLBACK_SCSV` honoured (`None`: not testable, one version).
    pub fallback_scsv: Option<bool>,
    pub ocsp_stapling: bool,
    /// `Strict-Transport-Security`'s `max-age`, as the uptime check saw it.
    pub hsts_max_age: Option<u64>,
    /// Scanned through STARTTLS: a mail server, where HSTS does not apply.
    #[serde(default)]
    pub starttls: bool,
    pub certificate: CertificateFactors,
    /// How many handshakes the scan took.
    pub handshakes: u32,
}

impl TlsFindings {
    pub fn offers(&self, version: TlsVersion) -> bool {
        self.protocols.iter().any(|p| p.version == version)
    }

    pub fn best(&self) -> Option<TlsVersion> {
        self.protocols.iter().map(|p| p.version).max()
    }

    /// Every suite on every version, with its version.
    pub fn all_suites(&self) -> impl Iterator<Item = (TlsVersion, &Suite)> {
        self.protocols
            .iter()
            .flat_map(|p| p.suites.iter().map(move |s| (p.version, s)))
    }

    /// Whether every suite offered has forward secrecy.
    pub fn forward_secrecy_everywhere(&self) -> bool {
        self.all_suites().all(|(_, s)| s.forward_secret())
    }

    pub fn aead_only(&self) -> bool {
        self.all_suites().all(|(_, s)| s.aead)
    }
}

/// One endpoint's graded scan, as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsReport {
    /// `host:port`.
    pub endpoint: String,
    /// `smtp`, `imap` or `pop3` when the scan went through STARTTLS.
    pub starttls: Option<String>,
    pub graded_at: crate::time::Millis,
    pub grade: grade::Grade,
    pub findings: TlsFindings,
    pub mozilla: mozilla::Profiles,
}
