//! Chat and paging channels end to end: created through the API (with each
//! service's URL and secret rules, the warning for a Slack URL on another
//! host, secrets masked in reads), and `POST …/test` delivered through the
//! outbox in each service's request shape to fakes of the services on
//! loopback, which refuse what the real services refuse.

mod chat_fakes;
mod common;

use chat_fakes::{ChatFakes, Received};
use common::*;
use serde_json::{Value, json};

/// Asks each channel to send its test message.
async fn send_tests(h: &Harness, channels: &[&Reply]) {
    for channel in channels {
        let id = channel.body["channel"]["id"].as_str().unwrap();
        let sent = h
            .post(&format!("notification-channels/{id}/test"), json!({}))
            .await;
        assert_eq!(sent.status, 202, "[{}] {}", h.backend, sent.body);
    }
}

/// The request posted to a path starting with `prefix`, which its
/// service accepted.
fn posted<'a>(requests: &'a [Received], prefix: &str) -> &'a Received {
    let request = requests
        .iter()
        .find(|r| r.target.starts_with(prefix))
        .unwrap_or_else(|| panic!("nothing posted to {prefix}"));
    assert_eq!(
        request.refused, None,
        "{} refused the request",
        request.service
    );
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_teams_and_discord_get_their_own_messages() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let fakes = ChatFakes::start().await;
        let base = fakes.base.clone();
        let create = |kind: &str, path: &str| json!({ "name": format!("ops {kind}"), "type": kind, "url": format!("{base}{path}") });

        let slack = h
            .post(
                "notification-channels",
                create("slack", "/slack/services/T0/B0/xyz"),
            )
            .await;
        assert_eq!(slack.status, 201, "[{backend}] {}", slack.body);
        assert!(
            slack.body["warnings"][0]
                .as_str()
                .unwrap()
                .contains("not Slack's host"),
            "[{backend}] {}",
            slack.body
        );
        assert!(
            slack.body["channel"]["secret"].is_null(),
            "chat channels sign nothing"
        );
        let teams = h
            .post(
                "notification-channels",
                create("teams", "/teams/workflows/abc"),
            )
            .await;
        assert_eq!(teams.status, 201, "[{backend}] {}", teams.body);
        let discord = h
            .post(
                "notification-channels",
                create("discord", "/api/webhooks/1234567890/tok-EN_x"),
            )
            .await;
        assert_eq!(discord.status, 201, "[{backend}] {}", discord.body);
        assert!(discord.body.get("warnings").is_none());
        let not_discord = h
            .post("notification-channels", create("discord", "/hooks/123"))
            .await;
        assert_eq!(not_discord.status, 422);
        assert!(
            not_discord
                .detail("url")
                .unwrap()
                .contains("/api/webhooks/")
        );
        let with_email = h
            .post(
                "notification-channels",
                json!({ "name": "x", "type": "slack", "url": format!("{base}/s"), "to": ["ops@example.com"] }),
            )
            .await;
        assert_eq!(with_email.status, 422);

        send_tests(&h, &[&slack, &teams, &discord]).await;
        let requests = fakes.wait_for(3).await;
        let body = |prefix: &str| -> (String, Value) {
            let request = posted(&requests, prefix);
            (
                request.target.clone(),
                serde_json::from_slice(&request.body).unwrap(),
            )
        };

        let (_, slack) = body("/slack/");
        let attachment = &slack["attachments"][0];
        assert_eq!(attachment["color"], "#D92D20", "[{backend}] {slack}");
        assert_eq!(
            attachment["blocks"][0]["text"]["text"],
            "*🔴 Down: Test: example monitor*"
        );
        let fields = attachment["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b.get("fields").is_some())
            .unwrap();
        assert_eq!(fields["fields"][0]["text"], "*Last error*\nconnect timeout");

        let (_, teams) = body("/teams/");
        assert_eq!(teams["type"], "message");
        let card = &teams["attachments"][0];
        assert_eq!(
            card["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(card["content"]["version"], "1.4");
        assert_eq!(card["content"]["body"][0]["color"], "Attention");
        let facts = card["content"]["body"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"] == "FactSet")
            .unwrap();
        assert_eq!(
            facts["facts"][0],
            json!({ "title": "Last error", "value": "connect timeout" })
        );

        let (target, discord) = body("/api/webhooks/");
        assert!(target.ends_with("?wait=true"), "[{backend}] {target}");
        let embed = &discord["embeds"][0];
        assert_eq!(embed["color"], 0xD92D20);
        assert_eq!(embed["title"], "🔴 Down: Test: example monitor");
        assert_eq!(embed["fields"][0]["name"], "Last error");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_urls_must_be_https_unless_private_targets_are_allowed() {
    let (backend, store) = backends().await.remove(0);
    let h = Harness::start(backend, store, "agency", |config| {
        config.allow_private_targets = false
    })
    .await;
    let plain = h
        .post(
            "notification-channels",
            json!({ "name": "s", "type": "slack", "url": "http://hooks.slack.com/services/T0/B0/x" }),
        )
        .await;
    assert_eq!(plain.status, 422, "{}", plain.body);
    assert_eq!(plain.detail("url"), Some("must be an https:// URL"));
    let secure = h
        .post(
            "notification-channels",
            json!({ "name": "s", "type": "slack", "url": "https://hooks.slack.com/services/T0/B0/x" }),
        )
        .await;
    assert_eq!(secure.status, 201, "{}", secure.body);
    assert!(secure.body.get("warnings").is_none(), "{}", secure.body);
}

/// Telegram, ntfy and PagerDuty, with their API addresses pointed at a
/// fake of each service on loopback: each service's request, secrets masked in reads
/// and kept when an update leaves them out (or sends them back masked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_ntfy_and_pagerduty() {
    for (backend, store) in backends().await {
        let fakes = ChatFakes::start().await;
        let base = fakes.base.clone();
        let services_base = base.clone();
        let h = Harness::start_runtime(backend, store, "agency", move |config| {
            config.outbox.services.telegram_api_url = format!("{services_base}/telegram");
            config.outbox.services.pagerduty_events_url = format!("{services_base}/v2/enqueue");
            config.outbox.services.public_url = Some("https://status.example.net".into());
        })
        .await;
        let bot_token = "123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0";
        let routing_key = "R0123456789abcdefABCDEF012345678";
        let telegram = h
            .post(
                "notification-channels",
                json!({ "name": "tg", "type": "telegram", "botToken": bot_token, "chatId": -1001234567890i64, "messageThreadId": 7 }),
            )
            .await;
        assert_eq!(telegram.status, 201, "[{backend}] {}", telegram.body);
        let ntfy = h
            .post(
                "notification-channels",
                json!({ "name": "push", "type": "ntfy", "url": format!("{base}/ntfy/ops-alerts"), "token": "tk_secret_access_token" }),
            )
            .await;
        assert_eq!(ntfy.status, 201, "[{backend}] {}", ntfy.body);
        let pagerduty = h
            .post(
                "notification-channels",
                json!({ "name": "pager", "type": "pagerduty", "routingKey": routing_key }),
            )
            .await;
        assert_eq!(pagerduty.status, 201, "[{backend}] {}", pagerduty.body);
        let bad_token = h
            .post(
                "notification-channels",
                json!({ "name": "tg", "type": "telegram", "botToken": "nope", "chatId": "@x" }),
            )
            .await;
        assert_eq!(bad_token.status, 422);
        assert!(bad_token.detail("botToken").is_some() && bad_token.detail("chatId").is_some());

        // Reads mask the secrets; an update that sends them back masked keeps them.
        let tg_id = telegram.body["channel"]["id"].as_str().unwrap().to_string();
        let read = h.get(&format!("notification-channels/{tg_id}")).await;
        assert_eq!(
            read.body["channel"]["botToken"], "********m9T0",
            "[{backend}] {}",
            read.body
        );
        assert_eq!(read.body["channel"]["chatId"], "-1001234567890");
        let mut echoed = read.body["channel"].clone();
        echoed["name"] = json!("tg renamed");
        for field in ["id", "createdAt", "updatedAt"] {
            echoed.as_object_mut().unwrap().remove(field);
        }
        let updated = h
            .patch(&format!("notification-channels/{tg_id}"), echoed)
            .await;
        assert_eq!(updated.status, 200, "[{backend}] {}", updated.body);
        let pd_read = h
            .get(&format!(
                "notification-channels/{}",
                pagerduty.body["channel"]["id"].as_str().unwrap()
            ))
            .await;
        assert!(!pd_read.body.to_string().contains(routing_key));

        send_tests(&h, &[&telegram, &ntfy, &pagerduty]).await;
        let requests = fakes.wait_for(3).await;
        let find = |prefix: &str| posted(&requests, prefix).clone();

        let tg = find("/telegram/");
        assert_eq!(tg.target, format!("/telegram/bot{bot_token}/sendMessage"));
        let tg: Value = serde_json::from_slice(&tg.body).unwrap();
        assert_eq!(tg["chat_id"], -1001234567890i64);
        assert_eq!(tg["message_thread_id"], 7);
        assert_eq!(tg["parse_mode"], "HTML");
        let text = tg["text"].as_str().unwrap();
        assert!(
            text.starts_with("<b>🔴 Down: Test: example monitor</b>"),
            "{text}"
        );
        assert!(
            text.contains("<b>Last error:</b> connect timeout"),
            "{text}"
        );
        assert!(
            text.contains("<a href=\"https://status.example.net\">"),
            "{text}"
        );

        let push = find("/ntfy/ops-alerts");
        assert_eq!(push.header("title"), Some("🔴 Down: Test: example monitor"));
        assert_eq!(push.header("priority"), Some("5"));
        assert_eq!(
            push.header("authorization"),
            Some("Bearer tk_secret_access_token")
        );
        assert_eq!(push.header("click"), Some("https://status.example.net"));
        assert!(String::from_utf8_lossy(&push.body).contains("Last error: connect timeout"));

        let pd: Value = serde_json::from_slice(&find("/v2/enqueue").body).unwrap();
        assert_eq!(pd["routing_key"], routing_key);
        assert_eq!(pd["event_action"], "trigger");
        assert_eq!(pd["dedup_key"], "cmb1xk2lq0001v8d3:uptime");
        assert_eq!(pd["payload"]["severity"], "critical");
        assert_eq!(pd["payload"]["source"], "example.com");
    }
}

/// A failed attempt's error lands in the delivery log; it never carries
/// the Telegram bot token that is part of the URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_log_never_shows_a_bot_token() {
    let (backend, store) = backends().await.remove(0);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let h = Harness::start_runtime(backend, store, "agency", move |config| {
        config.outbox.services.telegram_api_url = closed_url;
    })
    .await;
    let bot_token = "987654321:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHmSECRET";
    let created = h
        .post(
            "notification-channels",
            json!({ "name": "tg", "type": "telegram", "botToken": bot_token, "chatId": "@ops_alerts" }),
        )
        .await;
    let id = created.body["channel"]["id"].as_str().unwrap().to_string();
    h.post(&format!("notification-channels/{id}/test"), json!({}))
        .await;
    let mut deliveries = Value::Null;
    for _ in 0..400 {
        deliveries = h.get(&format!("deliveries?channelId={id}")).await.body;
        if deliveries["deliveries"][0]["attempts"][0]["error"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let error = deliveries["deliveries"][0]["attempts"][0]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no failed attempt recorded: {deliveries}"));
    assert!(error.contains("connect"), "{error}");
    assert!(!deliveries.to_string().contains("SECRET"), "{deliveries}");
}
