//! Sign-in with GitHub against a GitHub fake on loopback that speaks its
//! OAuth and REST formats: the redirect to the authorize page with a state
//! and a PKCE challenge, the code exchanged for a token (with the PKCE
//! verifier), and the verified primary email deciding who signs in. A
//! state that does not match, an email nobody here has, and an unverified
//! email are refused.

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use certsentry_domain::people::Role;
use certsentry_web::dashboard::github::GithubSignIn;
use common::web::{Browser, add_user};
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A form as received, field by field.
type FormFields = Vec<(String, String)>;

#[derive(Clone, Default)]
struct Fake {
    /// What `/user/emails` answers.
    emails: Arc<Mutex<Value>>,
    /// Each token request's form, as received.
    token_requests: Arc<Mutex<Vec<FormFields>>>,
}

async fn token(
    State(fake): State<Fake>,
    Form(form): Form<FormFields>,
) -> (AxumStatus, Json<Value>) {
    fake.token_requests.lock().unwrap().push(form.clone());
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if field("code").as_deref() == Some("good-code") && field("code_verifier").is_some() {
        (
            AxumStatus::OK,
            Json(
                json!({"access_token": "gho_test", "token_type": "bearer", "scope": "user:email"}),
            ),
        )
    } else {
        (
            AxumStatus::BAD_REQUEST,
            Json(json!({"error": "bad_verification_code"})),
        )
    }
}

async fn emails(State(fake): State<Fake>, headers: HeaderMap) -> (AxumStatus, Json<Value>) {
    let authorized = headers
        .get("authorization")
        .is_some_and(|v| v == "Bearer gho_test");
    let user_agent = headers.get("user-agent").is_some();
    if !authorized || !user_agent {
        return (
            AxumStatus::UNAUTHORIZED,
            Json(json!({"message": "Requires authentication"})),
        );
    }
    (AxumStatus::OK, Json(fake.emails.lock().unwrap().clone()))
}

async fn fake_github() -> (String, Fake) {
    let fake = Fake::default();
    let app = Router::new()
        .route("/login/oauth/access_token", post(token))
        .route("/user/emails", get(emails))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, fake)
}

/// The query parameter `name` of `url`.
fn param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_sign_in_goes_by_the_verified_primary_email() {
    let (backend, store) = backends().await.remove(0);
    let (github_url, fake) = fake_github().await;
    let github = GithubSignIn {
        client_id: "Iv1.test".into(),
        client_secret: "shh".into(),
        web_url: github_url.clone(),
        api_url: github_url.clone(),
    };
    let h = Harness::start_runtime(backend, store, "agency", |config| {
        config.web.github = Some(github)
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
    *fake.emails.lock().unwrap() = json!([
        {"email": "ann@personal.example", "primary": false, "verified": true, "visibility": null},
        {"email": "Ann@Acme.example", "primary": true, "verified": true, "visibility": "private"}
    ]);

    let mut browser = Browser::new(&h.server.url(""));
    assert!(browser.get("/login").await.body.contains("/login/github"));
    let to_github = browser.get("/login/github").await;
    assert_eq!(to_github.status, StatusCode::SEE_OTHER);
    let authorize = to_github.location().unwrap().to_string();
    assert!(
        authorize.starts_with(&format!("{github_url}/login/oauth/authorize?")),
        "{authorize}"
    );
    assert_eq!(param(&authorize, "client_id").as_deref(), Some("Iv1.test"));
    assert_eq!(param(&authorize, "scope").as_deref(), Some("user:email"));
    assert_eq!(
        param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        param(&authorize, "redirect_uri"),
        Some(format!("{}/login/github/callback", h.server.url("")))
    );
    let state = param(&authorize, "state").unwrap();

    // GitHub sends the browser back; a forged state is refused first.
    let forged = browser
        .get("/login/github/callback?code=good-code&state=forged")
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let to_github = browser.get("/login/github").await;
    let state_again = param(to_github.location().unwrap(), "state").unwrap();
    assert_ne!(state_again, state, "a new state each time");
    let back = browser
        .get(&format!(
            "/login/github/callback?code=good-code&state={state_again}"
        ))
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(back.location(), Some("/"));
    let page = browser.get("/monitors").await;
    assert!(
        page.body.contains("ann@acme.example · member"),
        "{}",
        page.body
    );
    let requests = fake.token_requests.lock().unwrap().clone();
    let sent = requests.last().unwrap();
    assert!(
        sent.iter()
            .any(|(k, v)| k == "grant_type" && v == "authorization_code")
    );
    assert!(
        sent.iter().any(|(k, _)| k == "code_verifier"),
        "PKCE: {sent:?}"
    );

    // An email nobody here has, and an unverified one, sign nobody in.
    for emails in [
        json!([{"email": "stranger@elsewhere.example", "primary": true, "verified": true}]),
        json!([{"email": "ann@acme.example", "primary": true, "verified": false}]),
    ] {
        *fake.emails.lock().unwrap() = emails;
        let mut other = Browser::new(&h.server.url(""));
        let to_github = other.get("/login/github").await;
        let state = param(to_github.location().unwrap(), "state").unwrap();
        let refused = other
            .get(&format!(
                "/login/github/callback?code=good-code&state={state}"
            ))
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert_eq!(other.get("/monitors").await.location(), Some("/login"));
    }
}
