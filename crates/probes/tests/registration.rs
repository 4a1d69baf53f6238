//! Registration expiry against a fake RDAP server, its bootstrap file and a
//! fake WHOIS server, all on loopback.

use std::time::Duration;

use certsentry_domain::time::format_ms;
use certsentry_probes::registration::RegistrationConfig;
use certsentry_probes::testing::RegistryFixture;
use certsentry_probes::{ProbeConfig, Prober};

fn prober(registration: RegistrationConfig) -> Prober {
    Prober::new(ProbeConfig {
        timeout: Duration::from_secs(3),
        allow_private_targets: true,
        registration,
        ..ProbeConfig::default()
    })
}

fn expiry(ms: Option<i64>) -> Option<String> {
    ms.map(format_ms)
}

#[tokio::test]
async fn rdap_expiration_event_via_the_bootstrap_url() {
    let registry = RegistryFixture::start(&["com"]).await;
    registry.set_rdap("example.com", Some("2027-08-13T04:00:00Z"));
    let prober = prober(RegistrationConfig {
        rdap_bootstrap: Some(registry.bootstrap_url()),
        whois_server: Some(registry.whois_addr.clone()),
        ..RegistrationConfig::default()
    });
    let seen = prober.registration("example.com").await;
    assert_eq!(
        expiry(seen.expires_at).as_deref(),
        Some("2027-08-13T04:00:00.000Z")
    );
    assert_eq!(seen.source, Some("rdap"));
    assert_eq!(
        seen.server.as_deref(),
        Some(format!("{}/rdap/domain/example.com", registry.http_base).as_str())
    );
    assert_eq!(registry.lookups(), (1, 0), "RDAP answered; no WHOIS");
}

#[tokio::test]
async fn whois_covers_tlds_without_rdap_and_unknown_is_never_a_guess() {
    let registry = RegistryFixture::start(&["com"]).await;
    registry.set_whois(
        "example.xyz",
        "Domain Name: EXAMPLE.XYZ\r\nRegistry Expiry Date: 2028-01-02T03:04:05Z\r\n",
    );
    registry.set_whois(
        "vague.xyz",
        "Domain Name: VAGUE.XYZ\r\nExpiry Date: 03/04/2028\r\n",
    );
    // RDAP has the domain but publishes no expiration: WHOIS is asked too.
    registry.set_rdap("hidden.com", None);
    let prober = prober(RegistrationConfig {
        rdap_bootstrap: Some(registry.bootstrap_url()),
        whois_server: Some(registry.whois_addr.clone()),
        ..RegistrationConfig::default()
    });

    let seen = prober.registration("example.xyz").await;
    assert_eq!(
        expiry(seen.expires_at).as_deref(),
        Some("2028-01-02T03:04:05.000Z")
    );
    assert_eq!(seen.source, Some("whois"));

    let vague = prober.registration("vague.xyz").await;
    assert_eq!(vague.expires_at, None);
    let error = vague.error.unwrap();
    assert!(error.contains("RDAP: no server for this TLD"), "{error}");
    assert!(
        error.contains("unrecognised expiry date \"03/04/2028\""),
        "{error}"
    );

    let hidden = prober.registration("hidden.com").await;
    assert_eq!(hidden.expires_at, None);
    let error = hidden.error.unwrap();
    assert!(error.contains("RDAP: no expiration event"), "{error}");
    assert!(error.contains("WHOIS:"), "{error}");

    let missing = prober.registration("unregistered.com").await;
    assert!(
        missing
            .error
            .unwrap()
            .contains("RDAP: domain not found (404)")
    );
}

#[tokio::test]
async fn bootstrap_from_a_file_and_plainly_missing_offline() {
    let registry = RegistryFixture::start(&["org"]).await;
    registry.set_rdap("example.org", Some("2029-05-06T00:00:00Z"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dns.json");
    let body = reqwest_free_get(&registry.bootstrap_url()).await;
    std::fs::write(&file, body).unwrap();
    let from_file = prober(RegistrationConfig {
        rdap_bootstrap: Some(file.display().to_string()),
        whois_server: Some(registry.whois_addr.clone()),
        ..RegistrationConfig::default()
    });
    assert!(
        from_file
            .registration("example.org")
            .await
            .expires_at
            .is_some()
    );

    // No override, no cache, and the official source unreachable (offline):
    // the answer names the missing data and the fix.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let unreachable = format!("http://{}/dns.json", closed.local_addr().unwrap());
    drop(closed);
    let offline = prober(RegistrationConfig {
        official_bootstrap_url: unreachable,
        rdap_bootstrap: None,
        cache_dir: Some(dir.path().join("empty")),
        whois_server: Some(registry.whois_addr.clone()),
    });
    let seen = offline.registration("example.org").await;
    assert_eq!(seen.expires_at, None);
    let error = seen.error.unwrap();
    assert!(error.contains("RDAP bootstrap data missing"), "{error}");
    assert!(error.contains("--rdap-bootstrap"), "{error}");

    // The official file is downloaded once and cached in the data dir…
    let cache_dir = dir.path().join("data");
    let downloading = prober(RegistrationConfig {
        official_bootstrap_url: registry.bootstrap_url(),
        rdap_bootstrap: None,
        cache_dir: Some(cache_dir.clone()),
        whois_server: Some(registry.whois_addr.clone()),
    });
    assert_eq!(
        downloading.registration("example.org").await.source,
        Some("rdap")
    );
    assert!(cache_dir.join("rdap-dns.json").exists());
    // …and a later start uses the cached copy with the source unreachable.
    let cached = prober(RegistrationConfig {
        official_bootstrap_url: "http://127.0.0.1:1/dns.json".into(),
        rdap_bootstrap: None,
        cache_dir: Some(cache_dir),
        whois_server: Some(registry.whois_addr.clone()),
    });
    assert_eq!(
        cached.registration("example.org").await.source,
        Some("rdap")
    );
}

/// Fetches a URL from the fixture with a bare HTTP/1.0 request.
async fn reqwest_free_get(url: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (addr, path) = rest.split_once('/').unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("GET /{path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    response[split + 4..].to_vec()
}
