//! The dashboard's email, through an SMTP server on loopback: invitations
//! sent to the invited address, and password resets whose answer is the
//! same whether or not the account exists; and, without outgoing mail,
//! the reset page saying who can help instead.

mod common;

use certsentry_domain::people::Role;
use certsentry_notify::email::OperatorMail;
use certsentry_notify::smtp_sink::{Received, smtp_sink};
use common::web::{Browser, signed_in_as};
use common::*;
use reqwest::StatusCode;

/// The first link to `path` in the messages received, with the message's
/// quoted-printable soft breaks undone.
fn link_in(received: &Received, base: &str, path: &str) -> Option<String> {
    let messages = received.lock().unwrap().clone();
    messages.iter().find_map(|data| {
        let text = data.replace("=\n", "").replace("=3D", "=");
        let start = text.find(&format!("{base}{path}"))?;
        let end = text[start..]
            .find(|c: char| c.is_whitespace())
            .map_or(text.len(), |e| start + e);
        Some(text[start..end].to_string())
    })
}

async fn with_mail(
    backend: &'static str,
    store: std::sync::Arc<dyn certsentry_store::Store>,
) -> (Harness, Received) {
    let (port, received) = smtp_sink().await;
    let h = Harness::start_runtime(backend, store, "agency", |config| {
        config.web.mail = Some(OperatorMail {
            smtp_url: format!("smtp://127.0.0.1:{port}"),
            address: "certsentry@ops.example".into(),
        });
    })
    .await;
    (h, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_and_password_resets_go_by_email() {
    let (backend, store) = backends().await.remove(0);
    let (h, received) = with_mail(backend, store).await;
    let base = h.server.url("");
    let mut owner = signed_in_as(&h, "owner@acme.example", Role::Owner).await;
    let members = owner.get("/settings/members").await;
    let invited = owner
        .post(
            "/settings/members/invite",
            &[
                ("csrf_token", &members.csrf()),
                ("email", "new@acme.example"),
                ("role", "member"),
            ],
        )
        .await;
    assert!(
        invited
            .body
            .contains("Invitation emailed to new@acme.example"),
        "{}",
        invited.body
    );
    assert!(
        !invited.body.contains("/join/csl_"),
        "the link went by email only"
    );
    let link = link_in(&received, &base, "/join/csl_").expect("the invitation email");
    assert!(received.lock().unwrap()[0].contains("To: new@acme.example"));
    let mut newcomer = Browser::new(&base);
    let join = newcomer.get(&link).await;
    assert_eq!(join.status, StatusCode::OK);
    let joined = newcomer
        .post(
            &link,
            &[
                ("csrf_token", &join.csrf()),
                ("password", "new password 1"),
                ("confirm", "new password 1"),
            ],
        )
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER);

    // A reset for a known address sends a link; for an unknown one, the
    // same answer and nothing sent.
    let mut forgetful = Browser::new(&base);
    let form = forgetful.get("/password/forgot").await;
    let unknown = forgetful
        .post(
            "/password/forgot",
            &[
                ("csrf_token", &form.csrf()),
                ("email", "nobody@acme.example"),
            ],
        )
        .await;
    let known = forgetful
        .post(
            "/password/forgot",
            &[("csrf_token", &form.csrf()), ("email", "NEW@acme.example")],
        )
        .await;
    assert_eq!(unknown.status, known.status);
    assert!(known.body.contains("If an account exists for that address"));
    assert_eq!(
        unknown.body.replace(&form.csrf(), ""),
        known.body.replace(&form.csrf(), "")
    );
    assert_eq!(
        received.lock().unwrap().len(),
        2,
        "one invitation, one reset"
    );
    let reset = link_in(&received, &base, "/password/csl_").expect("the reset email");
    let page = forgetful.get(&reset).await;
    let chosen = forgetful
        .post(
            &reset,
            &[
                ("csrf_token", &page.csrf()),
                ("password", "newer password"),
                ("confirm", "newer password"),
            ],
        )
        .await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.body);
    assert_eq!(
        Browser::new(&base).get(&reset).await.status,
        StatusCode::NOT_FOUND,
        "once"
    );
    let mut again = Browser::new(&base);
    let old = again
        .sign_in_answer("new@acme.example", "new password 1")
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    again.sign_in("new@acme.example", "newer password").await;
    assert!(
        newcomer.get("/monitors").await.location() == Some("/login"),
        "a reset signs the account out everywhere else"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_mail_the_reset_page_says_who_can_help() {
    let (backend, store) = backends().await.remove(0);
    let h = Harness::start(backend, store, "agency", |_| {}).await;
    let mut browser = Browser::new(&h.server.url(""));
    let page = browser.get("/password/forgot").await;
    assert!(
        page.body.contains("certsentry user reset-password"),
        "{}",
        page.body
    );
}
