//! Certificate Transparency end to end, through the whole runtime on each
//! store backend: a fake
//! certstream server on loopback emits rcgen certificates (precert and final
//! pairs), and the webhooks show exactly one suspicious alert for the
//! unknown issuance on a watched subdomain, none for an unwatched name, and
//! an info-level one for a known certificate.

mod common;
mod serve;

use std::sync::Arc;
use std::time::Duration;

use certsentry::config::CtSettings;
use certsentry_ct::testing::{TestCa, certstream_message, pem};
use certsentry_probes::testing::WebhookReceiver;
use common::{Harness, backends};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use serve::{create_ct_monitor, get_json, wait_for};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

/// One issuance: its precertificate and its final certificate.
fn issuance(ca: &TestCa, names: &[&str], serial: u64) -> (Vec<u8>, Vec<u8>) {
    let issued = ca.issue(names, serial);
    (issued.precertificate, issued.certificate)
}

fn message(der: &[u8], precert: bool, names: &[&str], index: u64) -> String {
    certstream_message(der, precert, names, index, "Test 'Log' 2026")
}

/// A certstream server on loopback that sends `stream` to its one client
/// once `go` is notified; returns its URL and `go`.
async fn certstream_server(stream: Vec<String>) -> (String, Arc<Notify>) {
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
    (ws_url, go)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certstream_matches_give_one_alert_per_issuance() {
    for (backend, store) in backends().await {
        one_alert_per_issuance(backend, store).await;
    }
}

async fn one_alert_per_issuance(backend: &'static str, store: Arc<dyn certsentry_store::Store>) {
    // The certificates: unknown on a watched subdomain, unwatched, known.
    let ca = TestCa::default();
    let (unknown_pre, unknown_final) = issuance(&ca, &["shop.example.org"], 1);
    let (unwatched_pre, _) = issuance(&ca, &["www.other.net"], 2);
    let (known_pre, known_final) = issuance(&ca, &["api.example.org"], 3);
    let stream = vec![
        message(&unknown_pre, true, &["shop.example.org"], 1),
        "{not json".to_string(),
        message(&unwatched_pre, true, &["www.other.net"], 2),
        message(&known_pre, true, &["api.example.org"], 3),
        message(&unknown_final, false, &["shop.example.org"], 4),
    ];

    let (ws_url, go) = certstream_server(stream).await;

    let h = Harness::start_runtime(backend, store, "agency", |config| {
        config.ct = Some(CtSettings {
            certstream_url: Some(ws_url.clone()),
            grace: Duration::from_secs(1),
            watch_refresh: Duration::from_secs(1),
            ..CtSettings::default()
        });
    })
    .await;
    let key = h.key.clone();
    let base = h.server.url("");
    let client = reqwest::Client::new();

    // A watched domain, the inventory, and two CT channels.
    let monitor = create_ct_monitor(&client, &base, &key, "www.example.org").await;
    let monitor_id = monitor["monitor"]["id"]
        .as_str()
        .expect("monitor created")
        .to_string();
    let pem = pem(&known_final);
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

    // Every message read (four certificates, one malformed) and both
    // matched issuances decided and delivered: past the last entry, so any
    // duplicate would already be here.
    wait_for(
        "every entry read, both findings decided, the alerts",
        async || {
            let health: Value = get_json(&client, format!("{base}/healthz"), None).await;
            let source = &health["ct"]["sources"][0];
            let read =
                source["entries"].as_u64().unwrap_or(0) + source["malformed"].as_u64().unwrap_or(0);
            let decided: Value = get_json(
                &client,
                format!("{base}/api/v1/ct/certificates"),
                Some(&key),
            )
            .await;
            read >= 5
                && decided["certificates"]
                    .as_array()
                    .is_some_and(|c| c.len() == 2)
                && !spotter.is_empty()
                && watch.len() >= 2
        },
    )
    .await;

    let spotted = spotter.requests();
    assert_eq!(
        spotted.len(),
        1,
        "[{backend}] one Cert Spotter alert: the unknown issuance only"
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

/// A `checkCt` monitor is watched from the moment the API answers its
/// creation: a matching certificate fed right after gives exactly one
/// alert, although the periodic rebuild is an hour away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_ct_monitor_is_watched_at_once() {
    for (backend, store) in backends().await {
        let ca = TestCa::default();
        let (pre, cert) = issuance(&ca, &["login.example.org"], 7);
        let stream = vec![
            message(&pre, true, &["login.example.org"], 1),
            message(&cert, false, &["login.example.org"], 2),
        ];
        let (ws_url, go) = certstream_server(stream).await;
        let h = Harness::start_runtime(backend, store, "agency", |config| {
            config.ct = Some(CtSettings {
                certstream_url: Some(ws_url.clone()),
                grace: Duration::from_secs(1),
                watch_refresh: Duration::from_secs(3600),
                ..CtSettings::default()
            });
        })
        .await;
        let (key, base) = (h.key.clone(), h.server.url(""));
        let client = reqwest::Client::new();
        let spotter = WebhookReceiver::start(Vec::new(), Duration::ZERO).await;
        let created = client
            .post(format!("{base}/api/v1/notification-channels"))
            .bearer_auth(&key)
            .json(
                &json!({"name": "spotter", "type": "webhook", "url": spotter.url,
                          "format": "certspotter", "events": ["ct.new_certificate"]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        wait_for("the certstream connection", async || {
            let health: Value = get_json(&client, format!("{base}/healthz"), None).await;
            health["ct"]["sources"][0]["connected"] == true
        })
        .await;

        let monitor = create_ct_monitor(&client, &base, &key, "www.example.org").await;
        assert!(
            monitor["monitor"]["id"].is_string(),
            "[{backend}] {monitor}"
        );
        go.notify_one();

        // Both halves of the pair read, and the finding decided: only then
        // is "exactly one" a fact rather than a guess.
        wait_for("both entries and the decision", async || {
            let health: Value = get_json(&client, format!("{base}/healthz"), None).await;
            let findings: Value = get_json(
                &client,
                format!("{base}/api/v1/ct/certificates?known=false"),
                Some(&key),
            )
            .await;
            health["ct"]["sources"][0]["entries"] == 2
                && findings["certificates"]
                    .as_array()
                    .is_some_and(|c| c.len() == 1)
                && !spotter.is_empty()
        })
        .await;
        let alerts = spotter.requests();
        assert_eq!(alerts.len(), 1, "[{backend}] exactly one alert");
        let body: Value = serde_json::from_slice(&alerts[0].body).unwrap();
        assert_eq!(body["issuance"]["dns_names"], json!(["login.example.org"]));
    }
}
