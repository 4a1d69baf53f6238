//! Tailing an RFC 6962 log: `get-sth` and `get-entries`, fetched in
//! batches (a log may return fewer entries than asked for). Every leaf is
//! added to a collapsed Merkle tree, and when the position reaches the
//! signed tree head's size the computed root must equal the STH's; on a
//! mismatch the tailer rewinds to the last verified position, as Cert
//! Spotter does. The position and the verified tree are plain values, so
//! the caller persists them and a restart resumes exactly.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use crate::leaf::{LogEntry, parse_entry};
use crate::merkle::{CollapsedTree, Hash};

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
}

impl LogClient {
    pub fn new(http: reqwest::Client, base_url: &str) -> Self {
        let mut base = base_url.to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        Self { http, base }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, LogError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|e| LogError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        if status == 429 || status >= 500 {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
                .map(Duration::from_secs);
            return Err(LogError::Throttled {
                status,
                retry_after,
            });
        }
        if !(200..300).contains(&status) {
            return Err(LogError::Status(status));
        }
        response
            .json()
            .await
            .map_err(|e| LogError::Malformed(e.to_string()))
    }

    pub async fn get_sth(&self) -> Result<SignedTreeHead, LogError> {
        let sth: SthJson = self.get("ct/v1/get-sth").await?;
        let root = BASE64
            .decode(&sth.sha256_root_hash)
            .map_err(|e| LogError::Malformed(format!("sha256_root_hash: {e}")))?;
        let root_hash: Hash = root
            .try_into()
            .map_err(|_| LogError::Malformed("sha256_root_hash is not 32 bytes".into()))?;
        Ok(SignedTreeHead {
            tree_size: sth.tree_size,
            timestamp: sth.timestamp,
            root_hash,
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

/// One entry read from a log, with its index; `entry` is `Err` for an
/// entry that does not parse (it is still part of the tree).
#[derive(Debug)]
pub struct TailedEntry {
    pub index: u64,
    pub entry: Result<LogEntry, crate::leaf::LeafError>,
}

/// A log's read position and its verified state.
#[derive(Debug, Clone)]
pub struct Tailer {
    pub client: LogClient,
    /// Entries are requested this many at a time.
    pub batch: u64,
    /// Every entry read so far; its size is the next index to read.
    tree: CollapsedTree,
    /// The last position whose root matched a signed tree head.
    verified: CollapsedTree,
}

impl Tailer {
    /// Starts at a verified state (a fresh tree for index 0, or one restored
    /// from the store).
    pub fn new(client: LogClient, verified: CollapsedTree) -> Self {
        Self {
            client,
            batch: 256,
            tree: verified.clone(),
            verified,
        }
    }

    pub fn position(&self) -> u64 {
        self.tree.size()
    }

    /// The state to persist: it always matched a signed tree head.
    pub fn verified(&self) -> &CollapsedTree {
        &self.verified
    }

    /// Reads toward the log's current tree head, stopping after the batch
    /// that reaches `limit` entries, and verifies the root whenever the
    /// position arrives at the head.
    pub async fn poll(&mut self, limit: u64) -> Result<Vec<TailedEntry>, LogError> {
        let sth = self.client.get_sth().await?;
        let mut out = Vec::new();
        while self.tree.size() < sth.tree_size && (out.len() as u64) < limit {
            let start = self.tree.size();
            let end = (start + self.batch).min(sth.tree_size) - 1;
            for (leaf, extra) in self.client.get_entries(start, end).await? {
                let index = self.tree.size();
                self.tree.push(&leaf);
                out.push(TailedEntry {
                    index,
                    entry: parse_entry(&leaf, &extra),
                });
            }
        }
        if self.tree.size() == sth.tree_size {
            if self.tree.root() == sth.root_hash {
                self.verified = self.tree.clone();
            } else {
                let size = self.tree.size();
                self.tree = self.verified.clone();
                return Err(LogError::RootMismatch {
                    size,
                    rewound_to: self.tree.size(),
                });
            }
        }
        Ok(out)
    }
}
