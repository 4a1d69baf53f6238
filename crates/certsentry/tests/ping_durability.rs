//! A `200` on a heartbeat ping means the ping is stored: after `kill -9`
//! and a restart, every acknowledged ping is in the monitor's results. On
//! SQLite healthy pings are first appended to the ping journal; unless the
//! heartbeat watcher happened to read (and so fold) them before the kill,
//! the restarted server's first read folds what the journal still holds.

mod serve;

use serde_json::json;
use serve::{ServeProcess, free_port, get_json, post_json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_pings_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = ServeProcess::start_on(dir.path(), port, &[]).await;
    let key = server.key.clone().unwrap();
    let api = format!("{}/api/v1", server.base);
    let client = reqwest::Client::new();
    let heartbeat = json!({
        "kind": "heartbeat",
        "label": "Nightly backup",
        "heartbeatIntervalSeconds": 86400,
        "heartbeatGraceSeconds": 3600
    });
    let created = post_json(&client, format!("{api}/monitors"), &key, heartbeat).await;
    let id = created["monitor"]["id"].as_str().unwrap().to_string();
    let token = created["monitor"]["heartbeatToken"]
        .as_str()
        .unwrap()
        .to_string();

    // The first ping arms the monitor (a status change, written in place);
    // the healthy ones after it take the journal.
    let pings = 20;
    for _ in 0..pings {
        let answer = client
            .get(format!("{}/api/ping/{token}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    server.kill();

    let restarted = ServeProcess::start_on(dir.path(), port, &[]).await;
    let results = get_json(
        &client,
        format!("{api}/monitors/{id}/results?type=heartbeat&limit=100"),
        Some(&key),
    )
    .await;
    let stored = results["results"].as_array().unwrap();
    assert_eq!(stored.len(), pings, "{results}");
    assert!(stored.iter().all(|r| r["status"] == "ok"));
    drop(restarted);
}
