//! Cert Spotter's `tbs_sha256`, computed by splicing DER bytes.
//!
//! The hash is of the TBSCertificate without the CT extensions: the SCT list
//! (1.3.6.1.4.1.11129.2.4.2) of a final certificate and the poison
//! (1.3.6.1.4.1.11129.2.4.3) of a precertificate. Both are removed where
//! present, so a precertificate and its final certificate hash the same.
//!
//! Rather than decode and re-encode the whole certificate, this walks the
//! TLV headers down to the extension list, drops the CT extensions' bytes
//! and rewrites the three enclosing length headers; every other byte is
//! hashed as it was. That is what a DER re-encoder produces for a DER input
//! (the test checks it against `x509-cert`), at a fraction of the cost.

use sha2::{Digest, Sha256};

/// DER content octets of the two OIDs.
const SCT_LIST_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02];
const POISON_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x03];

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;
const EXTENSIONS: u8 = 0xa3; // [3] EXPLICIT, constructed

/// One TLV at the start of `bytes`: (tag, header length, content length).
fn tlv(bytes: &[u8]) -> Option<(u8, usize, usize)> {
    let tag = *bytes.first()?;
    if tag & 0x1f == 0x1f {
        return None; // multi-byte tags never occur in these structures
    }
    let first = *bytes.get(1)?;
    let (header, len) = if first < 0x80 {
        (2, first as usize)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let len = bytes
            .get(2..2 + n)?
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (2 + n, len)
    };
    (header.checked_add(len)? <= bytes.len()).then_some((tag, header, len))
}

/// Splits `bytes` into its consecutive TLVs (whole TLV slices).
fn children(mut bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::with_capacity(10);
    while !bytes.is_empty() {
        let (_, header, len) = tlv(bytes)?;
        let (one, rest) = bytes.split_at(header + len);
        out.push(one);
        bytes = rest;
    }
    Some(out)
}

fn content(whole: &[u8]) -> Option<&[u8]> {
    let (_, header, len) = tlv(whole)?;
    Some(&whole[header..header + len])
}

/// A DER length header for `tag` and `len` content bytes.
fn header(tag: u8, len: usize) -> Vec<u8> {
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out
}

fn is_ct_extension(extension: &[u8]) -> bool {
    content(extension)
        .and_then(|c| {
            let (tag, header, len) = tlv(c)?;
            Some(tag == OID && matches!(&c[header..header + len], SCT_LIST_OID | POISON_OID))
        })
        .unwrap_or(false)
}

/// The TBSCertificate TLV of a certificate's DER.
pub fn certificate_tbs(certificate: &[u8]) -> Option<&[u8]> {
    let (tag, _, _) = tlv(certificate)?;
    if tag != SEQUENCE {
        return None;
    }
    let inner = content(certificate)?;
    let (tag, header, len) = tlv(inner)?;
    (tag == SEQUENCE).then(|| &inner[..header + len])
}

/// `tbs_sha256` of a TBSCertificate TLV (a precert's `leaf_input` TBS, or
/// [`certificate_tbs`] of a certificate); `None` if it is not DER.
pub fn tbs_sha256(tbs: &[u8]) -> Option<[u8; 32]> {
    let (tag, _, _) = tlv(tbs)?;
    if tag != SEQUENCE {
        return None;
    }
    let fields = children(content(tbs)?)?;
    let mut hasher = Sha256::new();
    let Some(at) = fields.iter().position(|f| f[0] == EXTENSIONS) else {
        hasher.update(tbs);
        return Some(hasher.finalize().into());
    };
    let list = content(fields[at])?;
    let (tag, _, _) = tlv(list)?;
    if tag != SEQUENCE {
        return None;
    }
    let extensions = children(content(list)?)?;
    if !extensions.iter().any(|e| is_ct_extension(e)) {
        hasher.update(tbs);
        return Some(hasher.finalize().into());
    }
    let kept: Vec<&[u8]> = extensions
        .into_iter()
        .filter(|e| !is_ct_extension(e))
        .collect();
    let list_len: usize = kept.iter().map(|e| e.len()).sum();
    let list_header = header(SEQUENCE, list_len);
    let explicit_header = header(EXTENSIONS, list_header.len() + list_len);
    let others: usize = fields
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != at)
        .map(|(_, f)| f.len())
        .sum();
    let tbs_len = others + explicit_header.len() + list_header.len() + list_len;
    hasher.update(header(SEQUENCE, tbs_len));
    for field in &fields[..at] {
        hasher.update(field);
    }
    hasher.update(&explicit_header);
    hasher.update(&list_header);
    for extension in kept {
        hasher.update(extension);
    }
    for field in &fields[at + 1..] {
        hasher.update(field);
    }
    Some(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, CustomExtension, KeyPair};
    use x509_cert::der::{Decode, Encode};

    /// The reference: decode with `x509-cert`, drop the CT extensions from
    /// the `[3]` field, re-encode.
    fn reencoded(der: &[u8]) -> String {
        use x509_cert::der::{Any, Tag, TagNumber, Tagged};
        let cert = x509_cert::Certificate::from_der(der).unwrap();
        let tbs = cert.tbs_certificate().to_der().unwrap();
        let mut fields: Vec<Any> = Vec::<Any>::from_der(&tbs).unwrap();
        let tag = Tag::ContextSpecific {
            constructed: true,
            number: TagNumber(3),
        };
        for field in fields.iter_mut().filter(|f| f.tag() == tag) {
            let mut extensions = x509_cert::ext::Extensions::from_der(field.value()).unwrap();
            extensions.retain(|e| {
                let id = e.extn_id.to_string();
                id != "1.3.6.1.4.1.11129.2.4.2" && id != "1.3.6.1.4.1.11129.2.4.3"
            });
            *field = Any::new(tag, extensions.to_der().unwrap()).unwrap();
        }
        hex::encode(Sha256::digest(fields.to_der().unwrap()))
    }

    fn oid(dotted: &str) -> Vec<u64> {
        dotted.split('.').map(|p| p.parse().unwrap()).collect()
    }

    fn certificate(names: usize, extension: Option<CustomExtension>) -> Vec<u8> {
        let names: Vec<String> = (0..names).map(|i| format!("n{i}.example.org")).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.custom_extensions = extension.into_iter().collect();
        params
            .self_signed(&KeyPair::generate().unwrap())
            .unwrap()
            .der()
            .to_vec()
    }

    #[test]
    fn splicing_equals_re_encoding() {
        let sct = || {
            // Long enough to need a long-form length.
            CustomExtension::from_oid_content(&oid("1.3.6.1.4.1.11129.2.4.2"), vec![0x04; 300])
        };
        let mut poison =
            CustomExtension::from_oid_content(&oid("1.3.6.1.4.1.11129.2.4.3"), vec![0x05, 0x00]);
        poison.set_criticality(true);
        // Small and large certificates, so every length form is crossed.
        for names in [1, 3, 40] {
            for extension in [None, Some(sct()), Some(poison.clone())] {
                let der = certificate(names, extension);
                let tbs = certificate_tbs(&der).unwrap();
                assert_eq!(hex::encode(tbs_sha256(tbs).unwrap()), reencoded(&der));
            }
        }
    }

    #[test]
    fn garbage_is_refused() {
        assert!(tbs_sha256(b"").is_none());
        assert!(tbs_sha256(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(certificate_tbs(&[0x30, 0x03, 0x02, 0x01]).is_none());
        assert!(tbs_sha256(&[0x30, 0x02, 0xa3, 0x00]).is_none());
    }
}
