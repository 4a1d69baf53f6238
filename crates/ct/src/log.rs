//! Tailing an RFC 6962 log: `get-sth` and `get-entries`, fetched in
//! batches (a log may return fewer entries than asked for). Every leaf is
//! added to a collapsed Merkle tree, and when the position reaches the
//! signed tree head's size the computed root must equal the STH's; on a
//! mismatch the tailer rewinds to the last verified position, as Cert
//! Spotter does. The position and the trees serialize ([`Tailer::state`]),
//! so the caller persists them and a restart resumes exactly.
//!
//! The tailer reads through [`LogSource`], which RFC 6962 logs
//! ([`LogClient`]) and static-ct-api logs ([`crate::tiled::TiledClient`])
//! implement. Each source paces its requests ([`Pacer`]).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use crate::leaf::{LogEntry, parse_entry};
use crate::merkle::{CollapsedTree, Hash, leaf_hash};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTreeHead {
    pub tree_size: u64,
    pub timestamp: u64,
    pub root_hash: Hash,
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("the log asks us to slow down (HTTP {status})")]
    Throttled {
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("HTTP {0}")]
    Status(u16),
    #[error("{0}")]
    Transport(String),
    #[error("malformed response: {0}")]
    Malformed(String),
    #[error(
        "the computed root at size {size} differs from the log's signed tree head; rewound to {rewound_to}"
    )]
    RootMismatch { size: u64, rewound_to: u64 },
}

#[derive(Deserialize)]
struct SthJson {
    tree_size: u64,
    timestamp: u64,
    sha256_root_hash: String,
}

#[derive(Deserialize)]
struct ProofJson {
    leaf_index: u64,
    audit_path: Vec<String>,
}

#[derive(Deserialize)]
struct EntriesJson {
    entries: Vec<EntryJson>,
}

#[derive(Deserialize)]
struct EntryJson {
    leaf_input: String,
    extra_data: String,
}

/// One log's HTTP API.
#[derive(Debug, Clone)]
pub struct LogClient {
    http: reqwest::Client,
    /// The log's URL prefix, ending in `/`.
    base: String,
    pacer: Arc<Pacer>,
}

/// Spaces one log's requests at least `interval` apart: logs rate-limit
/// their readers, and one slow reader should never trip that.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Pacer {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits for this request's turn.
    pub async fn wait(&self) {
        let mut next = self.next.lock().await;
        tokio::time::sleep_until(*next).await;
        *next = tokio::time::Instant::now() + self.interval;
    }
}

/// GETs `url` once `pacer` allows: the one request path of both log APIs.
/// A transport failure or a refusing status (429/5xx: slow down) is an error.
pub(crate) async fn paced_get(
    http: &reqwest::Client,
    pacer: &Pacer,
    url: String,
) -> Result<reqwest::Response, LogError> {
    pacer.wait().await;
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| LogError::Transport(e.to_string()))?;
    match status_error(&response) {
        Some(e) => Err(e),
        None => Ok(response),
    }
}

/// The error for a response status: 429 and 5xx ask the reader to slow down.
fn status_error(response: &reqwest::Response) -> Option<LogError> {
    let status = response.status().as_u16();
    if status == 429 || status >= 500 {
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
            .map(Duration::from_secs);
        return Some(LogError::Throttled {
            status,
            retry_after,
        });
    }
    (!(200..300).contains(&status)).then_some(LogError::Status(status))
}

impl LogClient {
    pub fn new(http: reqwest::Client, base_url: &str) -> Self {
        let mut base = base_url.to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        Self {
            http,
            base,
            pacer: Arc::new(Pacer::new(Duration::ZERO)),
        }
    }

    /// Spaces requests at least `interval` apart.
    pub fn with_pacing(mut self, interval: Duration) -> Self {
        self.pacer = Arc::new(Pacer::new(interval));
        self
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, LogError> {
        paced_get(&self.http, &self.pacer, format!("{}{path}", self.base))
            .await?
            .json()
            .await
            .map_err(|e| LogError::Malformed(e.to_string()))
    }

    pub async fn get_sth(&self) -> Result<SignedTreeHead, LogError> {
        let sth: SthJson = self.get("ct/v1/get-sth").await?;
        Ok(SignedTreeHead {
            tree_size: sth.tree_size,
            timestamp: sth.timestamp,
            root_hash: decode_hash(&sth.sha256_root_hash, "sha256_root_hash")?,
        })
    }

    /// Entries `start..=end`; possibly fewer than asked for, never none.
    pub async fn get_entries(
        &self,
        start: u64,
        end: u64,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, LogError> {
        let page: EntriesJson = self
            .get(&format!("ct/v1/get-entries?start={start}&end={end}"))
            .await?;
        if page.entries.is_empty() {
            return Err(LogError::Malformed(
                "get-entries returned no entries".into(),
            ));
        }
        page.entries
            .into_iter()
            .take((end - start + 1) as usize)
            .map(|e| {
                let leaf = BASE64
                    .decode(&e.leaf_input)
                    .map_err(|err| LogError::Malformed(format!("leaf_input: {err}")))?;
                let extra = BASE64
                    .decode(&e.extra_data)
                    .map_err(|err| LogError::Malformed(format!("extra_data: {err}")))?;
                Ok((leaf, extra))
            })
            .collect()
    }
}

fn decode_hash(b64: &str, what: &str) -> Result<Hash, LogError> {
    BASE64
        .decode(b64)
        .ok()
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| LogError::Malformed(format!("{what} is not a base64 SHA-256 hash")))
}

/// One leaf as a source returns it: the `MerkleTreeLeaf` bytes (for the
/// tree) and the parsed entry, `Err` when it does not parse (it is still
/// part of the tree).
#[derive(Debug)]
pub struct RawLeaf {
    pub leaf_input: bytes::Bytes,
    pub entry: Result<LogEntry, crate::leaf::LeafError>,
}

/// A log as the tailer reads it.
#[async_trait::async_trait]
pub trait LogSource: Send + Sync {
    /// The current tree head.
    async fn tree_head(&self) -> Result<SignedTreeHead, LogError>;
    /// Leaves `start..=end`; possibly fewer, never none.
    async fn leaves(&self, start: u64, end: u64) -> Result<Vec<RawLeaf>, LogError>;
    /// The tree at `head` as its right edge (the roots of its perfect
    /// subtrees), read from the log, so that a tailer starting at the end
    /// checks roots from there on. The caller compares its root with the
    /// head's before trusting it.
    async fn frontier(&self, head: &SignedTreeHead) -> Result<CollapsedTree, LogError>;
}

#[async_trait::async_trait]
impl LogSource for LogClient {
    async fn tree_head(&self) -> Result<SignedTreeHead, LogError> {
        self.get_sth().await
    }

    /// Cert Spotter's way: the last entry's audit path (`get-proof-by-hash`).
    async fn frontier(&self, head: &SignedTreeHead) -> Result<CollapsedTree, LogError> {
        if head.tree_size == 0 {
            return Ok(CollapsedTree::new());
        }
        let last = head.tree_size - 1;
        let (leaf, _) = self
            .get_entries(last, last)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| LogError::Malformed("get-entries returned no entries".into()))?;
        let hash = leaf_hash(&leaf);
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("hash", &BASE64.encode(hash))
            .append_pair("tree_size", &head.tree_size.to_string())
            .finish();
        let proof: ProofJson = self
            .get(&format!("ct/v1/get-proof-by-hash?{query}"))
            .await?;
        if proof.leaf_index != last {
            return Err(LogError::Malformed(format!(
                "get-proof-by-hash placed the last entry at {}, not {last}",
                proof.leaf_index
            )));
        }
        let path = proof
            .audit_path
            .iter()
            .map(|h| decode_hash(h, "an audit path hash"))
            .collect::<Result<Vec<_>, _>>()?;
        CollapsedTree::from_last_leaf_path(head.tree_size, hash, &path).ok_or_else(|| {
            LogError::Malformed("the audit path has the wrong length for the tree size".into())
        })
    }

    async fn leaves(&self, start: u64, end: u64) -> Result<Vec<RawLeaf>, LogError> {
        Ok(self
            .get_entries(start, end)
            .await?
            .into_iter()
            .map(|(leaf, extra)| {
                // The entry's certificates are views of these buffers.
                let (leaf, extra) = (bytes::Bytes::from(leaf), bytes::Bytes::from(extra));
                RawLeaf {
                    entry: parse_entry(&leaf, &extra),
                    leaf_input: leaf,
                }
            })
            .collect())
    }
}

/// One entry read from a log, with its index; `entry` is `Err` for an
/// entry that does not parse (it is still part of the tree).
#[derive(Debug)]
pub struct TailedEntry {
    pub index: u64,
    pub entry: Result<LogEntry, crate::leaf::LeafError>,
}

/// A log's read position and its verified state.
#[derive(Clone)]
pub struct Tailer {
    pub source: Arc<dyn LogSource>,
    /// Entries are requested this many at a time.
    pub batch: u64,
    /// The next index to read.
    position: u64,
    /// Every leaf read so far, when the tailer started at index 0; a log
    /// started mid-way is read without root checks.
    tree: Option<CollapsedTree>,
    /// The last position whose root matched a signed tree head.
    verified: Option<CollapsedTree>,
}

/// What [`Tailer::state`] persists.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredState {
    position: u64,
    tree: Option<Vec<(String, u64)>>,
    verified: Option<Vec<(String, u64)>>,
}

/// The verified tree size in a stored [`Tailer::state`]: `None` for a log
/// read without root checks (or a state that does not decode).
pub fn verified_size(state: &str) -> Option<u64> {
    let stored: StoredState = serde_json::from_str(state).ok()?;
    stored.tree.as_ref()?;
    Some(decode_tree(stored.verified?)?.size())
}

fn encode_tree(tree: &CollapsedTree) -> Vec<(String, u64)> {
    tree.subtrees()
        .iter()
        .map(|(h, n)| (hex::encode(h), *n))
        .collect()
}

fn decode_tree(stored: Vec<(String, u64)>) -> Option<CollapsedTree> {
    let subtrees = stored
        .into_iter()
        .map(|(h, n)| Some((hex::decode(h).ok()?.try_into().ok()?, n)))
        .collect::<Option<Vec<(Hash, u64)>>>()?;
    CollapsedTree::from_subtrees(subtrees)
}

impl Tailer {
    /// Starts at a verified state (a fresh tree for index 0, or one restored
    /// from the store).
    pub fn new(source: impl LogSource + 'static, verified: CollapsedTree) -> Self {
        Self::verified_at(Arc::new(source), verified)
    }

    /// Starts at the end of a tree already checked against the log's head
    /// (a [`LogSource::frontier`] whose root matched).
    pub fn verified_at(source: Arc<dyn LogSource>, verified: CollapsedTree) -> Self {
        Self {
            source,
            batch: 256,
            position: verified.size(),
            tree: Some(verified.clone()),
            verified: Some(verified),
        }
    }

    /// Starts at `position` without the tree before it: entries are read
    /// but roots cannot be checked (`CERTSENTRY_CT_START=end`).
    pub fn starting_at(source: Arc<dyn LogSource>, position: u64) -> Self {
        // From the very beginning the whole tree is known, so roots are checked.
        let tree = (position == 0).then(CollapsedTree::new);
        Self {
            source,
            batch: 256,
            position,
            verified: tree.clone(),
            tree,
        }
    }

    /// Restores a tailer from [`Tailer::state`]; `None` if it does not decode.
    pub fn restore(source: Arc<dyn LogSource>, state: &str) -> Option<Self> {
        let stored: StoredState = serde_json::from_str(state).ok()?;
        // A stored tree that does not decode makes the whole state unusable.
        let tree = match stored.tree {
            Some(t) => Some(decode_tree(t)?),
            None => None,
        };
        let verified = match stored.verified {
            Some(t) => Some(decode_tree(t)?),
            None => None,
        };
        if tree.as_ref().is_some_and(|t| t.size() != stored.position) {
            return None;
        }
        Some(Self {
            source,
            batch: 256,
            position: stored.position,
            tree,
            verified,
        })
    }

    /// The state to persist with the position.
    pub fn state(&self) -> String {
        serde_json::to_string(&StoredState {
            position: self.position,
            tree: self.tree.as_ref().map(encode_tree),
            verified: self.verified.as_ref().map(encode_tree),
        })
        .expect("tailer state always serializes")
    }

    pub fn position(&self) -> u64 {
        self.position
    }

    /// Whether roots are checked (the tailer has the whole tree).
    pub fn verifies(&self) -> bool {
        self.tree.is_some()
    }

    /// The last state that matched a signed tree head (empty when the
    /// tailer does not verify).
    pub fn verified(&self) -> CollapsedTree {
        self.verified.clone().unwrap_or_default()
    }

    /// Reads toward the log's current tree head, stopping after the batch
    /// that reaches `limit` entries, and verifies the root whenever the
    /// position arrives at the head. Returns the entries and the head's size.
    pub async fn poll(&mut self, limit: u64) -> Result<Vec<TailedEntry>, LogError> {
        Ok(self.poll_with_head(limit).await?.0)
    }

    /// [`Tailer::poll`], also returning the tree head's size (for the backlog).
    pub async fn poll_with_head(
        &mut self,
        limit: u64,
    ) -> Result<(Vec<TailedEntry>, u64), LogError> {
        let sth = self.source.tree_head().await?;
        let mut out = Vec::new();
        while self.position < sth.tree_size && (out.len() as u64) < limit {
            let start = self.position;
            let end = (start + self.batch).min(sth.tree_size) - 1;
            for leaf in self.source.leaves(start, end).await? {
                if let Some(tree) = self.tree.as_mut() {
                    tree.push(&leaf.leaf_input);
                }
                out.push(TailedEntry {
                    index: self.position,
                    entry: leaf.entry,
                });
                self.position += 1;
            }
        }
        if self.position == sth.tree_size
            && let Some(tree) = &self.tree
        {
            if tree.root() == sth.root_hash {
                self.verified = Some(tree.clone());
            } else {
                let size = tree.size();
                let verified = self.verified.clone().unwrap_or_default();
                self.position = verified.size();
                self.tree = Some(verified);
                return Err(LogError::RootMismatch {
                    size,
                    rewound_to: self.position,
                });
            }
        }
        Ok((out, sth.tree_size))
    }
}
