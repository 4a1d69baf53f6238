//! Probes against real servers on loopback: rustls with rcgen certificates,
//! plain HTTP, and a closed port.

use std::time::Duration;

use certsentry_domain::monitor::{HttpHeader, HttpMethod, KeywordMode};
use certsentry_probes::http::HttpCheck;
use certsentry_probes::testing::{Pki, http_server, https_server, renewing_https_server};
use certsentry_probes::{ProbeConfig, Prober};
use rcgen::{CertificateParams, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;

fn prober(pki: &Pki) -> Prober {
    Prober::new(ProbeConfig {
        timeout: Duration::from_secs(5),
        allow_private_targets: true,
        extra_roots: vec![pki.root_der()],
        ..ProbeConfig::default()
    })
}

fn check(target: &str) -> HttpCheck<'_> {
    HttpCheck {
        target,
        method: HttpMethod::Get,
        headers: &[],
        body: None,
        expected_status: None,
        keyword: None,
        keyword_mode: KeywordMode::Present,
        degraded_threshold_ms: None,
        keep_served_tls: false,
    }
}

#[tokio::test]
async fn an_uptime_handshake_tells_the_ssl_check_what_a_second_handshake_would() {
    let pki = Pki::new();
    let prober = prober(&pki);
    let (leaf, key) = pki.leaf(&["localhost"], None);
    let port = https_server(vec![leaf, pki.intermediate.der().clone()], key).await;
    let target = format!("https://localhost:{port}/");

    let not_asked = prober.http(&check(&target)).await;
    assert!(not_asked.ok, "{not_asked:?}");
    assert_eq!(not_asked.served_tls, None, "kept only when asked");

    let uptime = prober
        .http(&HttpCheck {
            keep_served_tls: true,
            ..check(&target)
        })
        .await;
    assert!(uptime.ok, "{uptime:?}");
    let served = uptime.served_tls.clone().expect("the handshake is kept");
    assert_eq!((served.host.as_str(), served.port), ("localhost", port));
    let shared = certsentry_probes::tls::served(served);
    let own = prober.tls("localhost", port).await;
    assert!(shared.valid && own.valid);
    assert_eq!(shared.chain, own.chain, "the same chain, described alike");
    assert_eq!(shared.protocol, own.protocol);
    assert_eq!(shared.cipher, own.cipher);
    assert!(shared.phases.tls_ms.is_some() && shared.phases.ttfb_ms.is_none());
    // Agents upload observations: the handshake never goes with them.
    let uploaded = serde_json::to_value(&uptime).unwrap();
    assert!(uploaded.get("servedTls").is_none(), "{uploaded}");
}

/// A monitor must see the certificate a server serves now. A resumed TLS
/// session carries the chain of the handshake it came from, so an uptime
/// check that resumed would hand the SSL check a certificate the server
/// has since replaced (and nothing verified again).
#[tokio::test]
async fn every_uptime_check_sees_the_certificate_served_now() {
    let pki = Pki::new();
    let prober = prober(&pki);
    let intermediate = pki.intermediate.der().clone();
    let (first, key) = pki.leaf(&["localhost"], None);
    let (port, served) =
        renewing_https_server(vec![first.clone(), intermediate.clone()], key).await;
    let target = format!("https://localhost:{port}/");
    let uptime = HttpCheck {
        keep_served_tls: true,
        ..check(&target)
    };
    let leaf_of = |seen: certsentry_probes::http::HttpObservation| {
        assert!(seen.ok, "{seen:?}");
        seen.served_tls.expect("kept").chain[0].clone()
    };

    assert_eq!(leaf_of(prober.http(&uptime).await), first);
    let (renewed, key) = pki.leaf(&["localhost"], None);
    assert_ne!(renewed, first);
    served.replace(vec![renewed.clone(), intermediate.clone()], key);
    assert_eq!(
        leaf_of(prober.http(&uptime).await),
        renewed,
        "not the resumed session's chain"
    );

    // A replacement that fails verification fails the next uptime check.
    let (expired, key) = pki.leaf(&["localhost"], Some(((2020, 1, 1), (2021, 1, 1))));
    served.replace(vec![expired, intermediate], key);
    let seen = prober.http(&uptime).await;
    assert!(!seen.ok, "{seen:?}");
    assert!(seen.error.unwrap().contains("TLS handshake failed"));
}

#[tokio::test]
async fn tls_inspection_describes_valid_and_broken_chains() {
    let pki = Pki::new();
    let prober = prober(&pki);
    let intermediate = pki.intermediate.der().clone();

    let (leaf, key) = pki.leaf(&["localhost"], None);
    let good = https_server(vec![leaf.clone(), intermediate.clone()], key).await;
    let seen = prober.tls("localhost", good).await;
    assert!(seen.valid, "{seen:?}");
    let info = seen.leaf().unwrap();
    assert_eq!(info.sans, vec!["localhost"]);
    assert_eq!(info.issuer, "CertSentry Test CA");
    assert_eq!(info.sha256.len(), 64);
    assert_eq!(seen.chain.len(), 2);
    assert!(seen.phases.tls_ms.is_some() && seen.phases.connect_ms.is_some());
    assert_eq!(seen.protocol.as_deref(), Some("TLSv1_3"));

    let cases: Vec<(&str, Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> = {
        let (expired, k1) = pki.leaf(&["localhost"], Some(((2020, 1, 1), (2021, 1, 1))));
        let (future, k2) = pki.leaf(&["localhost"], Some(((2090, 1, 1), (2091, 1, 1))));
        let (wrong, k3) = pki.leaf(&["other.example"], None);
        let (lonely, k4) = pki.leaf(&["localhost"], None);
        let self_key = KeyPair::generate().unwrap();
        let self_signed = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&self_key)
            .unwrap();
        let stranger = Pki::named("Somebody Else's CA");
        let (foreign, k5) = stranger.leaf(&["localhost"], None);
        vec![
            ("expired", vec![expired, intermediate.clone()], k1),
            ("not yet valid", vec![future, intermediate.clone()], k2),
            ("hostname mismatch", vec![wrong, intermediate.clone()], k3),
            ("incomplete chain", vec![lonely], k4),
            (
                "self-signed",
                vec![self_signed.der().clone()],
                PrivatePkcs8KeyDer::from(self_key.serialize_der()).into(),
            ),
            (
                "unknown issuer",
                vec![foreign, stranger.intermediate.der().clone()],
                k5,
            ),
        ]
    };
    for (expected, chain, key) in cases {
        let served = chain.len();
        let port = https_server(chain, key).await;
        let seen = prober.tls("localhost", port).await;
        assert!(!seen.valid, "{expected}: {seen:?}");
        assert_eq!(seen.error.as_deref(), Some(expected));
        // The chain is captured even though it is invalid.
        assert_eq!(seen.chain.len(), served, "{expected}: chain captured");
    }
}

#[tokio::test]
async fn tls_inspection_reports_connection_failures() {
    let pki = Pki::new();
    let prober = prober(&pki);
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let seen = prober.tls("127.0.0.1", closed).await;
    assert_eq!(seen.error.as_deref(), Some("connection refused"));
    let plain = http_server().await;
    let seen = prober.tls("localhost", plain).await;
    assert!(
        seen.error
            .as_deref()
            .unwrap()
            .starts_with("TLS handshake failed"),
        "{seen:?}"
    );
}

#[tokio::test]
async fn uptime_checks_judge_status_keyword_redirects_and_latency() {
    let pki = Pki::new();
    let prober = prober(&pki);
    let (leaf, key) = pki.leaf(&["localhost"], None);
    let port = https_server(vec![leaf, pki.intermediate.der().clone()], key).await;
    let base = format!("https://localhost:{port}");

    let ok = prober.http(&check(&format!("{base}/"))).await;
    assert!(ok.ok, "{ok:?}");
    assert_eq!(ok.http_status, Some(200));
    assert!(
        ok.phases.dns_ms.is_some()
            && ok.phases.connect_ms.is_some()
            && ok.phases.tls_ms.is_some()
            && ok.phases.ttfb_ms.is_some()
    );

    let down = prober.http(&check(&format!("{base}/503"))).await;
    assert_eq!(
        (down.ok, down.error.as_deref(), down.http_status),
        (false, Some("HTTP 503"), Some(503))
    );

    let url = format!("{base}/");
    let present = HttpCheck {
        keyword: Some("sentinel"),
        ..check(&url)
    };
    assert!(prober.http(&present).await.ok);
    let missing = HttpCheck {
        keyword: Some("x"),
        ..check(&url)
    };
    assert_eq!(
        prober.http(&missing).await.error.as_deref(),
        Some("keyword \"x\" absent")
    );
    let absent = HttpCheck {
        keyword: Some("sentinel"),
        keyword_mode: KeywordMode::Absent,
        ..check(&url)
    };
    assert_eq!(
        prober.http(&absent).await.error.as_deref(),
        Some("keyword \"sentinel\" present")
    );

    let redirected = prober.http(&check(&format!("{base}/redirect"))).await;
    assert!(
        redirected.ok
            && redirected.redirects == 1
            && redirected.final_url.ends_with(&format!("{port}/")),
        "{redirected:?}"
    );
    let looping = prober.http(&check(&format!("{base}/loop"))).await;
    assert_eq!(
        looping.error.as_deref(),
        Some("too many redirects (more than 5)")
    );

    let slow_url = format!("{base}/slow");
    let slow = prober
        .http(&HttpCheck {
            degraded_threshold_ms: Some(100),
            ..check(&slow_url)
        })
        .await;
    assert!(
        slow.ok && slow.degraded && slow.latency_ms >= 300,
        "{slow:?}"
    );
    let timeout = Prober::new(ProbeConfig {
        timeout: Duration::from_millis(100),
        ..prober.config.clone()
    });
    assert_eq!(
        timeout.http(&check(&slow_url)).await.error.as_deref(),
        Some("response timeout")
    );

    let headers = [HttpHeader {
        name: "Authorization".into(),
        value: "Bearer s3cret".into(),
    }];
    let auth_url = format!("{base}/echo-auth");
    assert!(
        prober
            .http(&HttpCheck {
                headers: &headers,
                ..check(&auth_url)
            })
            .await
            .ok
    );
    assert_eq!(
        prober.http(&check(&auth_url)).await.error.as_deref(),
        Some("HTTP 401")
    );

    let down_url = format!("{base}/503");
    let expected = HttpCheck {
        expected_status: Some("500-599"),
        ..check(&down_url)
    };
    assert!(prober.http(&expected).await.ok);
}

#[tokio::test]
async fn uptime_and_tcp_failures_are_precise() {
    let pki = Pki::new();
    let prober = prober(&pki);
    let (expired, key) = pki.leaf(&["localhost"], Some(((2020, 1, 1), (2021, 1, 1))));
    let port = https_server(vec![expired, pki.intermediate.der().clone()], key).await;
    let broken = prober
        .http(&check(&format!("https://localhost:{port}/")))
        .await;
    assert!(
        broken
            .error
            .as_deref()
            .unwrap()
            .starts_with("TLS handshake failed: "),
        "{broken:?}"
    );

    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert_eq!(
        prober
            .http(&check(&format!("http://127.0.0.1:{closed}/")))
            .await
            .error
            .as_deref(),
        Some("connection refused")
    );
    let plain = http_server().await;
    assert!(
        prober
            .http(&check(&format!("http://127.0.0.1:{plain}/")))
            .await
            .ok
    );

    let open = prober.tcp("127.0.0.1", plain).await;
    assert!(open.ok && open.error.is_none(), "{open:?}");
    let refused = prober.tcp("127.0.0.1", closed).await;
    assert_eq!(
        (refused.ok, refused.error.as_deref()),
        (false, Some("connection refused"))
    );
    let nxdomain = prober.tcp("no-such-host.invalid", 443).await;
    assert!(
        nxdomain.error.as_deref().unwrap().starts_with("DNS: "),
        "{nxdomain:?}"
    );

    // Without allow_private_targets the dialled address is checked too.
    let strict = Prober::new(ProbeConfig {
        allow_private_targets: false,
        ..prober.config.clone()
    });
    let refused = strict.tcp("localhost", plain).await;
    assert!(
        refused
            .error
            .as_deref()
            .unwrap()
            .starts_with("refused: localhost resolves to a loopback address"),
        "{refused:?}"
    );
}
