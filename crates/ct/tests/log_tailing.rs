//! Tailing the fake CT log (`certsentry_ct::testing::FakeLog`) on loopback:
//! batches that come back short, verification against the signed tree
//! head, rewinding on a bad root, throttling, resuming from the persisted
//! verified state, and the same entries and right edge over both APIs.

use std::sync::Arc;
use std::time::Duration;

use certsentry_ct::log::{LogClient, LogError, Tailer};
use certsentry_ct::merkle::CollapsedTree;
use certsentry_ct::testing::{FakeEntry, FakeLog, TestCa};

/// `n` entries alternating precertificates and certificates of a few issuances.
fn entries(ca: &TestCa, n: usize) -> Vec<FakeEntry> {
    let issued: Vec<_> = (0..4)
        .map(|i| ca.issue(&[&format!("host{i}.example.org")], i + 1))
        .collect();
    (0..n)
        .map(|i| {
            let one = &issued[i % issued.len()];
            if i.is_multiple_of(2) {
                FakeEntry::precertificate(one)
            } else {
                FakeEntry::certificate(one)
            }
        })
        .collect()
}

fn indexes(entries: &[certsentry_ct::log::TailedEntry]) -> Vec<u64> {
    entries.iter().map(|e| e.index).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tails_verifies_rewinds_and_resumes() {
    let ca = TestCa::default();
    let all = entries(&ca, 9);
    let log = FakeLog::start().await;
    // Real logs cap a response; this one returns at most 2 entries.
    log.set_page_limit(2);
    log.append(all[..5].iter().cloned());
    log.publish();
    let client = LogClient::new(reqwest::Client::new(), &log.rfc6962_url);
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

    log.append(all[5..7].iter().cloned());
    log.publish();
    assert_eq!(indexes(&tailer.poll(1000).await.unwrap()), vec![5, 6]);
    assert_eq!(tailer.verified().size(), 7);

    // A tree head that the entries do not add up to: rewind to the last verified size.
    log.append(all[7..].iter().cloned());
    log.publish();
    log.tamper_root(true);
    match tailer.poll(1000).await {
        Err(LogError::RootMismatch { size, rewound_to }) => assert_eq!((size, rewound_to), (9, 7)),
        other => panic!("expected a root mismatch, got {other:?}"),
    }
    assert_eq!(tailer.position(), 7);
    log.tamper_root(false);
    assert_eq!(indexes(&tailer.poll(1000).await.unwrap()), vec![7, 8]);
    assert_eq!(tailer.verified().size(), 9);

    // Throttling is reported with the log's Retry-After.
    log.throttle_next(3);
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
    assert!(
        log.served_rfc6962().iter().all(|n| *n <= 2),
        "only the rewound entries were fetched again: {:?}",
        log.served_rfc6962()
    );
}

/// Both APIs of one log give the same head, the same entries, and a right
/// edge whose root is the head's, at sizes that use full, partial and
/// level-1 hash tiles; a tailer started from that edge verifies later heads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_apis_agree_and_a_tailer_started_at_the_end_verifies() {
    use certsentry_ct::log::LogSource;
    use certsentry_ct::tiled::TiledClient;

    let ca = TestCa::default();
    let all = entries(&ca, 1300);
    let log = FakeLog::start().await;
    log.set_page_limit(100);
    let http = reqwest::Client::new();
    let rfc = Arc::new(LogClient::new(http.clone(), &log.rfc6962_url));
    let tiled = Arc::new(TiledClient::new(http, &log.tiled_url, Duration::ZERO));
    let sources: [Arc<dyn LogSource>; 2] = [rfc.clone(), tiled.clone()];

    let mut appended = 0;
    for size in [1usize, 5, 256, 257, 1000] {
        log.append(all[appended..size].iter().cloned());
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
    log.append(all[1000..].iter().cloned());
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
