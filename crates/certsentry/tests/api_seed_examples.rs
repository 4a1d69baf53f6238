//! Every curl example of the API reference, with the documented shapes.

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_curl_examples_work_and_return_documented_shapes() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;

        // Create a monitor (standard, tcp, heartbeat).
        let created = h.post("monitors", seed_standard()).await;
        assert_eq!(created.status, 201, "[{backend}] {}", created.body);
        let monitor = &created.body["monitor"];
        let id = monitor["id"].as_str().unwrap().to_string();
        assert_eq!(id.len(), 17);
        assert_eq!(monitor["kind"], "standard");
        assert_eq!(monitor["enabled"], true);
        assert_eq!(monitor["lastStatus"], "unknown");
        assert_eq!(monitor["checkCt"], false);
        assert_eq!(monitor["alertLeadDays"], json!([30, 14, 7, 3, 1]));
        for field in [
            "sslNotAfter",
            "domainExpiry",
            "createdAt",
            "environmentId",
            "externalId",
        ] {
            assert!(monitor.get(field).is_some(), "[{backend}] {field} missing");
        }
        assert!(monitor["createdAt"].as_str().unwrap().ends_with('Z'));

        let tcp = h.post("monitors", seed_tcp()).await;
        assert_eq!(tcp.status, 201, "[{backend}] {}", tcp.body);
        assert_eq!(tcp.body["monitor"]["tcpPort"], 5432);
        let heartbeat = h.post("monitors", seed_heartbeat()).await;
        assert_eq!(heartbeat.status, 201, "[{backend}] {}", heartbeat.body);
        assert_eq!(
            heartbeat.body["monitor"]["heartbeatToken"]
                .as_str()
                .unwrap()
                .len(),
            24
        );
        assert_eq!(heartbeat.body["monitor"]["target"], json!(null));

        // List monitors, with the seed's filters.
        let listed = h.get("monitors?kind=standard&enabled=true").await;
        assert_eq!(listed.status, 200);
        assert_eq!(listed.body["monitors"].as_array().unwrap().len(), 1);
        assert_eq!(listed.body["nextCursor"], json!(null));
        let all = h.get("monitors").await;
        assert_eq!(all.body["monitors"].as_array().unwrap().len(), 3);
        assert_eq!(all.body["monitors"][0]["id"], id.as_str(), "oldest first");

        // Retrieve.
        let fetched = h.get(&format!("monitors/{id}")).await;
        assert_eq!(fetched.status, 200);
        assert_eq!(fetched.body["monitor"], created.body["monitor"]);

        // Update: the seed's PATCH body.
        let update = json!({
            "label": "Client: Acme Corp", "target": "acme.example.com",
            "checkSsl": true, "checkDomain": true, "checkDns": true, "checkUptime": true,
            "uptimeIntervalSeconds": 60, "regions": ["virginia", "dublin"],
            "alertLeadDays": [30, 14, 7, 3, 1]
        });
        let updated = h.patch(&format!("monitors/{id}"), update).await;
        assert_eq!(updated.status, 200, "[{backend}] {}", updated.body);
        assert_eq!(updated.body["monitor"]["checkDns"], true);
        assert_eq!(
            updated.body["monitor"]["regions"],
            json!(["virginia", "dublin"])
        );
        assert_eq!(updated.body["monitor"]["createdAt"], monitor["createdAt"]);

        // Sync: the seed's body. acme-db is created the first time, unchanged the second.
        let sync_body = json!({
            "monitors": [
                { "externalId": "acme-web", "label": "Acme web", "target": "acme.example.com",
                  "checkSsl": true, "checkDomain": true, "checkDns": false, "checkUptime": true,
                  "uptimeIntervalSeconds": 300, "regions": ["virginia"], "alertLeadDays": [30, 14, 7] },
                { "externalId": "acme-db", "kind": "tcp", "label": "Acme DB", "target": "db.acme.example.com",
                  "tcpPort": 5432, "uptimeIntervalSeconds": 300, "regions": ["virginia"] }
            ],
            "prune": true,
            "dryRun": false
        });
        let first = h.put("monitors/sync", sync_body.clone()).await;
        assert_eq!(first.status, 200, "[{backend}] {}", first.body);
        assert_eq!(
            first.body,
            json!({"created": ["acme-web", "acme-db"], "updated": [], "unchanged": [], "deleted": [], "dryRun": false})
        );
        let mut changed = sync_body.clone();
        changed["monitors"][0]["label"] = json!("Acme website");
        let second = h.put("monitors/sync", changed).await;
        assert_eq!(
            second.body,
            json!({"created": [], "updated": ["acme-web"], "unchanged": ["acme-db"], "deleted": [], "dryRun": false})
        );
        // Monitors without an externalId were never touched by the prune.
        assert_eq!(
            h.get("monitors").await.body["monitors"]
                .as_array()
                .unwrap()
                .len(),
            5
        );

        // Environments.
        let env = h.post("environments", json!({"name": "Production"})).await;
        assert_eq!(env.status, 201, "[{backend}] {}", env.body);
        let envs = h.get("environments").await;
        assert_eq!(
            envs.body,
            json!({"environments": [{"id": env.body["environment"]["id"], "name": "Production"}]})
        );

        // Status pages.
        let page = h
            .post(
                "status-pages",
                json!({
                    "slug": format!("acme-{backend}-{}", &id[10..]),
                    "title": "Acme status",
                    "monitors": [ { "monitorId": id, "publicLabel": "Website" } ]
                }),
            )
            .await;
        assert_eq!(page.status, 201, "[{backend}] {}", page.body);
        let sp = &page.body["statusPage"];
        assert_eq!(sp["enabled"], true);
        assert_eq!(sp["description"], json!(null));
        assert_eq!(
            sp["monitors"],
            json!([{ "monitorId": id, "publicLabel": "Website", "showTarget": false, "showCertHealth": true, "sortOrder": 0 }])
        );
        let page_id = sp["id"].as_str().unwrap();
        let pages = h.get("status-pages").await;
        assert_eq!(pages.body["statusPages"][0]["id"], page_id);
        assert_eq!(
            h.get(&format!("status-pages/{page_id}")).await.body["statusPage"]["slug"],
            sp["slug"]
        );
        let tcp_id = tcp.body["monitor"]["id"].as_str().unwrap();
        let repaged = h.patch(&format!("status-pages/{page_id}"), json!({
            "slug": sp["slug"], "title": "Acme status", "description": "Live service status",
            "monitors": [ { "monitorId": tcp_id, "publicLabel": "DB" }, { "monitorId": id, "publicLabel": "Website", "showTarget": true } ]
        })).await;
        assert_eq!(repaged.status, 200, "[{backend}] {}", repaged.body);
        assert_eq!(
            repaged.body["statusPage"]["monitors"][0]["monitorId"],
            tcp_id
        );
        assert_eq!(repaged.body["statusPage"]["monitors"][1]["sortOrder"], 1);
        assert_eq!(
            h.delete(&format!("status-pages/{page_id}")).await.body,
            json!({"ok": true})
        );
        assert_eq!(h.get(&format!("status-pages/{page_id}")).await.status, 404);

        // Audit logs: the seed's example query.
        let audit = h.get("audit-logs?targetType=monitor&limit=100").await;
        assert_eq!(audit.status, 200, "[{backend}] {}", audit.body);
        let entries = audit.body["auditLogs"].as_array().unwrap();
        assert!(entries.iter().all(|e| e["targetType"] == "monitor"));
        let update_entry = entries
            .iter()
            .find(|e| e["action"] == "monitor.update" && e["targetId"] == id.as_str())
            .expect("monitor.update logged");
        assert_eq!(update_entry["actorId"], h.key_id.as_str());
        assert_eq!(update_entry["actorName"], "writer");
        assert_eq!(update_entry["metadata"]["label"], "Client: Acme Corp");
        for field in [
            "id",
            "action",
            "actorId",
            "actorEmail",
            "targetType",
            "targetId",
            "metadata",
            "createdAt",
        ] {
            assert!(
                update_entry.get(field).is_some(),
                "[{backend}] audit field {field}"
            );
        }
        assert_eq!(audit.body["nextCursor"], json!(null));

        // Delete.
        let deleted = h.delete(&format!("monitors/{id}")).await;
        assert_eq!(deleted.body, json!({"ok": true}));
        assert_eq!(h.get(&format!("monitors/{id}")).await.status, 404);
        let deletes = h.get("audit-logs?action=monitor.delete").await;
        assert_eq!(deletes.body["auditLogs"][0]["targetId"], id.as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_walks_every_page() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let mut ids = Vec::new();
        for i in 0..7 {
            let body = with(seed_standard(), "label", json!(format!("m{i}")));
            ids.push(
                h.post("monitors", body).await.body["monitor"]["id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        let mut seen = Vec::new();
        let mut path = "monitors?limit=3".to_string();
        let mut pages = 0;
        loop {
            let page = h.get(&path).await;
            assert_eq!(page.status, 200);
            pages += 1;
            seen.extend(
                page.body["monitors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["id"].as_str().unwrap().to_string()),
            );
            match page.body["nextCursor"].as_str() {
                Some(cursor) => path = format!("monitors?limit=3&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(pages, 3, "[{backend}]");
        assert_eq!(seen, ids, "[{backend}]");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_values_are_masked_and_null_keeps_them() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let body = with(
            seed_standard(),
            "httpHeaders",
            json!([{"name": "Authorization", "value": "Bearer s3cret"}]),
        );
        let created = h.post("monitors", body).await;
        let id = created.body["monitor"]["id"].as_str().unwrap().to_string();
        assert_eq!(
            created.body["monitor"]["httpHeaders"],
            json!([{"name": "Authorization", "value": "********"}])
        );
        assert!(!created.body.to_string().contains("s3cret"));

        let keep = with(
            seed_standard(),
            "httpHeaders",
            json!([{"name": "Authorization", "value": null}]),
        );
        assert_eq!(h.patch(&format!("monitors/{id}"), keep).await.status, 200);
        let stored = h
            .store
            .get_monitor(&h.org, &certsentry_domain::MonitorId::from_string(&id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.spec.http_headers[0].value, "Bearer s3cret",
            "[{backend}]"
        );

        // A full replace without the header drops it.
        assert_eq!(
            h.patch(&format!("monitors/{id}"), seed_standard())
                .await
                .body["monitor"]["httpHeaders"],
            json!([])
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_id_must_belong_to_the_org_and_null_clears_it() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store.clone(), "agency", |_| {}).await;
        let other = Harness::start(backend, store, "agency", |_| {}).await;
        let env = h
            .post("environments", json!({"name": "Staging"}))
            .await
            .body["environment"]["id"]
            .clone();
        let foreign_env = other
            .post("environments", json!({"name": "Theirs"}))
            .await
            .body["environment"]["id"]
            .clone();

        let refused = h
            .post(
                "monitors",
                with(seed_standard(), "environmentId", foreign_env),
            )
            .await;
        assert_eq!(
            (refused.status.as_u16(), refused.code()),
            (422, "invalid_input")
        );
        assert!(refused.detail("environmentId").is_some());

        let created = h
            .post(
                "monitors",
                with(seed_standard(), "environmentId", env.clone()),
            )
            .await;
        let id = created.body["monitor"]["id"].as_str().unwrap().to_string();
        assert_eq!(created.body["monitor"]["environmentId"], env);
        // Omitted on update: unchanged. null: cleared.
        assert_eq!(
            h.patch(&format!("monitors/{id}"), seed_standard())
                .await
                .body["monitor"]["environmentId"],
            env
        );
        let cleared = h
            .patch(
                &format!("monitors/{id}"),
                with(seed_standard(), "environmentId", json!(null)),
            )
            .await;
        assert_eq!(
            cleared.body["monitor"]["environmentId"],
            json!(null),
            "[{backend}]"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_endpoints() {
    let (backend, store) = backends().await.remove(0);
    let h = Harness::start(backend, store, "agency", |_| {}).await;
    let health = h
        .request_with(reqwest::Method::GET, "/healthz", None, None)
        .await;
    assert_eq!(health.status, 200);
    assert_eq!(
        (health.body["ok"].clone(), health.body["database"].clone()),
        (json!(true), json!("sqlite"))
    );

    h.get("monitors").await;
    h.get("monitors/cmb1xk2lq0001v8d3").await;
    let metrics = reqwest::get(h.server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains(r#"certsentry_http_requests_total{method="GET",route="/api/v1/monitors",status="200"} 1"#), "{metrics}");
    assert!(
        metrics.contains(r#"route="/api/v1/monitors/{id}",status="404""#),
        "{metrics}"
    );
    assert!(
        metrics.contains("certsentry_http_request_duration_seconds_bucket"),
        "{metrics}"
    );

    let openapi = h
        .request_with(reqwest::Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(openapi.status, 200);
    assert!(openapi.body["paths"]["/api/v1/monitors/sync"]["put"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_record_when_they_were_last_used() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let before = h.store.list_api_keys(Some(&h.org)).await.unwrap();
        assert_eq!(before[0].last_used_at, None);
        assert_eq!(h.get("monitors").await.status, 200);
        certsentry_api::flush_touches_once(&h.server.state).await;
        let after = h.store.list_api_keys(Some(&h.org)).await.unwrap();
        assert!(after[0].last_used_at.is_some(), "[{backend}]");
        assert_eq!(after[0].hash.len(), 64, "only the SHA-256 is stored");
        assert!(!after[0].hash.contains(&h.key[4..]));
    }
}
