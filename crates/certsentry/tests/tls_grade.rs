//! The TLS grade end to end: a check of an HTTPS monitor sets off a scan
//! of its endpoint in the background; the grade then shows in
//! `/certificates`, its reasons and findings in `/monitors/:id/tls` and
//! `/tls-scans`, and a fall from the grade a monitor last saw raises
//! `ssl.grade_changed`.

mod common;

use std::time::Duration;

use certsentry_probes::testing::{Pki, https_server};
use common::*;
use serde_json::{Value, json};

/// The monitor's TLS report once its scan has ended.
async fn graded(h: &Harness, id: &str) -> Value {
    for _ in 0..400 {
        let reply = h.get(&format!("monitors/{id}/tls")).await;
        if reply.status == 200 {
            return reply.body["tls"].clone();
        }
        assert_eq!(reply.status, 404, "[{}] {}", h.backend, reply.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("[{}] the endpoint was never graded", h.backend);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_grades_the_endpoint_and_a_fall_alerts() {
    let pki = Pki::new();
    let (leaf, key) = pki.leaf(&["localhost"], None);
    let port = https_server(vec![leaf, pki.intermediate.der().clone()], key).await;
    for (backend, store) in backends().await {
        let root = pki.root_der();
        let h = Harness::start(backend, store.clone(), "agency", |config| {
            config.probe.extra_roots = vec![root]
        })
        .await;
        let created = h
            .post(
                "monitors",
                json!({ "label": "shop", "target": format!("https://localhost:{port}/"),
                        "checkSsl": true, "checkDomain": false, "checkDns": false, "checkUptime": true,
                        "uptimeIntervalSeconds": 300, "regions": ["virginia"], "alertLeadDays": [7] }),
            )
            .await;
        let id = created.body["monitor"]["id"].as_str().unwrap().to_string();
        let before = h.get(&format!("monitors/{id}/tls")).await;
        assert_eq!(before.status, 404, "[{backend}] {}", before.body);
        assert!(
            before.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("no TLS grade yet")
        );

        h.post(&format!("monitors/{id}/check"), json!({})).await;
        let tls = graded(&h, &id).await;
        let endpoint = format!("localhost:{port}");
        assert_eq!(tls["endpoint"], endpoint);
        // rustls serves TLS 1.2 and 1.3 with ECDHE and AEAD only, follows
        // the client's suite order, and this server sends no HSTS.
        assert_eq!(tls["grade"], "A-", "[{backend}] {tls:#}");
        // The same report as a dashboard page, linked from the monitor's.
        let mut viewer = common::web::signed_in_as(
            &h,
            "viewer@acme.example",
            certsentry_domain::people::Role::Viewer,
        )
        .await;
        let monitor_page = viewer.get(&format!("/monitors/{id}")).await;
        assert!(monitor_page.body.contains(&format!("/monitors/{id}/tls")));
        assert!(
            monitor_page.body.contains("Certificate chain")
                && monitor_page.body.contains("CN=localhost"),
            "the served chain, leaf first: {}",
            monitor_page.body
        );
        let page = viewer.get(&format!("/monitors/{id}/tls")).await;
        assert_eq!(page.status, reqwest::StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("TLS grade: A-"), "{}", page.body);
        assert!(
            page.body.contains("TLS 1.3")
                || page.body.contains("TLSv1.3")
                || page.body.contains("tls1.3"),
            "{}",
            page.body
        );
        let codes: Vec<&str> = tls["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| !r["cap"].is_null())
            .map(|r| r["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["no_server_order"], "[{backend}] {tls:#}");
        let versions: Vec<&str> = tls["protocols"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["version"].as_str().unwrap())
            .collect();
        assert_eq!(versions, ["TLSv1.2", "TLSv1.3"]);
        assert_eq!(tls["flags"]["forwardSecrecy"], true);
        assert_eq!(tls["flags"]["aeadOnly"], true);
        assert_eq!(tls["key"], json!({ "kind": "ec", "bits": 256 }));
        assert_eq!(
            tls["mozilla"]["intermediate"]["conforms"], true,
            "[{backend}] {tls:#}"
        );
        assert!(tls["handshakes"].as_u64().unwrap() <= 80);

        let certificates = h.get("certificates").await;
        assert_eq!(certificates.body["certificates"][0]["grade"], "A-");
        let by_endpoint = h
            .get(&format!("tls-scans?host=localhost&port={port}"))
            .await;
        assert_eq!(by_endpoint.status, 200, "[{backend}] {}", by_endpoint.body);
        assert_eq!(by_endpoint.body["tls"]["grade"], "A-");
        let elsewhere = h.get("tls-scans?host=localhost&port=1").await;
        assert_eq!(elsewhere.status, 404);
        assert_eq!(h.get("tls-scans").await.status, 400);

        // The monitor last saw A+; the next check tells it A-: a fall.
        let monitor_id = certsentry_domain::MonitorId::from_string(id.clone());
        let guard = certsentry_store::AlertGuard {
            monitor_id,
            key: "tls_grade".into(),
            expected: Some("A-".into()),
            next: "A+".into(),
        };
        assert!(store.record_alert(Some(&guard), None, None).await.unwrap());
        h.post(&format!("monitors/{id}/check"), json!({})).await;
        let events = h.get(&format!("events?monitor={id}")).await;
        let fell = events.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event"] == "ssl.grade_changed")
            .unwrap_or_else(|| panic!("[{backend}] no ssl.grade_changed in {}", events.body))
            .clone();
        assert_eq!(fell["severity"], "warning");
        assert_eq!(fell["details"]["Before"], "A+");
        assert_eq!(fell["details"]["After"], "A-");
    }
}
