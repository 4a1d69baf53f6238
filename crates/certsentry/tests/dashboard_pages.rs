//! The dashboard's working pages, on every backend: the new-monitor form
//! checked by the API's own rules (messages beside the fields) and audited
//! with the person's email; environments made and deleted through the
//! API's handlers; the audit log page with its filters and the plan rule;
//! a heartbeat's ping URL; and the monitor list's filters.

mod common;

use certsentry_domain::people::Role;
use common::web::signed_in_as;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitors_environments_and_the_audit_log_from_the_dashboard() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let mut ops = signed_in_as(&h, "ops@acme.example", Role::Admin).await;

        // The form, refused by the API's rules, each message by its field.
        let form = ops.get("/monitors/new").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        let refused = ops
            .post(
                "/monitors",
                &[
                    ("csrf_token", &csrf),
                    ("kind", "tcp"),
                    ("label", "db"),
                    ("target", "127.0.0.1"),
                    ("tcpPort", "70000"),
                    ("uptimeIntervalSeconds", "7"),
                    ("regions", "virginia"),
                ],
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "[{backend}] {}",
            refused.body
        );
        let api = h
            .post(
                "monitors",
                json!({"kind": "tcp", "label": "db", "target": "127.0.0.1", "tcpPort": 70000,
                       "uptimeIntervalSeconds": 7, "regions": ["virginia"]}),
            )
            .await;
        assert_eq!(api.status, 422);
        for field in ["tcpPort", "uptimeIntervalSeconds"] {
            let message = api.body["error"]["details"][field].as_str().unwrap();
            let shown = askama_escaped(message);
            assert!(
                refused.body.contains(&shown),
                "[{backend}] {field}: {message} in {}",
                refused.body
            );
        }
        assert!(
            refused.body.contains("value=\"db\""),
            "what was typed stays"
        );
        let letters = ops
            .post(
                "/monitors",
                &[
                    ("csrf_token", &csrf),
                    ("kind", "tcp"),
                    ("label", "db"),
                    ("tcpPort", "five"),
                ],
            )
            .await;
        assert!(letters.body.contains("must be a whole number"));

        let made = ops
            .post(
                "/monitors",
                &[
                    ("csrf_token", &csrf),
                    ("kind", "tcp"),
                    ("label", "Acme DB"),
                    ("target", "127.0.0.1"),
                    ("tcpPort", "5432"),
                    ("uptimeIntervalSeconds", "300"),
                    ("regions", "virginia"),
                    ("regions", "dublin"),
                ],
            )
            .await;
        assert_eq!(
            made.status,
            StatusCode::SEE_OTHER,
            "[{backend}] {}",
            made.body
        );
        let page = ops.get(made.location().unwrap()).await;
        assert!(
            page.body.contains("Acme DB") && page.body.contains("virginia, dublin"),
            "{}",
            page.body
        );
        let listed = h.get("monitors").await;
        assert_eq!(listed.body["monitors"][0]["tcpPort"], 5432);
        let audit = h.get("audit-logs?action=monitor.create").await;
        assert_eq!(audit.body["auditLogs"][0]["actorEmail"], "ops@acme.example");

        // A heartbeat monitor's page gives its ping URL.
        let beat = h
            .post("monitors", json!({"kind": "heartbeat", "label": "nightly backup",
                                     "heartbeatIntervalSeconds": 86400, "heartbeatGraceSeconds": 3600}))
            .await;
        assert_eq!(beat.status, 201, "{}", beat.body);
        let token = beat.body["monitor"]["heartbeatToken"]
            .as_str()
            .unwrap()
            .to_string();
        let id = beat.body["monitor"]["id"].as_str().unwrap();
        let page = ops.get(&format!("/monitors/{id}")).await;
        let ping = format!("{}/api/ping/{token}", h.server.url(""));
        assert!(
            page.body
                .contains(&format!("curl -fsS -m 10 --retry 3 {ping}")),
            "{}",
            page.body
        );
        // A regenerated ping URL: the old one is refused at once.
        let rotated = ops
            .post(
                &format!("/monitors/{id}/heartbeat-token"),
                &[("csrf_token", &page.csrf())],
            )
            .await;
        assert_eq!(rotated.status, StatusCode::SEE_OTHER, "{}", rotated.body);
        let old_ping = reqwest::get(&ping).await.unwrap();
        assert_eq!(old_ping.status(), 404, "[{backend}] the old token");
        let fresh = h.get(&format!("monitors/{id}")).await;
        let new_token = fresh.body["monitor"]["heartbeatToken"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(new_token, token);
        let new_ping = reqwest::get(format!("{}/api/ping/{new_token}", h.server.url("")))
            .await
            .unwrap();
        assert!(
            new_ping.status().is_success(),
            "[{backend}] the new token: {}",
            new_ping.status()
        );

        // The list's filters: kind, and a search of labels and targets.
        let tcp = ops.get("/monitors?kind=tcp").await;
        assert!(tcp.body.contains("Acme DB") && !tcp.body.contains("nightly backup"));
        let found = ops.get("/monitors?q=BACKUP").await;
        assert!(found.body.contains("nightly backup") && !found.body.contains("Acme DB"));

        // Environments, through the API's handlers.
        let envs = ops.get("/settings/environments").await;
        let created = ops
            .post(
                "/settings/environments",
                &[("csrf_token", &envs.csrf()), ("name", "Production")],
            )
            .await;
        assert_eq!(created.status, StatusCode::SEE_OTHER);
        let twice = ops
            .post(
                "/settings/environments",
                &[("csrf_token", &envs.csrf()), ("name", "Production")],
            )
            .await;
        assert!(twice.body.contains("already exists"), "{}", twice.body);
        let listed = h.get("environments").await;
        let env_id = listed.body["environments"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let deleted = ops
            .post(
                &format!("/settings/environments/{env_id}/delete"),
                &[("csrf_token", &envs.csrf())],
            )
            .await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER);
        assert!(
            h.get("environments").await.body["environments"]
                .as_array()
                .unwrap()
                .is_empty()
        );

        // The audit log page, filtered.
        let log = ops.get("/settings/audit?action=environment.create").await;
        assert_eq!(log.status, StatusCode::OK);
        assert!(log.body.contains("environment.create") && log.body.contains("ops@acme.example"));
        assert!(!log.body.contains("environment.delete"), "filtered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_page_follows_the_plan() {
    let (backend, store) = backends().await.remove(0);
    let h = Harness::start(backend, store, "pro", |_| {}).await;
    let mut owner = signed_in_as(&h, "pro@acme.example", Role::Owner).await;
    let log = owner.get("/settings/audit").await;
    assert_eq!(log.status, StatusCode::OK);
    assert!(
        log.body.contains("does not include audit logs"),
        "{}",
        log.body
    );
}

/// How askama writes `text` into HTML.
fn askama_escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_is_edited_checked_and_deleted_from_its_page() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let made = h
            .post(
                "monitors",
                json!({"label": "web", "target": format!("http://127.0.0.1:{port}/"),
                       "checkSsl": false, "checkDomain": false, "checkDns": false, "checkUptime": true,
                       "uptimeIntervalSeconds": 300, "regions": ["virginia"], "alertLeadDays": [7],
                       "httpHeaders": [{"name": "X-Token", "value": "s3cret-value"}]}),
            )
            .await;
        assert_eq!(made.status, 201, "{}", made.body);
        let id = made.body["monitor"]["id"].as_str().unwrap().to_string();
        let mut ops = signed_in_as(&h, "ops@acme.example", Role::Member).await;
        let form = ops.get(&format!("/monitors/{id}/edit")).await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(
            form.body.contains("X-Token: ********"),
            "masked: {}",
            form.body
        );
        assert!(!form.body.contains("s3cret-value"), "never shown");

        // Everything as shown, with a new label and interval.
        let mut fields: Vec<(String, String)> = vec![
            ("csrf_token".into(), form.csrf()),
            ("kind".into(), "standard".into()),
            ("label".into(), "web (renamed)".into()),
            ("target".into(), format!("http://127.0.0.1:{port}/")),
            ("checkUptime".into(), "on".into()),
            ("enabled".into(), "on".into()),
            ("uptimeIntervalSeconds".into(), "900".into()),
            ("regions".into(), "virginia".into()),
            ("alertLeadDays".into(), "7".into()),
            ("httpMethod".into(), "GET".into()),
            ("httpHeaders".into(), "X-Token: ********".into()),
        ];
        let saved = ops
            .post(
                &format!("/monitors/{id}"),
                &fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect::<Vec<_>>(),
            )
            .await;
        assert_eq!(
            saved.status,
            StatusCode::SEE_OTHER,
            "[{backend}] {}",
            saved.body
        );
        let stored = h
            .store
            .get_monitor(
                &h.org,
                &certsentry_domain::MonitorId::from_string(id.clone()),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.spec.label, "web (renamed)");
        assert_eq!(stored.spec.uptime_interval_seconds, Some(900));
        assert_eq!(
            stored.spec.http_headers[0].value, "s3cret-value",
            "a masked value keeps the secret"
        );

        // The API's rule, by its field, on an edit too.
        fields[6].1 = "7".into();
        let refused = ops
            .post(
                &format!("/monitors/{id}"),
                &fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect::<Vec<_>>(),
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);

        let page = ops.get(&format!("/monitors/{id}")).await;
        let checked = ops
            .post(
                &format!("/monitors/{id}/check"),
                &[("csrf_token", &page.csrf())],
            )
            .await;
        assert_eq!(checked.status, StatusCode::SEE_OTHER, "{}", checked.body);
        let list = ops.get("/monitors").await;
        assert!(
            !list.body.contains(">never<"),
            "the last check is listed: {}",
            list.body
        );
        let results = ops.get(&format!("/monitors/{id}")).await;
        assert!(
            results
                .body
                .contains("<span class=\"state fail\">fail</span>"),
            "{}",
            results.body
        );
        // Drawn on the server: a response-time line for virginia, and
        // today's bar among the 90 (the check failed: 0 % up).
        assert!(
            results.body.contains("<polyline") && results.body.contains("<title>virginia</title>"),
            "the response-time chart: {}",
            results.body
        );
        assert_eq!(
            results.body.matches("<rect x=").count(),
            90,
            "90 daily bars"
        );
        assert!(results.body.contains("0.00 % up, 1 checks"), "today's bar");

        let gone = ops
            .post(
                &format!("/monitors/{id}/delete"),
                &[("csrf_token", &page.csrf())],
            )
            .await;
        assert_eq!(gone.status, StatusCode::SEE_OTHER);
        assert_eq!(h.get(&format!("monitors/{id}")).await.status, 404);
        let audit = h.get("audit-logs?action=monitor.delete").await;
        assert_eq!(audit.body["auditLogs"][0]["actorEmail"], "ops@acme.example");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dmarc_domains_addresses_reports_and_sources_from_the_dashboard() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let mut ops = signed_in_as(&h, "ops@acme.example", Role::Member).await;
        let page = ops.get("/dmarc").await;
        let added = ops
            .post(
                "/dmarc",
                &[
                    ("csrf_token", &page.csrf()),
                    ("domain", "Acme.Example"),
                    ("threshold", "7"),
                ],
            )
            .await;
        assert_eq!(added.status, StatusCode::OK, "[{backend}] {}", added.body);
        let address = added.value_starting("dmarc+").expect("the address, once");
        assert!(
            !ops.get("/dmarc").await.body.contains(&address),
            "shown once"
        );
        let twice = ops
            .post(
                "/dmarc",
                &[("csrf_token", &page.csrf()), ("domain", "acme.example")],
            )
            .await;
        assert!(
            twice.body.contains("already a DMARC domain"),
            "{}",
            twice.body
        );
        let listed = h.get("dmarc/domains").await;
        let id = listed.body["domains"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(listed.body["domains"][0]["failureRateThresholdPct"], 7);

        let rotated = ops
            .post(
                &format!("/dmarc/{id}/rotate"),
                &[("csrf_token", &page.csrf())],
            )
            .await;
        let new_address = rotated.value_starting("dmarc+").expect("a new address");
        assert_ne!(new_address, address);

        // A Google report with one passing and one failing source.
        let report = format!(
            "<?xml version=\"1.0\"?><feedback><report_metadata><org_name>google.com</org_name>\
                 <email>noreply@google.com</email><report_id>r1</report_id><date_range><begin>1764547200</begin>\
                 <end>1764633599</end></date_range></report_metadata><policy_published><domain>acme.example</domain>\
                 <p>none</p></policy_published>{}{}</feedback>",
            "<record><row><source_ip>192.0.2.10</source_ip><count>40</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers><header_from>acme.example</header_from></identifiers></record>",
            "<record><row><source_ip>198.51.100.7</source_ip><count>10</count><policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>acme.example</header_from></identifiers></record>"
        );
        // Uploaded from the domain's page, as a file.
        let csrf = page.csrf();
        let forged = ops
            .post_file(
                &format!("/dmarc/{id}/reports"),
                "report",
                "r.xml",
                report.as_bytes(),
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "no token, no upload");
        let uploaded = ops
            .post_file(
                &format!("/dmarc/{id}/reports?csrf_token={csrf}"),
                "report",
                "google.com!acme.example.xml",
                report.as_bytes(),
            )
            .await;
        assert_eq!(
            uploaded.status,
            StatusCode::OK,
            "[{backend}] {}",
            uploaded.body
        );
        assert!(
            uploaded.body.contains("Stored 1 report"),
            "{}",
            uploaded.body
        );
        let unreadable = ops
            .post_file(
                &format!("/dmarc/{id}/reports?csrf_token={csrf}"),
                "report",
                "notes.txt",
                b"not a report at all",
            )
            .await;
        assert_eq!(unreadable.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            unreadable.body.contains("Files that could not be read"),
            "kept with its reason: {}",
            unreadable.body
        );
        let threshold = ops
            .post(
                &format!("/dmarc/{id}/threshold"),
                &[("csrf_token", &csrf), ("threshold", "12")],
            )
            .await;
        assert_eq!(threshold.status, StatusCode::OK, "{}", threshold.body);
        let stored = h.get(&format!("dmarc/domains/{id}")).await;
        assert_eq!(stored.body["domain"]["failureRateThresholdPct"], 12);
        let detail = ops.get(&format!("/dmarc/{id}")).await;
        assert_eq!(detail.status, StatusCode::OK);
        assert!(
            detail.body.contains("google.com"),
            "the reporter: {}",
            detail.body
        );
        assert!(detail.body.contains("<meter"), "pass/fail bars");

        let deleted = ops
            .post(
                &format!("/dmarc/{id}/delete"),
                &[("csrf_token", &page.csrf())],
            )
            .await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER);
        let audit = h.get("audit-logs?targetType=dmarcDomain").await;
        let actions: Vec<&str> = audit.body["auditLogs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["actorEmail"] == "ops@acme.example")
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions.len(),
            4,
            "add, rotate, threshold, delete: {actions:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_and_ct_findings_are_listed_and_marked_known() {
    use certsentry_domain::CtCertificateId;
    use certsentry_domain::ct::{CtFinding, FindingState, Issuer};

    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let made = h
            .post(
                "monitors",
                json!({"label": "shop", "target": "shop.acme.example", "checkSsl": true,
                       "checkDomain": false, "checkDns": false, "checkUptime": false, "checkCt": true, "uptimeIntervalSeconds": 300,
                       "regions": ["virginia"], "alertLeadDays": [7]}),
            )
            .await;
        assert_eq!(made.status, 201, "{}", made.body);
        let monitor = made.body["monitor"]["id"].as_str().unwrap();
        let found_at = certsentry_domain::time::now_ms();
        let finding = CtFinding {
            id: CtCertificateId::generated_at(found_at),
            org_id: h.org.clone(),
            monitor_id: Some(certsentry_domain::MonitorId::from_string(monitor)),
            tbs_sha256: "ab".repeat(32),
            cert_sha256: "cd".repeat(32),
            fingerprint_sha1: "ef".repeat(20),
            pubkey_sha256: None,
            dns_names: vec!["login.shop.acme.example".into()],
            endpoints: vec![],
            issuer: Issuer::default(),
            not_before: found_at,
            not_after: found_at + 90 * 86_400_000,
            serial: "0badc0de".into(),
            precert: true,
            cert_der: None,
            source: "test log".into(),
            cert_link: None,
            log_index: Some(7),
            state: FindingState::Pending,
            found_at,
            decided_at: None,
        };
        assert!(h.store.insert_ct_finding(&finding).await.unwrap());
        assert!(
            h.store
                .decide_ct_finding(
                    &h.org,
                    &finding.id,
                    FindingState::Suspicious,
                    found_at,
                    None,
                    None
                )
                .await
                .unwrap()
        );

        let mut ops = signed_in_as(&h, "ops@acme.example", Role::Member).await;
        let page = ops.get("/certificates?ct=suspicious").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("shop.acme.example"),
            "the inventory: {}",
            page.body
        );
        assert!(page.body.contains("login.shop.acme.example") && page.body.contains("suspicious"));
        let marked = ops
            .post(
                "/certificates/known",
                &[
                    ("csrf_token", &page.csrf()),
                    ("tbs_sha256", &"ab".repeat(32)),
                ],
            )
            .await;
        assert_eq!(
            marked.status,
            StatusCode::SEE_OTHER,
            "[{backend}] {}",
            marked.body
        );
        let known = h.get("ct/known-certificates").await;
        assert_eq!(
            known.body["knownCertificates"][0]["tbsSha256"],
            "ab".repeat(32)
        );
        let audit = h.get("audit-logs?action=knownCertificate.create").await;
        assert_eq!(audit.body["auditLogs"][0]["actorEmail"], "ops@acme.example");

        let mut viewer = signed_in_as(&h, "viewer@acme.example", Role::Viewer).await;
        let seen = viewer.get("/certificates").await;
        assert!(
            !seen.body.contains("Mark as known"),
            "viewers see no buttons"
        );
    }
}
