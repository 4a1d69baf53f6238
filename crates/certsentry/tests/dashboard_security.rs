//! The dashboard's rules, from the outside: every route × every role
//! against the one permission table, the login throttle (and that errors
//! never reveal whether an account exists), session expiry (idle and
//! absolute), and invitation expiry.

mod common;

use certsentry_domain::people::Role;
use certsentry_domain::people::token::{LinkPurpose, UserLink};
use certsentry_domain::time::now_ms;
use certsentry_web::dashboard::{SESSION_MAX_MS, routes};
use common::web::{Browser, add_user};
use common::*;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_every_role_as_the_permission_table_says() {
    let (backend, store) = backends().await.remove(0);
    let h = Harness::start(backend, store, "agency", |_| {}).await;
    let base = h.server.url("");
    // A second owner, so that nothing a route does to "x" can matter.
    add_user(
        &*h.store,
        &h.org,
        "keeper@acme.example",
        "keeper password",
        Role::Owner,
    )
    .await;
    let mut checked = 0;
    for role in Role::ALL {
        let email = format!("{}@acme.example", role.as_str());
        add_user(&*h.store, &h.org, &email, "role password", *role).await;
        let mut browser = Browser::new(&base);
        browser.sign_in(&email, "role password").await;
        let csrf = browser.get("/account").await.csrf();
        // Signing out everywhere ends the session: that route goes last.
        let mut rules: Vec<_> = routes().into_iter().map(|(rule, _)| rule).collect();
        rules.sort_by_key(|rule| rule.path.ends_with("sign-out-everywhere"));
        for rule in rules {
            let path = rule.path.replace("{id}", "x");
            let page = if rule.method == reqwest::Method::GET {
                browser.get(&path).await
            } else {
                browser.post(&path, &[("csrf_token", &csrf)]).await
            };
            let allowed = role.may(rule.permission);
            assert_eq!(
                page.status == StatusCode::FORBIDDEN,
                !allowed,
                "{} {} as {}: {} {}",
                rule.method,
                rule.path,
                role.as_str(),
                page.status,
                page.body
            );
            checked += 1;
        }
    }
    assert_eq!(checked, routes().len() * Role::ALL.len());

    // Signed out, every route sends to the sign-in page.
    let mut anonymous = Browser::new(&base);
    for (rule, _) in routes() {
        let path = rule.path.replace("{id}", "x");
        let page = if rule.method == reqwest::Method::GET {
            anonymous.get(&path).await
        } else {
            anonymous.post(&path, &[]).await
        };
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "{} {}",
            rule.method,
            rule.path
        );
        assert_eq!(page.location(), Some("/login"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_throttled_and_never_says_whether_an_account_exists() {
    let (backend, store) = backends().await.remove(0);
    let h = Harness::start(backend, store, "agency", |_| {}).await;
    add_user(
        &*h.store,
        &h.org,
        "ann@acme.example",
        "ann password",
        Role::Member,
    )
    .await;
    let mut browser = Browser::new(&h.server.url(""));
    let unknown = browser
        .sign_in_answer("nobody@acme.example", "whatever pw")
        .await;
    let wrong = browser
        .sign_in_answer("ann@acme.example", "not her password")
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Wrong email or password."));
    assert!(
        unknown.body.contains("Wrong email or password."),
        "the same words"
    );

    for _ in 1..10 {
        let page = browser
            .sign_in_answer("ann@acme.example", "not her password")
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    let eleventh = browser
        .sign_in_answer("ann@acme.example", "not her password")
        .await;
    assert_eq!(
        eleventh.status,
        StatusCode::UNAUTHORIZED,
        "the tenth failure is counted"
    );
    let blocked = browser
        .sign_in_answer("ann@acme.example", "ann password")
        .await;
    assert_eq!(
        blocked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password"
    );
    assert!(
        blocked.body.contains("Too many failed sign-ins"),
        "{}",
        blocked.body
    );
    let upper = browser
        .sign_in_answer("ANN@acme.example", "ann password")
        .await;
    assert_eq!(
        upper.status,
        StatusCode::TOO_MANY_REQUESTS,
        "emails compare case-insensitively"
    );
}

/// What the store keys a session by: the SHA-256 of its id, as for keys.
fn id_hash(session_id: &str) -> String {
    certsentry_domain::apikey::hash_key(session_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_when_idle_and_after_thirty_days() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        add_user(
            &*h.store,
            &h.org,
            "ann@acme.example",
            "ann password",
            Role::Member,
        )
        .await;

        // Idle: the stored expiry has passed.
        let mut idle = Browser::new(&h.server.url(""));
        idle.sign_in("ann@acme.example", "ann password").await;
        assert_eq!(idle.get("/monitors").await.status, StatusCode::OK);
        let hash = id_hash(idle.session_id().unwrap());
        let mut stored = h
            .store
            .load_session(&hash, now_ms())
            .await
            .unwrap()
            .unwrap();
        assert!(
            stored.expires_at > now_ms() + 11 * 3_600_000,
            "[{backend}] 12 hours of inactivity"
        );
        stored.expires_at = now_ms() - 1;
        h.store.save_session(&stored).await.unwrap();
        let page = idle.get("/monitors").await;
        assert_eq!(page.location(), Some("/login"), "[{backend}] idle session");

        // Active: a request pushes the idle expiry back, though nothing in
        // the session changed.
        let mut active = Browser::new(&h.server.url(""));
        active.sign_in("ann@acme.example", "ann password").await;
        let hash = id_hash(active.session_id().unwrap());
        let mut stored = h
            .store
            .load_session(&hash, now_ms())
            .await
            .unwrap()
            .unwrap();
        let mut data: serde_json::Value = serde_json::from_str(&stored.data).unwrap();
        data["seen"] = (now_ms() - 2 * 3_600_000).into();
        stored.data = data.to_string();
        stored.expires_at = now_ms() + 30 * 60_000;
        h.store.save_session(&stored).await.unwrap();
        assert_eq!(active.get("/monitors").await.status, StatusCode::OK);
        let renewed = h
            .store
            .load_session(&hash, now_ms())
            .await
            .unwrap()
            .unwrap();
        assert!(
            renewed.expires_at > now_ms() + 11 * 3_600_000,
            "[{backend}] an active session stays signed in"
        );

        // Absolute: active all along, but signed in over 30 days ago.
        let mut old = Browser::new(&h.server.url(""));
        old.sign_in("ann@acme.example", "ann password").await;
        let hash = id_hash(old.session_id().unwrap());
        let mut stored = h
            .store
            .load_session(&hash, now_ms())
            .await
            .unwrap()
            .unwrap();
        let mut data: serde_json::Value = serde_json::from_str(&stored.data).unwrap();
        data["since"] = (now_ms() - SESSION_MAX_MS - 1).into();
        stored.data = data.to_string();
        h.store.save_session(&stored).await.unwrap();
        let page = old.get("/monitors").await;
        assert_eq!(
            page.location(),
            Some("/login"),
            "[{backend}] a 30-day-old session"
        );
        assert!(
            h.store
                .load_session(&hash, now_ms())
                .await
                .unwrap()
                .is_none(),
            "[{backend}] and it is gone from the store"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_expires_after_seven_days() {
    let (backend, store) = backends().await.remove(0);
    let h = Harness::start(backend, store, "agency", |_| {}).await;
    let week = 7 * 24 * 3_600_000;
    let (mut fresh, fresh_token) = UserLink::new(LinkPurpose::Invitation, now_ms() - week + 60_000);
    fresh.org_id = Some(h.org.clone());
    fresh.email = Some("late@acme.example".into());
    fresh.role = Some(Role::Viewer);
    h.store.create_link(&fresh, None).await.unwrap();
    let (mut stale, stale_token) = UserLink::new(LinkPurpose::Invitation, now_ms() - week - 1);
    stale.org_id = Some(h.org.clone());
    stale.email = Some("later@acme.example".into());
    stale.role = Some(Role::Viewer);
    h.store.create_link(&stale, None).await.unwrap();
    let mut browser = Browser::new(&h.server.url(""));
    assert_eq!(
        browser.get(&format!("/join/{fresh_token}")).await.status,
        StatusCode::OK
    );
    let expired = browser.get(&format!("/join/{stale_token}")).await;
    assert_eq!(expired.status, StatusCode::NOT_FOUND);
    assert!(expired.body.contains("expired"), "{}", expired.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_signs_people_in_by_its_header_and_nobody_else_can() {
    let (backend, store) = backends().await.remove(0);
    let trusted = |proxies: &[&str]| {
        certsentry_web::TrustedHeader::new("X-Forwarded-Email", proxies).unwrap()
    };
    let behind = trusted(&["127.0.0.1"]);
    let h = Harness::start_runtime(backend, store.clone(), "agency", |config| {
        config.web.trusted_header = Some(behind)
    })
    .await;
    add_user(
        &*h.store,
        &h.org,
        "ann@acme.example",
        "ann password",
        Role::Member,
    )
    .await;
    let mut proxied = Browser::new(&h.server.url(""));
    let page = proxied
        .get_with("/monitors", &[("x-forwarded-email", "Ann@Acme.example")])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("ann@acme.example · member"));
    assert!(
        proxied.session_id().is_some(),
        "a session, so forms carry their token"
    );
    let unknown = Browser::new(&h.server.url(""))
        .get_with("/monitors", &[("x-forwarded-email", "nobody@acme.example")])
        .await;
    assert_eq!(unknown.location(), Some("/login"), "only existing users");

    // The same header from an address that is not a trusted proxy.
    let (backend, store) = backends().await.remove(0);
    let elsewhere = trusted(&["10.0.0.0/8"]);
    let h = Harness::start_runtime(backend, store, "agency", |config| {
        config.web.trusted_header = Some(elsewhere)
    })
    .await;
    add_user(
        &*h.store,
        &h.org,
        "ann@acme.example",
        "ann password",
        Role::Member,
    )
    .await;
    let forged = Browser::new(&h.server.url(""))
        .get_with("/monitors", &[("x-forwarded-email", "ann@acme.example")])
        .await;
    assert_eq!(forged.location(), Some("/login"), "the header is ignored");
}
