//! static-ct-api ("tiled") logs: `/checkpoint` for the tree head,
//! `/tile/data/<N>[.p/<W>]` for entries (256 per full tile; gzip is
//! accepted), `/issuer/<sha256>` for the chain certificates that data
//! tiles name by fingerprint, and the hash tiles `/tile/<L>/<N>` for the
//! tree's right edge when reading starts at the log's end.
//!
//! A data tile is a run of `TileLeaf` structures:
//!
//! ```text
//! TimestampedEntry timestamped_entry;   // as in RFC 6962's MerkleTreeLeaf
//! select (entry_type) { x509: Empty; precert: ASN.1Cert pre_certificate<1..2^24-1>; }
//! Fingerprint certificate_chain<0..2^16-1>;   // SHA-256 of each issuer
//! ```
//!
//! The Merkle leaf is `0x00 0x00 || timestamped_entry`, so the same
//! collapsed tree verifies the checkpoint's root.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;

use crate::leaf::{EntryKind, LeafError, LogEntry, parse_entry};
use crate::log::{LogError, LogSource, Pacer, RawLeaf, SignedTreeHead, paced_get};
use crate::merkle::{CollapsedTree, Hash, root_of};

pub const TILE_WIDTH: u64 = 256;

/// The path of tile index `n`: `x001/x234/067` for 1234067.
pub fn tile_path(n: u64) -> String {
    let digits = n.to_string();
    let padded = format!("{}{digits}", "0".repeat((3 - digits.len() % 3) % 3));
    let groups: Vec<&str> = padded
        .as_bytes()
        .chunks(3)
        .map(|c| std::str::from_utf8(c).expect("ASCII digits"))
        .collect();
    let last = groups.len() - 1;
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            if i < last {
                format!("x{g}")
            } else {
                g.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The tile resource `tile/<level>/<N>`, with `.p/<width>` when the tile
/// is partial (`level` is `data` for entries, a number for hashes).
fn tile_resource(level: &str, index: u64, width: u64) -> String {
    let path = format!("tile/{level}/{}", tile_path(index));
    if width < TILE_WIDTH {
        format!("{path}.p/{width}")
    } else {
        path
    }
}

/// Parses a checkpoint: origin, tree size, base64 root hash (then
/// signatures, which are not checked here).
pub fn parse_checkpoint(text: &str) -> Result<SignedTreeHead, LogError> {
    let mut lines = text.lines();
    let malformed = |why: &str| LogError::Malformed(format!("checkpoint: {why}"));
    lines.next().ok_or_else(|| malformed("no origin line"))?;
    let tree_size = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| malformed("no tree size"))?;
    let root = lines
        .next()
        .and_then(|l| {
            base64::engine::general_purpose::STANDARD
                .decode(l.trim())
                .ok()
        })
        .ok_or_else(|| malformed("no root hash"))?;
    Ok(SignedTreeHead {
        tree_size,
        timestamp: 0,
        root_hash: root
            .try_into()
            .map_err(|_| malformed("the root hash is not 32 bytes"))?,
    })
}

/// One leaf of a data tile: the Merkle leaf input, the entry (chain still
/// as fingerprints), and where the next leaf starts.
struct TileLeaf {
    leaf_input: Bytes,
    entry: Result<LogEntry, LeafError>,
    fingerprints: Vec<[u8; 32]>,
}

fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> Result<&'a [u8], LeafError> {
    let end = at
        .checked_add(n)
        .filter(|e| *e <= bytes.len())
        .ok_or(LeafError::Truncated { at: *at, wanted: n })?;
    let out = &bytes[*at..end];
    *at = end;
    Ok(out)
}

fn uint(bytes: &[u8], at: &mut usize, width: usize) -> Result<usize, LeafError> {
    Ok(take(bytes, at, width)?
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | *b as usize))
}

/// Reads one `TileLeaf` at `*at`.
fn read_tile_leaf(tile: &[u8], at: &mut usize) -> Result<TileLeaf, LeafError> {
    let start = *at;
    take(tile, at, 8)?; // timestamp
    let entry_type = uint(tile, at, 2)?;
    match entry_type {
        0 => {
            let len = uint(tile, at, 3)?;
            take(tile, at, len)?;
        }
        1 => {
            take(tile, at, 32)?;
            let len = uint(tile, at, 3)?;
            take(tile, at, len)?;
        }
        other => return Err(LeafError::EntryType(other as u16)),
    }
    let extensions = uint(tile, at, 2)?;
    take(tile, at, extensions)?;
    let timestamped_entry = &tile[start..*at];
    let mut leaf_input = vec![0, 0];
    leaf_input.extend_from_slice(timestamped_entry);
    // The extra data: a precert's precertificate, then the fingerprints.
    let precertificate = if entry_type == 1 {
        let len = uint(tile, at, 3)?;
        Some(Bytes::copy_from_slice(take(tile, at, len)?))
    } else {
        None
    };
    let chain_len = uint(tile, at, 2)?;
    let chain = take(tile, at, chain_len)?;
    if chain_len % 32 != 0 {
        return Err(LeafError::Trailing(chain_len % 32));
    }
    let fingerprints = chain
        .chunks(32)
        .map(|c| c.try_into().expect("32-byte chunks"))
        .collect();
    // Parse the leaf as RFC 6962 does; the chain is filled in by the caller.
    // An empty chain (and, for a precert, an empty precertificate slot).
    let no_chain = Bytes::from_static(if entry_type == 1 { &[0; 6] } else { &[0; 3] });
    let leaf_input = Bytes::from(leaf_input);
    let entry = parse_entry(&leaf_input, &no_chain).map(|mut e| {
        if let (EntryKind::Precert { .. }, Some(pre)) = (&e.kind, precertificate) {
            e.chain = vec![pre];
        }
        e
    });
    Ok(TileLeaf {
        leaf_input,
        entry,
        fingerprints,
    })
}

/// A static-ct-api log's monitoring prefix.
pub struct TiledClient {
    http: reqwest::Client,
    /// Ends in `/`.
    base: String,
    pacer: Pacer,
    /// The last head read, so entries know whether a tile is partial.
    head_size: Mutex<u64>,
    issuers: Mutex<HashMap<[u8; 32], Bytes>>,
}

impl TiledClient {
    pub fn new(http: reqwest::Client, monitoring_url: &str, pacing: Duration) -> Self {
        let mut base = monitoring_url.to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        Self {
            http,
            base,
            pacer: Pacer::new(pacing),
            head_size: Mutex::new(0),
            issuers: Mutex::new(HashMap::new()),
        }
    }

    async fn fetch(&self, path: &str) -> Result<Vec<u8>, LogError> {
        let body = paced_get(&self.http, &self.pacer, format!("{}{path}", self.base))
            .await?
            .bytes()
            .await
            .map_err(|e| LogError::Transport(e.to_string()))?;
        Ok(body.to_vec())
    }

    /// The issuer certificate with this fingerprint (cached).
    /// A `Bytes` so that each entry's chain shares the cached DER.
    async fn issuer(&self, fingerprint: &[u8; 32]) -> Result<Bytes, LogError> {
        if let Some(der) = self.issuers.lock().expect("issuer cache").get(fingerprint) {
            return Ok(der.clone());
        }
        let der = Bytes::from(
            self.fetch(&format!("issuer/{}", hex::encode(fingerprint)))
                .await?,
        );
        self.issuers
            .lock()
            .expect("issuer cache")
            .insert(*fingerprint, der.clone());
        Ok(der)
    }
}

#[async_trait::async_trait]
impl LogSource for TiledClient {
    async fn tree_head(&self) -> Result<SignedTreeHead, LogError> {
        let text = self.fetch("checkpoint").await?;
        let head = parse_checkpoint(&String::from_utf8_lossy(&text))?;
        *self.head_size.lock().expect("head size") = head.tree_size;
        Ok(head)
    }

    /// From the hash tiles: each perfect subtree on the right edge is a
    /// run of 2^r aligned nodes in one tile of level ⌊k/8⌋ (a level-L node
    /// is a subtree of 256^L leaves).
    async fn frontier(&self, head: &SignedTreeHead) -> Result<CollapsedTree, LogError> {
        let size = head.tree_size;
        let mut tiles: HashMap<(u32, u64), Vec<u8>> = HashMap::new();
        let mut subtrees = Vec::new();
        let mut start = 0u64;
        for bit in (0..64u32).rev() {
            let leaves = 1u64 << bit;
            if size & leaves == 0 {
                continue;
            }
            let level = bit / 8;
            let unit = 1u64 << (8 * level);
            let first = start / unit;
            let nodes = (leaves / unit) as usize;
            let tile_index = first / TILE_WIDTH;
            let width = (size / unit - tile_index * TILE_WIDTH).min(TILE_WIDTH);
            if let std::collections::hash_map::Entry::Vacant(slot) =
                tiles.entry((level, tile_index))
            {
                let path = tile_resource(&level.to_string(), tile_index, width);
                let tile = self.fetch(&path).await?;
                if tile.len() as u64 != width * 32 {
                    return Err(LogError::Malformed(format!(
                        "hash tile {path} holds {} bytes, not {}",
                        tile.len(),
                        width * 32
                    )));
                }
                slot.insert(tile);
            }
            let tile = &tiles[&(level, tile_index)];
            let offset = ((first % TILE_WIDTH) * 32) as usize;
            let hashes: Vec<Hash> = tile[offset..offset + nodes * 32]
                .chunks(32)
                .map(|c| c.try_into().expect("32-byte chunks"))
                .collect();
            subtrees.push((root_of(&hashes), leaves));
            start += leaves;
        }
        CollapsedTree::from_subtrees(subtrees)
            .ok_or_else(|| LogError::Malformed("hash tiles do not form a tree".into()))
    }

    async fn leaves(&self, start: u64, end: u64) -> Result<Vec<RawLeaf>, LogError> {
        let size = *self.head_size.lock().expect("head size");
        let index = start / TILE_WIDTH;
        let tile_start = index * TILE_WIDTH;
        let width = (size.saturating_sub(tile_start)).min(TILE_WIDTH);
        if width == 0 {
            return Err(LogError::Malformed(format!(
                "entry {start} is beyond the checkpoint"
            )));
        }
        let tile = self.fetch(&tile_resource("data", index, width)).await?;
        let mut at = 0;
        let mut out = Vec::new();
        for i in tile_start..tile_start + width {
            let leaf = read_tile_leaf(&tile, &mut at)
                .map_err(|e| LogError::Malformed(format!("data tile {index}, leaf {i}: {e}")))?;
            if i < start || i > end {
                continue;
            }
            let mut entry = leaf.entry;
            if let Ok(e) = entry.as_mut() {
                for fingerprint in &leaf.fingerprints {
                    e.chain.push(self.issuer(fingerprint).await?);
                }
            }
            out.push(RawLeaf {
                leaf_input: leaf.leaf_input,
                entry,
            });
        }
        if out.is_empty() {
            return Err(LogError::Malformed(format!(
                "data tile {index} holds no entry {start}"
            )));
        }
        Ok(out)
    }
}

/// Encodes entries as a data tile (for fakes and tests): each entry's
/// `timestamped_entry` bytes (a MerkleTreeLeaf without its two leading
/// bytes), its precertificate, and its issuers' fingerprints.
pub fn encode_tile_leaf(
    timestamped_entry: &[u8],
    precertificate: Option<&[u8]>,
    issuer_fingerprints: &[[u8; 32]],
) -> Vec<u8> {
    let mut out = timestamped_entry.to_vec();
    if let Some(pre) = precertificate {
        out.extend_from_slice(&(pre.len() as u32).to_be_bytes()[1..]);
        out.extend_from_slice(pre);
    }
    out.extend_from_slice(&((issuer_fingerprints.len() * 32) as u16).to_be_bytes());
    for f in issuer_fingerprints {
        out.extend_from_slice(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_paths_group_digits() {
        assert_eq!(tile_path(0), "000");
        assert_eq!(tile_path(67), "067");
        assert_eq!(tile_path(1234), "x001/234");
        assert_eq!(tile_path(1_234_067), "x001/x234/067");
    }

    #[test]
    fn checkpoints_parse() {
        let root = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let text = format!("example.com/log\n42\n{root}\n\n— example.com/log Az3grl...\n");
        let head = parse_checkpoint(&text).unwrap();
        assert_eq!(head.tree_size, 42);
        assert_eq!(head.root_hash, [7u8; 32]);
        assert!(parse_checkpoint("origin\nxx\n").is_err());
        assert!(parse_checkpoint("origin\n1\nAAAA\n").is_err());
    }

    #[test]
    fn tile_leaves_parse_and_truncation_is_an_error() {
        let cert = b"certificate".to_vec();
        let mut entry = 1_700_000_000_000u64.to_be_bytes().to_vec();
        entry.extend_from_slice(&[0, 0]);
        entry.extend_from_slice(&(cert.len() as u32).to_be_bytes()[1..]);
        entry.extend_from_slice(&cert);
        entry.extend_from_slice(&[0, 0]);
        let tile = [
            encode_tile_leaf(&entry, None, &[[1; 32]]),
            encode_tile_leaf(&entry, None, &[]),
        ]
        .concat();
        let mut at = 0;
        let first = read_tile_leaf(&tile, &mut at).unwrap();
        assert_eq!(first.fingerprints, vec![[1; 32]]);
        assert_eq!(&first.leaf_input[2..], entry.as_slice());
        assert!(matches!(
            first.entry.unwrap().kind,
            EntryKind::X509 { certificate } if certificate == cert
        ));
        let second = read_tile_leaf(&tile, &mut at).unwrap();
        assert!(second.fingerprints.is_empty());
        assert_eq!(at, tile.len());
        for cut in 0..tile.len() / 2 {
            let mut at = 0;
            assert!(read_tile_leaf(&tile[..cut], &mut at).is_err(), "cut {cut}");
        }
    }
}
