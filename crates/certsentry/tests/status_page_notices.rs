//! Incidents and maintenance on a public status page, on every backend:
//! - a confirmed outage opens an incident on the page by itself, an
//!   operator's update (Markdown, sanitized) joins its timeline, and the
//!   recovery resolves it;
//! - a maintenance window shows ahead of time, turns its monitor to
//!   "maintenance" while it runs, and holds back `uptime.down`;
//! - the same notices in `summary.json` (Statuspage's shape), the history
//!   page and the Atom feed, which a real feed parser (Python
//!   `feedparser`) reads; a hidden target appears in none of them;
//! - the API's writes are audited and its lists are cursor-paginated.

mod common;
mod python;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use serde_json::{Value, json};

/// An HTTP server that answers 200 or, while `failing`, 503.
async fn switchable_server() -> (u16, Arc<AtomicBool>) {
    let failing = Arc::new(AtomicBool::new(false));
    let state = failing.clone();
    let app = axum::Router::new().fallback(move || {
        let failing = state.clone();
        async move {
            if failing.load(Ordering::SeqCst) {
                axum::http::StatusCode::SERVICE_UNAVAILABLE
            } else {
                axum::http::StatusCode::OK
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, failing)
}

async fn text(h: &Harness, path: &str) -> (u16, String) {
    let response = reqwest::get(h.server.url(path)).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn monitor(h: &Harness, label: &str, target: String) -> String {
    let created = h
        .post(
            "monitors",
            json!({
                "label": label, "target": target, "checkSsl": false, "checkDomain": false,
                "checkDns": false, "checkUptime": true, "uptimeIntervalSeconds": 300,
                "regions": ["virginia"], "alertLeadDays": [7]
            }),
        )
        .await;
    assert_eq!(created.status, 201, "[{}] {}", h.backend, created.body);
    created.body["monitor"]["id"].as_str().unwrap().to_string()
}

async fn check(h: &Harness, id: &str, times: usize) {
    for _ in 0..times {
        let checked = h.post(&format!("monitors/{id}/check"), json!({})).await;
        assert!(checked.status.is_success(), "{}", checked.body);
    }
}

async fn events_of(h: &Harness, monitor: &str, kind: &str) -> usize {
    let events = h
        .get(&format!("events?type={kind}&monitor={monitor}"))
        .await;
    assert_eq!(events.status, 200, "{}", events.body);
    events.body["events"].as_array().unwrap().len()
}

/// Every public form of the page (read once: a page renders at most every
/// 10 s, so the test asks only after the state it checks is in place).
async fn page_forms(h: &Harness, slug: &str) -> (String, Value, String, String) {
    let (status, html) = text(h, &format!("/status/{slug}")).await;
    assert_eq!(status, 200, "{html}");
    let (_, summary) = text(h, &format!("/status/{slug}/summary.json")).await;
    let (status, history) = text(h, &format!("/status/{slug}/history")).await;
    assert_eq!(status, 200, "{history}");
    let (status, feed) = text(h, &format!("/status/{slug}/feed.atom")).await;
    assert_eq!(status, 200, "{feed}");
    (html, serde_json::from_str(&summary).unwrap(), history, feed)
}

fn new_page(slug: &str, web: &str, db: &str) -> Value {
    json!({
        "slug": slug, "title": "Acme status",
        "monitors": [
            { "monitorId": web, "publicLabel": "Website", "showTarget": false },
            { "monitorId": db, "publicLabel": "Database", "showTarget": false }
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outages_open_incidents_and_maintenance_holds_alerts_back() {
    let feedparser = python::venv("feedparser-venv-6.0.12", &["feedparser==6.0.12"]);
    if feedparser.is_none() {
        python::unavailable("the Atom feed check with feedparser");
    }
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let (web_port, web_failing) = switchable_server().await;
        let (db_port, db_failing) = switchable_server().await;
        let web = monitor(&h, "web", format!("http://127.0.0.1:{web_port}/hidden-web")).await;
        let db = monitor(&h, "db", format!("http://127.0.0.1:{db_port}/hidden-db")).await;
        let created = h
            .post(
                "status-pages",
                new_page(&format!("notices-{backend}"), &web, &db),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let page = created.body["statusPage"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        check(&h, &web, 1).await;
        check(&h, &db, 1).await;

        // Maintenance on the database, from now for an hour.
        let now = certsentry_domain::time::now_ms();
        let window = h
            .post(
                &format!("status-pages/{page}/maintenance"),
                json!({
                    "title": "Database upgrade",
                    "message": "Expect **short** interruptions.",
                    "startsAt": certsentry_domain::time::format_ms(now),
                    "endsAt": certsentry_domain::time::format_ms(now + 3_600_000),
                    "monitorIds": [db]
                }),
            )
            .await;
        assert_eq!(window.status, 201, "[{backend}] {}", window.body);
        assert_eq!(window.body["maintenanceWindow"]["status"], "in_progress");
        let refused = h
            .post(
                &format!("status-pages/{page}/maintenance"),
                json!({ "title": "Rewrite history", "startsAt": "2020-01-01T00:00:00Z",
                        "endsAt": "2020-01-02T00:00:00Z", "monitorIds": ["nope"] }),
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(refused.detail("startsAt").is_some() && refused.detail("monitorIds[0]").is_some());

        // Both fail. The database is under maintenance: no alert for it.
        web_failing.store(true, Ordering::SeqCst);
        db_failing.store(true, Ordering::SeqCst);
        check(&h, &web, 2).await;
        check(&h, &db, 2).await;
        assert_eq!(events_of(&h, &web, "uptime.down").await, 1, "[{backend}]");
        assert_eq!(
            events_of(&h, &db, "uptime.down").await,
            0,
            "[{backend}] held back"
        );

        // The website's outage opened an incident on the page.
        let incidents = h.get(&format!("status-pages/{page}/incidents")).await;
        assert_eq!(incidents.status, 200, "{}", incidents.body);
        let list = incidents.body["incidents"].as_array().unwrap();
        assert_eq!(list.len(), 1, "[{backend}] {}", incidents.body);
        assert_eq!(list[0]["title"], "Website is down");
        assert_eq!(list[0]["state"], "investigating");
        assert_eq!(list[0]["monitorId"], web.as_str());
        let incident = list[0]["id"].as_str().unwrap().to_string();
        let updated = h
            .post(
                &format!("status-pages/{page}/incidents/{incident}/updates"),
                json!({ "state": "identified",
                        "body": "A **bad deploy**. <script>alert(1)</script>" }),
            )
            .await;
        assert_eq!(updated.status, 201, "{}", updated.body);
        assert_eq!(
            updated.body["incident"]["updates"]
                .as_array()
                .unwrap()
                .len(),
            2
        );

        let slug = format!("notices-{backend}");
        let (html, summary, history, feed) = page_forms(&h, &slug).await;
        assert!(
            html.contains("Active incidents") && html.contains("Website is down"),
            "{html}"
        );
        assert!(
            html.contains("<strong>bad deploy</strong>"),
            "Markdown rendered: {html}"
        );
        assert!(!html.contains("<script"), "sanitized: {html}");
        assert!(html.contains("Scheduled maintenance") && html.contains("Database upgrade"));
        let at = html.find("<h2>Database</h2>").unwrap();
        assert!(
            html[at..].starts_with("<h2>Database</h2><b class=\"maintenance\">Under maintenance"),
            "{}",
            &html[at..at + 120]
        );
        assert!(
            html.contains("Major outage") || html.contains("Partial outage"),
            "{html}"
        );
        assert_eq!(summary["incidents"][0]["name"], "Website is down");
        assert_eq!(summary["incidents"][0]["status"], "identified");
        assert_eq!(
            summary["incidents"][0]["incident_updates"][0]["status"],
            "identified"
        );
        assert_eq!(
            summary["scheduled_maintenances"][0]["name"],
            "Database upgrade"
        );
        assert_eq!(
            summary["scheduled_maintenances"][0]["status"],
            "in_progress"
        );
        assert_eq!(summary["components"][1]["status"], "under_maintenance");
        assert!(history.contains("Website is down") && history.contains("Identified"));
        for form in [&html, &summary.to_string(), &history, &feed] {
            assert!(
                !form.contains("hidden-web") && !form.contains("hidden-db"),
                "a hidden target leaked"
            );
            assert!(
                !form.contains(&web_port.to_string()),
                "a hidden port leaked"
            );
        }
        if let Some(bin) = &feedparser {
            read_feed(
                bin,
                &feed,
                &[
                    "Website is down (Identified)",
                    "Scheduled maintenance: Database upgrade",
                ],
            );
        }

        // Recovery resolves the incident.
        web_failing.store(false, Ordering::SeqCst);
        check(&h, &web, 1).await;
        let resolved = h
            .get(&format!("status-pages/{page}/incidents/{incident}"))
            .await;
        assert_eq!(
            resolved.body["incident"]["state"], "resolved",
            "{}",
            resolved.body
        );
        assert!(resolved.body["incident"]["resolvedAt"].is_string());

        // A manual incident, and the list's cursor.
        let manual = h
            .post(
                &format!("status-pages/{page}/incidents"),
                json!({ "title": "Slow logins", "state": "monitoring", "body": "Watching." }),
            )
            .await;
        assert_eq!(manual.status, 201, "{}", manual.body);
        let first = h
            .get(&format!("status-pages/{page}/incidents?limit=1"))
            .await;
        assert_eq!(first.body["incidents"][0]["title"], "Slow logins");
        let cursor = first.body["nextCursor"].as_str().unwrap();
        let second = h
            .get(&format!(
                "status-pages/{page}/incidents?limit=1&cursor={cursor}"
            ))
            .await;
        assert_eq!(second.body["incidents"][0]["id"], incident.as_str());
        assert!(second.body["nextCursor"].is_null());

        // Ending the window early lets the database's outage through.
        let mid = window.body["maintenanceWindow"]["id"].as_str().unwrap();
        let ended = h
            .patch(
                &format!("status-pages/{page}/maintenance/{mid}"),
                json!({ "endsAt": certsentry_domain::time::format_ms(certsentry_domain::time::now_ms()) }),
            )
            .await;
        assert_eq!(ended.status, 200, "{}", ended.body);
        assert_eq!(
            ended.body["maintenanceWindow"]["title"], "Database upgrade",
            "kept"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        check(&h, &db, 1).await;
        assert_eq!(
            events_of(&h, &db, "uptime.down").await,
            1,
            "[{backend}] announced once over"
        );
        let deleted = h
            .delete(&format!("status-pages/{page}/maintenance/{mid}"))
            .await;
        assert_eq!(deleted.status, 200, "{}", deleted.body);
        assert_eq!(
            h.get(&format!("status-pages/{page}/maintenance/{mid}"))
                .await
                .status,
            404
        );

        let audit = h.get("audit-logs?limit=200").await;
        let actions: Vec<&str> = audit.body["auditLogs"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", audit.body))
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        for action in [
            "maintenance.create",
            "maintenance.update",
            "maintenance.delete",
            "incident.create",
            "incident.update",
        ] {
            assert!(
                actions.contains(&action),
                "[{backend}] {action} in {actions:?}"
            );
        }
    }
}

/// Parses `feed` with feedparser: well-formed Atom, and the entry titles.
fn read_feed(bin: &std::path::Path, feed: &str, titles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.atom");
    std::fs::write(&path, feed).unwrap();
    let script = r#"
import json, sys, feedparser
d = feedparser.parse(sys.argv[1])
print(json.dumps({
    "bozo": d.bozo, "version": d.version, "title": d.feed.get("title"),
    "entries": [{"title": e.title, "id": e.id, "link": e.get("link"), "updated": e.get("updated")} for e in d.entries],
}))
"#;
    let out = std::process::Command::new(bin.join("python"))
        .args(["-c", script])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(parsed["bozo"], false, "well-formed: {parsed}\n{feed}");
    assert_eq!(parsed["version"], "atom10", "{parsed}");
    assert_eq!(parsed["title"], "Acme status");
    let found: Vec<&str> = parsed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["title"].as_str())
        .collect();
    for title in titles {
        assert!(found.contains(title), "{title} in {found:?}");
    }
    for entry in parsed["entries"].as_array().unwrap() {
        assert!(entry["id"].as_str().unwrap().starts_with("urn:certsentry:"));
        assert!(entry["updated"].is_string());
        assert!(
            entry["link"].as_str().unwrap().contains("/history#"),
            "{entry}"
        );
    }
}
