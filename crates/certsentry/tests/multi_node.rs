//! Two `certsentry serve` processes on one PostgreSQL database, as real
//! processes: they share the scheduled checks with no duplicates, one of
//! them tails CT at a time, and when that one is killed (-9) the other
//! takes over from the stored position; no certificate is alerted twice
//! and the outbox, served by both, delivers each alert once.

mod serve;

use std::path::Path;
use std::time::Duration;

use certsentry_ct::testing::{FakeEntry, FakeLog, TestCa, log_list_json};
use certsentry_probes::testing::WebhookReceiver;
use serde_json::{Value, json};
use serve::target::Target;
use serve::{ServeProcess, create_ct_monitor, free_port, get_json, wait_for};

const LOG_ID: &str = "dGVzdC1sb2ctaWQtMDAwMDAwMDAwMDAwMDAwMDAwMDA=";

async fn node(dir: &Path, env: &[(&str, &str)], first: bool) -> ServeProcess {
    let flags = ["--check-interval-ms", "500"];
    ServeProcess::start_with(dir, free_port(), env, &flags, first).await
}

fn role(health: &Value) -> &str {
    health["node"]["role"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_the_checks_and_hand_ct_over_when_the_leader_dies() {
    let Some(url) = certsentry_store_postgres::testing::fresh_database().await else {
        return;
    };
    let log = FakeLog::start().await;
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("logs.json");
    std::fs::write(
        &list,
        log_list_json(&[("Fake Log", LOG_ID, &log.rfc6962_url)], &[]),
    )
    .unwrap();
    let config = dir.path().join("certsentry.toml");
    std::fs::write(&config, "[plans.agency]\nreads_per_minute = 1000000\n").unwrap();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("CERTSENTRY_CONFIG", config.to_str().unwrap()),
        ("CERTSENTRY_CT_LOG_LIST", list.to_str().unwrap()),
        ("CERTSENTRY_CT_START", "beginning"),
        ("CERTSENTRY_CT_POLL_S", "1"),
        ("CERTSENTRY_CT_PACING_MS", "0"),
        ("CERTSENTRY_SUSPICIOUS_GRACE_S", "1"),
    ];
    let first = node(&dir.path().join("a"), &env, true).await;
    let key = first.key.clone().unwrap();
    let second = node(&dir.path().join("b"), &env, false).await;
    let client = reqwest::Client::new();

    // One leader for CT, the other a worker; each knows its own id.
    wait_for("one CT leader", async || {
        let (a, b) = (first.health().await, second.health().await);
        let roles = [role(&a), role(&b)];
        roles.contains(&"ct-leader") && roles.contains(&"worker")
    })
    .await;
    let (a, b) = (first.health().await, second.health().await);
    assert_ne!(a["node"]["id"], b["node"]["id"]);

    // A checked monitor: run by one node per slot, not by both.
    let target = Target::default();
    let target_url = target.start().await;
    let made: Value = client
        .post(format!("{}/api/v1/monitors", first.base))
        .bearer_auth(&key)
        .json(&json!({
            "label": "shop", "target": target_url, "regions": ["virginia"],
            "checkSsl": false, "checkDomain": false, "checkDns": false,
            "checkUptime": true, "uptimeIntervalSeconds": 60, "alertLeadDays": [7]
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let monitor = made["monitor"]["id"].as_str().unwrap().to_string();
    wait_for("checks of the monitor", async || {
        target.seen_in("server") >= 12
    })
    .await;
    let results = get_json(
        &client,
        format!(
            "{}/api/v1/monitors/{monitor}/results?limit=500",
            second.base
        ),
        Some(&key),
    )
    .await;
    let mut times: Vec<i64> = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| certsentry_domain::time::parse_datetime(r["createdAt"].as_str().unwrap()).unwrap())
        .collect();
    times.sort();
    let span = times.last().unwrap() - times.first().unwrap();
    assert!(
        times.len() as i64 <= span / 500 + 2,
        "each 500 ms slot is run by one node: {} results in {span} ms",
        times.len()
    );
    let doubled = times.windows(2).filter(|w| w[1] - w[0] < 200).count();
    assert_eq!(doubled, 0, "never two runs at once: {times:?}");

    // CT: a suspicious certificate alerted once, by whichever node leads.
    let ca = TestCa::new("Fake CA");
    let shop = ca.issue(&["shop.example.org"], 1);
    let mail = ca.issue(&["mail.example.org"], 2);
    let created = create_ct_monitor(&client, &first.base, &key, "www.example.org").await;
    assert!(created["monitor"]["id"].is_string(), "{created}");
    let spotter = WebhookReceiver::start(Vec::new(), Duration::ZERO).await;
    let channel = client
        .post(format!("{}/api/v1/notification-channels", first.base))
        .bearer_auth(&key)
        .json(
            &json!({"name": "spotter", "type": "webhook", "url": spotter.url,
                      "format": "certspotter", "events": ["ct.new_certificate"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(channel.status(), 201);
    // Created through either node, the monitor reaches the leader's watch
    // list within a second or so (the default rebuild is every 60 s).
    wait_for("the leader watches the new monitor", async || {
        for node in [&first, &second] {
            let health = node.health().await;
            if role(&health) == "ct-leader" && health["ct"]["watchEntries"] == 1 {
                return true;
            }
        }
        false
    })
    .await;
    log.append([
        FakeEntry::precertificate(&shop),
        FakeEntry::certificate(&shop),
    ]);
    log.publish();
    wait_for("the first alert", async || spotter.len() == 1).await;

    // kill -9 the leader: the other takes over within the lease (30 s).
    let (leader, follower) = if role(&first.health().await) == "ct-leader" {
        (first, second)
    } else {
        (second, first)
    };
    leader.kill();
    let mut took_over = false;
    for _ in 0..90 {
        if role(&follower.health().await) == "ct-leader" {
            took_over = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(took_over, "the follower leads CT after the leader died");
    log.append([
        FakeEntry::precertificate(&mail),
        FakeEntry::certificate(&mail),
    ]);
    log.publish();
    wait_for("the second alert", async || spotter.len() == 2).await;
    // Time for a repeat to show, if there were one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(spotter.len(), 2, "each certificate alerted once");
    let findings = get_json(
        &client,
        format!("{}/api/v1/ct/certificates", follower.base),
        Some(&key),
    )
    .await;
    let listed = findings
        .as_object()
        .and_then(|o| o.values().find_map(Value::as_array))
        .unwrap();
    assert_eq!(listed.len(), 2, "one finding per certificate: {findings}");
}
