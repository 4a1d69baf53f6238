//! What CT matching needs to know about a certificate, computed from its
//! DER: names, fingerprints, issuer, validity, serial, and `tbs_sha256`.
//!
//! `tbs_sha256` is Cert Spotter's: the hash of the TBSCertificate with the
//! CT extensions removed, so a precertificate and its final certificate hash
//! the same. Final certificates lose the SCT list (1.3.6.1.4.1.11129.2.4.2),
//! precertificates the poison (1.3.6.1.4.1.11129.2.4.3); the TBS is then
//! re-encoded with `x509-cert` and hashed. Facts come from `x509-parser`,
//! which is lenient; a certificate that even it rejects is an error.

use sha2::{Digest, Sha256};
use x509_cert::der::{Decode, Encode};
use x509_parser::prelude::*;

use crate::names::normalize;

pub const SCT_LIST_OID: &str = "1.3.6.1.4.1.11129.2.4.2";
pub const POISON_OID: &str = "1.3.6.1.4.1.11129.2.4.3";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    /// DNS SANs and the subject CN: normalized, sorted, unique.
    pub dns_names: Vec<String>,
    pub cert_sha256: String,
    /// SHA-256 of the SubjectPublicKeyInfo.
    pub pubkey_sha256: String,
    /// `None` when the TBS does not re-encode (strict DER failed).
    pub tbs_sha256: Option<String>,
    pub issuer_dn: String,
    pub not_before: i64,
    pub not_after: i64,
    /// Lowercase hex.
    pub serial: String,
    pub is_precert: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unparseable certificate: {0}")]
pub struct FactsError(String);

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Facts of a certificate or precertificate (DER).
pub fn facts(der: &[u8]) -> Result<CertFacts, FactsError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| FactsError(e.to_string()))?;
    let tbs = &cert.tbs_certificate;
    let is_precert = tbs
        .extensions()
        .iter()
        .any(|e| e.oid.to_id_string() == POISON_OID);
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
    names.sort();
    names.dedup();
    Ok(CertFacts {
        dns_names: names,
        cert_sha256: sha256_hex(der),
        pubkey_sha256: sha256_hex(tbs.subject_pki.raw),
        tbs_sha256: tbs_sha256(der, if is_precert { POISON_OID } else { SCT_LIST_OID }),
        issuer_dn: tbs.issuer().to_string(),
        not_before: tbs.validity().not_before.timestamp() * 1000,
        not_after: tbs.validity().not_after.timestamp() * 1000,
        serial: hex::encode(tbs.raw_serial()),
        is_precert,
    })
}

/// The hash of the certificate's TBS without the extension `drop_oid`.
/// The TBS is re-encoded field by field: every field is kept as it was,
/// except the `[3]` extensions, which are decoded, filtered and encoded.
pub fn tbs_sha256(der: &[u8], drop_oid: &str) -> Option<String> {
    use x509_cert::der::{Any, Tag, TagNumber, Tagged};
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    let tbs = cert.tbs_certificate().to_der().ok()?;
    let mut fields: Vec<Any> = Vec::<Any>::from_der(&tbs).ok()?;
    let extensions_tag = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber(3),
    };
    for field in fields.iter_mut().filter(|f| f.tag() == extensions_tag) {
        let mut extensions = x509_cert::ext::Extensions::from_der(field.value()).ok()?;
        extensions.retain(|e| e.extn_id.to_string() != drop_oid);
        *field = Any::new(extensions_tag, extensions.to_der().ok()?).ok()?;
    }
    Some(sha256_hex(&fields.to_der().ok()?))
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
        assert_eq!(f.cert_sha256, sha256_hex(&der));
        assert_eq!(f.serial, "010203");
        assert_eq!(f.pubkey_sha256.len(), 64);
        assert!(!f.is_precert);
        assert_eq!(f.not_after, 1_775_001_600_000);
        assert!(facts(b"\x30\x03garbage").is_err());
    }

    #[test]
    fn tbs_hash_ignores_the_sct_list_and_the_poison() {
        let key = KeyPair::generate().unwrap();
        let plain = pair(&key, None);
        let plain_hash = tbs_sha256(&plain, SCT_LIST_OID).unwrap();
        let with_scts = pair(
            &key,
            Some(CustomExtension::from_oid_content(
                &oid(SCT_LIST_OID),
                vec![0x04, 0x02, 0x00, 0x00],
            )),
        );
        assert_ne!(sha256_hex(&with_scts), sha256_hex(&plain));
        assert_eq!(tbs_sha256(&with_scts, SCT_LIST_OID).unwrap(), plain_hash);
        let mut poison = CustomExtension::from_oid_content(&oid(POISON_OID), vec![0x05, 0x00]);
        poison.set_criticality(true);
        let precert = pair(&key, Some(poison));
        let f = facts(&precert).unwrap();
        assert!(f.is_precert);
        assert_eq!(
            f.tbs_sha256.unwrap(),
            plain_hash,
            "precert and final hash the same"
        );
    }
}
