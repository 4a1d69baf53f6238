//! The TLS scan and grade against `openssl s_server` fixtures on loopback
//! (`testing::openssl`), each configured to earn a known grade for a known
//! reason; what each fixture needs from Debian's OpenSSL is written there.

use std::time::Duration;

use certsentry_domain::tls::TlsVersion;
use certsentry_domain::tls::grade::{Grade, grade};
use certsentry_probes::ProbeConfig;
use certsentry_probes::testing::openssl::{OpensslPki, fixtures, mail_front};
use certsentry_probes::tls_scan::{Scan, ScanConfig, Starttls, judge_certificate, scan};

const YEAR: Option<u64> = Some(31_536_000);

fn probe(pki: &OpensslPki) -> ProbeConfig {
    ProbeConfig {
        allow_private_targets: true,
        extra_roots: vec![pki.root()],
        timeout: Duration::from_secs(5),
        ..ProbeConfig::default()
    }
}

/// Scans `localhost:port` with the HSTS an uptime check would have seen,
/// and grades it.
async fn graded(
    pki: &OpensslPki,
    port: u16,
    starttls: Option<Starttls>,
    hsts: Option<u64>,
) -> (Scan, Grade) {
    let probe = probe(pki);
    let config = ScanConfig {
        gap: Duration::ZERO,
        timeout: Duration::from_secs(5),
    };
    let mut found = scan("localhost", port, starttls, &probe, &config)
        .await
        .unwrap();
    judge_certificate(&mut found, "localhost", &probe);
    found.findings.hsts_max_age = hsts;
    let g = grade(&found.findings).expect("a TLS server gets a grade");
    (found, g)
}

fn caps(g: &Grade) -> Vec<&str> {
    g.reasons
        .iter()
        .filter(|r| r.cap.is_some())
        .map(|r| r.code.as_str())
        .collect()
}

fn versions(scan: &Scan) -> Vec<TlsVersion> {
    scan.findings.protocols.iter().map(|p| p.version).collect()
}

#[tokio::test]
async fn every_fixture_earns_its_grade_for_its_reason() {
    let pki = OpensslPki::new();
    for fixture in fixtures() {
        let (_server, port) = pki.serve(fixture.leaf, fixture.args).await;
        let port = match fixture.starttls {
            Some(protocol) => mail_front(protocol, port).await,
            None => port,
        };
        let (scan, g) = graded(&pki, port, fixture.starttls, YEAR).await;
        let name = fixture.name;
        assert_eq!(
            g.grade,
            fixture.grade,
            "{name}: {:?} {g:#?}",
            versions(&scan)
        );
        match fixture.reason {
            Some(code) => assert!(caps(&g).contains(&code), "{name}: {g:#?}"),
            None => assert!(caps(&g).is_empty(), "{name}: {g:#?}"),
        }
        assert!(scan.findings.key.is_some(), "{name}: no certificate key");
        assert!(
            scan.findings.handshakes <= 80,
            "{name}: {} handshakes",
            scan.findings.handshakes
        );
    }
}

/// The typical server in detail: what was found, and what withholds A+.
#[tokio::test]
async fn a_modern_server_in_detail() {
    let pki = OpensslPki::new();
    let modern = fixtures()
        .into_iter()
        .find(|f| f.name == "TLS 1.2 and 1.3, ECDHE and AEAD")
        .unwrap();
    let (_server, port) = pki.serve(modern.leaf, modern.args).await;
    let (scan, g) = graded(&pki, port, None, YEAR).await;
    let f = &scan.findings;
    assert_eq!(versions(&scan), [TlsVersion::Tls12, TlsVersion::Tls13]);
    let tls12: Vec<&str> = f.protocols[0]
        .suites
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        tls12,
        [
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        ]
    );
    assert_eq!(f.protocols[0].server_order, Some(true));
    assert_eq!(f.protocols[1].suites.len(), 3);
    for group in ["x25519", "secp256r1", "secp384r1", "ffdhe2048"] {
        assert!(
            f.groups.contains(&group.to_string()),
            "{group}: {:?}",
            f.groups
        );
    }
    assert!(f.secure_renegotiation);
    assert_eq!(f.fallback_scsv, Some(true));
    assert_eq!(f.key.unwrap().bits, 2048);
    assert_eq!(scan.chain.len(), 1);
    assert_eq!(g.grade, "A+", "{g:#?}");
    assert_eq!(
        (g.protocol_score, g.key_exchange_score, g.cipher_score),
        (100, 90, 90)
    );

    let (_, without) = graded(&pki, port, None, None).await;
    assert_eq!(
        (without.grade.as_str(), caps(&without)),
        ("A", vec!["no_hsts"])
    );
}

/// DHE's parameter size, from the ServerKeyExchange.
#[tokio::test]
async fn dhe_parameters_are_measured() {
    let pki = OpensslPki::new();
    let (_server, port) = pki
        .serve(
            "leaf",
            &["-cipher", "DHE-RSA-AES128-GCM-SHA256", "-no_tls1_3"],
        )
        .await;
    let (scan, g) = graded(&pki, port, None, YEAR).await;
    assert_eq!(scan.findings.dh_bits, Some(2048), "{:#?}", scan.findings);
    assert_eq!(g.grade, "A-", "{g:#?}");
}

/// A stapled OCSP answer is seen in the TLS 1.2 flight.
#[tokio::test]
async fn ocsp_stapling_is_seen() {
    let pki = OpensslPki::new();
    let (_plain, port) = pki.serve("leaf", &["-no_tls1_3"]).await;
    let (scan, _) = graded(&pki, port, None, YEAR).await;
    assert!(!scan.findings.ocsp_stapling);
    let (_stapling, port) = pki
        .serve("leaf", &["-no_tls1_3", "-status_file", "{dir}/leaf.ocsp"])
        .await;
    let (scan, _) = graded(&pki, port, None, YEAR).await;
    assert!(scan.findings.ocsp_stapling);
}
