//! The status page editor, on every backend: a page made with two
//! monitors in a chosen order under public labels, published and served at
//! `/status/<slug>`; the API's slug rule beside its field; an edit that
//! drops a monitor; a viewer who sees no Save; and delete.

mod common;

use certsentry_domain::people::Role;
use common::web::signed_in_as;
use common::*;
use reqwest::StatusCode;
use serde_json::json;

async fn monitor(h: &Harness, label: &str) -> String {
    let made = h
        .post(
            "monitors",
            json!({"label": label, "target": format!("{label}.acme.example"), "checkSsl": false,
                   "checkDomain": false, "checkDns": false, "checkUptime": true,
                   "uptimeIntervalSeconds": 300, "regions": ["virginia"], "alertLeadDays": [7]}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    made.body["monitor"]["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_page_is_made_ordered_edited_and_deleted_in_the_editor() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let web = monitor(&h, "web").await;
        let api = monitor(&h, "api").await;
        let mut ops = signed_in_as(&h, "ops@acme.example", Role::Member).await;
        let form = ops.get("/status-pages/new").await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(
            form.body.contains(&format!("include:{web}"))
                && form.body.contains(&format!("include:{api}"))
        );
        let csrf = form.csrf();
        let post = |slug: &'static str| {
            vec![
                ("csrf_token".to_string(), csrf.clone()),
                ("title".to_string(), "Acme status".to_string()),
                ("slug".to_string(), slug.to_string()),
                ("enabled".to_string(), "on".to_string()),
                ("monitor".to_string(), web.clone()),
                (format!("include:{web}"), "on".to_string()),
                (format!("position:{web}"), "2".to_string()),
                (format!("label:{web}"), "Website".to_string()),
                (format!("target:{web}"), "on".to_string()),
                ("monitor".to_string(), api.clone()),
                (format!("include:{api}"), "on".to_string()),
                (format!("position:{api}"), "1".to_string()),
                (format!("label:{api}"), "API".to_string()),
            ]
        };
        let bad = post("Bad Slug!");
        let refused = ops
            .post(
                "/status-pages",
                &bad.iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect::<Vec<_>>(),
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "[{backend}] {}",
            refused.body
        );
        assert!(refused.body.contains("field-error"));
        assert!(
            refused.body.contains("value=\"Website\""),
            "what was typed stays"
        );

        let good = post("acme-status");
        let made = ops
            .post(
                "/status-pages",
                &good
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect::<Vec<_>>(),
            )
            .await;
        assert_eq!(
            made.status,
            StatusCode::SEE_OTHER,
            "[{backend}] {}",
            made.body
        );
        let id = made
            .location()
            .unwrap()
            .trim_start_matches("/status-pages/")
            .to_string();
        let page = h.get(&format!("status-pages/{id}")).await;
        let monitors = &page.body["statusPage"]["monitors"];
        assert_eq!(monitors[0]["publicLabel"], "API", "ordered by the numbers");
        assert_eq!(monitors[1]["publicLabel"], "Website");
        assert_eq!(monitors[1]["showTarget"], true);
        let public = reqwest::get(h.server.url("/status/acme-status"))
            .await
            .unwrap();
        assert_eq!(public.status(), 200);
        let html = public.text().await.unwrap();
        assert!(
            html.contains("Website") && html.contains("web.acme.example"),
            "the preview serves it"
        );

        // An edit that drops the API monitor.
        let editor = ops.get(&format!("/status-pages/{id}")).await;
        assert!(
            editor.body.contains("/status/acme-status"),
            "a link to the preview"
        );
        let mut edit = post("acme-status");
        edit.retain(|(k, _)| k != &format!("include:{api}"));
        let saved = ops
            .post(
                &format!("/status-pages/{id}"),
                &edit
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect::<Vec<_>>(),
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        let page = h.get(&format!("status-pages/{id}")).await;
        assert_eq!(
            page.body["statusPage"]["monitors"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        let mut viewer = signed_in_as(&h, "viewer@acme.example", Role::Viewer).await;
        let seen = viewer.get(&format!("/status-pages/{id}")).await;
        assert_eq!(seen.status, StatusCode::OK);
        assert!(!seen.body.contains(">Save</button>"), "viewers cannot save");

        let gone = ops
            .post(
                &format!("/status-pages/{id}/delete"),
                &[("csrf_token", &csrf)],
            )
            .await;
        assert_eq!(gone.status, StatusCode::SEE_OTHER);
        assert_eq!(h.get(&format!("status-pages/{id}")).await.status, 404);
        let audit = h.get("audit-logs?targetType=statusPage").await;
        let by_ops = audit.body["auditLogs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["actorEmail"] == "ops@acme.example")
            .count();
        assert_eq!(by_ops, 3, "create, update, delete: {}", audit.body);
    }
}

/// "Preview without saving": the editor's form rendered as the public page,
/// with nothing stored; the API's rules refuse a bad draft beside its
/// fields; and another organization's page id shows nothing of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_is_previewed_without_being_saved() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let web = monitor(&h, "web").await;
        let mut ops = signed_in_as(&h, "ops@acme.example", Role::Member).await;
        let csrf = ops.get("/status-pages/new").await.csrf();
        let draft = |slug: &str, page: &str| {
            vec![
                ("csrf_token".to_string(), csrf.clone()),
                ("title".to_string(), "Draft of Acme".to_string()),
                ("slug".to_string(), slug.to_string()),
                ("page".to_string(), page.to_string()),
                ("monitor".to_string(), web.clone()),
                (format!("include:{web}"), "on".to_string()),
                (format!("label:{web}"), "Shop front".to_string()),
            ]
        };
        let owned = draft("draft-acme", "");
        let fields = pairs(&owned);
        let preview = ops.post("/status-pages/preview", &fields).await;
        assert_eq!(
            preview.status,
            StatusCode::OK,
            "[{backend}] {}",
            preview.body
        );
        assert!(
            preview.body.contains("Draft of Acme") && preview.body.contains("Shop front"),
            "the draft as visitors would see it: {}",
            preview.body
        );
        let csp = preview.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
        let pages = h.get("status-pages").await;
        assert!(
            pages.body["statusPages"].as_array().unwrap().is_empty(),
            "[{backend}] nothing was saved: {}",
            pages.body
        );
        let public = reqwest::get(h.server.url("/status/draft-acme"))
            .await
            .unwrap();
        assert_eq!(public.status(), 404);

        let owned = draft("Bad Slug!", "");
        let fields = pairs(&owned);
        let refused = ops.post("/status-pages/preview", &fields).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains("field-error"));

        let owned = draft("draft-acme", "cNoSuchPageOfOurs");
        let fields = pairs(&owned);
        let foreign = ops.post("/status-pages/preview", &fields).await;
        assert_eq!(foreign.status, StatusCode::NOT_FOUND);

        let mut viewer = signed_in_as(&h, "viewer@acme.example", Role::Viewer).await;
        let csrf = viewer.get("/account").await.csrf();
        let forged = viewer
            .post("/status-pages/preview", &[("csrf_token", csrf.as_str())])
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
    }
}

fn pairs(owned: &[(String, String)]) -> Vec<(&str, &str)> {
    owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}
