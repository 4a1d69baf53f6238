//! A status page's incidents and maintenance windows from the dashboard,
//! on every backend: an incident opened and resolved through its
//! timeline, a maintenance window scheduled (times from the browser's
//! `datetime-local`, read as UTC), a window refused by the API's rule with
//! the reason beside its form, cancellation, and a viewer who sees no forms.

mod common;

use certsentry_domain::people::Role;
use certsentry_domain::time::{format_ms, now_ms};
use common::web::signed_in_as;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

/// `2026-12-05T14:30` for `at` (what a `datetime-local` input posts).
fn local(at: i64) -> String {
    format_ms(at)[..16].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_and_maintenance_are_managed_from_the_page() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let made = h
            .post(
                "monitors",
                json!({"label": "web", "target": "web.acme.example", "checkSsl": false,
                       "checkDomain": false, "checkDns": false, "checkUptime": true,
                       "uptimeIntervalSeconds": 300, "regions": ["virginia"], "alertLeadDays": [7]}),
            )
            .await;
        let monitor = made.body["monitor"]["id"].as_str().unwrap().to_string();
        let page = h
            .post(
                "status-pages",
                json!({"slug": "acme", "title": "Acme", "enabled": true,
                       "monitors": [{"monitorId": monitor, "publicLabel": "Website"}]}),
            )
            .await;
        assert_eq!(page.status, 201, "{}", page.body);
        let id = page.body["statusPage"]["id"].as_str().unwrap().to_string();
        let notices = format!("/status-pages/{id}/notices");

        let mut ops = signed_in_as(&h, "ops@acme.example", Role::Member).await;
        let shown = ops.get(&notices).await;
        assert_eq!(shown.status, StatusCode::OK, "[{backend}] {}", shown.body);
        let csrf = shown.csrf();
        let opened = ops
            .post(
                &format!("/status-pages/{id}/incidents"),
                &[
                    ("csrf_token", &csrf),
                    ("title", "Checkout errors"),
                    ("state", "investigating"),
                    ("body", "We are looking into failed payments."),
                ],
            )
            .await;
        assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
        let listed = h.get(&format!("status-pages/{id}/incidents")).await;
        let incident = listed.body["incidents"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let resolved = ops
            .post(
                &format!("/status-pages/{id}/incidents/{incident}/updates"),
                &[
                    ("csrf_token", &csrf),
                    ("state", "resolved"),
                    ("body", "Fixed."),
                ],
            )
            .await;
        assert_eq!(resolved.status, StatusCode::SEE_OTHER);
        let listed = h.get(&format!("status-pages/{id}/incidents")).await;
        assert_eq!(listed.body["incidents"][0]["state"], "resolved");
        assert_eq!(
            listed.body["incidents"][0]["updates"]
                .as_array()
                .unwrap()
                .len(),
            2
        );

        // A window in an hour, for two hours.
        let start = now_ms() + 3_600_000;
        let scheduled = ops
            .post(
                &format!("/status-pages/{id}/maintenance"),
                &[
                    ("csrf_token", &csrf),
                    ("title", "Database upgrade"),
                    ("message", ""),
                    ("startsAt", &local(start)),
                    ("endsAt", &local(start + 7_200_000)),
                    ("monitorIds", &monitor),
                ],
            )
            .await;
        assert_eq!(
            scheduled.status,
            StatusCode::SEE_OTHER,
            "[{backend}] {}",
            scheduled.body
        );
        let windows = h.get(&format!("status-pages/{id}/maintenance")).await;
        let window = &windows.body["maintenanceWindows"][0];
        assert_eq!(window["status"], "scheduled");
        assert_eq!(window["monitorIds"], json!([monitor]));
        assert_eq!(&window["startsAt"].as_str().unwrap()[..16], local(start));
        let window_id = window["id"].as_str().unwrap().to_string();

        // Ending before it starts breaks the API's rule: said beside the form.
        let backwards = ops
            .post(
                &format!("/status-pages/{id}/maintenance"),
                &[
                    ("csrf_token", &csrf),
                    ("title", "Backwards"),
                    ("startsAt", &local(start)),
                    ("endsAt", &local(start - 600_000)),
                ],
            )
            .await;
        assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(backwards.body.contains("endsAt"), "{}", backwards.body);
        assert!(
            backwards.body.contains("value=\"Backwards\""),
            "what was typed stays"
        );

        let cancelled = ops
            .post(
                &format!("/status-pages/{id}/maintenance/{window_id}/delete"),
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(cancelled.status, StatusCode::SEE_OTHER);
        let windows = h.get(&format!("status-pages/{id}/maintenance")).await;
        assert!(
            windows.body["maintenanceWindows"]
                .as_array()
                .unwrap()
                .is_empty()
        );

        let mut viewer = signed_in_as(&h, "viewer@acme.example", Role::Viewer).await;
        let seen = viewer.get(&notices).await;
        assert_eq!(seen.status, StatusCode::OK);
        assert!(seen.body.contains("Checkout errors"));
        assert!(!seen.body.contains("Open incident"), "viewers see no forms");
        let audit = h.get("audit-logs?targetType=incident").await;
        assert_eq!(audit.body["auditLogs"][0]["actorEmail"], "ops@acme.example");
    }
}

/// Certificates → Known: added by hash with a note, refused when nothing
/// identifies a certificate, listed, and removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_certificates_are_added_listed_and_removed() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let mut ops = signed_in_as(&h, "ops@acme.example", Role::Member).await;
        let page = ops.get("/certificates/known").await;
        assert_eq!(page.status, StatusCode::OK, "[{backend}] {}", page.body);
        let csrf = page.csrf();
        let empty = ops
            .post(
                "/certificates/known/add",
                &[("csrf_token", &csrf), ("note", "?")],
            )
            .await;
        assert_eq!(
            empty.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            empty.body
        );
        assert!(empty.body.contains("class=\"error\""));
        let sha = "ab".repeat(32);
        let added = ops
            .post(
                "/certificates/known/add",
                &[
                    ("csrf_token", &csrf),
                    ("sha256", &sha),
                    ("note", "shop renewal"),
                ],
            )
            .await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
        let listed = ops.get("/certificates/known").await;
        assert!(listed.body.contains(&sha) && listed.body.contains("shop renewal"));
        let known = h.get("ct/known-certificates").await;
        let id = known.body["knownCertificates"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{}", known.body))
            .to_string();
        let removed = ops
            .post(
                &format!("/certificates/known/{id}/remove"),
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(removed.status, StatusCode::SEE_OTHER);
        assert!(!ops.get("/certificates/known").await.body.contains(&sha));
    }
}

/// Alerts: the organization's events, newest first, filtered by type,
/// each linking to its monitor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_listed_and_filtered() {
    use certsentry_domain::alert::{Draft, Event, EventType, Severity};
    let (backend, store) = backends().await.remove(0);
    let h = Harness::start(backend, store, "agency", |_| {}).await;
    let made = h
        .post(
            "monitors",
            json!({"label": "shop", "target": "shop.acme.example", "checkSsl": false,
                   "checkDomain": false, "checkDns": false, "checkUptime": true,
                   "uptimeIntervalSeconds": 300, "regions": ["virginia"], "alertLeadDays": [7]}),
        )
        .await;
    let id = made.body["monitor"]["id"].as_str().unwrap().to_string();
    let monitor = h
        .store
        .get_monitor(
            &h.org,
            &certsentry_domain::MonitorId::from_string(id.clone()),
        )
        .await
        .unwrap()
        .unwrap();
    for (event_type, severity, status) in [
        (EventType::UptimeDown, Severity::Critical, "down"),
        (EventType::UptimeUp, Severity::Resolved, "up"),
    ] {
        let draft = Draft {
            event_type,
            severity,
            status: status.into(),
            details: json!({}),
        };
        let event = Event::about_monitor(&monitor, draft, now_ms());
        h.store
            .record_alert(None, Some(&event), None)
            .await
            .unwrap();
    }
    let mut viewer = signed_in_as(&h, "viewer@acme.example", Role::Viewer).await;
    let all = viewer.get("/events").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert!(all.body.contains("uptime.down") && all.body.contains("uptime.up"));
    assert!(
        all.body.contains(&format!("/monitors/{id}")),
        "linked to its monitor"
    );
    let down = viewer.get("/events?type=uptime.down").await;
    assert!(down.body.contains("<td>uptime.down</td>"));
    assert!(!down.body.contains("<td>uptime.up</td>"), "filtered");
}
