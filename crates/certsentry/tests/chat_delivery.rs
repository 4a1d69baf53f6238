//! How chat messages travel through the outbox, against fakes of the
//! services on loopback: a burst to one channel goes as one summary, a
//! service's 429 is waited out for as long as it asks, messages to one
//! Telegram chat are spaced about a second apart, and a PagerDuty
//! incident is resolved with the key that triggered it.

mod chat_fakes;
mod common;

use std::time::Duration;

use chat_fakes::ChatFakes;
use common::*;
use serde_json::{Value, json};

/// The channel's deliveries once `done` holds for all `n` of them.
async fn deliveries_when(
    h: &Harness,
    channel: &str,
    n: usize,
    done: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let mut list = Vec::new();
    for _ in 0..600 {
        let log = h
            .get(&format!("deliveries?channelId={channel}&limit=100"))
            .await;
        list = log.body["deliveries"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if list.len() >= n && list.iter().all(&done) {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the deliveries never settled: {list:#?}");
}

fn delivered(delivery: &Value) -> bool {
    delivery["status"] == "delivered"
}

async fn create_channel(h: &Harness, body: Value) -> String {
    let created = h.post("notification-channels", body).await;
    assert_eq!(created.status, 201, "[{}] {}", h.backend, created.body);
    created.body["channel"]["id"].as_str().unwrap().to_string()
}

async fn send_test(h: &Harness, channel: &str) {
    let sent = h
        .post(&format!("notification-channels/{channel}/test"), json!({}))
        .await;
    assert_eq!(sent.status, 202, "[{}] {}", h.backend, sent.body);
}

/// Fifty `uptime.down` events due to one Slack channel within its window
/// arrive as one message listing them; every delivery is marked delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_fifty_events_is_one_slack_message() {
    for (backend, store) in backends().await {
        let fakes = ChatFakes::start().await;
        let h = Harness::start_runtime(backend, store, "agency", |config| {
            config.api.plans.set_rate_limits(10_000, 10_000);
            // Wide enough that fifty API calls land inside it on a slow machine.
            config.outbox.chat_group_window = Duration::from_secs(6);
        })
        .await;
        let url = format!("{}/slack/services/T0/B0/burst", fakes.base);
        let slack = create_channel(
            &h,
            json!({ "name": "ops", "type": "slack", "url": url, "events": ["uptime.down"] }),
        )
        .await;
        for _ in 0..50 {
            send_test(&h, &slack).await;
        }
        let log = deliveries_when(&h, &slack, 50, delivered).await;
        assert_eq!(log.len(), 50, "[{backend}]");
        let requests = fakes.requests();
        assert_eq!(requests.len(), 1, "[{backend}] {requests:#?}");
        assert_eq!(requests[0].refused, None);
        let body = requests[0].json();
        let blocks = &body["attachments"][0]["blocks"];
        assert_eq!(blocks[0]["text"]["text"], "*🔴 50 alerts at once*");
        assert_eq!(
            blocks[1]["fields"][0]["text"],
            "*Down*\nTest: example monitor (example.com)"
        );
        let all = body.to_string();
        assert!(all.contains("and 30 more events"), "[{backend}] {all}");
    }
}

/// Ten or fewer go one by one; webhooks never wait or group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_burst_goes_one_by_one() {
    let (backend, store) = backends().await.remove(0);
    let fakes = ChatFakes::start().await;
    let h = Harness::start_runtime(backend, store, "agency", |config| {
        config.api.plans.set_rate_limits(10_000, 10_000);
        config.outbox.chat_group_window = Duration::from_secs(1);
    })
    .await;
    let url = format!("{}/slack/services/T0/B0/small", fakes.base);
    let slack = create_channel(&h, json!({ "name": "ops", "type": "slack", "url": url })).await;
    for _ in 0..10 {
        send_test(&h, &slack).await;
    }
    deliveries_when(&h, &slack, 10, delivered).await;
    let requests = fakes.requests();
    assert_eq!(requests.len(), 10);
    assert!(requests.iter().all(|r| r.refused.is_none()));
}

/// Telegram's 429 names its wait in the body, Discord's in both; each is
/// retried after it, and messages to one chat keep a second apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_waited_out_and_telegram_is_paced() {
    for (backend, store) in backends().await {
        let fakes = ChatFakes::start().await;
        let telegram_api = format!("{}/telegram", fakes.base);
        let h = Harness::start_runtime(backend, store, "agency", move |config| {
            config.outbox.services.telegram_api_url = telegram_api;
        })
        .await;
        let telegram = create_channel(
            &h,
            json!({ "name": "tg", "type": "telegram", "botToken": "123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0", "chatId": "@ops_alerts" }),
        )
        .await;
        let discord_url = format!("{}/api/webhooks/42/tok", fakes.base);
        let discord = create_channel(
            &h,
            json!({ "name": "dc", "type": "discord", "url": discord_url }),
        )
        .await;
        fakes.rate_limit("telegram", 1);
        fakes.rate_limit("discord", 1);
        for _ in 0..3 {
            send_test(&h, &telegram).await;
        }
        send_test(&h, &discord).await;

        let tg_log = deliveries_when(&h, &telegram, 3, delivered).await;
        deliveries_when(&h, &discord, 1, delivered).await;
        let limited: Vec<&Value> = tg_log
            .iter()
            .filter(|d| d["attempts"].as_array().unwrap().len() > 1)
            .collect();
        assert_eq!(limited.len(), 1, "[{backend}] {tg_log:#?}");
        let codes: Vec<&Value> = limited[0]["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["statusCode"])
            .collect();
        assert_eq!(codes, [&json!(429), &json!(200)], "[{backend}]");

        let requests = fakes.requests();
        let arrivals = |service: &str| -> Vec<std::time::Instant> {
            requests
                .iter()
                .filter(|r| r.service == service)
                .map(|r| r.at)
                .collect()
        };
        let tg = arrivals("telegram");
        assert_eq!(tg.len(), 4, "[{backend}] three messages and one retry");
        // Spacing is a lower bound the server promises, not a speed limit.
        for pair in tg.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(
                gap >= Duration::from_millis(900),
                "[{backend}] two messages to one chat {gap:?} apart"
            );
        }
        let dc = arrivals("discord");
        assert_eq!(dc.len(), 2, "[{backend}]");
        assert!(
            dc[1] - dc[0] >= Duration::from_millis(900),
            "[{backend}] Discord's retry_after was not waited out"
        );
        assert!(requests.iter().all(|r| r.refused.is_none()));
    }
}

/// A real outage and its recovery: PagerDuty gets a trigger and then a
/// resolve with the same `dedup_key`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_resolves_the_incident_it_triggered() {
    for (backend, store) in backends().await {
        let fakes = ChatFakes::start().await;
        let events_url = format!("{}/v2/enqueue", fakes.base);
        let h = Harness::start_runtime(backend, store, "agency", move |config| {
            config.outbox.services.pagerduty_events_url = events_url;
        })
        .await;
        let routing_key = "R0123456789abcdefABCDEF012345678";
        let pager = create_channel(
            &h,
            json!({ "name": "pager", "type": "pagerduty", "routingKey": routing_key }),
        )
        .await;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let monitor = h
            .post(
                "monitors",
                json!({ "kind": "tcp", "label": "db", "target": "127.0.0.1", "tcpPort": port,
                        "uptimeIntervalSeconds": 60, "regions": ["virginia"] }),
            )
            .await;
        assert_eq!(monitor.status, 201, "[{backend}] {}", monitor.body);
        let id = monitor.body["monitor"]["id"].as_str().unwrap().to_string();
        for _ in 0..3 {
            h.post(&format!("monitors/{id}/check"), json!({})).await;
        }
        let _open = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        for _ in 0..2 {
            h.post(&format!("monitors/{id}/check"), json!({})).await;
        }

        deliveries_when(&h, &pager, 2, delivered).await;
        let sent: Vec<Value> = fakes.wait_for(2).await.iter().map(|r| r.json()).collect();
        assert_eq!(sent.len(), 2, "[{backend}] {sent:#?}");
        let action = |name: &str| {
            sent.iter()
                .find(|s| s["event_action"] == name)
                .unwrap_or_else(|| panic!("[{backend}] no {name} in {sent:#?}"))
        };
        assert_eq!(action("trigger")["dedup_key"], format!("{id}:uptime"));
        assert_eq!(
            action("resolve")["dedup_key"],
            action("trigger")["dedup_key"]
        );
        assert!(fakes.requests().iter().all(|r| r.refused.is_none()));
    }
}
