//! Alerts end to end: a confirmed outage fires `uptime.down` once, the
//! outbox delivers it signed to a loopback receiver that fails twice, and
//! the API shows the event, the channel and every attempt.

mod common;

use std::time::Duration;

use certsentry_probes::testing::{ReceivedRequest, WebhookReceiver};
use common::*;
use serde_json::json;

/// A server that refuses connections: a down target.
async fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn header<'a>(r: &'a ReceivedRequest, name: &str) -> &'a str {
    r.header(name)
        .unwrap_or_else(|| panic!("no {name} header in {:?}", r.headers))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_is_delivered_signed_after_two_failures() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let receiver = WebhookReceiver::start(vec![500, 500], Duration::ZERO).await;
        let url = receiver.url.clone();

        let created = h
            .post(
                "notification-channels",
                json!({"name": "Ops", "type": "webhook", "url": url, "signing": "standard-webhooks", "format": "standard-webhooks",
                       "events": ["uptime.down", "uptime.up"]}),
            )
            .await;
        assert_eq!(created.status, 201, "[{backend}] {}", created.body);
        let channel = &created.body["channel"];
        let secret = channel["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("whsec_"));
        let channel_id = channel["id"].as_str().unwrap().to_string();
        let fetched = h.get(&format!("notification-channels/{channel_id}")).await;
        assert!(
            fetched.body["channel"].get("secret").is_none(),
            "shown once"
        );

        let port = closed_port().await;
        let monitor = h
            .post(
                "monitors",
                json!({"label": "api", "target": format!("http://127.0.0.1:{port}/"),
                       "checkSsl": false, "checkDomain": false, "checkDns": false, "checkUptime": true,
                       "uptimeIntervalSeconds": 60, "regions": ["virginia"], "alertLeadDays": [7]}),
            )
            .await;
        let id = monitor.body["monitor"]["id"].as_str().unwrap().to_string();
        for _ in 0..3 {
            h.post(&format!("monitors/{id}/check"), json!({})).await;
        }

        // One outage, one event, despite three failing runs.
        let events = h.get(&format!("events?monitor={id}")).await;
        let list = events.body["events"].as_array().unwrap();
        assert_eq!(list.len(), 1, "[{backend}] {}", events.body);
        assert_eq!(list[0]["event"], "uptime.down");
        assert_eq!(list[0]["severity"], "critical");
        assert_eq!(list[0]["monitor"]["label"], "api");
        assert!(
            list[0]["details"]["Last error"]
                .as_str()
                .unwrap()
                .contains("refused")
        );

        // Delivered on the third attempt, with one idempotency key.
        let mut delivered = false;
        for _ in 0..400 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let log = h.get(&format!("deliveries?channelId={channel_id}")).await;
            if log.body["deliveries"][0]["status"] == "delivered" {
                let attempts = log.body["deliveries"][0]["attempts"].as_array().unwrap();
                let codes: Vec<_> = attempts.iter().map(|a| a["statusCode"].clone()).collect();
                assert_eq!(
                    codes,
                    vec![json!(500), json!(500), json!(200)],
                    "[{backend}]"
                );
                delivered = true;
                break;
            }
        }
        assert!(delivered, "[{backend}] not delivered");
        let metrics = reqwest::Client::new()
            .get(h.server.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for line in [
            "certsentry_webhook_deliveries_total{result=\"retry\"} 2",
            "certsentry_webhook_deliveries_total{result=\"delivered\"} 1",
            "certsentry_outbox_depth",
        ] {
            assert!(
                metrics.contains(line),
                "[{backend}] no {line} in\n{metrics}"
            );
        }
        let received = receiver.requests();
        assert_eq!(received.len(), 3);
        let key = header(&received[0], "idempotency-key").to_string();
        for attempt in &received {
            assert_eq!(header(attempt, "idempotency-key"), key);
            assert_eq!(header(attempt, "webhook-id"), key);
            assert_eq!(header(attempt, "svix-id"), key);
            assert!(header(attempt, "user-agent").starts_with("CertSentry-Webhooks/"));
            let now = certsentry_domain::time::now_ms() / 1000;
            certsentry_notify::verify(
                certsentry_domain::channel::SigningScheme::StandardWebhooks,
                &secret,
                &attempt.headers,
                &attempt.body,
                now,
                None,
            )
            .unwrap();
            let body: serde_json::Value = serde_json::from_slice(&attempt.body).unwrap();
            assert_eq!(body["type"], "uptime.down");
            assert_eq!(body["data"]["event"], "uptime.down");
            assert_eq!(body["data"]["status"], "down");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_validate_and_refuse_private_urls() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |config| {
            config.allow_private_targets = false;
        })
        .await;
        let refused = h
            .post(
                "notification-channels",
                json!({"name": "x", "type": "webhook", "url": "http://169.254.169.254/latest"}),
            )
            .await;
        assert_eq!(refused.status, 422, "[{backend}] {}", refused.body);
        assert!(
            refused
                .detail("url")
                .unwrap()
                .contains("allow_private_targets"),
            "{}",
            refused.body
        );
        let bad = h
            .post(
                "notification-channels",
                json!({"name": "x", "type": "pager"}),
            )
            .await;
        assert_eq!(bad.status, 400, "[{backend}] {}", bad.body);
        let missing = h
            .post("notification-channels", json!({"type": "webhook"}))
            .await;
        assert_eq!(missing.status, 422);
        assert!(missing.detail("name").is_some() && missing.detail("url").is_some());

        let created = h
            .post(
                "notification-channels",
                json!({"name": "hmac", "type": "webhook", "url": "https://user:pw@hooks.example.com/x",
                       "signing": "hmac-sha256", "signatureHeader": "X-AlertifyPro-Signature"}),
            )
            .await;
        assert_eq!(created.status, 201, "[{backend}] {}", created.body);
        let channel = &created.body["channel"];
        assert_eq!(channel["url"], "https://user:********@hooks.example.com/x");
        let id = channel["id"].as_str().unwrap().to_string();
        let old = channel["secret"].as_str().unwrap().to_string();
        let rotated = h
            .post(
                &format!("notification-channels/{id}/rotate-secret"),
                json!({}),
            )
            .await;
        assert_eq!(rotated.status, 200);
        assert_ne!(rotated.body["channel"]["secret"].as_str().unwrap(), old);
        let listed = h.get("notification-channels").await;
        assert_eq!(listed.body["channels"].as_array().unwrap().len(), 1);
        assert_eq!(
            h.delete(&format!("notification-channels/{id}"))
                .await
                .status,
            200
        );
        assert_eq!(
            h.get(&format!("notification-channels/{id}")).await.status,
            404
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_events_stream_to_subscribed_channels() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let receiver = WebhookReceiver::start(Vec::new(), Duration::ZERO).await;
        let url = receiver.url.clone();
        let created = h
            .post(
                "notification-channels",
                json!({"name": "SIEM", "type": "webhook", "url": url, "events": ["audit.event"]}),
            )
            .await;
        assert_eq!(created.status, 201, "[{backend}] {}", created.body);
        let secret = created.body["channel"]["secret"]
            .as_str()
            .unwrap()
            .to_string();
        let monitor = h.post("monitors", seed_standard()).await;
        assert_eq!(monitor.status, 201);
        let monitor_id = monitor.body["monitor"]["id"].as_str().unwrap().to_string();

        let mut bodies = Vec::new();
        for _ in 0..400 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            bodies = receiver.requests();
            if bodies.len() >= 2 {
                break;
            }
        }
        // The channel's own creation, then the monitor's.
        let events: Vec<serde_json::Value> = bodies
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        let created_monitor = events
            .iter()
            .find(|e| e["event"] == "monitor.create")
            .unwrap_or_else(|| panic!("[{backend}] no monitor.create in {events:?}"));
        assert_eq!(created_monitor["type"], "audit.event");
        assert_eq!(created_monitor["target"]["type"], "monitor");
        assert_eq!(created_monitor["target"]["id"], monitor_id.as_str());
        assert!(created_monitor["actor"]["id"].is_string());
        let request = &bodies[events
            .iter()
            .position(|e| e["event"] == "monitor.create")
            .unwrap()];
        certsentry_notify::verify(
            certsentry_domain::channel::SigningScheme::CertSentry,
            &secret,
            &request.headers,
            &request.body,
            certsentry_domain::time::now_ms() / 1000,
            None,
        )
        .unwrap();
        // Audit deliveries are not alerts.
        let alerts = h.get("events").await;
        assert!(
            alerts.body["events"].as_array().unwrap().is_empty(),
            "{}",
            alerts.body
        );

        // Plans without audit logs cannot subscribe.
        let small = Harness::start(backend, h.store.clone(), "starter", |_| {}).await;
        let refused = small
            .post(
                "notification-channels",
                json!({"name": "SIEM", "type": "webhook", "url": "https://siem.example.com/", "events": ["audit.event"]}),
            )
            .await;
        assert_eq!(refused.status, 400, "[{backend}] {}", refused.body);
        assert_eq!(refused.code(), "plan_limit");
    }
}
