//! `PUT /monitors/sync`: all-or-nothing validation, dry runs, pruning.

mod common;

use common::*;
use serde_json::{Value, json};

fn web(external_id: &str) -> Value {
    with(
        with(seed_standard(), "externalId", json!(external_id)),
        "label",
        json!(external_id),
    )
}

fn db(external_id: &str) -> Value {
    with(seed_tcp(), "externalId", json!(external_id))
}

async fn external_ids(h: &Harness) -> Vec<String> {
    let mut ids: Vec<String> = h.get("monitors?limit=100").await.body["monitors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["externalId"].as_str().map(String::from))
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_invalid_item_rejects_the_whole_sync() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let body = json!({"monitors": [web("a"), with(db("b"), "tcpPort", json!(70000)), web("c"), with(web("d"), "regions", json!("virginia"))]});
        let reply = h.put("monitors/sync", body).await;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (422, "invalid_input"),
            "[{backend}] {}",
            reply.body
        );
        assert!(
            reply.detail("monitors[1].tcpPort").is_some(),
            "{}",
            reply.body
        );
        assert!(
            reply.detail("monitors[3].regions").is_some(),
            "{}",
            reply.body
        );
        assert!(
            external_ids(&h).await.is_empty(),
            "[{backend}] nothing applied"
        );

        let rules = json!({"monitors": [
            with(seed_standard(), "label", json!("no external id")),
            with(seed_heartbeat(), "externalId", json!("hb")),
            web("dup"), web("dup"),
        ]});
        let reply = h.put("monitors/sync", rules).await;
        assert_eq!(reply.status, 422);
        for field in [
            "monitors[0].externalId",
            "monitors[1].kind",
            "monitors[3].externalId",
        ] {
            assert!(
                reply.detail(field).is_some(),
                "[{backend}] {field}: {}",
                reply.body
            );
        }

        let too_many: Vec<Value> = (0..251).map(|i| web(&format!("m{i}"))).collect();
        let reply = h.put("monitors/sync", json!({"monitors": too_many})).await;
        assert!(reply.detail("monitors").is_some());
        assert!(external_ids(&h).await.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prune_and_kind_rules() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let unmanaged = h.post("monitors", seed_standard()).await.body["monitor"]["id"].clone();
        let hb = h
            .post(
                "monitors",
                with(seed_heartbeat(), "externalId", json!("backup")),
            )
            .await;
        assert_eq!(hb.status, 201);

        let plan = h
            .put(
                "monitors/sync",
                json!({"monitors": [web("a"), db("b")], "dryRun": true}),
            )
            .await;
        assert_eq!(
            plan.body,
            json!({"created": ["a", "b"], "updated": [], "unchanged": [], "deleted": [], "dryRun": true})
        );
        assert_eq!(
            external_ids(&h).await,
            vec!["backup"],
            "[{backend}] dry run applies nothing"
        );

        h.put("monitors/sync", json!({"monitors": [web("a"), db("b")]}))
            .await;
        assert_eq!(external_ids(&h).await, vec!["a", "b", "backup"]);

        // Without prune, missing monitors stay.
        let keep = h
            .put("monitors/sync", json!({"monitors": [web("a")]}))
            .await;
        assert_eq!(keep.body["deleted"], json!([]));
        let pruned = h
            .put(
                "monitors/sync",
                json!({"monitors": [web("a")], "prune": true}),
            )
            .await;
        assert_eq!(
            pruned.body,
            json!({"created": [], "updated": [], "unchanged": ["a"], "deleted": ["b"], "dryRun": false})
        );
        assert_eq!(
            external_ids(&h).await,
            vec!["a", "backup"],
            "[{backend}] heartbeats are never pruned"
        );
        assert_eq!(
            h.get(&format!("monitors/{}", unmanaged.as_str().unwrap()))
                .await
                .status,
            200,
            "unmanaged untouched"
        );

        let kind_change = h
            .put(
                "monitors/sync",
                json!({"monitors": [with(db("a"), "label", json!("a"))]}),
            )
            .await;
        assert!(
            kind_change.detail("monitors[0].kind").is_some(),
            "[{backend}] {}",
            kind_change.body
        );

        let logged = h.get("audit-logs?action=monitor.sync").await;
        assert_eq!(
            logged.body["auditLogs"].as_array().unwrap().len(),
            3,
            "[{backend}] {}",
            logged.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_respects_the_monitor_quota() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "starter", |_| {}).await;
        let nine: Vec<Value> = (0..9).map(|i| web(&format!("m{i}"))).collect();
        assert_eq!(
            h.put("monitors/sync", json!({"monitors": nine}))
                .await
                .status,
            200
        );
        let eleven: Vec<Value> = (0..11).map(|i| web(&format!("m{i}"))).collect();
        let reply = h
            .put("monitors/sync", json!({"monitors": eleven.clone()}))
            .await;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (400, "plan_limit"),
            "[{backend}]"
        );
        assert_eq!(external_ids(&h).await.len(), 9);
        // Pruning frees room in the same request.
        let swap: Vec<Value> = (5..15).map(|i| web(&format!("m{i}"))).collect();
        let reply = h
            .put("monitors/sync", json!({"monitors": swap, "prune": true}))
            .await;
        assert_eq!(reply.status, 200, "[{backend}] {}", reply.body);
        assert_eq!(reply.body["deleted"], json!(["m0", "m1", "m2", "m3", "m4"]));
    }
}
