//! One logged certificate, from any source, reduced to what matching and
//! alerting need. The hot path is [`Parsed`]: names and `tbs_sha256` of
//! every entry. Only an entry that matches a watched name becomes a full
//! [`Issuance`] (fingerprints, issuer key, DER), so unmatched entries, the
//! vast majority, cost one lenient parse and one hash.

use base64::Engine;
use certsentry_domain::ct::Issuer;
use sha1::Sha1;
use sha2::Digest;

use crate::certstream::StreamEntry;
use crate::facts::{
    CertFacts, Description, FactsError, describe_der, describe_tbs_der, facts, sha256_hex,
    tbs_facts,
};
use crate::leaf::{EntryKind, LogEntry};

/// Where an entry came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The log's description, or certstream's source name.
    pub source: String,
    pub cert_link: Option<String>,
    pub index: Option<u64>,
    /// When the source saw it (milliseconds).
    pub seen_at: i64,
}

/// The certificate facts of an entry, before matching.
#[derive(Debug, Clone)]
pub enum Parsed {
    /// From DER: every fact.
    Full(CertFacts),
    /// A certstream lite entry: names and the certificate hash only.
    NamesOnly {
        dns_names: Vec<String>,
        cert_sha256: String,
    },
}

impl Parsed {
    pub fn dns_names(&self) -> &[String] {
        match self {
            Self::Full(f) => &f.dns_names,
            Self::NamesOnly { dns_names, .. } => dns_names,
        }
    }
}

/// Parses a log entry's certificate (or a precert's TBS).
pub fn parse_log_entry(entry: &LogEntry) -> Result<Parsed, FactsError> {
    match &entry.kind {
        EntryKind::X509 { certificate } => facts(certificate).map(Parsed::Full),
        EntryKind::Precert {
            tbs_certificate, ..
        } => tbs_facts(tbs_certificate).map(|mut f| {
            f.is_precert = true;
            Parsed::Full(f)
        }),
    }
}

/// Parses a certstream entry: from `as_der` when the stream carries it.
pub fn parse_stream_entry(entry: &StreamEntry) -> Result<Parsed, FactsError> {
    if let Some(der) = &entry.der {
        return facts(der).map(|mut f| {
            f.is_precert |= entry.precert;
            Parsed::Full(f)
        });
    }
    let cert_sha256 = entry
        .cert_sha256
        .clone()
        .ok_or_else(|| FactsError::new("a lite entry without a sha256"))?;
    Ok(Parsed::NamesOnly {
        dns_names: entry.dns_names.clone(),
        cert_sha256,
    })
}

/// A matched certificate, with everything the alert formats show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuance {
    pub precert: bool,
    pub dns_names: Vec<String>,
    /// For a lite certstream entry (no DER), the certificate hash.
    pub tbs_sha256: String,
    pub cert_sha256: String,
    pub fingerprint_sha1: String,
    pub pubkey_sha256: Option<String>,
    pub issuer: Issuer,
    pub not_before: i64,
    pub not_after: i64,
    pub serial: String,
    /// What was logged (the precertificate for a precert).
    pub cert_der: Option<Vec<u8>>,
    pub provenance: Provenance,
}

impl Issuance {
    /// Completes a matched log entry.
    pub fn from_log_entry(entry: &LogEntry, parsed: Parsed, provenance: Provenance) -> Self {
        let issuer_der = match entry.kind {
            EntryKind::X509 { .. } => entry.chain.first(),
            // The chain starts with the precertificate itself.
            EntryKind::Precert { .. } => entry.chain.get(1),
        };
        // Read only now that the entry matched (see `CertFacts`).
        let description = match &entry.kind {
            EntryKind::X509 { certificate } => describe_der(certificate),
            EntryKind::Precert {
                tbs_certificate, ..
            } => describe_tbs_der(tbs_certificate),
        };
        Self::complete(
            parsed,
            description.ok(),
            entry.logged_der().map(<[u8]>::to_vec),
            issuer_der.map(|der| &der[..]),
            provenance,
        )
    }

    /// Completes a matched certstream entry.
    pub fn from_stream_entry(entry: &StreamEntry, parsed: Parsed) -> Self {
        let description = entry.der.as_deref().and_then(|der| describe_der(der).ok());
        let mut issuance = Self::complete(
            parsed,
            description,
            entry.der.clone(),
            None,
            Provenance {
                source: entry.source_name.clone().unwrap_or_default(),
                cert_link: entry.cert_link.clone(),
                index: entry.cert_index,
                seen_at: entry.seen.unwrap_or_else(certsentry_domain::time::now_ms),
            },
        );
        if entry.der.is_none() {
            issuance.precert = entry.precert;
            issuance.serial = entry.serial.clone().unwrap_or_default();
            issuance.not_before = entry.not_before.unwrap_or_default();
            issuance.not_after = entry.not_after.unwrap_or_default();
            if let Some(issuer) = &entry.issuer {
                issuance.issuer = describe_issuer(issuer, None, None);
            }
        }
        if let Some(sha1) = &entry.sha1
            && issuance.fingerprint_sha1.is_empty()
        {
            issuance.fingerprint_sha1 = sha1.clone();
        }
        issuance
    }

    fn complete(
        parsed: Parsed,
        description: Option<Description>,
        der: Option<Vec<u8>>,
        issuer_der: Option<&[u8]>,
        provenance: Provenance,
    ) -> Self {
        let fingerprint_sha1 = der
            .as_deref()
            .map(|d| hex::encode(Sha1::digest(d)))
            .unwrap_or_default();
        let issuer_pubkey = issuer_der.and_then(|d| {
            use x509_parser::prelude::*;
            let (_, cert) = X509Certificate::from_der(d).ok()?;
            Some(sha256_hex(cert.tbs_certificate.subject_pki.raw))
        });
        match parsed {
            Parsed::Full(f) => {
                // Parsed once already, so this does not fail; if it did,
                // the issuance keeps its names and hashes and reads empty.
                let description = description.unwrap_or_default();
                Self {
                    precert: f.is_precert,
                    issuer: Issuer {
                        pubkey_sha256: issuer_pubkey,
                        ..describe_issuer(
                            &description.issuer_dn,
                            description.issuer_organization.as_deref(),
                            description.issuer_common_name.as_deref(),
                        )
                    },
                    dns_names: f.dns_names,
                    tbs_sha256: f.tbs_sha256,
                    cert_sha256: der.as_deref().map(sha256_hex).unwrap_or_default(),
                    fingerprint_sha1,
                    pubkey_sha256: Some(description.pubkey_sha256).filter(|hash| !hash.is_empty()),
                    not_before: description.not_before,
                    not_after: description.not_after,
                    serial: description.serial,
                    cert_der: der,
                    provenance,
                }
            }
            Parsed::NamesOnly {
                dns_names,
                cert_sha256,
            } => Self {
                precert: false,
                dns_names,
                tbs_sha256: cert_sha256.clone(),
                cert_sha256,
                fingerprint_sha1,
                pubkey_sha256: None,
                issuer: Issuer::default(),
                not_before: 0,
                not_after: 0,
                serial: String::new(),
                cert_der: der,
                provenance,
            },
        }
    }

    pub fn cert_der_base64(&self) -> Option<String> {
        self.cert_der
            .as_ref()
            .map(|d| base64::engine::general_purpose::STANDARD.encode(d))
    }
}

/// CAs whose friendly name, website and CAA domains are known, by the
/// issuer's organization (O=).
const KNOWN_CAS: &[(&str, &str, &str, &[&str])] = &[
    (
        "Let's Encrypt",
        "Let's Encrypt",
        "https://letsencrypt.org/",
        &["letsencrypt.org"],
    ),
    (
        "Google Trust Services",
        "Google Trust Services",
        "https://pki.goog/",
        &["pki.goog"],
    ),
    (
        "Google Trust Services LLC",
        "Google Trust Services",
        "https://pki.goog/",
        &["pki.goog"],
    ),
    (
        "Sectigo Limited",
        "Sectigo",
        "https://sectigo.com/",
        &[
            "sectigo.com",
            "comodo.com",
            "comodoca.com",
            "usertrust.com",
            "trust-provider.com",
        ],
    ),
    (
        "DigiCert Inc",
        "DigiCert",
        "https://www.digicert.com/",
        &[
            "digicert.com",
            "symantec.com",
            "geotrust.com",
            "rapidssl.com",
        ],
    ),
    (
        "ZeroSSL",
        "ZeroSSL",
        "https://zerossl.com/",
        &["sectigo.com"],
    ),
    (
        "GlobalSign nv-sa",
        "GlobalSign",
        "https://www.globalsign.com/",
        &["globalsign.com"],
    ),
    (
        "Amazon",
        "Amazon",
        "https://www.amazontrust.com/",
        &[
            "amazon.com",
            "amazontrust.com",
            "awstrust.com",
            "amazonaws.com",
        ],
    ),
    (
        "Microsoft Corporation",
        "Microsoft",
        "https://www.microsoft.com/pki/",
        &["microsoft.com"],
    ),
    (
        "Buypass AS-983163327",
        "Buypass",
        "https://www.buypass.com/",
        &["buypass.com", "buypass.no"],
    ),
    (
        "SSL Corporation",
        "SSL.com",
        "https://www.ssl.com/",
        &["ssl.com"],
    ),
    (
        "Entrust, Inc.",
        "Entrust",
        "https://www.entrust.com/",
        &["entrust.net"],
    ),
];

/// The issuer as the alert formats show it.
fn describe_issuer(dn: &str, organization: Option<&str>, common_name: Option<&str>) -> Issuer {
    let known = organization.and_then(|o| KNOWN_CAS.iter().find(|(org, ..)| *org == o));
    Issuer {
        name: dn.to_string(),
        organization: organization.map(str::to_string),
        common_name: common_name.map(str::to_string),
        friendly_name: known
            .map(|(_, name, ..)| name.to_string())
            .or_else(|| organization.map(str::to_string)),
        website: known.map(|(_, _, site, _)| site.to_string()),
        caa_domains: known
            .map(|(.., caa)| caa.iter().map(|d| d.to_string()).collect())
            .unwrap_or_default(),
        pubkey_sha256: None,
        problem_reporting: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_cas_get_friendly_names() {
        let issuer = describe_issuer(
            "C=US, O=Let's Encrypt, CN=R11",
            Some("Let's Encrypt"),
            Some("R11"),
        );
        assert_eq!(issuer.website.as_deref(), Some("https://letsencrypt.org/"));
        assert_eq!(issuer.caa_domains, vec!["letsencrypt.org"]);
        let other = describe_issuer("O=Acme CA", Some("Acme CA"), None);
        assert_eq!(other.friendly_name.as_deref(), Some("Acme CA"));
        assert_eq!(other.website, None);
    }
}
