//! Tailing a fake RFC 6962 log on loopback: batches that come back short,
//! verification against the signed tree head, rewinding on a bad root,
//! throttling, and resuming from the persisted verified state.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use certsentry_ct::log::{LogClient, LogError, Tailer};
use certsentry_ct::merkle::CollapsedTree;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Default)]
struct FakeLog {
    leaves: Vec<Vec<u8>>,
    /// How many leaves the STH covers.
    size: usize,
    tamper_root: bool,
    throttle_next: bool,
}

fn leaf(i: u32) -> Vec<u8> {
    let cert = format!("certificate {i}").into_bytes();
    let mut out = vec![0, 0];
    out.extend_from_slice(&(1_700_000_000_000u64 + u64::from(i)).to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&(cert.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(&cert);
    out.extend_from_slice(&[0, 0]);
    out
}

fn reply(log: &Mutex<FakeLog>, path: &str) -> (u16, String) {
    let mut log = log.lock().unwrap();
    if log.throttle_next {
        log.throttle_next = false;
        return (429, "slow down".into());
    }
    if path == "/ct/v1/get-sth" {
        let mut tree = CollapsedTree::new();
        for l in &log.leaves[..log.size] {
            tree.push(l);
        }
        let mut root = tree.root();
        if log.tamper_root {
            root[0] ^= 0xff;
        }
        return (
            200,
            format!(
                r#"{{"tree_size":{},"timestamp":1700000000000,"sha256_root_hash":"{}","tree_head_signature":"AA=="}}"#,
                log.size,
                BASE64.encode(root)
            ),
        );
    }
    let Some(query) = path.strip_prefix("/ct/v1/get-entries?") else {
        return (404, "{}".into());
    };
    let mut start = 0usize;
    let mut end = 0usize;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("start", v)) => start = v.parse().unwrap(),
            Some(("end", v)) => end = v.parse().unwrap(),
            _ => {}
        }
    }
    // Real logs cap a response; this one returns at most 2 entries.
    let end = end.min(start + 1).min(log.size - 1);
    let entries: Vec<String> = (start..=end)
        .map(|i| {
            format!(
                r#"{{"leaf_input":"{}","extra_data":"{}"}}"#,
                BASE64.encode(&log.leaves[i]),
                BASE64.encode([0, 0, 0])
            )
        })
        .collect();
    (200, format!(r#"{{"entries":[{}]}}"#, entries.join(",")))
}

async fn serve(log: Arc<Mutex<FakeLog>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut read = 0;
                while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf[read..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read += n,
                    }
                }
                let head = String::from_utf8_lossy(&buf[..read]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (status, body) = reply(&log, &path);
                let extra = if status == 429 {
                    "retry-after: 3\r\n"
                } else {
                    ""
                };
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    base
}

fn indexes(entries: &[certsentry_ct::log::TailedEntry]) -> Vec<u64> {
    entries.iter().map(|e| e.index).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tails_verifies_rewinds_and_resumes() {
    let log = Arc::new(Mutex::new(FakeLog {
        leaves: (0..9).map(leaf).collect(),
        size: 5,
        ..FakeLog::default()
    }));
    let base = serve(log.clone()).await;
    let client = LogClient::new(reqwest::Client::new(), &base);
    let mut tailer = Tailer::new(client.clone(), CollapsedTree::new());
    tailer.batch = 4;

    let first = tailer.poll(1000).await.unwrap();
    assert_eq!(
        indexes(&first),
        vec![0, 1, 2, 3, 4],
        "short batches are followed up"
    );
    assert!(first.iter().all(|e| e.entry.is_ok()));
    assert_eq!(tailer.verified().size(), 5);

    log.lock().unwrap().size = 7;
    assert_eq!(indexes(&tailer.poll(1000).await.unwrap()), vec![5, 6]);
    assert_eq!(tailer.verified().size(), 7);

    // A tree head that the entries do not add up to: rewind to the last verified size.
    {
        let mut log = log.lock().unwrap();
        log.size = 9;
        log.tamper_root = true;
    }
    match tailer.poll(1000).await {
        Err(LogError::RootMismatch { size, rewound_to }) => assert_eq!((size, rewound_to), (9, 7)),
        other => panic!("expected a root mismatch, got {other:?}"),
    }
    assert_eq!(tailer.position(), 7);
    log.lock().unwrap().tamper_root = false;
    assert_eq!(indexes(&tailer.poll(1000).await.unwrap()), vec![7, 8]);
    assert_eq!(tailer.verified().size(), 9);

    // Throttling is reported with the log's Retry-After.
    log.lock().unwrap().throttle_next = true;
    match tailer.poll(1000).await {
        Err(LogError::Throttled {
            status,
            retry_after,
        }) => {
            assert_eq!((status, retry_after), (429, Some(Duration::from_secs(3))))
        }
        other => panic!("expected throttling, got {other:?}"),
    }

    // A restart from the persisted verified state reads nothing twice.
    let mut resumed = Tailer::new(client, tailer.verified().clone());
    assert!(resumed.poll(1000).await.unwrap().is_empty());
    assert_eq!(resumed.position(), 9);
}

/// Both APIs of one log give the same head, the same entries, and a right
/// edge whose root is the head's, at sizes that use full, partial and
/// level-1 hash tiles; a tailer started from that edge verifies later heads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_apis_agree_and_a_tailer_started_at_the_end_verifies() {
    use certsentry_ct::log::LogSource;
    use certsentry_ct::testing::{FakeEntry, FakeLog, TestCa};
    use certsentry_ct::tiled::TiledClient;

    let ca = TestCa::default();
    let issued: Vec<_> = (0..4)
        .map(|i| ca.issue(&[&format!("host{i}.example.org")], i + 1))
        .collect();
    let entry = |i: usize| {
        let one = &issued[i % issued.len()];
        if i.is_multiple_of(2) {
            FakeEntry::precertificate(one)
        } else {
            FakeEntry::certificate(one)
        }
    };
    let log = FakeLog::start().await;
    log.set_page_limit(100);
    let http = reqwest::Client::new();
    let rfc = Arc::new(LogClient::new(http.clone(), &log.rfc6962_url));
    let tiled = Arc::new(TiledClient::new(http, &log.tiled_url, Duration::ZERO));
    let sources: [Arc<dyn LogSource>; 2] = [rfc.clone(), tiled.clone()];

    let mut appended = 0;
    for size in [1usize, 5, 256, 257, 1000] {
        log.append((appended..size).map(entry));
        appended = size;
        log.publish();
        let mut heads = Vec::new();
        for source in &sources {
            let head = source.tree_head().await.unwrap();
            let edge = source.frontier(&head).await.unwrap();
            assert_eq!(edge.size(), size as u64);
            assert_eq!(edge.root(), head.root_hash, "size {size}");
            heads.push(head.root_hash);
        }
        assert_eq!(heads[0], heads[1]);
    }

    // Started at the end (1000), both verify the next head and read the same entries.
    let mut tailers = Vec::new();
    for source in &sources {
        let head = source.tree_head().await.unwrap();
        let edge = source.frontier(&head).await.unwrap();
        tailers.push(Tailer::verified_at(source.clone(), edge));
    }
    log.append((1000..1300).map(entry));
    log.publish();
    let mut read = Vec::new();
    for mut tailer in tailers {
        assert!(tailer.verifies());
        let entries = tailer.poll(10_000).await.unwrap();
        assert_eq!(tailer.verified().size(), 1300, "the new head is verified");
        assert_eq!(indexes(&entries), (1000..1300).collect::<Vec<u64>>());
        read.push(
            entries
                .into_iter()
                .map(|e| e.entry.unwrap())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(read[0], read[1], "RFC 6962 and tiled entries are the same");
    assert!(log.served_tiled()[1000..].iter().all(|n| *n >= 1));
}
