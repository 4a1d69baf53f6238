//! The dashboard in a real browser: Debian's headless Chromium, driven over
//! the DevTools protocol through one newcomer's flow. The setup link, the
//! owner's account, TOTP turned on, signing out and in again with a code,
//! a monitor created in the form and seen in the list, a viewer invited
//! who accepts and sees no edit buttons and is refused a forged POST, and
//! an API key made in the dashboard and used with curl.
//!
//! Screenshots of the main pages are kept as test artifacts under the
//! target directory (`dashboard-screenshots/`), never in git. Without
//! Chromium the test says it was skipped (a failure under `CI=true`,
//! where `.ci/run` installs it).

mod cdp;
mod common;

use std::path::PathBuf;

use certsentry_web::dashboard::two_factor::totp;
use common::*;

fn code(secret: &str, email: &str) -> String {
    totp(secret, email).unwrap().generate_current().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_runs_the_dashboard_in_a_browser() {
    let Some(binary) = cdp::chromium() else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("Chromium is missing under CI=true: .ci/run installs it");
        }
        eprintln!("SKIPPED: the dashboard browser test (no chromium)");
        return;
    };
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let (backend, store) = backends().await.remove(0);
    let h = Harness::start(backend, store, "agency", |_| {}).await;
    let base = h.server.url("");
    let setup = certsentry_web::dashboard::setup_link_if_needed(&*h.store, &base)
        .await
        .unwrap()
        .unwrap();
    let mut browser = cdp::Browser::launch(binary).await;
    let owner = "owner@acme.example";

    // The setup link: the first account becomes the owner.
    browser.goto(&setup).await;
    browser.screenshot(&shots.join("setup.png")).await;
    browser.fill("#email", owner).await;
    browser.fill("#password", "owner password 1").await;
    browser.fill("#confirm", "owner password 1").await;
    browser.submit("button[type=submit]").await;
    browser.wait_for_path("/monitors").await;
    assert!(browser.text().await.contains("No monitors yet"));

    // TOTP on: the key from the page, a code from it, the recovery codes.
    browser.goto(&format!("{base}/account")).await;
    browser
        .submit("form[action='/account/two-factor/start'] button")
        .await;
    browser.wait_for_path("/account/two-factor/start").await;
    browser
        .screenshot(&shots.join("two-factor-setup.png"))
        .await;
    let secret = browser.text_of("code.key").await;
    browser
        .fill("input[name=code]", &code(&secret, owner))
        .await;
    browser
        .submit("form[action='/account/two-factor/enable'] button")
        .await;
    browser.wait_for_path("/account/two-factor/enable").await;
    assert!(browser.text().await.contains("Two-factor sign-in is on."));
    assert!(
        browser.exists("ol.codes").await,
        "recovery codes shown once"
    );

    // Out, and in again: password, then a code.
    browser.submit("form[action='/logout'] button").await;
    browser.wait_for_path("/login").await;
    browser.screenshot(&shots.join("login.png")).await;
    browser.fill("#email", owner).await;
    browser.fill("#password", "owner password 1").await;
    browser.submit("button[type=submit]").await;
    browser.wait_for_path("/login").await;
    assert!(browser.exists("#totp").await, "the second step");
    browser.fill("#totp", &code(&secret, owner)).await;
    browser.submit("button[type=submit]").await;
    browser.wait_for_path("/monitors").await;

    // A monitor from the form, then in the list.
    browser.goto(&format!("{base}/monitors/new")).await;
    browser.fill("#kind", "tcp").await;
    browser.fill("#label", "Acme database").await;
    browser.fill("#target", "127.0.0.1").await;
    browser.fill("#tcpPort", "5432").await;
    browser.screenshot(&shots.join("monitor-new.png")).await;
    browser
        .submit("form.monitor-form button[type=submit]")
        .await;
    let mut created = false;
    for _ in 0..100 {
        let path = browser.eval("location.pathname").await;
        if path.as_str().is_some_and(|p| p.starts_with("/monitors/c")) {
            created = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(created, "the monitor's page: {}", browser.text().await);
    browser.goto(&format!("{base}/monitors")).await;
    assert!(browser.text().await.contains("Acme database"));
    browser.screenshot(&shots.join("monitors.png")).await;

    // A viewer, invited, accepts in a fresh session.
    browser.goto(&format!("{base}/settings/members")).await;
    browser
        .fill("input[name=email]", "viewer@acme.example")
        .await;
    browser.fill("select[name=role]", "viewer").await;
    browser
        .submit("form[action='/settings/members/invite'] button")
        .await;
    browser.wait_for_path("/settings/members/invite").await;
    let invitation = browser.value_of("input.copy").await;
    assert!(invitation.contains("/join/csl_"), "{invitation}");
    browser.screenshot(&shots.join("members.png")).await;
    browser.clear_cookies().await;
    browser.goto(&invitation).await;
    browser.fill("#password", "viewer password").await;
    browser.fill("#confirm", "viewer password").await;
    browser.submit("button[type=submit]").await;
    browser.wait_for_path("/monitors").await;
    assert!(
        browser
            .text()
            .await
            .contains("viewer@acme.example · viewer")
    );
    assert!(
        !browser.exists("a[href='/monitors/new']").await,
        "no edit buttons"
    );
    browser.goto(&format!("{base}/settings/api-keys")).await;
    assert!(!browser.exists("form[action='/settings/api-keys']").await);
    // A forged POST: the form a member would have, with the viewer's token.
    browser.eval("window.__certsentry_old_page = true").await;
    browser
        .eval(
            "(() => { const f = document.createElement('form'); f.method = 'post'; \
             f.action = '/settings/api-keys'; \
             for (const [n, v] of [['csrf_token', document.querySelector('input[name=csrf_token]').value], ['name', 'forged']]) \
             { const i = document.createElement('input'); i.name = n; i.value = v; f.appendChild(i); } \
             document.body.appendChild(f); f.submit(); return true; })()",
        )
        .await;
    browser.wait_for_new_page().await;
    assert!(
        browser.text().await.contains("does not allow this"),
        "{}",
        browser.text().await
    );
    let keys = h.store.list_api_keys(Some(&h.org)).await.unwrap();
    assert!(
        keys.iter().all(|k| k.name != "forged"),
        "refused, nothing made"
    );

    // The owner again: an API key, used with curl.
    browser.clear_cookies().await;
    browser.goto(&format!("{base}/login")).await;
    browser.fill("#email", owner).await;
    browser.fill("#password", "owner password 1").await;
    browser.submit("button[type=submit]").await;
    browser.wait_for_path("/login").await;
    browser.fill("#totp", &code(&secret, owner)).await;
    browser.submit("button[type=submit]").await;
    browser.wait_for_path("/monitors").await;
    browser.goto(&format!("{base}/settings/api-keys")).await;
    browser.fill("input[name=name]", "deploys").await;
    browser
        .submit("form[action='/settings/api-keys'] button")
        .await;
    browser.wait_for_path("/settings/api-keys").await;
    let key = browser.value_of("input.copy").await;
    assert!(key.starts_with("csk_"), "{key}");
    browser.screenshot(&shots.join("api-keys.png")).await;
    let curl = std::process::Command::new("curl")
        .args(["-s", "-H", &format!("Authorization: Bearer {key}")])
        .arg(format!("{}/monitors", h.server.api_url()))
        .output();
    let body = match curl {
        Ok(out) => String::from_utf8(out.stdout).unwrap(),
        // No curl on this machine: the same request from Rust.
        Err(_) => reqwest::Client::new()
            .get(format!("{}/monitors", h.server.api_url()))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    };
    assert!(body.contains("Acme database"), "{body}");

    // On a phone the pages fit the screen's width: wide tables scroll in
    // their own box, the page itself never sideways.
    browser.as_phone(390, 844).await;
    for path in ["/monitors", "/settings/members", "/account"] {
        browser.goto(&format!("{base}{path}")).await;
        let fits = browser
            .eval("document.documentElement.scrollWidth <= window.innerWidth")
            .await;
        assert_eq!(
            fits,
            serde_json::json!(true),
            "{path} is wider than a phone"
        );
    }
    browser.screenshot(&shots.join("monitors-phone.png")).await;

    // Dark mode follows the system: the page's background turns dark.
    browser.prefer_dark().await;
    browser.goto(&format!("{base}/monitors")).await;
    let background = browser
        .eval("getComputedStyle(document.body).backgroundColor")
        .await;
    assert_eq!(
        background,
        serde_json::json!("rgb(16, 20, 27)"),
        "the dark theme's background"
    );
    browser
        .screenshot(&shots.join("monitors-phone-dark.png"))
        .await;
    eprintln!("dashboard screenshots: {}", shots.display());
}
