//! Our scan's protocols and cipher suites against sslyze's, on the same
//! `openssl s_server` fixtures (the ones whose grades `certsentry-probes`
//! asserts), SMTP, IMAP and POP3 STARTTLS included. They must be equal: on every one of
//! these fixtures they are, with no exception to explain. (sslyze offers
//! its own OpenSSL's suites, so a server with suites that OpenSSL lacks,
//! such as ARIA or GOST, would show differences; none of these has any.)

mod python;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use certsentry_probes::ProbeConfig;
use certsentry_probes::testing::openssl::{OpensslPki, fixtures, mail_front};
use certsentry_probes::tls_scan::{ScanConfig, Starttls, scan};
use serde_json::Value;

/// Pinned, so the comparison does not move under us.
const PYPI_PACKAGES: [&str; 1] = ["sslyze==6.3.1"];

/// sslyze's result keys, by our version names.
const VERSIONS: [(&str, &str); 6] = [
    ("SSLv2", "ssl_2_0_cipher_suites"),
    ("SSLv3", "ssl_3_0_cipher_suites"),
    ("TLSv1.0", "tls_1_0_cipher_suites"),
    ("TLSv1.1", "tls_1_1_cipher_suites"),
    ("TLSv1.2", "tls_1_2_cipher_suites"),
    ("TLSv1.3", "tls_1_3_cipher_suites"),
];

type Suites = BTreeMap<String, BTreeSet<String>>;

fn sslyze(
    bin: &std::path::Path,
    port: u16,
    starttls: Option<Starttls>,
    out: &std::path::Path,
) -> Suites {
    let mut command = Command::new(bin.join("python"));
    command.args(["-m", "sslyze", "--json_out"]).arg(out).args([
        "--sslv2",
        "--sslv3",
        "--tlsv1",
        "--tlsv1_1",
        "--tlsv1_2",
        "--tlsv1_3",
    ]);
    if let Some(protocol) = starttls {
        let name = match protocol {
            Starttls::Smtp => "smtp",
            Starttls::Imap => "imap",
            Starttls::Pop3 => "pop3",
        };
        command.args(["--starttls", name]);
    }
    let run = command
        .arg(format!("localhost:{port}"))
        .output()
        .expect("sslyze runs");
    assert!(
        run.status.success(),
        "sslyze failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: Value = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
    let result = &report["server_scan_results"][0]["scan_result"];
    let mut suites = Suites::new();
    for (ours, theirs) in VERSIONS {
        let accepted: BTreeSet<String> = result[theirs]["result"]["accepted_cipher_suites"]
            .as_array()
            .unwrap_or_else(|| panic!("sslyze has no {theirs}: {result}"))
            .iter()
            .map(|s| s["cipher_suite"]["name"].as_str().unwrap().to_string())
            .collect();
        if !accepted.is_empty() {
            suites.insert(ours.to_string(), accepted);
        }
    }
    suites
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_protocols_and_suites_match_sslyze() {
    let Some(bin) = python::venv("sslyze-venv-6.3.1", &PYPI_PACKAGES) else {
        python::unavailable("the sslyze comparison");
        return;
    };
    let pki = OpensslPki::new();
    let probe = ProbeConfig {
        allow_private_targets: true,
        extra_roots: vec![pki.root()],
        timeout: Duration::from_secs(5),
        ..ProbeConfig::default()
    };
    let config = ScanConfig {
        gap: Duration::ZERO,
        timeout: Duration::from_secs(5),
    };
    let out = tempfile::tempdir().unwrap();
    for fixture in fixtures() {
        let (_server, tls_port) = pki.serve(fixture.leaf, fixture.args).await;
        let port = match fixture.starttls {
            Some(protocol) => mail_front(protocol, tls_port).await,
            None => tls_port,
        };
        let found = scan("localhost", port, fixture.starttls, &probe, &config)
            .await
            .unwrap();
        let ours: Suites = found
            .findings
            .protocols
            .iter()
            .map(|p| {
                let version = serde_json::to_value(p.version).unwrap();
                let names = p.suites.iter().map(|s| s.name.clone()).collect();
                (version.as_str().unwrap().to_string(), names)
            })
            .collect();
        let theirs = sslyze(
            &bin,
            port,
            fixture.starttls,
            &out.path().join("sslyze.json"),
        );
        assert_eq!(ours, theirs, "{}: ours, then sslyze's", fixture.name);
    }
}
