//! Certificate Transparency end to end, through the real binary: a fake
//! certstream server on loopback emits rcgen certificates (precert and final
//! pairs), and the webhooks show exactly one suspicious alert for the
//! unknown issuance on a watched subdomain, none for an unwatched name, and
//! an info-level one for a known certificate.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use certsentry_probes::testing::WebhookReceiver;
use futures_util::{SinkExt, StreamExt};
use rcgen::{CertificateParams, CustomExtension, KeyPair, SerialNumber};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

fn oid(dotted: &str) -> Vec<u64> {
    dotted.split('.').map(|p| p.parse().unwrap()).collect()
}

/// One issuance: its precertificate and its final certificate (same TBS but
/// for the poison and the SCT list).
fn issuance(names: &[&str], serial: u8) -> (Vec<u8>, Vec<u8>) {
    let key = KeyPair::generate().unwrap();
    let build = |extension: CustomExtension| {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.serial_number = Some(SerialNumber::from(vec![serial, 0x42]));
        params.not_before = rcgen::date_time_ymd(2026, 11, 1);
        params.not_after = rcgen::date_time_ymd(2027, 1, 30);
        params.custom_extensions = vec![extension];
        params.self_signed(&key).unwrap().der().to_vec()
    };
    let mut poison = CustomExtension::from_oid_content(&oid("1.3.6.1.4.1.11129.2.4.3"), vec![5, 0]);
    poison.set_criticality(true);
    let scts = CustomExtension::from_oid_content(&oid("1.3.6.1.4.1.11129.2.4.2"), vec![4, 2, 0, 0]);
    (build(poison), build(scts))
}

fn message(der: &[u8], precert: bool, names: &[&str], index: u64) -> String {
    json!({
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
            "cert_link": format!("https://log.example/ct/v1/get-entries?start={index}&end={index}"),
            "seen": 1_795_000_000.5,
            "source": {"name": "Test 'Log' 2026", "url": "https://log.example/"},
        }
    })
    .to_string()
}

/// `GET url` as JSON, with the API key when given.
async fn get_json(client: &reqwest::Client, url: String, key: Option<&str>) -> Value {
    let mut request = client.get(url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap().json().await.unwrap()
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..300 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certstream_matches_give_one_alert_per_issuance() {
    // The certificates: unknown on a watched subdomain, unwatched, known.
    let (unknown_pre, unknown_final) = issuance(&["shop.example.org"], 1);
    let (unwatched_pre, _) = issuance(&["www.other.net"], 2);
    let (known_pre, known_final) = issuance(&["api.example.org"], 3);
    let stream = vec![
        message(&unknown_pre, true, &["shop.example.org"], 1),
        "{not json".to_string(),
        message(&unwatched_pre, true, &["www.other.net"], 2),
        message(&known_pre, true, &["api.example.org"], 3),
        message(&unknown_final, false, &["shop.example.org"], 4),
    ];

    // A certstream server that sends once told to.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ws_url = format!("ws://{}/full-stream", listener.local_addr().unwrap());
    let go = Arc::new(Notify::new());
    let go_server = go.clone();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        go_server.notified().await;
        for m in stream {
            ws.send(Message::text(m)).await.unwrap();
        }
        while let Some(Ok(_)) = ws.next().await {}
    });

    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_certsentry"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--allow-private-targets",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("DATABASE_URL")
        .env("CERTSENTRY_LOG", "warn")
        .env("CERTSENTRY_CERTSTREAM_URL", &ws_url)
        .env("CERTSENTRY_SUSPICIOUS_GRACE_S", "1")
        .env("CERTSENTRY_CT_WATCH_REFRESH_S", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut key = String::new();
    for _ in 0..3 {
        key.clear();
        stdout.read_line(&mut key).unwrap();
    }
    let key = key.trim().to_string();
    let _server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_for("the server", async || {
        client.get(format!("{base}/healthz")).send().await.is_ok()
    })
    .await;

    // A watched domain, the inventory, and two CT channels.
    let monitor: Value = client
        .post(format!("{base}/api/v1/monitors"))
        .bearer_auth(&key)
        .json(&json!({
            "label": "Example", "target": "www.example.org",
            "checkSsl": false, "checkDomain": false, "checkDns": false, "checkUptime": false,
            "checkCt": true, "uptimeIntervalSeconds": 3600, "regions": ["virginia"],
            "alertLeadDays": [30]
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let monitor_id = monitor["monitor"]["id"]
        .as_str()
        .expect("monitor created")
        .to_string();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        BASE64.encode(&known_final)
    );
    let known = client
        .post(format!("{base}/api/v1/ct/known-certificates"))
        .bearer_auth(&key)
        .json(&json!({"pem": pem, "note": "our load balancer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(known.status(), 201);
    let bad = client
        .post(format!("{base}/api/v1/ct/known-certificates"))
        .bearer_auth(&key)
        .json(&json!({"sha256": "not-hex"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let spotter = WebhookReceiver::start(Vec::new(), Duration::ZERO).await;
    let watch = WebhookReceiver::start(Vec::new(), Duration::ZERO).await;
    for (name, receiver, format) in [
        ("spotter", &spotter, "certspotter"),
        ("watch", &watch, "certwatch"),
    ] {
        let created = client
            .post(format!("{base}/api/v1/notification-channels"))
            .bearer_auth(&key)
            .json(&json!({
                "name": name, "type": "webhook", "url": receiver.url,
                "format": format, "events": ["ct.new_certificate"],
                "includeKnownCertificates": true
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    }
    wait_for("the watch list", async || {
        let health: Value = get_json(&client, format!("{base}/healthz"), None).await;
        health["ct"]["watchEntries"] == 1 && health["ct"]["sources"][0]["connected"] == true
    })
    .await;
    go.notify_one();

    wait_for("the alerts", async || {
        !spotter.is_empty() && watch.len() >= 2
    })
    .await;
    // Time for a duplicate to show up, if one were coming.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let spotted = spotter.requests();
    assert_eq!(
        spotted.len(),
        1,
        "one Cert Spotter alert: the unknown issuance only"
    );
    let body: Value = serde_json::from_slice(&spotted[0].body).unwrap();
    assert_eq!(
        body["endpoints"],
        json!([{"dns_name": "shop.example.org", "monitored_domain": ".example.org", "wildcard": false}])
    );
    assert_eq!(body["issuance"]["dns_names"], json!(["shop.example.org"]));
    assert_eq!(body["issuance"]["tbs_sha256"].as_str().unwrap().len(), 64);
    assert!(spotted[0].header("idempotency-key").is_some());

    let watched: Vec<Value> = watch
        .requests()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(watched.len(), 2, "{watched:?}");
    let severity_of = |name: &str| {
        watched
            .iter()
            .filter(|b| b["matched_sans"] == json!([name]))
            .map(|b| b["severity"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(severity_of("shop.example.org"), vec!["suspicious"]);
    assert_eq!(severity_of("api.example.org"), vec!["info"]);
    assert_eq!(watched[0]["source_log"], "Test 'Log' 2026");

    // The findings and the monitor's ct results.
    let listed: Value = get_json(
        &client,
        format!("{base}/api/v1/ct/certificates"),
        Some(&key),
    )
    .await;
    let certificates = listed["certificates"].as_array().unwrap();
    assert_eq!(certificates.len(), 2);
    let suspicious: Value = get_json(
        &client,
        format!("{base}/api/v1/ct/certificates?known=false&monitor={monitor_id}"),
        Some(&key),
    )
    .await;
    assert_eq!(
        suspicious["certificates"][0]["dnsNames"],
        json!(["shop.example.org"])
    );
    let results: Value = get_json(
        &client,
        format!("{base}/api/v1/monitors/{monitor_id}/results?type=ct"),
        Some(&key),
    )
    .await;
    let statuses: Vec<&str> = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 2);
    assert!(statuses.contains(&"fail") && statuses.contains(&"ok"));

    // Health and metrics per source.
    let health: Value = get_json(&client, format!("{base}/healthz"), None).await;
    assert_eq!(health["ct"]["sources"][0]["kind"], "certstream");
    assert_eq!(health["ct"]["sources"][0]["malformed"], 1);
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "certsentry_ct_source_connected{source=\"certstream\",kind=\"certstream\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("certsentry_ct_findings_total{state=\"suspicious\"} 1"));
    assert!(metrics.trim_end().ends_with("# EOF"));
}
