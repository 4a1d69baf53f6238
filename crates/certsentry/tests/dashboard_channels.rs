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

/// The edit form shows what is stored with its secrets left out, and
/// saving it keeps them: an ntfy access token left blank and a webhook
/// URL whose password is shown masked are not replaced by what the form
/// shows. A new signing scheme's secret, and a rotated one, are shown once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_is_edited_and_keeps_its_secrets() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let receiver = WebhookReceiver::start(Vec::new(), Duration::ZERO).await;
        let with_password = receiver
            .url
            .replacen("http://", "http://hook:s3cret-pass@", 1);
        let made = h
            .post(
                "notification-channels",
                serde_json::json!({"name": "hook", "type": "webhook", "url": with_password,
                                   "events": ["uptime.down"]}),
            )
            .await;
        assert_eq!(made.status, 201, "[{backend}] {}", made.body);
        let id = made.body["channel"]["id"].as_str().unwrap().to_string();
        let ntfy = h
            .post(
                "notification-channels",
                serde_json::json!({"name": "push", "type": "ntfy",
                                   "url": format!("{}/ntfy/ops", receiver.url.trim_end_matches('/')),
                                   "token": "tk_secret_access_token"}),
            )
            .await;
        assert_eq!(ntfy.status, 201, "[{backend}] {}", ntfy.body);
        let ntfy_id = ntfy.body["channel"]["id"].as_str().unwrap().to_string();

        let mut admin = signed_in_as(&h, "admin@acme.example", Role::Admin).await;
        let page = admin.get(&format!("/settings/channels/{id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Edit this channel"), "{}", page.body);
        assert!(
            !page.body.contains("s3cret-pass"),
            "the URL's password is never put in the page"
        );
        let shown_url = page
            .value_starting("http://hook:")
            .expect("the URL is in the form, its password masked");
        let csrf = page.csrf();

        let saved = admin
            .post(
                &format!("/settings/channels/{id}"),
                &[
                    ("csrf_token", &csrf),
                    ("toggles", "1"),
                    ("name", "renamed hook"),
                    ("type", "webhook"),
                    ("url", &shown_url),
                    ("format", "certsentry"),
                    ("signing", "standard-webhooks"),
                    ("events", "uptime.down"),
                    ("events", "ssl.expiring"),
                ],
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK, "[{backend}] {}", saved.body);
        assert!(saved.body.contains("Saved."), "{}", saved.body);
        assert!(
            saved.body.contains("New signing secret"),
            "a new scheme's secret is shown once"
        );
        let stored = h
            .store
            .get_channel(
                &h.org,
                &certsentry_domain::ChannelId::from_string(id.clone()),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.spec.name, "renamed hook");
        assert_eq!(
            stored.spec.url.as_deref(),
            Some(with_password.as_str()),
            "[{backend}] the masked URL kept the stored password"
        );
        assert!(!stored.spec.enabled, "the unticked box disabled it");
        assert_eq!(stored.spec.events.len(), 2);

        let refused = admin
            .post(
                &format!("/settings/channels/{id}"),
                &[
                    ("csrf_token", &csrf),
                    ("toggles", "1"),
                    ("name", ""),
                    ("type", "webhook"),
                    ("url", &shown_url),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("field-error"), "{}", refused.body);

        let edited_ntfy = admin
            .post(
                &format!("/settings/channels/{ntfy_id}"),
                &[
                    ("csrf_token", &csrf),
                    ("toggles", "1"),
                    ("enabled", "on"),
                    ("name", "push (ops)"),
                    ("type", "ntfy"),
                    (
                        "url",
                        &format!("{}/ntfy/ops", receiver.url.trim_end_matches('/')),
                    ),
                    ("token", ""),
                ],
            )
            .await;
        assert_eq!(edited_ntfy.status, StatusCode::OK, "{}", edited_ntfy.body);
        let stored = h
            .store
            .get_channel(&h.org, &certsentry_domain::ChannelId::from_string(ntfy_id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.spec.name, "push (ops)");
        assert_eq!(
            stored.spec.token.as_deref(),
            Some("tk_secret_access_token"),
            "[{backend}] a blank secret keeps the stored one"
        );

        let before = h
            .store
            .get_channel(
                &h.org,
                &certsentry_domain::ChannelId::from_string(id.clone()),
            )
            .await
            .unwrap()
            .unwrap()
            .secret;
        let rotated = admin
            .post(
                &format!("/settings/channels/{id}/rotate-secret"),
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
        let after = h
            .store
            .get_channel(
                &h.org,
                &certsentry_domain::ChannelId::from_string(id.clone()),
            )
            .await
            .unwrap()
            .unwrap();
        assert_ne!(after.secret, before);
        assert_eq!(after.previous_secret, before, "the old one keeps signing");
        assert!(rotated.body.contains(after.secret.as_deref().unwrap()));

        let mut viewer = signed_in_as(&h, "viewer@acme.example", Role::Viewer).await;
        let seen = viewer.get(&format!("/settings/channels/{id}")).await;
        assert!(!seen.body.contains("Edit this channel"));
        let forged = viewer
            .post(
                &format!("/settings/channels/{id}"),
                &[
                    ("csrf_token", &seen.csrf()),
                    ("name", "x"),
                    ("type", "webhook"),
                ],
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
    }
}
