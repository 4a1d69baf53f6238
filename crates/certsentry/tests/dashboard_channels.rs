//! Notification channels from the dashboard, on every backend: a webhook
//! channel made in the form (the type's rules are the API's, beside their
//! fields; the signing secret shown once), a test sent to a real receiver
//! on loopback, the delivery log, redeliver, and delete.

mod common;

use std::time::Duration;

use certsentry_domain::people::Role;
use certsentry_probes::testing::WebhookReceiver;
use common::web::signed_in_as;
use common::*;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_is_made_tested_redelivered_and_deleted() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let receiver = WebhookReceiver::start(Vec::new(), Duration::ZERO).await;
        let mut admin = signed_in_as(&h, "admin@acme.example", Role::Admin).await;
        let page = admin.get("/settings/channels").await;
        assert_eq!(page.status, StatusCode::OK);
        let csrf = page.csrf();

        let refused = admin
            .post(
                "/settings/channels",
                &[
                    ("csrf_token", &csrf),
                    ("name", "ops hook"),
                    ("type", "webhook"),
                ],
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "[{backend}]"
        );
        assert!(refused.body.contains("field-error"), "{}", refused.body);
        assert!(
            refused.body.contains("value=\"ops hook\""),
            "what was typed stays"
        );

        let made = admin
            .post(
                "/settings/channels",
                &[
                    ("csrf_token", &csrf),
                    ("name", "ops hook"),
                    ("type", "webhook"),
                    ("url", &receiver.url),
                    ("events", "uptime.down"),
                    ("events", "uptime.up"),
                ],
            )
            .await;
        assert_eq!(made.status, StatusCode::OK, "[{backend}] {}", made.body);
        assert!(made.body.contains("Its signing secret"), "{}", made.body);
        let listed = h.get("notification-channels").await;
        let channel = &listed.body["channels"][0];
        assert_eq!(
            channel["events"],
            serde_json::json!(["uptime.down", "uptime.up"])
        );
        let id = channel["id"].as_str().unwrap().to_string();
        let audit = h.get("audit-logs?action=notificationChannel.create").await;
        assert_eq!(
            audit.body["auditLogs"][0]["actorEmail"],
            "admin@acme.example"
        );

        let tested = admin
            .post(
                &format!("/settings/channels/{id}/test"),
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(tested.status, StatusCode::SEE_OTHER);
        let mut delivered = false;
        for _ in 0..100 {
            let log = admin.get(&format!("/settings/channels/{id}")).await;
            if log
                .body
                .contains("<span class=\"state ok\">delivered</span>")
            {
                delivered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(delivered, "[{backend}] the test shows as delivered");
        assert_eq!(receiver.len(), 1);

        let deliveries = h.get(&format!("deliveries?channelId={id}")).await;
        let delivery = deliveries.body["deliveries"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let again = admin
            .post(
                &format!("/settings/deliveries/{delivery}/redeliver"),
                &[("csrf_token", &csrf), ("channel", &id)],
            )
            .await;
        assert_eq!(again.status, StatusCode::SEE_OTHER);
        assert_eq!(
            again.location(),
            Some(format!("/settings/channels/{id}").as_str())
        );
        for _ in 0..100 {
            if receiver.len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(receiver.len(), 2, "[{backend}] redelivered");

        let mut member = signed_in_as(&h, "member@acme.example", Role::Member).await;
        let seen = member.get(&format!("/settings/channels/{id}")).await;
        assert!(
            !seen.body.contains("Send test"),
            "members manage no channels"
        );

        let gone = admin
            .post(
                &format!("/settings/channels/{id}/delete"),
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(gone.status, StatusCode::SEE_OTHER);
        assert!(
            h.get("notification-channels").await.body["channels"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
}
