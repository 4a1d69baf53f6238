//! RFC 6962 log entries: the `MerkleTreeLeaf` in `leaf_input` and the
//! chain in `extra_data`, as `get-entries` returns them (base64-decoded).
//! A TLS-presentation-language parser written by hand: no crate reads these
//! structures, and they are a handful of length-prefixed fields. Malformed
//! input is an error, never a panic.
//!
//! The certificates of an entry are [`Bytes`] views of the decoded input,
//! not copies: copying each certificate out was a tenth of a CT entry's
//! cost on the hot path, where nearly every entry is parsed and dropped.

use bytes::Bytes;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeafError {
    #[error("truncated: wanted {wanted} more bytes at offset {at}")]
    Truncated { at: usize, wanted: usize },
    #[error("unsupported MerkleTreeLeaf version {0}")]
    Version(u8),
    #[error("unsupported leaf type {0}")]
    LeafType(u8),
    #[error("unknown entry type {0}")]
    EntryType(u16),
    #[error("{0} trailing bytes")]
    Trailing(usize),
}

/// What a log entry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A final certificate (DER).
    X509 { certificate: Bytes },
    /// A precertificate: the TBS the log signed (poison and issuer already
    /// as the final certificate will have them), and the issuer key hash.
    Precert {
        issuer_key_hash: [u8; 32],
        tbs_certificate: Bytes,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Milliseconds since the epoch, from the log.
    pub timestamp: u64,
    pub kind: EntryKind,
    /// From `extra_data`: the issuing chain; for a precert, the
    /// precertificate itself first.
    pub chain: Vec<Bytes>,
}

impl LogEntry {
    /// The DER that identifies the entry: the certificate, or for a
    /// precert the precertificate (first in the chain), if present.
    pub fn logged_der(&self) -> Option<&[u8]> {
        match &self.kind {
            EntryKind::X509 { certificate } => Some(certificate),
            EntryKind::Precert { .. } => self.chain.first().map(|der| &der[..]),
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], LeafError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(LeafError::Truncated {
                at: self.at,
                wanted: n,
            });
        };
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn uint(&mut self, width: usize) -> Result<u64, LeafError> {
        Ok(self
            .take(width)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// A `<0..2^(8*width)-1>` vector: length prefix, then bytes.
    fn vector(&mut self, width: usize) -> Result<&'a [u8], LeafError> {
        let len = self.uint(width)? as usize;
        self.take(len)
    }

    fn done(&self) -> Result<(), LeafError> {
        match self.bytes.len() - self.at {
            0 => Ok(()),
            n => Err(LeafError::Trailing(n)),
        }
    }
}

/// Parses `leaf_input` and `extra_data` of one `get-entries` item.
pub fn parse_entry(leaf_input: &Bytes, extra_data: &Bytes) -> Result<LogEntry, LeafError> {
    let mut leaf = Reader::new(leaf_input);
    match leaf.uint(1)? as u8 {
        0 => {}
        v => return Err(LeafError::Version(v)),
    }
    match leaf.uint(1)? as u8 {
        0 => {}
        t => return Err(LeafError::LeafType(t)),
    }
    let timestamp = leaf.uint(8)?;
    let entry_type = leaf.uint(2)? as u16;
    let kind = match entry_type {
        0 => EntryKind::X509 {
            certificate: leaf_input.slice_ref(leaf.vector(3)?),
        },
        1 => {
            let mut issuer_key_hash = [0u8; 32];
            issuer_key_hash.copy_from_slice(leaf.take(32)?);
            EntryKind::Precert {
                issuer_key_hash,
                tbs_certificate: leaf_input.slice_ref(leaf.vector(3)?),
            }
        }
        other => return Err(LeafError::EntryType(other)),
    };
    leaf.vector(2)?; // CtExtensions, empty in practice
    leaf.done()?;

    let mut extra = Reader::new(extra_data);
    let mut chain = Vec::new();
    if entry_type == 1 {
        chain.push(extra_data.slice_ref(extra.vector(3)?)); // the precertificate
    }
    let mut certificates = Reader::new(extra.vector(3)?);
    while certificates.at < certificates.bytes.len() {
        chain.push(extra_data.slice_ref(certificates.vector(3)?));
    }
    extra.done()?;
    Ok(LogEntry {
        timestamp,
        kind,
        chain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(leaf_input: &[u8], extra_data: &[u8]) -> Result<LogEntry, LeafError> {
        parse_entry(
            &Bytes::copy_from_slice(leaf_input),
            &Bytes::copy_from_slice(extra_data),
        )
    }

    fn u24(n: usize) -> [u8; 3] {
        [(n >> 16) as u8, (n >> 8) as u8, n as u8]
    }

    fn vec24(bytes: &[u8]) -> Vec<u8> {
        let mut out = u24(bytes.len()).to_vec();
        out.extend_from_slice(bytes);
        out
    }

    fn leaf(entry_type: u16, body: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0];
        out.extend_from_slice(&1_700_000_000_000u64.to_be_bytes());
        out.extend_from_slice(&entry_type.to_be_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(&[0, 0]);
        out
    }

    #[test]
    fn x509_entry_with_chain() {
        let cert = b"\x30\x03\x02\x01\x01";
        let input = leaf(0, &vec24(cert));
        let issuers = [vec24(b"issuer-1"), vec24(b"root")].concat();
        let entry = parse(&input, &vec24(&issuers)).unwrap();
        assert_eq!(entry.timestamp, 1_700_000_000_000);
        assert_eq!(
            entry.kind,
            EntryKind::X509 {
                certificate: Bytes::from_static(cert)
            }
        );
        assert_eq!(entry.chain, vec![b"issuer-1".to_vec(), b"root".to_vec()]);
        assert_eq!(entry.logged_der(), Some(cert.as_slice()));
    }

    #[test]
    fn precert_entry_keeps_its_tbs_and_precertificate() {
        let tbs = b"\x30\x02\x05\x00";
        let mut body = vec![7u8; 32];
        body.extend(vec24(tbs));
        let input = leaf(1, &body);
        let extra = [vec24(b"precert"), vec24(&vec24(b"issuer"))].concat();
        let entry = parse(&input, &extra).unwrap();
        assert_eq!(entry.chain, vec![b"precert".to_vec(), b"issuer".to_vec()]);
        assert_eq!(entry.logged_der(), Some(b"precert".as_slice()));
        assert!(matches!(
            entry.kind,
            EntryKind::Precert { ref tbs_certificate, .. } if tbs_certificate[..] == tbs[..]
        ));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let good = leaf(0, &vec24(b"cert"));
        for cut in 0..good.len() {
            assert!(parse(&good[..cut], &vec24(&[])).is_err(), "cut at {cut}");
        }
        assert_eq!(parse(&leaf(9, &[]), &[]), Err(LeafError::EntryType(9)));
        let mut bad_version = good.clone();
        bad_version[0] = 1;
        assert_eq!(parse(&bad_version, &vec24(&[])), Err(LeafError::Version(1)));
        // A length that claims more than there is.
        let lying = leaf(0, &[0xff, 0xff, 0xff, 1, 2]);
        assert!(matches!(
            parse(&lying, &[]),
            Err(LeafError::Truncated { .. })
        ));
        let mut trailing = vec24(&[]);
        trailing.push(0);
        assert_eq!(parse(&good, &trailing), Err(LeafError::Trailing(1)));
    }
}
