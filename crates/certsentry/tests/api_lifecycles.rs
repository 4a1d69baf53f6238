//! Paths no other suite walks, on every backend: editing a channel, a
//! delivery after a secret rotation (both signatures, each verifying),
//! redelivery with the same idempotency key, the known-certificate and CT
//! lookups by id, and deleting an environment.

mod common;

use std::time::Duration;

use certsentry_domain::channel::SigningScheme;
use certsentry_probes::testing::WebhookReceiver;
use common::*;
use serde_json::json;

/// Waits until `receiver` has `count` requests (up to 10 s).
async fn received(receiver: &WebhookReceiver, count: usize) {
    for _ in 0..200 {
        if receiver.len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{count} requests never arrived ({} did)", receiver.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_edit_rotation_and_redelivery() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let receiver = WebhookReceiver::start(Vec::new(), Duration::ZERO).await;
        let created = h
            .post(
                "notification-channels",
                json!({"name": "Ops", "type": "webhook", "url": receiver.url,
                       "signing": "standard-webhooks", "events": ["uptime.down"]}),
            )
            .await;
        assert_eq!(created.status, 201, "[{backend}] {}", created.body);
        let id = created.body["channel"]["id"].as_str().unwrap().to_string();
        let old = created.body["channel"]["secret"]
            .as_str()
            .unwrap()
            .to_string();

        // PATCH replaces the definition; the secret stays and is not shown.
        let edited = h
            .patch(
                &format!("notification-channels/{id}"),
                json!({"name": "Ops (EU)", "type": "webhook", "url": receiver.url,
                       "signing": "standard-webhooks", "events": ["uptime.down", "uptime.up"]}),
            )
            .await;
        assert_eq!(edited.status, 200, "[{backend}] {}", edited.body);
        assert_eq!(edited.body["channel"]["name"], "Ops (EU)");
        assert_eq!(
            edited.body["channel"]["events"],
            json!(["uptime.down", "uptime.up"])
        );
        assert!(edited.body["channel"]["secret"].is_null());

        // After a rotation, a delivery carries both signatures, and each
        // secret verifies it.
        let rotated = h
            .post(
                &format!("notification-channels/{id}/rotate-secret"),
                json!({}),
            )
            .await;
        let new = rotated.body["channel"]["secret"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(new, old);
        let test = h
            .post(&format!("notification-channels/{id}/test"), json!({}))
            .await;
        assert_eq!(test.status, 202, "[{backend}] {}", test.body);
        received(&receiver, 1).await;
        let first = &receiver.requests()[0];
        let signatures = first.header("webhook-signature").unwrap();
        assert_eq!(signatures.split(' ').count(), 2, "{signatures}");
        let now = certsentry_domain::time::now_ms() / 1000;
        for secret in [&new, &old] {
            certsentry_notify::sign::verify(
                SigningScheme::StandardWebhooks,
                secret,
                &first.headers,
                &first.body,
                now,
                None,
            )
            .unwrap_or_else(|e| panic!("[{backend}] {e}"));
        }

        // Redelivery sends it again with the same idempotency key.
        let deliveries = h.get(&format!("deliveries?channelId={id}")).await;
        let delivery = deliveries.body["deliveries"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(first.header("idempotency-key"), Some(delivery.as_str()));
        let again = h
            .post(&format!("deliveries/{delivery}/redeliver"), json!({}))
            .await;
        assert_eq!(again.status, 200, "[{backend}] {}", again.body);
        received(&receiver, 2).await;
        assert_eq!(
            receiver.requests()[1].header("idempotency-key"),
            Some(delivery.as_str())
        );
        assert_eq!(receiver.requests()[1].body, first.body);
        let unknown = h
            .post("deliveries/cmx0000000000zzzz/redeliver", json!({}))
            .await;
        assert_eq!(unknown.status, 404);
        assert_eq!(unknown.code(), "not_found");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_certificates_ct_lookups_and_environments_by_id() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let sha = "ab".repeat(32);
        let known = h
            .post(
                "ct/known-certificates",
                json!({"sha256": sha, "note": "load balancer"}),
            )
            .await;
        assert_eq!(known.status, 201, "[{backend}] {}", known.body);
        let id = known.body["knownCertificate"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let listed = h.get("ct/known-certificates").await;
        assert_eq!(listed.status, 200);
        assert!(listed.body.to_string().contains(&sha), "{}", listed.body);
        let path = format!("ct/known-certificates/{id}");
        assert_eq!(h.delete(&path).await.status, 200);
        assert_eq!(h.delete(&path).await.status, 404);
        let listed = h.get("ct/known-certificates").await;
        assert!(!listed.body.to_string().contains(&sha));

        let missing = h.get("ct/certificates/cmx0000000000zzzz").await;
        assert_eq!(missing.status, 404);
        assert_eq!(missing.code(), "not_found");

        let env = h.post("environments", json!({"name": "staging"})).await;
        assert_eq!(env.status, 201, "[{backend}] {}", env.body);
        let env_id = env.body["environment"]["id"].as_str().unwrap().to_string();
        assert_eq!(
            h.delete(&format!("environments/{env_id}")).await.status,
            200
        );
        let left = h.get("environments").await;
        assert_eq!(left.body["environments"], json!([]), "[{backend}]");
        assert_eq!(
            h.delete(&format!("environments/{env_id}")).await.status,
            404
        );
    }
}
