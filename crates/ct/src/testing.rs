//! Loopback fakes for CT tests (feature `testing`):
//! - [`TestCa`] issues certificates as CAs do for CT: a precertificate
//!   (with the poison extension), the final certificate (with an SCT list)
//!   and the TBS the log signs for the precert, all from one TBS;
//! - [`FakeLog`] serves the same entries as an RFC 6962 log (`get-sth`,
//!   `get-entries`, `get-proof-by-hash`) and as a static-ct-api log
//!   (`checkpoint`, data and hash tiles, gzip-compressed, `issuer/`), and
//!   counts how often each entry was served, so tests can see that nothing
//!   is read twice;
//! - [`log_list_json`] names such logs in a v3 log list.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DnType, IsCa, KeyPair,
    SerialNumber,
};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

use crate::merkle::{Hash, audit_path, leaf_hash, root_of};
use crate::tiled::{TILE_WIDTH, encode_tile_leaf};

const SCT_LIST_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2];
const POISON_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 3];

/// A CA that issues precertificate/certificate pairs.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// One issuance, as a CA submits it to CT.
#[derive(Debug, Clone)]
pub struct Issued {
    /// With the critical poison extension.
    pub precertificate: Vec<u8>,
    /// With an SCT list extension.
    pub certificate: Vec<u8>,
    /// The precert's TBSCertificate without the poison: what a precert log
    /// entry carries.
    pub precert_tbs: Vec<u8>,
    /// The issuing CA's certificate.
    pub issuer: Vec<u8>,
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new("CertSentry Test CA")
    }
}

impl TestCa {
    pub fn new(organization: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "CT1");
        params
            .distinguished_name
            .push(DnType::OrganizationName, organization);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        Self { issuer }
    }

    pub fn der(&self) -> Vec<u8> {
        self.issuer.der().to_vec()
    }

    /// Issues `names` (the first is also the subject CN) with `serial`.
    pub fn issue(&self, names: &[&str], serial: u64) -> Issued {
        let key = KeyPair::generate().expect("leaf key");
        let build = |extension: Option<CustomExtension>| {
            let mut params =
                CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                    .expect("leaf params");
            params.distinguished_name.push(DnType::CommonName, names[0]);
            params.serial_number = Some(SerialNumber::from(serial.to_be_bytes().to_vec()));
            params.not_before = rcgen::date_time_ymd(2026, 11, 1);
            params.not_after = rcgen::date_time_ymd(2027, 1, 30);
            params.custom_extensions = extension.into_iter().collect();
            params
                .signed_by(&key, &self.issuer)
                .expect("leaf certificate")
                .der()
                .to_vec()
        };
        let mut poison = CustomExtension::from_oid_content(POISON_OID, vec![5, 0]);
        poison.set_criticality(true);
        let scts = CustomExtension::from_oid_content(SCT_LIST_OID, vec![4, 2, 0, 0]);
        // Without either extension, the TBS is exactly the precert's minus its poison.
        let bare = build(None);
        Issued {
            precertificate: build(Some(poison)),
            certificate: build(Some(scts)),
            precert_tbs: crate::tbs::certificate_tbs(&bare)
                .expect("rcgen writes DER")
                .to_vec(),
            issuer: self.der(),
        }
    }
}

/// One logged entry.
#[derive(Debug, Clone)]
pub enum FakeEntry {
    X509 {
        certificate: Vec<u8>,
        chain: Vec<Vec<u8>>,
    },
    Precert {
        precertificate: Vec<u8>,
        tbs: Vec<u8>,
        issuer_key_hash: [u8; 32],
        chain: Vec<Vec<u8>>,
    },
}

fn u24(len: usize) -> [u8; 3] {
    let b = (len as u32).to_be_bytes();
    [b[1], b[2], b[3]]
}

fn with_u24(bytes: &[u8]) -> Vec<u8> {
    let mut out = u24(bytes.len()).to_vec();
    out.extend_from_slice(bytes);
    out
}

fn chain_bytes(chain: &[Vec<u8>]) -> Vec<u8> {
    with_u24(&chain.iter().flat_map(|c| with_u24(c)).collect::<Vec<u8>>())
}

impl FakeEntry {
    /// The final certificate of `issued`, with its issuer as the chain.
    pub fn certificate(issued: &Issued) -> Self {
        Self::X509 {
            certificate: issued.certificate.clone(),
            chain: vec![issued.issuer.clone()],
        }
    }

    /// The precertificate of `issued`.
    pub fn precertificate(issued: &Issued) -> Self {
        use x509_parser::prelude::*;
        let (_, issuer) = X509Certificate::from_der(&issued.issuer).expect("issuer DER");
        Self::Precert {
            precertificate: issued.precertificate.clone(),
            tbs: issued.precert_tbs.clone(),
            issuer_key_hash: Sha256::digest(issuer.tbs_certificate.subject_pki.raw).into(),
            chain: vec![issued.issuer.clone()],
        }
    }

    /// RFC 6962's `TimestampedEntry`.
    pub fn timestamped_entry(&self, timestamp: u64) -> Vec<u8> {
        let mut out = timestamp.to_be_bytes().to_vec();
        match self {
            Self::X509 { certificate, .. } => {
                out.extend_from_slice(&[0, 0]);
                out.extend(with_u24(certificate));
            }
            Self::Precert {
                tbs,
                issuer_key_hash,
                ..
            } => {
                out.extend_from_slice(&[0, 1]);
                out.extend_from_slice(issuer_key_hash);
                out.extend(with_u24(tbs));
            }
        }
        out.extend_from_slice(&[0, 0]); // no extensions
        out
    }

    /// `get-entries`' `leaf_input`: the `MerkleTreeLeaf` (v1, a timestamped entry).
    pub fn leaf_input(&self, timestamp: u64) -> Vec<u8> {
        let mut leaf = vec![0, 0];
        leaf.extend(self.timestamped_entry(timestamp));
        leaf
    }

    /// `get-entries`' `extra_data`.
    pub fn extra_data(&self) -> Vec<u8> {
        match self {
            Self::X509 { chain, .. } => chain_bytes(chain),
            Self::Precert {
                precertificate,
                chain,
                ..
            } => [with_u24(precertificate), chain_bytes(chain)].concat(),
        }
    }

    fn chain(&self) -> &[Vec<u8>] {
        match self {
            Self::X509 { chain, .. } | Self::Precert { chain, .. } => chain,
        }
    }

    fn tile_leaf(&self, timestamp: u64) -> Vec<u8> {
        let fingerprints: Vec<[u8; 32]> = self
            .chain()
            .iter()
            .map(|c| Sha256::digest(c).into())
            .collect();
        let precertificate = match self {
            Self::Precert { precertificate, .. } => Some(precertificate.as_slice()),
            Self::X509 { .. } => None,
        };
        encode_tile_leaf(
            &self.timestamped_entry(timestamp),
            precertificate,
            &fingerprints,
        )
    }
}

#[derive(Default)]
struct LogState {
    entries: Vec<FakeEntry>,
    /// `MerkleTreeLeaf` bytes, one per entry.
    leaves: Vec<Vec<u8>>,
    hashes: Vec<Hash>,
    /// The tree size the log's head shows.
    published: usize,
    /// The most entries one `get-entries` answer holds.
    page_limit: usize,
    /// How often each entry was returned, per API.
    served_rfc6962: Vec<u32>,
    served_tiled: Vec<u32>,
    /// Answer the next request with 429 and this `Retry-After` (seconds).
    throttle_next: Option<u64>,
    /// Publish a wrong root hash in the tree head.
    tamper_root: bool,
}

/// A CT log on loopback with both APIs over the same entries.
#[derive(Clone)]
pub struct FakeLog {
    state: Arc<Mutex<LogState>>,
    /// The RFC 6962 prefix (`…/rfc6962/`), as a log list's `url`.
    pub rfc6962_url: String,
    /// The static-ct-api prefix (`…/tiled/`), as a log list's `monitoring_url`.
    pub tiled_url: String,
}

/// Timestamps are a fixed base plus the index, so both APIs agree.
const BASE_TIMESTAMP: u64 = 1_793_491_200_000;

impl FakeLog {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let state = Arc::new(Mutex::new(LogState {
            page_limit: 1000,
            ..LogState::default()
        }));
        let served = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = served.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(answer(&state, &request)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            state,
            rfc6962_url: format!("http://{address}/rfc6962/"),
            tiled_url: format!("http://{address}/tiled/"),
        }
    }

    /// Appends entries (not yet in the published tree head).
    pub fn append(&self, entries: impl IntoIterator<Item = FakeEntry>) {
        let mut state = self.state.lock().expect("log state");
        for entry in entries {
            let index = state.entries.len() as u64;
            let leaf = entry.leaf_input(BASE_TIMESTAMP + index);
            state.hashes.push(leaf_hash(&leaf));
            state.leaves.push(leaf);
            state.entries.push(entry);
            state.served_rfc6962.push(0);
            state.served_tiled.push(0);
        }
    }

    /// Publishes a tree head covering every entry appended so far.
    pub fn publish(&self) {
        let mut state = self.state.lock().expect("log state");
        state.published = state.entries.len();
    }

    /// At most `limit` entries per `get-entries` answer.
    pub fn set_page_limit(&self, limit: usize) {
        self.state.lock().expect("log state").page_limit = limit.max(1);
    }

    /// Answers the next request with 429 and `Retry-After: retry_after_s`.
    pub fn throttle_next(&self, retry_after_s: u64) {
        self.state.lock().expect("log state").throttle_next = Some(retry_after_s);
    }

    /// Makes the tree head's root hash wrong (or right again).
    pub fn tamper_root(&self, tamper: bool) {
        self.state.lock().expect("log state").tamper_root = tamper;
    }

    /// How often each entry was served over RFC 6962 `get-entries`.
    pub fn served_rfc6962(&self) -> Vec<u32> {
        self.state.lock().expect("log state").served_rfc6962.clone()
    }

    /// How often each entry was served in a data tile.
    pub fn served_tiled(&self) -> Vec<u32> {
        self.state.lock().expect("log state").served_tiled.clone()
    }
}

fn reply(status: u16, content_type: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

fn json(body: serde_json::Value) -> Response<Full<Bytes>> {
    reply(200, "application/json", body.to_string().into_bytes())
}

fn not_found() -> Response<Full<Bytes>> {
    reply(404, "text/plain", b"not found".to_vec())
}

fn query_pairs(request: &Request<hyper::body::Incoming>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn query_u64(pairs: &[(String, String)], name: &str) -> Option<u64> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.parse().ok())
}

fn answer(
    state: &Mutex<LogState>,
    request: &Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    let mut state = state.lock().expect("log state");
    if let Some(retry_after) = state.throttle_next.take() {
        let mut response = reply(429, "text/plain", b"slow down".to_vec());
        response
            .headers_mut()
            .insert("retry-after", hyper::header::HeaderValue::from(retry_after));
        return response;
    }
    let path = request.uri().path().to_string();
    if let Some(rest) = path.strip_prefix("/rfc6962/ct/v1/") {
        return rfc6962(&mut state, rest, &query_pairs(request));
    }
    if let Some(rest) = path.strip_prefix("/tiled/") {
        let gzip = request
            .headers()
            .get("accept-encoding")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("gzip"));
        return tiled(&mut state, rest, gzip);
    }
    not_found()
}

impl LogState {
    /// The published tree's root, as both APIs' heads show it.
    fn head_root(&self) -> Hash {
        let mut root = root_of(&self.hashes[..self.published]);
        if self.tamper_root {
            root[0] ^= 0xff;
        }
        root
    }
}

fn rfc6962(state: &mut LogState, call: &str, query: &[(String, String)]) -> Response<Full<Bytes>> {
    let size = state.published;
    match call {
        "get-sth" => json(serde_json::json!({
            "tree_size": size,
            "timestamp": BASE_TIMESTAMP + size as u64,
            "sha256_root_hash": BASE64.encode(state.head_root()),
            "tree_head_signature": "BAMARjBEAiA=",
        })),
        "get-entries" => {
            let (Some(start), Some(end)) = (query_u64(query, "start"), query_u64(query, "end"))
            else {
                return reply(400, "text/plain", b"start and end".to_vec());
            };
            let (start, end) = (start as usize, end as usize);
            if start >= size || end < start {
                return reply(400, "text/plain", b"out of range".to_vec());
            }
            let end = end.min(size - 1).min(start + state.page_limit - 1);
            let entries: Vec<serde_json::Value> = (start..=end)
                .map(|i| {
                    state.served_rfc6962[i] += 1;
                    serde_json::json!({
                        "leaf_input": BASE64.encode(&state.leaves[i]),
                        "extra_data": BASE64.encode(state.entries[i].extra_data()),
                    })
                })
                .collect();
            json(serde_json::json!({ "entries": entries }))
        }
        "get-proof-by-hash" => {
            let hash = query
                .iter()
                .find(|(k, _)| k == "hash")
                .and_then(|(_, v)| BASE64.decode(v).ok());
            let tree_size = query_u64(query, "tree_size").unwrap_or(0) as usize;
            let index = hash.and_then(|h| {
                state.hashes[..tree_size.min(size)]
                    .iter()
                    .position(|x| x[..] == h[..])
            });
            match index {
                Some(index) if tree_size <= size => json(serde_json::json!({
                    "leaf_index": index,
                    "audit_path": audit_path(index, &state.hashes[..tree_size])
                        .iter()
                        .map(|h| BASE64.encode(h))
                        .collect::<Vec<_>>(),
                })),
                _ => reply(400, "text/plain", b"no such leaf".to_vec()),
            }
        }
        _ => not_found(),
    }
}

/// Parses `x001/x234/067[.p/W]` into the tile index and its width.
fn parse_tile(path: &str) -> Option<(u64, Option<u64>)> {
    let (index, width) = match path.split_once(".p/") {
        Some((index, width)) => (index, Some(width.parse().ok()?)),
        None => (path, None),
    };
    let digits: String = index
        .split('/')
        .map(|g| g.trim_start_matches('x'))
        .collect();
    Some((digits.parse().ok()?, width))
}

fn tiled(state: &mut LogState, path: &str, gzip: bool) -> Response<Full<Bytes>> {
    let size = state.published as u64;
    if path == "checkpoint" {
        let root = BASE64.encode(state.head_root());
        let text = format!("fake.example/log\n{size}\n{root}\n\n— fake.example/log AAAAAA==\n");
        return reply(200, "text/plain", text.into_bytes());
    }
    if let Some(hex_fingerprint) = path.strip_prefix("issuer/") {
        let found = state
            .entries
            .iter()
            .flat_map(|e| e.chain().iter())
            .find(|c| hex::encode(Sha256::digest(c)) == hex_fingerprint)
            .cloned();
        return match found {
            Some(der) => reply(200, "application/pkix-cert", der),
            None => not_found(),
        };
    }
    let Some(rest) = path.strip_prefix("tile/") else {
        return not_found();
    };
    let Some((level, tile)) = rest.split_once('/') else {
        return not_found();
    };
    let Some((index, width)) = parse_tile(tile) else {
        return not_found();
    };
    // Entries at this level: the complete subtrees of 256^level leaves.
    let unit = match level {
        "data" => 1,
        l => match l.parse::<u32>() {
            Ok(l) if l < 8 => TILE_WIDTH.pow(l),
            _ => return not_found(),
        },
    };
    let available = size / unit;
    let first = index * TILE_WIDTH;
    let full = available >= first + TILE_WIDTH;
    let width = match width {
        Some(w) if (1..TILE_WIDTH).contains(&w) && first + w <= available => w,
        None if full => TILE_WIDTH,
        _ => return not_found(),
    };
    let body: Vec<u8> = if level == "data" {
        (first..first + width)
            .flat_map(|i| {
                state.served_tiled[i as usize] += 1;
                state.entries[i as usize].tile_leaf(BASE_TIMESTAMP + i)
            })
            .collect()
    } else {
        (first..first + width)
            .flat_map(|i| {
                let start = (i * unit) as usize;
                root_of(&state.hashes[start..start + unit as usize])
            })
            .collect()
    };
    if !gzip {
        return reply(200, "application/octet-stream", body);
    }
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&body).expect("in-memory gzip");
    let mut response = reply(
        200,
        "application/octet-stream",
        encoder.finish().expect("in-memory gzip"),
    );
    response.headers_mut().insert(
        "content-encoding",
        hyper::header::HeaderValue::from_static("gzip"),
    );
    response
}

/// A v3 log list naming `rfc6962` logs `(description, log_id, url)` and
/// `tiled` logs `(description, log_id, monitoring_url)`, all usable.
pub fn log_list_json(rfc6962: &[(&str, &str, &str)], tiled: &[(&str, &str, &str)]) -> String {
    let state = serde_json::json!({"usable": {"timestamp": "2026-01-01T00:00:00Z"}});
    let logs: Vec<serde_json::Value> = rfc6962
        .iter()
        .map(|(description, log_id, url)| {
            serde_json::json!({
                "description": description, "log_id": log_id, "key": "MFkwEwYHKoZIzj0CAQ==",
                "url": url, "mmd": 86400, "state": state,
            })
        })
        .collect();
    let tiled_logs: Vec<serde_json::Value> = tiled
        .iter()
        .map(|(description, log_id, url)| {
            serde_json::json!({
                "description": description, "log_id": log_id, "key": "MFkwEwYHKoZIzj0CAQ==",
                "submission_url": url, "monitoring_url": url, "mmd": 60, "state": state,
            })
        })
        .collect();
    serde_json::json!({
        "version": "3.0",
        "log_list_timestamp": "2026-11-01T00:00:00Z",
        "operators": [{"name": "Test Operator", "email": ["ct@example.org"],
                       "logs": logs, "tiled_logs": tiled_logs}],
    })
    .to_string()
}

/// A certstream `full-stream` message (the Elixir server's shape) carrying
/// `der`, logged at `index` by the log named `source`.
pub fn certstream_message(
    der: &[u8],
    precert: bool,
    names: &[&str],
    index: u64,
    source: &str,
) -> String {
    serde_json::json!({
        "message_type": "certificate_update",
        "data": {
            "update_type": if precert { "PrecertLogEntry" } else { "X509LogEntry" },
            "leaf_cert": {
                "all_domains": names,
                "as_der": BASE64.encode(der),
                "not_before": 1_793_491_200,
                "not_after": 1_801_267_200.0,
            },
            "chain": [],
            "cert_index": index,
            "cert_link": format!("https://ct.example/ct/v1/get-entries?start={index}&end={index}"),
            "seen": 1_795_000_000.25,
            "source": {"name": source, "url": "https://ct.example/"},
        }
    })
    .to_string()
}

/// `der` as a PEM certificate.
pub fn pem(der: &[u8]) -> String {
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        BASE64.encode(der)
    )
}
