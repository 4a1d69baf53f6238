//! The check engine through the API: check now, results, heartbeat pings.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use common::*;
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A tiny HTTP server on loopback answering every request with `status`.
async fn flippable_server() -> (u16, Arc<AtomicU16>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let status = Arc::new(AtomicU16::new(200));
    let served = status.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let code = served.load(Ordering::Relaxed);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut read = 0;
                while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf[read..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read += n,
                    }
                }
                let body = "all good";
                let reply = format!(
                    "HTTP/1.1 {code} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    (port, status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_now_applies_the_two_regions_rule_and_lists_results() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let (port, status) = flippable_server().await;
        let body = json!({
            "label": "local web", "target": format!("http://127.0.0.1:{port}/"),
            "checkSsl": false, "checkDomain": false, "checkDns": false, "checkUptime": true,
            "uptimeIntervalSeconds": 60, "regions": ["virginia", "dublin"], "alertLeadDays": [7]
        });
        let created = h.post("monitors", body).await;
        assert_eq!(created.status, 201, "[{backend}] {}", created.body);
        let id = created.body["monitor"]["id"].as_str().unwrap().to_string();

        let checked = h.post(&format!("monitors/{id}/check"), json!({})).await;
        assert_eq!(checked.status, 200, "[{backend}] {}", checked.body);
        let results = checked.body["results"].as_array().unwrap();
        assert_eq!(results.len(), 2, "one per region");
        assert_eq!(results[0]["type"], "uptime");
        assert_eq!(results[0]["status"], "ok");
        assert_eq!(results[0]["httpStatus"], 200);
        assert!(results[0]["details"]["phases"]["connectMs"].is_number());
        assert_eq!(checked.body["monitor"]["lastStatus"], "up");

        status.store(503, Ordering::Relaxed);
        let once = h.post(&format!("monitors/{id}/check"), json!({})).await;
        assert_eq!(once.body["results"][0]["error"], "HTTP 503");
        assert_eq!(
            once.body["monitor"]["lastStatus"], "up",
            "[{backend}] one failure per region is not an outage"
        );
        let twice = h.post(&format!("monitors/{id}/check"), json!({})).await;
        assert_eq!(
            twice.body["monitor"]["lastStatus"], "down",
            "[{backend}] 2 regions x 2 consecutive failures"
        );
        status.store(200, Ordering::Relaxed);
        let back = h.post(&format!("monitors/{id}/check"), json!({})).await;
        assert_eq!(back.body["monitor"]["lastStatus"], "up");

        let failed = h
            .get(&format!("monitors/{id}/results?type=uptime&status=fail"))
            .await;
        assert_eq!(
            failed.body["results"].as_array().unwrap().len(),
            4,
            "[{backend}]"
        );
        let first = h.get(&format!("monitors/{id}/results?limit=5")).await;
        assert_eq!(first.body["results"].as_array().unwrap().len(), 5);
        let cursor = first.body["nextCursor"].as_str().unwrap();
        let rest = h
            .get(&format!("monitors/{id}/results?limit=5&cursor={cursor}"))
            .await;
        assert_eq!(
            (
                rest.body["results"].as_array().unwrap().len(),
                rest.body["nextCursor"].clone()
            ),
            (3, json!(null))
        );
        assert_eq!(
            h.get(&format!("monitors/{id}/results?type=smtp"))
                .await
                .code(),
            "invalid_input"
        );
        assert_eq!(
            h.get("monitors/cmb1xk2lq0001v8d3/results").await.code(),
            "not_found"
        );

        // TCP monitors, open and closed.
        let tcp = h.post("monitors", json!({"kind": "tcp", "label": "port", "target": "127.0.0.1", "tcpPort": port, "uptimeIntervalSeconds": 60, "regions": ["virginia"]})).await;
        let tcp_id = tcp.body["monitor"]["id"].as_str().unwrap().to_string();
        let open = h.post(&format!("monitors/{tcp_id}/check"), json!({})).await;
        assert_eq!(
            (
                open.body["results"][0]["type"].clone(),
                open.body["results"][0]["status"].clone()
            ),
            (json!("tcp"), json!("ok"))
        );
        let closed_port = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let closed = h.post("monitors", json!({"kind": "tcp", "label": "closed", "target": "127.0.0.1", "tcpPort": closed_port, "uptimeIntervalSeconds": 60, "regions": ["virginia"]})).await;
        let closed_id = closed.body["monitor"]["id"].as_str().unwrap().to_string();
        let refused = h
            .post(&format!("monitors/{closed_id}/check"), json!({}))
            .await;
        assert_eq!(refused.body["results"][0]["error"], "connection refused");

        // Deleting the monitor removes its history.
        h.delete(&format!("monitors/{id}")).await;
        assert_eq!(h.get(&format!("monitors/{id}/results")).await.status, 404);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_pings_arm_and_record() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let created = h.post("monitors", seed_heartbeat()).await;
        let id = created.body["monitor"]["id"].as_str().unwrap().to_string();
        let token = created.body["monitor"]["heartbeatToken"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            created.body["monitor"]["lastStatus"], "unknown",
            "unarmed until the first ping"
        );

        let ping = h
            .request_with(Method::GET, &format!("/api/ping/{token}"), None, None)
            .await;
        assert_eq!(
            (ping.status.as_u16(), ping.body.clone()),
            (200, json!({"ok": true})),
            "[{backend}]"
        );
        assert_eq!(
            h.get(&format!("monitors/{id}")).await.body["monitor"]["lastStatus"],
            "up"
        );
        let head = h
            .request_with(Method::HEAD, &format!("/api/ping/{token}"), None, None)
            .await;
        assert_eq!(head.status, 200);
        let fail = h
            .request_with(Method::POST, &format!("/api/ping/{token}/fail"), None, None)
            .await;
        assert_eq!(fail.status, 200);
        assert_eq!(
            h.get(&format!("monitors/{id}")).await.body["monitor"]["lastStatus"],
            "down"
        );

        let results = h
            .get(&format!("monitors/{id}/results?type=heartbeat"))
            .await;
        let statuses: Vec<_> = results.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].clone())
            .collect();
        assert_eq!(
            statuses,
            vec![json!("fail"), json!("ok"), json!("ok")],
            "[{backend}] newest first"
        );

        // An unknown token is never counted (nothing is kept for it), so
        // the 61st try in a minute is still told the token is unknown.
        for _ in 0..60 {
            h.request_with(Method::GET, "/api/ping/not-a-real-token", None, None)
                .await;
        }
        let unknown = h
            .request_with(Method::GET, "/api/ping/not-a-real-token", None, None)
            .await;
        assert_eq!(
            (unknown.status.as_u16(), unknown.code()),
            (404, "not_found")
        );

        for _ in 0..57 {
            h.request_with(Method::GET, &format!("/api/ping/{token}"), None, None)
                .await;
        }
        let limited = h
            .request_with(Method::GET, &format!("/api/ping/{token}"), None, None)
            .await;
        assert_eq!(
            (limited.status.as_u16(), limited.code()),
            (429, "rate_limited"),
            "[{backend}] 61st ping in a minute"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_list_soonest_expiry_first_and_feed_the_inventory() {
    use certsentry_probes::testing::{Pki, https_server};

    let pki = Pki::new();
    let (good_leaf, good_key) = pki.leaf(&["localhost"], Some(((2020, 1, 1), (2090, 1, 1))));
    let good = https_server(vec![good_leaf, pki.intermediate.der().clone()], good_key).await;
    let (old_leaf, old_key) = pki.leaf(&["localhost"], Some(((2020, 1, 1), (2021, 1, 1))));
    let expired = https_server(vec![old_leaf, pki.intermediate.der().clone()], old_key).await;
    for (backend, store) in backends().await {
        let root = pki.root_der();
        let h = Harness::start(backend, store, "agency", |config| {
            config.probe.extra_roots = vec![root]
        })
        .await;
        let ssl_only = |label: &str, port: u16| {
            json!({
                "label": label, "target": format!("https://localhost:{port}/"),
                "checkSsl": true, "checkDomain": false, "checkDns": false, "checkUptime": false,
                "uptimeIntervalSeconds": 86400, "regions": ["virginia"], "alertLeadDays": [30]
            })
        };
        let mut ids = Vec::new();
        for (label, port) in [
            ("good", good),
            ("expired", expired),
            ("never checked", good),
        ] {
            ids.push(
                h.post("monitors", ssl_only(label, port)).await.body["monitor"]["id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        let checked = h
            .post(&format!("monitors/{}/check", ids[0]), json!({}))
            .await;
        assert_eq!(checked.body["results"][0]["type"], "ssl");
        assert_eq!(
            checked.body["results"][0]["status"], "ok",
            "[{backend}] {}",
            checked.body
        );
        assert_eq!(
            checked.body["monitor"]["sslNotAfter"],
            "2090-01-01T00:00:00.000Z"
        );
        let sha256 = checked.body["results"][0]["details"]["sha256"]
            .as_str()
            .unwrap()
            .to_string();
        let bad = h
            .post(&format!("monitors/{}/check", ids[1]), json!({}))
            .await;
        assert_eq!(
            (
                bad.body["results"][0]["status"].clone(),
                bad.body["results"][0]["error"].clone()
            ),
            (json!("fail"), json!("expired"))
        );

        let list = h.get("certificates").await;
        assert_eq!(list.status, 200, "[{backend}] {}", list.body);
        let certs = list.body["certificates"].as_array().unwrap();
        let order: Vec<_> = certs
            .iter()
            .map(|c| (c["label"].clone(), c["status"].clone()))
            .collect();
        assert_eq!(
            order,
            vec![
                (json!("expired"), json!("invalid")),
                (json!("good"), json!("valid")),
                (json!("never checked"), json!("pending"))
            ],
            "[{backend}]"
        );
        assert_eq!(certs[0]["error"], "expired");
        assert_eq!(certs[1]["issuer"], "CertSentry Test CA");
        // `grade` fills in once the background scan ends (tests/tls_grade.rs).
        assert!(certs[1]["lastCheckedAt"].is_string() && certs[2]["lastCheckedAt"].is_null());

        // The expired certificate fires ssl.invalid and ssl.expiring; the good one nothing.
        let fired = |id: String| {
            let h = &h;
            async move {
                let events = h.get(&format!("events?monitor={id}")).await;
                let mut types: Vec<String> = events.body["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["event"].as_str().unwrap().to_string())
                    .collect();
                types.sort();
                types
            }
        };
        assert_eq!(
            fired(ids[1].clone()).await,
            vec!["ssl.expiring", "ssl.invalid"],
            "[{backend}]"
        );
        assert!(fired(ids[0].clone()).await.is_empty(), "[{backend}]");
        // Checking again fires nothing new.
        h.post(&format!("monitors/{}/check", ids[1]), json!({}))
            .await;
        assert_eq!(fired(ids[1].clone()).await.len(), 2, "[{backend}]");

        // Every certificate seen served joins the organization's inventory.
        assert!(
            h.store
                .is_served_certificate(&h.org, &sha256)
                .await
                .unwrap(),
            "[{backend}]"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_roll_up_by_day() {
    use certsentry_domain::check::{CheckResult, CheckStatus, CheckType};
    use certsentry_domain::time::parse_datetime;
    use certsentry_domain::{MonitorId, ResultId};

    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let (port, _) = flippable_server().await;
        let body = json!({"kind": "tcp", "label": "port", "target": "127.0.0.1", "tcpPort": port, "uptimeIntervalSeconds": 60, "regions": ["virginia", "dublin"]});
        let id = h.post("monitors", body).await.body["monitor"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        h.post(&format!("monitors/{id}/check"), json!({})).await;

        let today = h.get(&format!("monitors/{id}/stats")).await;
        assert_eq!(today.status, 200, "[{backend}] {}", today.body);
        let row = &today.body["stats"][0];
        assert_eq!(
            (
                row["totalChecks"].clone(),
                row["failedChecks"].clone(),
                row["finalized"].clone()
            ),
            (json!(2), json!(0), json!(false))
        );
        assert_eq!(row["uptimePercent"], 100.0);
        assert_eq!(
            row["p50LatencyMs"],
            json!(null),
            "percentiles wait for the day to be finalized"
        );

        // A past day, finalized overnight.
        let monitor_id = MonitorId::from_string(&id);
        let day = parse_datetime("2026-05-01T08:00:00Z").unwrap();
        let past: Vec<CheckResult> = (0..4)
            .map(|i| CheckResult {
                id: ResultId::generated_at(day + i64::from(i) * 1000),
                org_id: h.org.clone(),
                monitor_id: monitor_id.clone(),
                check_type: CheckType::Tcp,
                status: if i == 0 {
                    CheckStatus::Fail
                } else {
                    CheckStatus::Ok
                },
                degraded: false,
                region: Some("virginia".into()),
                latency_ms: Some(100 * (i + 1)),
                http_status: None,
                error: None,
                details: json!({}),
                created_at: day + i64::from(i) * 1000,
            })
            .collect();
        h.store.insert_results(&past).await.unwrap();
        h.store
            .finalize_daily_stats(&certsentry_domain::time::day_of(
                certsentry_domain::time::now_ms(),
            ))
            .await
            .unwrap();
        let may = h
            .get(&format!(
                "monitors/{id}/stats?from=2026-05-01&to=2026-05-01"
            ))
            .await;
        assert_eq!(
            may.body["stats"],
            json!([{"date": "2026-05-01", "totalChecks": 4, "failedChecks": 1, "degradedChecks": 0, "avgLatencyMs": 250,
                    "p50LatencyMs": 200, "p95LatencyMs": 400, "maxLatencyMs": 400, "uptimePercent": 75.0, "finalized": true}]),
            "[{backend}]"
        );

        for query in [
            "from=2026-02-30",
            "from=2026-06-01&to=2026-05-01",
            "from=2026-01-01&to=2026-06-01",
            "to=tomorrow",
        ] {
            let bad = h.get(&format!("monitors/{id}/stats?{query}")).await;
            assert_eq!(
                (bad.status.as_u16(), bad.code()),
                (400, "invalid_input"),
                "[{backend}] {query}"
            );
        }
        assert_eq!(
            h.get("monitors/cmb1xk2lq0001v8d3/stats").await.code(),
            "not_found"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_heartbeat_is_recorded_once_and_a_ping_recovers() {
    use certsentry_domain::time::now_ms;
    use certsentry_engine::heartbeats::check_heartbeats_once;

    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let unarmed = h.post("monitors", seed_heartbeat()).await.body["monitor"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let created = h
            .post(
                "monitors",
                with(
                    with(seed_heartbeat(), "heartbeatIntervalSeconds", json!(60)),
                    "heartbeatGraceSeconds",
                    json!(60),
                ),
            )
            .await;
        let id = created.body["monitor"]["id"].as_str().unwrap().to_string();
        let token = created.body["monitor"]["heartbeatToken"]
            .as_str()
            .unwrap()
            .to_string();
        h.request_with(Method::GET, &format!("/api/ping/{token}"), None, None)
            .await;
        let pinged = now_ms();

        // Within interval + grace: nothing. The clock is passed in, not slept.
        assert!(
            check_heartbeats_once(
                &*h.store,
                h.server.state.checker.alerter(),
                pinged + 119_000
            )
            .await
            .unwrap()
            .is_empty(),
            "[{backend}]"
        );
        let missed = check_heartbeats_once(
            &*h.store,
            h.server.state.checker.alerter(),
            pinged + 125_000,
        )
        .await
        .unwrap();
        assert_eq!(
            missed.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
            vec![id.clone()],
            "[{backend}] the unarmed monitor is never missed"
        );
        assert!(
            check_heartbeats_once(
                &*h.store,
                h.server.state.checker.alerter(),
                pinged + 200_000
            )
            .await
            .unwrap()
            .is_empty(),
            "[{backend}] one miss per silence"
        );
        let monitor = h.get(&format!("monitors/{id}")).await;
        assert_eq!(monitor.body["monitor"]["lastStatus"], "down");
        let results = h
            .get(&format!("monitors/{id}/results?type=heartbeat&status=fail"))
            .await;
        assert_eq!(
            results.body["results"][0]["error"],
            "no ping within 120s (interval 60s + grace 60s)"
        );
        assert_eq!(
            h.get(&format!("monitors/{unarmed}")).await.body["monitor"]["lastStatus"],
            "unknown"
        );

        // A ping recovers it, and re-arms the watch.
        h.request_with(Method::POST, &format!("/api/ping/{token}"), None, None)
            .await;
        assert_eq!(
            h.get(&format!("monitors/{id}")).await.body["monitor"]["lastStatus"],
            "up"
        );
        assert_eq!(
            check_heartbeats_once(
                &*h.store,
                h.server.state.checker.alerter(),
                now_ms() + 121_000
            )
            .await
            .unwrap()
            .len(),
            1
        );

        // The alerts: missed, recovered, missed again, then an explicit failure.
        h.request_with(Method::GET, &format!("/api/ping/{token}/fail"), None, None)
            .await;
        h.request_with(Method::GET, &format!("/api/ping/{token}/fail"), None, None)
            .await;
        let events = h.get(&format!("events?monitor={id}")).await;
        let fired: Vec<&str> = events.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        assert_eq!(
            fired,
            vec![
                "heartbeat.missed",
                "heartbeat.recovered",
                "heartbeat.missed",
                "heartbeat.failed"
            ],
            "[{backend}] a repeated failure fires once"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_checks_report_records_and_confirmed_changes() {
    use certsentry_probes::testing::DnsFixture;

    let dns = DnsFixture::start("example.test.").await;
    dns.set_a("app.example.test.", &["192.0.2.10"]).await;
    for (backend, store) in backends().await {
        dns.set_a("app.example.test.", &["192.0.2.10"]).await;
        let addr = dns.addr;
        let h = Harness::start(backend, store, "agency", |config| {
            config.probe.dns_servers = vec![addr]
        })
        .await;
        let dns_only = |target: &str| {
            json!({
                "label": target, "target": target, "checkSsl": false, "checkDomain": false, "checkDns": true,
                "checkUptime": false, "uptimeIntervalSeconds": 300, "regions": ["virginia"], "alertLeadDays": [30]
            })
        };
        let id = h.post("monitors", dns_only("app.example.test")).await.body["monitor"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let first = h.post(&format!("monitors/{id}/check"), json!({})).await;
        let result = &first.body["results"][0];
        assert_eq!(
            (result["type"].clone(), result["status"].clone()),
            (json!("dns"), json!("ok")),
            "[{backend}] {}",
            first.body
        );
        assert_eq!(
            result["details"]["records"]["A"],
            json!({"state": "records", "values": ["192.0.2.10"]})
        );
        assert_eq!(
            result["details"]["records"]["MX"],
            json!({"state": "nodata"})
        );
        assert_eq!(result["details"]["change"], json!(null));

        dns.set_a("app.example.test.", &["192.0.2.77"]).await;
        let once = h.post(&format!("monitors/{id}/check"), json!({})).await;
        assert_eq!(
            once.body["results"][0]["details"]["change"],
            json!(null),
            "[{backend}] seen once"
        );
        let twice = h.post(&format!("monitors/{id}/check"), json!({})).await;
        let change = &twice.body["results"][0]["details"]["change"];
        assert_eq!(
            change["before"]["A"]["values"],
            json!(["192.0.2.10"]),
            "[{backend}] {}",
            twice.body
        );
        assert_eq!(change["after"]["A"]["values"], json!(["192.0.2.77"]));
        let events = h
            .get(&format!("events?monitor={id}&type=dns.changed"))
            .await;
        let fired = events.body["events"].as_array().unwrap();
        assert_eq!(fired.len(), 1, "[{backend}] {}", events.body);
        assert_eq!(fired[0]["severity"], "warning");
        assert_eq!(
            fired[0]["details"]["after"]["A"]["values"],
            json!(["192.0.2.77"])
        );

        let gone = h.post("monitors", dns_only("gone.example.test")).await.body["monitor"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let missing = h.post(&format!("monitors/{gone}/check"), json!({})).await;
        assert_eq!(missing.body["results"][0]["error"], "DNS: NXDOMAIN");
        assert_eq!(
            h.get(&format!("monitors/{id}/results?type=dns")).await.body["results"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domain_expiry_from_rdap_at_most_twice_a_day() {
    use certsentry_probes::testing::RegistryFixture;
    for (backend, store) in backends().await {
        let registry = RegistryFixture::start(&["com"]).await;
        registry.set_rdap("example.com", Some("2027-08-13T04:00:00Z"));
        registry.set_whois(
            "example.xyz",
            "Domain Name: EXAMPLE.XYZ\r\nRegistry Expiry Date: 2028-01-02T03:04:05Z\r\n",
        );
        let h = Harness::start(backend, store, "agency", |config| {
            config.probe.registration.rdap_bootstrap = Some(registry.bootstrap_url());
            config.probe.registration.whois_server = Some(registry.whois_addr.clone());
        })
        .await;
        let monitor = |label: &str, target: &str| {
            json!({
                "label": label, "target": target,
                "checkSsl": false, "checkDomain": true, "checkDns": false, "checkUptime": false,
                "uptimeIntervalSeconds": 60, "regions": ["virginia"], "alertLeadDays": [30, 7]
            })
        };
        let created = h
            .post("monitors", monitor("shop", "https://shop.example.com/"))
            .await;
        assert_eq!(created.status, 201, "[{backend}] {}", created.body);
        let id = created.body["monitor"]["id"].as_str().unwrap().to_string();

        let checked = h.post(&format!("monitors/{id}/check"), json!({})).await;
        assert_eq!(checked.status, 200, "[{backend}] {}", checked.body);
        let result = &checked.body["results"][0];
        assert_eq!(result["type"], "domain", "[{backend}] {}", checked.body);
        assert_eq!(result["status"], "ok");
        assert_eq!(result["details"]["domain"], "example.com");
        assert_eq!(result["details"]["source"], "rdap");
        assert_eq!(
            checked.body["monitor"]["domainExpiry"],
            "2027-08-13T04:00:00.000Z"
        );

        // A second monitor on the same registrable domain, and a re-check,
        // reuse the stored answer: the registry is asked once per 12 hours.
        let sibling = h.post("monitors", monitor("api", "api.example.com")).await;
        let sibling_id = sibling.body["monitor"]["id"].as_str().unwrap().to_string();
        let again = h
            .post(&format!("monitors/{sibling_id}/check"), json!({}))
            .await;
        assert_eq!(again.body["results"].as_array().unwrap().len(), 0);
        assert_eq!(
            again.body["monitor"]["domainExpiry"],
            "2027-08-13T04:00:00.000Z"
        );
        h.post(&format!("monitors/{id}/check"), json!({})).await;
        assert_eq!(registry.lookups(), (1, 0), "[{backend}]");
        let fetched = h.get(&format!("monitors/{sibling_id}")).await;
        assert_eq!(
            fetched.body["monitor"]["domainExpiry"],
            "2027-08-13T04:00:00.000Z"
        );

        // A TLD without RDAP falls back to WHOIS.
        let xyz = h.post("monitors", monitor("xyz", "example.xyz")).await;
        let xyz_id = xyz.body["monitor"]["id"].as_str().unwrap().to_string();
        let checked = h.post(&format!("monitors/{xyz_id}/check"), json!({})).await;
        assert_eq!(checked.body["results"][0]["details"]["source"], "whois");
        assert_eq!(
            checked.body["monitor"]["domainExpiry"],
            "2028-01-02T03:04:05.000Z"
        );
        let listed = h
            .get(&format!("monitors/{xyz_id}/results?type=domain"))
            .await;
        assert_eq!(listed.body["results"].as_array().unwrap().len(), 1);
    }
}
