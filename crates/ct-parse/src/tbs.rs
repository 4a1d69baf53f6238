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

/// DER content octets of the two OIDs. The poison's is also how `facts`
/// tells a precertificate, compared as bytes: formatting every extension's
/// OID as text cost an allocation each.
const SCT_LIST_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02];
pub(crate) const POISON_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x03];

const SEQUENCE: u8 = 0x30;
const BOOLEAN: u8 = 0x01;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const VERSION: u8 = 0xa0; // [0] EXPLICIT
const ISSUER_UID: u8 = 0x81; // [1] IMPLICIT BIT STRING
const SUBJECT_UID: u8 = 0x82; // [2] IMPLICIT BIT STRING
const EXTENSIONS: u8 = 0xa3; // [3] EXPLICIT

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
fn children(bytes: &[u8]) -> Option<Children<'_>> {
    let mut rest = bytes;
    while !rest.is_empty() {
        let (_, header, len) = tlv(rest)?;
        rest = &rest[header + len..];
    }
    Some(Children(bytes))
}

/// The TLVs of a content already checked by [`children`], in order. An
/// iterator rather than a `Vec`: this runs for every CT entry, and the
/// allocations were a tenth of its cost.
#[derive(Clone)]
pub(crate) struct Children<'a>(&'a [u8]);

impl<'a> Iterator for Children<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (_, header, len) = tlv(self.0)?;
        let (one, rest) = self.0.split_at(header + len);
        self.0 = rest;
        Some(one)
    }
}

fn content(whole: &[u8]) -> Option<&[u8]> {
    let (_, header, len) = tlv(whole)?;
    Some(&whole[header..header + len])
}

/// A DER length header for `tag` and `len` content bytes.
fn header(tag: u8, len: usize) -> Header {
    let mut out = Header {
        bytes: [0; 10],
        len: 2,
    };
    out.bytes[0] = tag;
    if len < 0x80 {
        out.bytes[1] = len as u8;
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.bytes[1] = 0x80 | (bytes.len() - skip) as u8;
        for b in &bytes[skip..] {
            out.bytes[out.len] = *b;
            out.len += 1;
        }
    }
    out
}

/// A DER tag and length, on the stack.
struct Header {
    bytes: [u8; 10],
    len: usize,
}

impl Header {
    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The content octets of an Extension's first field when that is an OID,
/// its `extnID`. Lenient: [`tbs_sha256`] hashes whatever TLVs it is given.
fn extension_id(extension: &[u8]) -> Option<&[u8]> {
    oid_content(content(extension)?)
}

/// The content octets of the first TLV of `bytes` when it is an OID.
fn oid_content(bytes: &[u8]) -> Option<&[u8]> {
    let (tag, header, len) = tlv(bytes)?;
    (tag == OID).then(|| &bytes[header..header + len])
}

fn is_ct_extension(extension: &[u8]) -> bool {
    matches!(extension_id(extension), Some(SCT_LIST_OID | POISON_OID))
}

/// The `extnID` and `extnValue` content octets of an Extension in strict
/// DER: an OID, an optional `critical` BOOLEAN and an OCTET STRING, nothing
/// else.
pub(crate) fn extension_parts(extension: &[u8]) -> Option<(&[u8], &[u8])> {
    if extension[0] != SEQUENCE {
        return None;
    }
    let mut fields = children(content(extension)?)?.peekable();
    let oid = fields.next().and_then(oid_content)?;
    fields.next_if(|critical| critical[0] == BOOLEAN);
    let value = fields
        .next()
        .filter(|f| f[0] == OCTET_STRING)
        .and_then(content)?;
    fields.next().is_none().then_some((oid, value))
}

/// The two fields of a TBSCertificate that every CT entry needs read, found
/// by walking its TLVs, and what its `tbs_sha256` needs of the walk.
pub(crate) struct NameFields<'a> {
    /// The subject Name, a whole TLV.
    pub subject: &'a [u8],
    /// Each Extension, a whole TLV; none for a certificate without them.
    pub extensions: Children<'a>,
    /// The whole TBSCertificate TLV.
    tbs: &'a [u8],
    /// Its content up to the `[3]` field (all of it without one).
    before_extensions: &'a [u8],
}

impl NameFields<'_> {
    /// [`tbs_sha256`] of the walked TBSCertificate, from this walk rather
    /// than another one: the same bytes, since a walked TBSCertificate ends
    /// with its `[3]` field.
    pub(crate) fn tbs_sha256(&self) -> [u8; 32] {
        if !self.extensions.clone().any(is_ct_extension) {
            return Sha256::digest(self.tbs).into();
        }
        spliced_sha256(
            self.before_extensions,
            self.extensions.clone().filter(|e| !is_ct_extension(e)),
            &[],
        )
    }
}

/// Finds the subject and the extensions of a TBSCertificate TLV, checking
/// that the whole of it is well-formed DER TLVs and that its fields come
/// with the tags and in the order RFC 5280 gives them, and nothing after;
/// `None` for anything else. It does not read the other fields' contents
/// (issuer, validity, key): for the entries that match nothing, almost all
/// of a log, nothing else is used, and parsing them was a third of an
/// entry's cost.
pub(crate) fn name_fields(tbs: &[u8]) -> Option<NameFields<'_>> {
    let (tag, _, _) = tlv(tbs)?;
    if tag != SEQUENCE {
        return None;
    }
    let fields_content = content(tbs)?;
    let mut fields = children(fields_content)?.peekable();
    fields.next_if(|version| version[0] == VERSION);
    let mut next_with = |tag: u8| fields.next().filter(|field| field[0] == tag);
    next_with(INTEGER)?; // serialNumber
    next_with(SEQUENCE)?; // signature
    next_with(SEQUENCE)?; // issuer
    next_with(SEQUENCE)?; // validity
    let subject = next_with(SEQUENCE)?;
    next_with(SEQUENCE)?; // subjectPublicKeyInfo
    fields.next_if(|uid| uid[0] == ISSUER_UID);
    fields.next_if(|uid| uid[0] == SUBJECT_UID);
    // Only the `[3]` field may follow, checked below: what comes before it
    // is the content but that field.
    let rest = fields.peek().map_or(0, |field| field.len());
    let before_extensions = &fields_content[..fields_content.len() - rest];
    let extensions = match fields.next() {
        None => Children(&[]),
        Some(field) if field[0] == EXTENSIONS => {
            let list = content(field)?;
            let (tag, header, len) = tlv(list)?;
            if tag != SEQUENCE || header + len != list.len() {
                return None;
            }
            children(content(list)?)?
        }
        Some(_) => return None,
    };
    fields.next().is_none().then_some(NameFields {
        subject,
        extensions,
        tbs,
        before_extensions,
    })
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
    let fields_content = content(tbs)?;
    let mut fields = children(fields_content)?;
    let mut before = 0;
    let extensions_field = loop {
        let Some(field) = fields.next() else {
            return Some(Sha256::digest(tbs).into());
        };
        if field[0] == EXTENSIONS {
            break field;
        }
        before += field.len();
    };
    let list = content(extensions_field)?;
    let (tag, _, _) = tlv(list)?;
    if tag != SEQUENCE {
        return None;
    }
    let extensions = children(content(list)?)?;
    if !extensions.clone().any(is_ct_extension) {
        return Some(Sha256::digest(tbs).into());
    }
    Some(spliced_sha256(
        &fields_content[..before],
        extensions.filter(|e| !is_ct_extension(e)),
        &fields_content[before + extensions_field.len()..],
    ))
}

/// SHA-256 of a TBSCertificate rebuilt from the fields `before` its `[3]`
/// field, that field holding only the `kept` extensions, and the fields
/// `after` it: the three enclosing headers are written anew, every other
/// byte is hashed as it was.
fn spliced_sha256<'a>(
    before: &[u8],
    kept: impl Iterator<Item = &'a [u8]> + Clone,
    after: &[u8],
) -> [u8; 32] {
    let list_len: usize = kept.clone().map(<[u8]>::len).sum();
    let list_header = header(SEQUENCE, list_len);
    let explicit_header = header(EXTENSIONS, list_header.len + list_len);
    let tbs_len = before.len() + explicit_header.len + list_header.len + list_len + after.len();
    let mut hasher = Sha256::new();
    hasher.update(header(SEQUENCE, tbs_len).as_slice());
    hasher.update(before);
    hasher.update(explicit_header.as_slice());
    hasher.update(list_header.as_slice());
    for extension in kept {
        hasher.update(extension);
    }
    hasher.update(after);
    hasher.finalize().into()
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
