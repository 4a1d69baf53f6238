//! Two-factor sign-in from the outside: enrolment that proves the
//! authenticator has the secret, the second sign-in step with a TOTP code
//! or a recovery code (each code once), and an organization that requires
//! it of every member.

mod common;

use certsentry_domain::people::Role;
use certsentry_web::dashboard::two_factor::totp;
use common::web::{Browser, add_user};
use common::*;
use reqwest::StatusCode;

fn current_code(secret: &str, email: &str) -> String {
    totp(secret, email).unwrap().generate_current().to_string()
}

fn wrong_code(secret: &str, email: &str) -> String {
    let right: u32 = current_code(secret, email).parse().unwrap();
    format!("{:06}", (right + 500_000) % 1_000_000)
}

/// The text between `start` and the next `end` after it.
fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let from = body
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {body}"))
        + start.len();
    &body[from..from + body[from..].find(end).unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_is_enrolled_asked_at_sign_in_and_recovery_codes_work_once() {
    for (backend, store) in backends().await {
        let h = Harness::start(backend, store, "agency", |_| {}).await;
        let email = "ann@acme.example";
        add_user(&*h.store, &h.org, email, "ann password", Role::Owner).await;
        let mut ann = Browser::new(&h.server.url(""));
        ann.sign_in(email, "ann password").await;
        let account = ann.get("/account").await;
        let started = ann
            .post(
                "/account/two-factor/start",
                &[("csrf_token", &account.csrf())],
            )
            .await;
        assert_eq!(started.status, StatusCode::OK);
        assert!(started.body.contains("<svg"), "a QR code");
        let secret = between(&started.body, "<code class=\"key\">", "<").to_string();
        let csrf = started.csrf();
        let wrong = ann
            .post(
                "/account/two-factor/enable",
                &[("csrf_token", &csrf), ("code", &wrong_code(&secret, email))],
            )
            .await;
        assert_eq!(
            wrong.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "[{backend}]"
        );
        let user = h.store.find_user_by_email(email).await.unwrap().unwrap();
        assert!(user.two_factor.is_none(), "not on before a code checks");
        let on = ann
            .post(
                "/account/two-factor/enable",
                &[
                    ("csrf_token", &csrf),
                    ("code", &current_code(&secret, email)),
                ],
            )
            .await;
        assert_eq!(on.status, StatusCode::OK, "[{backend}] {}", on.body);
        let codes: Vec<String> = between(&on.body, "<ol class=\"codes\">", "</ol>")
            .split("<code>")
            .skip(1)
            .map(|c| c[..c.find('<').unwrap()].to_string())
            .collect();
        assert_eq!(codes.len(), 10, "{codes:?}");
        assert!(
            !ann.get("/account").await.body.contains(&codes[0]),
            "shown once"
        );

        // Signing in now takes the password, then a code.
        let mut again = Browser::new(&h.server.url(""));
        let step = again.sign_in_answer(email, "ann password").await;
        assert_eq!(
            step.status,
            StatusCode::OK,
            "the second step, not a session"
        );
        assert!(step.body.contains("name=\"totp\""), "{}", step.body);
        assert_eq!(again.get("/monitors").await.location(), Some("/login"));
        let bad = again
            .post(
                "/login/totp",
                &[
                    ("csrf_token", &step.csrf()),
                    ("totp", &wrong_code(&secret, email)),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
        let good = again
            .post(
                "/login/totp",
                &[
                    ("csrf_token", &step.csrf()),
                    ("totp", &current_code(&secret, email)),
                ],
            )
            .await;
        assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.body);
        assert_eq!(again.get("/monitors").await.status, StatusCode::OK);

        // A recovery code signs in once.
        let mut lost = Browser::new(&h.server.url(""));
        let step = lost.sign_in_answer(email, "ann password").await;
        let used = lost
            .post(
                "/login/totp",
                &[
                    ("csrf_token", &step.csrf()),
                    ("totp", &codes[4].to_uppercase()),
                ],
            )
            .await;
        assert_eq!(used.status, StatusCode::SEE_OTHER, "{}", used.body);
        let mut twice = Browser::new(&h.server.url(""));
        let step = twice.sign_in_answer(email, "ann password").await;
        let refused = twice
            .post(
                "/login/totp",
                &[("csrf_token", &step.csrf()), ("totp", &codes[4])],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(
            ann.get("/account")
                .await
                .body
                .contains("9 recovery codes left")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_can_require_two_factor_of_every_member() {
    let (backend, store) = backends().await.remove(0);
    let h = Harness::start(backend, store, "agency", |_| {}).await;
    add_user(
        &*h.store,
        &h.org,
        "owner@acme.example",
        "owner password",
        Role::Owner,
    )
    .await;
    add_user(
        &*h.store,
        &h.org,
        "bob@acme.example",
        "bob password",
        Role::Member,
    )
    .await;
    let mut owner = Browser::new(&h.server.url(""));
    owner.sign_in("owner@acme.example", "owner password").await;
    let members = owner.get("/settings/members").await;
    let required = owner
        .post(
            "/settings/security/two-factor",
            &[("csrf_token", &members.csrf()), ("required", "on")],
        )
        .await;
    assert_eq!(required.status, StatusCode::SEE_OTHER);
    let audit = h
        .get("audit-logs?action=organization.twoFactor.require")
        .await;
    assert_eq!(
        audit.body["auditLogs"][0]["actorEmail"],
        "owner@acme.example"
    );

    let mut bob = Browser::new(&h.server.url(""));
    bob.sign_in("bob@acme.example", "bob password").await;
    let sent = bob.get("/monitors").await;
    assert_eq!(sent.location(), Some("/account"), "until it is on");
    let account = bob.get("/account").await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(
        account.body.contains("requires two-factor sign-in"),
        "{}",
        account.body
    );
}
