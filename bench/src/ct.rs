//! `certsentry-bench ct`: the CT hot path on one core, against a bare
//! x509-parser parse + SHA-256 loop over the same certificates in the same
//! run.
//!
//! - Raw log entries: `leaf_input`/`extra_data` parsing, certificate facts
//!   with `tbs_sha256`, matching against 100,000 watch entries, and an
//!   in-memory dedupe of `tbs_sha256`.
//! - certstream JSON (full stream, with `as_der`): the same after JSON parsing.
//!
//! About 1 % of the certificates match a watched name; matched entries are
//! then stored, which this benchmark leaves out (they are rare in a real feed).
//!
//! The three loops take turns, a fifth of a second at a time, until each has
//! run for `--seconds`, and each rate is per second of this thread's time on
//! a CPU: on a shared machine, loops run one after the other were each
//! measured on a different machine, and wall-clock rates also charged a
//! loop for the time other processes held its core.

use std::cell::RefCell;
use std::collections::HashSet;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use certsentry_ct::issuance::{parse_log_entry, parse_stream_entry};
use certsentry_ct::pipeline::{Watcher, match_names};
use certsentry_ct::testing::FakeEntry;
use certsentry_ct::watch::WatchList;
use certsentry_domain::OrgId;
use certsentry_domain::monitor::{Monitor, MonitorSpec};
use rcgen::{CertificateParams, CustomExtension, KeyPair};
use sha2::Digest;
use x509_parser::prelude::FromDer;

#[derive(Debug, clap::Args)]
pub struct CtArgs {
    /// Distinct certificates generated (each loop goes over all of them).
    #[arg(long, default_value_t = 2_000)]
    certificates: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
}

/// An RFC 6962 x509 entry for `der`, without a chain: (leaf_input, extra_data).
fn log_entry(der: &[u8]) -> (Bytes, Bytes) {
    let entry = FakeEntry::X509 {
        certificate: der.to_vec(),
        chain: Vec::new(),
    };
    (
        entry.leaf_input(1_795_000_000_000).into(),
        entry.extra_data().into(),
    )
}

fn stream_message(der: &[u8], names: &[String], i: usize) -> String {
    serde_json::json!({
        "message_type": "certificate_update",
        "data": {
            "update_type": "X509LogEntry",
            "leaf_cert": {
                "subject": {"aggregated": format!("/CN={}", names[0]), "CN": names[0]},
                "extensions": {"subjectAltName": names.iter().map(|n| format!("DNS:{n}")).collect::<Vec<_>>().join(", ")},
                "not_before": 1_793_491_200.0, "not_after": 1_801_267_200.0,
                "serial_number": format!("{i:032X}"),
                "fingerprint": "AB:CD", "sha1": "00".repeat(20), "sha256": "11".repeat(32),
                "all_domains": names,
                "as_der": base64::engine::general_purpose::STANDARD.encode(der),
                "issuer": {"aggregated": "/C=US/O=Let's Encrypt/CN=R11", "C": "US", "O": "Let's Encrypt", "CN": "R11"},
            },
            "chain": [],
            "cert_index": i, "cert_link": format!("https://log.example/ct/v1/get-entries?start={i}&end={i}"),
            "seen": 1_795_000_000.25,
            "source": {"name": "Bench log", "url": "https://log.example/"},
        }
    })
    .to_string()
}

/// How long each loop runs before the next takes its turn.
const SLICE: Duration = Duration::from_millis(200);

/// One loop of the benchmark: a pass over its corpus, returning how many
/// items it processed.
type Pass<'a> = Box<dyn FnMut() -> u64 + 'a>;

/// A pass applying `work` to every item of `items`.
fn pass_over<'a, T>(items: &'a [T], mut work: impl FnMut(&T) + 'a) -> Pass<'a> {
    Box::new(move || {
        for item in items {
            work(item);
        }
        items.len() as u64
    })
}

/// Runs the passes in turn, [`SLICE`] at a time, until each has run for
/// `seconds`; returns each one's items per second of CPU time (of wall
/// time where the kernel does not report a thread's), in order.
fn interleaved(seconds: u64, passes: &mut [Pass<'_>]) -> Vec<f64> {
    let wanted = Duration::from_secs(seconds);
    let mut spent = vec![Duration::ZERO; passes.len()];
    let mut done = vec![0u64; passes.len()];
    while spent.iter().any(|s| *s < wanted) {
        for (i, pass) in passes.iter_mut().enumerate() {
            let started = Instant::now();
            let on_cpu = crate::procfs::thread_on_cpu_ns();
            while started.elapsed() < SLICE.min(wanted) {
                done[i] += pass();
            }
            spent[i] += match (on_cpu, crate::procfs::thread_on_cpu_ns()) {
                (Some(before), Some(after)) => Duration::from_nanos(after - before),
                _ => started.elapsed(),
            };
        }
    }
    done.iter()
        .zip(&spent)
        .map(|(n, s)| *n as f64 / s.as_secs_f64())
        .collect()
}

/// Certificates like a CA's (two names, half with an SCT list, 1 % for a
/// watched client domain), as log entries and as certstream messages.
pub(crate) struct Corpus {
    pub ders: Vec<Vec<u8>>,
    /// As a log source holds them once decoded.
    pub entries: Vec<(Bytes, Bytes)>,
    pub messages: Vec<String>,
}

pub(crate) fn corpus(count: usize) -> anyhow::Result<Corpus> {
    let key = KeyPair::generate()?;
    let mut ders = Vec::with_capacity(count);
    let mut names_of = Vec::with_capacity(count);
    for i in 0..count {
        // One in a hundred is for a watched client domain.
        let base = if i % 100 == 0 {
            format!("client{}.example", i * 37 % 100_000)
        } else {
            format!("site{i}.unwatched.test")
        };
        let names = vec![base.clone(), format!("www.{base}")];
        let mut params = CertificateParams::new(names.clone())?;
        if i % 2 == 0 {
            params.custom_extensions = vec![CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2],
                vec![0x04; 120],
            )];
        }
        ders.push(params.self_signed(&key)?.der().to_vec());
        names_of.push(names);
    }
    let entries = ders.iter().map(|d| log_entry(d)).collect();
    let messages = ders
        .iter()
        .zip(&names_of)
        .enumerate()
        .map(|(i, (d, n))| stream_message(d, n, i))
        .collect();
    Ok(Corpus {
        ders,
        entries,
        messages,
    })
}

/// 100,000 watched client domains, all watched by `monitor`.
pub(crate) fn watch_list(monitor: Arc<Monitor>) -> WatchList<Watcher> {
    let mut watch = WatchList::new();
    for i in 0..100_000 {
        watch.insert_for(
            &format!("client{i}.example"),
            Watcher {
                monitor: monitor.clone(),
            },
        );
    }
    watch
}

pub fn run(args: CtArgs) -> anyhow::Result<()> {
    let Corpus {
        ders,
        entries,
        messages,
    } = corpus(args.certificates)?;
    let monitor = Arc::new(Monitor::new(
        OrgId::generate(),
        MonitorSpec::standard("bench", "client0.example", vec!["virginia".into()]),
    ));
    let watch = watch_list(monitor);

    let bare = pass_over(&ders, |der: &Vec<u8>| {
        let parsed =
            x509_parser::certificate::X509Certificate::from_der(der).map(|(_, c)| c.serial.bits());
        black_box((parsed.ok(), sha2::Sha256::digest(der)));
    });

    // The raw loop adds to the dedupe set; the certstream loop looks in it.
    let seen: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
    let matched = std::cell::Cell::new(0u64);
    let raw = pass_over(&entries, |(leaf, extra): &(Bytes, Bytes)| {
        let Ok(entry) = certsentry_ct::leaf::parse_entry(leaf, extra) else {
            return;
        };
        let Ok(parsed) = parse_log_entry(&entry) else {
            return;
        };
        let hits = match_names(&watch, parsed.dns_names());
        if let certsentry_ct::issuance::Parsed::Full(f) = &parsed
            && !seen.borrow().contains(&f.tbs_sha256)
            && !hits.is_empty()
        {
            matched.set(matched.get() + 1);
            seen.borrow_mut().insert(f.tbs_sha256.clone());
        }
        black_box(hits);
    });

    let stream = pass_over(&messages, |text: &String| {
        let Ok(certsentry_ct::certstream::Message::Entry(entry)) =
            certsentry_ct::certstream::parse_message(text)
        else {
            return;
        };
        let Ok(parsed) = parse_stream_entry(&entry) else {
            return;
        };
        let hits = match_names(&watch, parsed.dns_names());
        if let certsentry_ct::issuance::Parsed::Full(f) = &parsed {
            black_box(seen.borrow().contains(&f.tbs_sha256));
        }
        black_box(hits);
    });
    let rates = interleaved(args.seconds, &mut [bare, raw, stream]);
    let (baseline, raw, stream) = (rates[0], rates[1], rates[2]);
    let matched = matched.get();

    let message_bytes = messages.iter().map(String::len).sum::<usize>() / messages.len();
    println!(
        "certificates: {} distinct, {} B average DER; 100,000 watch entries",
        ders.len(),
        ders.iter().map(Vec::len).sum::<usize>() / ders.len()
    );
    println!("baseline   x509-parser parse + SHA-256:            {baseline:>10.0} certs/s");
    println!(
        "raw log entries: parse, tbs_sha256, match, dedupe: {raw:>10.0} entries/s  (ratio {:.2} to baseline)",
        raw / baseline
    );
    println!(
        "certstream JSON ({message_bytes} B messages), same path:  {stream:>10.0} messages/s (ratio {:.2})",
        stream / baseline
    );
    println!("distinct matched issuances: {matched}");
    let figure = |path: &str, value: f64, unit: &str, goal: f64| crate::figures::Figure {
        path: path.into(),
        store: "-".into(),
        value,
        unit: unit.into(),
        baseline: Some(baseline),
        goal: crate::figures::Goal::RatioAtLeast(goal),
        goal_text: format!("ratio >= {goal}"),
        complete: matched > 0,
    };
    crate::figures::report(&[
        figure(
            "CT raw entries (parse, tbs_sha256, match 100k, dedupe)",
            raw,
            "entries/s",
            0.75,
        ),
        figure("certstream JSON, same path", stream, "messages/s", 0.35),
    ])?;
    Ok(())
}
