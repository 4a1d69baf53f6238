//! What CT matching needs to know about a certificate, computed from its
//! DER (or, for a precert log entry, from the bare TBSCertificate): names,
//! key hash, issuer, validity, serial, and Cert Spotter's `tbs_sha256`
//! (see [`crate::tbs`]). Facts come from `x509-parser`, which is lenient; a
//! certificate that even it rejects is an error, never a panic.

use sha2::{Digest, Sha256};
use x509_parser::certificate::TbsCertificateParser;
use x509_parser::extensions::SubjectAlternativeName;
use x509_parser::nom::Parser as _;
use x509_parser::prelude::*;

use crate::names::normalize;

pub const POISON_OID: &str = "1.3.6.1.4.1.11129.2.4.3";

/// What CT matching needs of every entry: the names, whether it is a
/// precertificate, and Cert Spotter's `tbs_sha256`. The rest of the
/// certificate ([`Description`]: issuer, key, validity, serial) is read only
/// for the rare entry that matches a watched name ([`describe_der`],
/// [`describe_tbs_der`]): formatting an issuer's DN for every entry of a log
/// was a quarter of the hot path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    /// Normalized, sorted, without duplicates.
    pub dns_names: Vec<String>,
    pub is_precert: bool,
    /// Lowercase hex.
    pub tbs_sha256: String,
}

/// The [`Description`] of a certificate or precertificate (DER).
pub fn describe_der(der: &[u8]) -> Result<Description, FactsError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| FactsError(e.to_string()))?;
    Ok(describe(&cert.tbs_certificate))
}

/// The [`Description`] of a bare TBSCertificate (DER).
pub fn describe_tbs_der(tbs_der: &[u8]) -> Result<Description, FactsError> {
    let (_, tbs) = TbsCertificate::from_der(tbs_der).map_err(|e| FactsError(e.to_string()))?;
    Ok(describe(&tbs))
}

/// Lowercase hex of a SHA-256, by table: `hex::encode`'s per-character
/// iterator was a tenth of a non-matching entry's own work.
fn hex_of_sha256(digest: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    out
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
///
/// Only the TBSCertificate is parsed: every fact is in it, and parsing the
/// whole certificate also decoded the signature and moved the parsed TBS
/// into a larger value, a few percent of a CT entry's cost. The outer
/// structure is still checked as DER by [`crate::tbs::certificate_tbs`].
pub fn facts(der: &[u8]) -> Result<CertFacts, FactsError> {
    let tbs = crate::tbs::certificate_tbs(der).ok_or_else(|| FactsError("not DER".into()))?;
    tbs_facts(tbs)
}

/// Facts of a bare TBSCertificate (DER), as a precert log entry carries it.
///
/// For a TBSCertificate in the DER RFC 5280 gives, x509-parser reads only
/// the two fields the facts come from, the subject and the subjectAltName,
/// which [`crate::tbs::name_fields`] finds by walking the rest as TLVs
/// ([`walked_names`]): parsing every field was a third of a CT entry's
/// cost. Anything else, which x509-parser may still read leniently, takes
/// its whole parse, as every entry did before. Both give the same facts (a
/// test and the `ct_entry` fuzz target check it).
///
/// The walk serves the hash too ([`crate::tbs::NameFields::tbs_sha256`]):
/// walking the TBSCertificate once for each was a tenth of the walked path.
pub fn tbs_facts(tbs_der: &[u8]) -> Result<CertFacts, FactsError> {
    let walk = crate::tbs::name_fields(tbs_der);
    let tbs_sha256 = match &walk {
        Some(fields) => fields.tbs_sha256(),
        None => crate::tbs::tbs_sha256(tbs_der)
            .ok_or_else(|| FactsError("the TBSCertificate is not DER".into()))?,
    };
    let (dns_names, is_precert) = match walk.as_ref().and_then(walked_names) {
        Some(found) => found,
        None => parsed_names(tbs_der)?,
    };
    Ok(CertFacts {
        dns_names,
        is_precert,
        tbs_sha256: hex_of_sha256(&tbs_sha256),
    })
}

/// The names and precert flag of a TBSCertificate in strict DER, from its
/// subject and extensions alone; `None` for anything else.
fn walked_names(fields: &crate::tbs::NameFields<'_>) -> Option<(Vec<String>, bool)> {
    let (_, subject) = X509Name::from_der(fields.subject).ok()?;
    let mut is_precert = false;
    let mut san = None;
    for extension in fields.extensions.clone() {
        let (oid, value) = crate::tbs::extension_parts(extension)?;
        if oid == POISON_OID_DER {
            is_precert = true;
        } else if oid == SUBJECT_ALT_NAME_OID_DER && san.is_none() {
            san = Some(value);
        }
    }
    Some((dns_names(san, &subject), is_precert))
}

/// The names and precert flag from x509-parser's whole parse, which reads
/// some of what the walk refuses (a field's tag by its number alone,
/// extensions past the `[3]` field's length).
fn parsed_names(tbs_der: &[u8]) -> Result<(Vec<String>, bool), FactsError> {
    let (_, tbs) = TbsCertificateParser::new()
        .with_deep_parse_extensions(false)
        .parse(tbs_der)
        .map_err(|e| FactsError(e.to_string()))?;
    Ok((dns_names(san_of(&tbs), tbs.subject()), is_precert(&tbs)))
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
        dns_names: dns_names(san_of(tbs), tbs.subject()),
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

/// The DER content of [`POISON_OID`].
const POISON_OID_DER: &[u8] = crate::tbs::POISON_OID;

/// The DER content of the subjectAltName OID, 2.5.29.17.
const SUBJECT_ALT_NAME_OID_DER: [u8; 3] = [0x55, 0x1D, 0x11];

fn is_precert(tbs: &TbsCertificate<'_>) -> bool {
    tbs.extensions()
        .iter()
        .any(|e| e.oid.as_bytes() == POISON_OID_DER)
}

/// The first subjectAltName's `extnValue` content, if there is one.
fn san_of<'a>(tbs: &TbsCertificate<'a>) -> Option<&'a [u8]> {
    tbs.extensions()
        .iter()
        .find(|e| e.oid.as_bytes() == SUBJECT_ALT_NAME_OID_DER)
        .map(|e| e.value)
}

/// The DNS names of the subjectAltName (its `extnValue`'s content, when
/// there is one) and the subject's common names, normalized, sorted,
/// deduplicated. A SAN that does not parse gives no names, as if absent.
fn dns_names(san: Option<&[u8]>, subject: &X509Name<'_>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    // The SAN read from its raw value: the hot path does not parse
    // extensions' contents, since it needs this one of the ten a
    // certificate carries.
    let san = san.and_then(|value| SubjectAlternativeName::from_der(value).ok());
    let san_names: Vec<&str> = match &san {
        Some((_, san)) => san
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(dns) => Some(*dns),
                _ => None,
            })
            .collect(),
        None => Vec::new(),
    };
    names.extend(san_names.iter().filter_map(|dns| normalize(dns)));
    for cn in subject.iter_common_name() {
        // The common name nearly always repeats a SAN name: skip the work.
        if let Ok(value) = cn.as_str()
            && !san_names.iter().any(|dns| dns.eq_ignore_ascii_case(value))
            && let Some(n) = normalize(value)
        {
            names.push(n);
        }
    }
    names.sort_unstable();
    names.dedup();
    names
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
        let description = describe_der(&der).unwrap();
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
        assert!(f.is_precert && describe_der(&precert).unwrap().is_precert);
        assert_eq!(hex_of_sha256(&[0xab; 32]), "ab".repeat(32));
        assert_eq!(f.tbs_sha256, plain_hash, "precert and final hash the same");
    }

    /// Certificates with every kind of name in both places facts come from.
    fn varied_certificates() -> Vec<Vec<u8>> {
        use rcgen::{DnType, SanType};
        let key = KeyPair::generate().unwrap();
        let mut out = Vec::new();
        let mut with_everything = CertificateParams::new(vec![
            "Shop.Example.ORG".into(),
            "*.example.org".into(),
            "www.example.org".into(),
        ])
        .unwrap();
        with_everything.subject_alt_names.extend([
            SanType::IpAddress("192.0.2.1".parse().unwrap()),
            SanType::Rfc822Name("ops@example.org".try_into().unwrap()),
            SanType::URI("https://example.org/".try_into().unwrap()),
        ]);
        with_everything
            .distinguished_name
            .push(DnType::CommonName, "Bücher.Example");
        with_everything
            .distinguished_name
            .push(DnType::OrganizationName, "Example Ltd");
        out.push(with_everything.self_signed(&key).unwrap().der().to_vec());
        let mut no_san = CertificateParams::default();
        no_san
            .distinguished_name
            .push(DnType::CommonName, "Legacy.Example.COM");
        out.push(no_san.self_signed(&key).unwrap().der().to_vec());
        let mut poison = CustomExtension::from_oid_content(&oid(POISON_OID), vec![0x05, 0x00]);
        poison.set_criticality(true);
        out.push(pair(&key, Some(poison)));
        out.push(pair(
            &key,
            Some(CustomExtension::from_oid_content(
                &oid("1.3.6.1.4.1.11129.2.4.2"),
                vec![0x04; 200],
            )),
        ));
        out
    }

    /// The names and flag a walk of `tbs` gives, if it is walked.
    fn walk_of(tbs: &[u8]) -> Option<(Vec<String>, bool)> {
        walked_names(&crate::tbs::name_fields(tbs)?)
    }

    /// The hot path reads two fields and walks the rest; x509-parser reads
    /// them all. Over varied certificates and every one-byte change to
    /// them, whenever x509-parser accepts the whole TBSCertificate (and it
    /// hashes), both give the same names and precert flag, whether the walk
    /// took it or left it to the whole parse, and the walk's hash is the
    /// one [`crate::tbs::tbs_sha256`] computes on its own.
    #[test]
    fn the_walked_facts_are_the_fully_parsed_ones() {
        let mut compared = 0;
        let mut walked_compared = 0;
        let mut names_seen = 0;
        let mut hashes_compared = 0;
        for der in varied_certificates() {
            let tbs = crate::tbs::certificate_tbs(&der).unwrap().to_vec();
            for at in 0..=tbs.len() {
                for flip in [0x00u8, 0x01, 0x20, 0x80, 0xff] {
                    let mut changed = tbs.clone();
                    if at < tbs.len() {
                        changed[at] ^= flip;
                    } else if flip != 0 {
                        continue;
                    }
                    let hashed = crate::tbs::tbs_sha256(&changed);
                    if let Some(fields) = crate::tbs::name_fields(&changed) {
                        assert_eq!(Some(fields.tbs_sha256()), hashed, "byte {at} ^ {flip:#x}");
                        hashes_compared += 1;
                    }
                    let Ok(full) = describe_tbs_der(&changed) else {
                        continue;
                    };
                    if hashed.is_none() {
                        continue;
                    }
                    let walked = tbs_facts(&changed)
                        .unwrap_or_else(|e| panic!("byte {at} ^ {flip:#x}: {e}"));
                    assert_eq!(walked.dns_names, full.dns_names, "byte {at} ^ {flip:#x}");
                    assert_eq!(walked.is_precert, full.is_precert, "byte {at} ^ {flip:#x}");
                    if let Some(by_walk) = walk_of(&changed) {
                        assert_eq!(by_walk, (full.dns_names, full.is_precert), "byte {at}");
                        walked_compared += 1;
                    }
                    compared += 1;
                    names_seen += usize::from(!walked.dns_names.is_empty());
                }
            }
        }
        assert!(compared > 1_000, "{compared}");
        assert!(walked_compared > 1_000, "{walked_compared}");
        assert!(
            walked_compared < compared,
            "no change left to the whole parse"
        );
        assert!(names_seen > 1_000, "{names_seen}");
        assert!(hashes_compared > 1_000, "{hashes_compared}");
        let facts_of = |der: &[u8]| facts(der).unwrap().dns_names;
        let certificates = varied_certificates();
        assert_eq!(
            facts_of(&certificates[0]),
            [
                "*.example.org",
                "shop.example.org",
                "www.example.org",
                "xn--bcher-kva.example"
            ]
        );
        assert_eq!(facts_of(&certificates[1]), ["legacy.example.com"]);
        assert!(facts(&certificates[2]).unwrap().is_precert);
    }

    /// Found by the `ct_entry` fuzz target: x509-parser reads the extensions
    /// from after the `[3]` field's header to the end of the TBSCertificate,
    /// whatever that field's length says. Not strict DER, so not walked.
    #[test]
    fn what_only_x509_parser_reads_takes_its_whole_parse() {
        let tbs = include_bytes!("../testdata/extensions-past-their-length.tbs");
        assert_eq!(walk_of(tbs), None);
        let full = describe_tbs_der(tbs).unwrap();
        let facts = tbs_facts(tbs).unwrap();
        assert_eq!(
            (facts.dns_names, facts.is_precert),
            (full.dns_names, full.is_precert)
        );
    }
}
