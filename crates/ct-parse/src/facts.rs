//! What CT matching needs to know about a certificate, computed from its
//! DER (or, for a precert log entry, from the bare TBSCertificate): names,
//! key hash, issuer, validity, serial, and Cert Spotter's `tbs_sha256`
//! (see [`crate::tbs`]). Facts come from `x509-parser`, which is lenient; a
//! certificate that even it rejects is an error, never a panic.

use sha2::{Digest, Sha256};
use x509_parser::prelude::*;

use crate::names::normalize;

pub const POISON_OID: &str = "1.3.6.1.4.1.11129.2.4.3";

/// What CT matching needs of every entry: the names, whether it is a
/// precertificate, and Cert Spotter's `tbs_sha256`. The rest of the
/// certificate ([`Description`]: issuer, key, validity, serial) is read only
/// for the rare entry that matches a watched name, from the TBS kept here:
/// formatting an issuer's DN for every entry of a log was a quarter of the
/// hot path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    /// Normalized, sorted, without duplicates.
    pub dns_names: Vec<String>,
    pub is_precert: bool,
    /// Lowercase hex.
    pub tbs_sha256: String,
    /// The TBSCertificate's DER, for [`CertFacts::describe`].
    tbs_der: Vec<u8>,
}

impl CertFacts {
    /// The whole description, read again from the kept TBSCertificate.
    pub fn describe(&self) -> Result<Description, FactsError> {
        let (_, tbs) =
            TbsCertificate::from_der(&self.tbs_der).map_err(|e| FactsError(e.to_string()))?;
        let mut description = describe(&tbs);
        description.is_precert |= self.is_precert;
        Ok(description)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unparseable certificate: {0}")]
pub struct FactsError(String);

impl FactsError {
    pub fn new(why: impl Into<String>) -> Self {
        Self(why.into())
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Facts of a certificate or precertificate (DER).
pub fn facts(der: &[u8]) -> Result<CertFacts, FactsError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| FactsError(e.to_string()))?;
    let tbs = crate::tbs::certificate_tbs(der).ok_or_else(|| FactsError("not DER".into()))?;
    of_tbs(&cert.tbs_certificate, tbs)
}

/// Facts of a bare TBSCertificate (DER), as a precert log entry carries it.
pub fn tbs_facts(tbs_der: &[u8]) -> Result<CertFacts, FactsError> {
    let (_, tbs) = TbsCertificate::from_der(tbs_der).map_err(|e| FactsError(e.to_string()))?;
    of_tbs(&tbs, tbs_der)
}

fn first_string<'a>(
    mut attributes: impl Iterator<Item = &'a AttributeTypeAndValue<'a>>,
) -> Option<String> {
    attributes
        .next()
        .and_then(|a| a.as_str().ok())
        .map(str::to_string)
}

/// What a certificate says about itself: everything in [`CertFacts`] but
/// the CT hash. The TLS probe describes served certificates with it too, so
/// CT and the certificate inventory read names, keys and issuers alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    /// DNS SANs and the subject CN: normalized, sorted, unique.
    pub dns_names: Vec<String>,
    /// SHA-256 of the SubjectPublicKeyInfo.
    pub pubkey_sha256: String,
    pub issuer_dn: String,
    pub issuer_organization: Option<String>,
    pub issuer_common_name: Option<String>,
    /// Milliseconds.
    pub not_before: i64,
    pub not_after: i64,
    /// Lowercase hex.
    pub serial: String,
    pub is_precert: bool,
}

impl Description {
    /// The issuer as people name it: its organization, else its common
    /// name, else the whole distinguished name ("Let's Encrypt").
    pub fn issuer_name(&self) -> String {
        self.issuer_organization
            .clone()
            .or_else(|| self.issuer_common_name.clone())
            .unwrap_or_else(|| self.issuer_dn.clone())
    }
}

/// Describes a parsed TBSCertificate.
pub fn describe(tbs: &TbsCertificate<'_>) -> Description {
    Description {
        dns_names: dns_names(tbs),
        pubkey_sha256: sha256_hex(tbs.subject_pki.raw),
        issuer_dn: tbs.issuer().to_string(),
        issuer_organization: first_string(tbs.issuer().iter_organization()),
        issuer_common_name: first_string(tbs.issuer().iter_common_name()),
        not_before: tbs.validity().not_before.timestamp() * 1000,
        not_after: tbs.validity().not_after.timestamp() * 1000,
        serial: hex::encode(tbs.raw_serial()),
        is_precert: is_precert(tbs),
    }
}

/// The DER content of [`POISON_OID`], compared as bytes: formatting every
/// extension's OID as text cost an allocation each.
const POISON_OID_DER: [u8; 10] = [0x2B, 0x06, 0x01, 0x04, 0x01, 0xD6, 0x79, 0x02, 0x04, 0x03];

fn is_precert(tbs: &TbsCertificate<'_>) -> bool {
    tbs.extensions()
        .iter()
        .any(|e| e.oid.as_bytes() == POISON_OID_DER)
}

/// The SAN's DNS names and the subject's common names, normalized, sorted,
/// deduplicated.
fn dns_names(tbs: &TbsCertificate<'_>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    if let Ok(Some(san)) = tbs.subject_alternative_name() {
        for name in &san.value.general_names {
            if let GeneralName::DNSName(dns) = name
                && let Some(n) = normalize(dns)
            {
                names.push(n);
            }
        }
    }
    for cn in tbs.subject().iter_common_name() {
        if let Ok(value) = cn.as_str()
            && let Some(n) = normalize(value)
        {
            names.push(n);
        }
    }
    names.sort_unstable();
    names.dedup();
    names
}

fn of_tbs(tbs: &TbsCertificate<'_>, tbs_der: &[u8]) -> Result<CertFacts, FactsError> {
    let tbs_sha256 = crate::tbs::tbs_sha256(tbs_der)
        .ok_or_else(|| FactsError("the TBSCertificate is not DER".into()))?;
    Ok(CertFacts {
        dns_names: dns_names(tbs),
        is_precert: is_precert(tbs),
        tbs_sha256: hex::encode(tbs_sha256),
        tbs_der: tbs_der.to_vec(),
    })
}

/// The certificate SHA-256 and `tbs_sha256` of a PEM certificate (for the
/// known-certificate inventory).
pub fn pem_hashes(pem: &str) -> Result<(String, String), FactsError> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.trim().as_bytes())
        .map_err(|e| FactsError(format!("not a PEM certificate: {e}")))?;
    if block.label != "CERTIFICATE" {
        return Err(FactsError(format!(
            "expected a CERTIFICATE block, found {}",
            block.label
        )));
    }
    let f = facts(&block.contents)?;
    Ok((sha256_hex(&block.contents), f.tbs_sha256))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, CustomExtension, KeyPair, SerialNumber};

    /// The same certificate twice, signed by one key: with and without an
    /// extension, everything else byte-identical.
    fn pair(key: &KeyPair, extension: Option<CustomExtension>) -> Vec<u8> {
        let mut params =
            CertificateParams::new(vec!["Shop.Example.ORG".into(), "*.example.org".into()])
                .unwrap();
        params.serial_number = Some(SerialNumber::from(vec![0x01, 0x02, 0x03]));
        params.not_before = rcgen::date_time_ymd(2026, 1, 1);
        params.not_after = rcgen::date_time_ymd(2026, 4, 1);
        params.custom_extensions = extension.into_iter().collect();
        params.self_signed(key).unwrap().der().to_vec()
    }

    fn oid(dotted: &str) -> Vec<u64> {
        dotted.split('.').map(|p| p.parse().unwrap()).collect()
    }

    #[test]
    fn facts_of_a_certificate() {
        let der = pair(&KeyPair::generate().unwrap(), None);
        let f = facts(&der).unwrap();
        assert_eq!(f.dns_names, vec!["*.example.org", "shop.example.org"]);
        let description = f.describe().unwrap();
        assert_eq!(description.dns_names, f.dns_names);
        let tbs = crate::tbs::certificate_tbs(&der).unwrap();
        assert_eq!(
            tbs_facts(tbs).unwrap(),
            f,
            "a bare TBS gives the same facts"
        );
        assert_eq!(description.serial, "010203");
        assert_eq!(description.pubkey_sha256.len(), 64);
        assert!(!f.is_precert && !description.is_precert);
        assert_eq!(description.not_after, 1_775_001_600_000);
        assert!(facts(b"\x30\x03garbage").is_err());
        use base64::Engine;
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64::engine::general_purpose::STANDARD.encode(&der)
        );
        assert_eq!(
            pem_hashes(&pem).unwrap(),
            (sha256_hex(&der), f.tbs_sha256.clone())
        );
        assert!(pem_hashes("-----BEGIN NOPE-----").is_err());
    }

    #[test]
    fn tbs_hash_ignores_the_sct_list_and_the_poison() {
        let key = KeyPair::generate().unwrap();
        let plain = pair(&key, None);
        let plain_hash = facts(&plain).unwrap().tbs_sha256;
        let with_scts = pair(
            &key,
            Some(CustomExtension::from_oid_content(
                &oid("1.3.6.1.4.1.11129.2.4.2"),
                vec![0x04, 0x02, 0x00, 0x00],
            )),
        );
        assert_ne!(sha256_hex(&with_scts), sha256_hex(&plain));
        assert_eq!(facts(&with_scts).unwrap().tbs_sha256, plain_hash);
        let mut poison = CustomExtension::from_oid_content(&oid(POISON_OID), vec![0x05, 0x00]);
        poison.set_criticality(true);
        let precert = pair(&key, Some(poison));
        let f = facts(&precert).unwrap();
        assert!(f.is_precert && f.describe().unwrap().is_precert);
        assert_eq!(f.tbs_sha256, plain_hash, "precert and final hash the same");
    }
}
