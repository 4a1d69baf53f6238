//! Single sign-on with OpenID Connect against a minimal issuer on loopback
//! that publishes its discovery document and JWKS and signs real RS256 ID
//! tokens (with a key made for the tests, `fixtures/oidc_test_issuer_key.pem`).
//! An existing user signs in; a new person in the allowed domain joins
//! with the default role; a foreign domain, an unverified email and a
//! token for another sign-in's nonce are refused.

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use certsentry_domain::people::Role;
use certsentry_web::dashboard::oidc::OidcSignIn;
use common::web::{Browser, add_user};
use common::*;
use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey,
};
use openidconnect::{
    Audience, EmptyAdditionalClaims, EndUserEmail, IssuerUrl, JsonWebKeyId, Nonce,
    PrivateSigningKey, StandardClaims, SubjectIdentifier,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const KEY: &str = include_str!("fixtures/oidc_test_issuer_key.pem");
const CLIENT_ID: &str = "certsentry-dashboard";

/// Who the next ID token is about, and for which nonce.
#[derive(Clone, Default)]
struct Next {
    email: String,
    verified: bool,
    nonce: String,
}

#[derive(Clone)]
struct Issuer {
    url: String,
    next: Arc<Mutex<Next>>,
    /// How often the discovery document was fetched.
    discoveries: Arc<std::sync::atomic::AtomicUsize>,
}

fn key() -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(KEY, Some(JsonWebKeyId::new("test-key".into()))).unwrap()
}

async fn discovery(State(issuer): State<Issuer>) -> Json<Value> {
    issuer
        .discoveries
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let url = &issuer.url;
    Json(json!({
        "issuer": url,
        "authorization_endpoint": format!("{url}/authorize"),
        "token_endpoint": format!("{url}/token"),
        "jwks_uri": format!("{url}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email"],
    }))
}

async fn jwks() -> Json<Value> {
    let set = CoreJsonWebKeySet::new(vec![key().as_verification_key()]);
    Json(serde_json::to_value(set).unwrap())
}

async fn token(
    State(issuer): State<Issuer>,
    Form(form): Form<Vec<(String, String)>>,
) -> (AxumStatus, Json<Value>) {
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if field("code").as_deref() != Some("good-code") || field("code_verifier").is_none() {
        return (
            AxumStatus::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        );
    }
    let next = issuer.next.lock().unwrap().clone();
    let now = chrono::Utc::now();
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(issuer.url.clone()).unwrap(),
        vec![Audience::new(CLIENT_ID.into())],
        now + chrono::Duration::minutes(5),
        now,
        StandardClaims::new(SubjectIdentifier::new(format!("sub-{}", next.email)))
            .set_email(Some(EndUserEmail::new(next.email.clone())))
            .set_email_verified(Some(next.verified)),
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(next.nonce.clone())));
    let id_token = CoreIdToken::new(
        claims,
        &key(),
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        None,
        None,
    )
    .unwrap();
    (
        AxumStatus::OK,
        Json(
            json!({"access_token": "at-1", "token_type": "Bearer", "expires_in": 300,
                    "id_token": id_token.to_string()}),
        ),
    )
}

async fn issuer() -> Issuer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = Issuer {
        url: format!("http://{}", listener.local_addr().unwrap()),
        next: Arc::default(),
        discoveries: Arc::default(),
    };
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", post(token))
        .with_state(issuer.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    issuer
}

fn param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// One sign-in through the issuer as `email`; `nonce` overrides the one
/// the sign-in asked for. Returns the callback's answer.
async fn sign_in(
    h: &Harness,
    issuer: &Issuer,
    browser: &mut Browser,
    email: &str,
    verified: bool,
    nonce: Option<&str>,
) -> common::web::Page {
    let to_issuer = browser.get("/login/oidc").await;
    assert_eq!(
        to_issuer.status,
        StatusCode::SEE_OTHER,
        "{}",
        to_issuer.body
    );
    let authorize = to_issuer.location().unwrap().to_string();
    assert!(
        authorize.starts_with(&format!("{}/authorize?", issuer.url)),
        "{authorize}"
    );
    assert_eq!(param(&authorize, "client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(
        param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(
        param(&authorize, "scope")
            .unwrap()
            .split(' ')
            .any(|s| s == "openid")
    );
    assert_eq!(
        param(&authorize, "redirect_uri"),
        Some(format!("{}/login/oidc/callback", h.server.url("")))
    );
    let asked = param(&authorize, "nonce").unwrap();
    *issuer.next.lock().unwrap() = Next {
        email: email.into(),
        verified,
        nonce: nonce.map_or(asked, str::to_string),
    };
    let state = param(&authorize, "state").unwrap();
    browser
        .get(&format!(
            "/login/oidc/callback?code=good-code&state={state}"
        ))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_sign_on_checks_the_id_token_and_the_allowed_domain() {
    let (backend, store) = backends().await.remove(0);
    let issuer = issuer().await;
    let oidc = OidcSignIn {
        issuer: issuer.url.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: "oidc-secret".into(),
        allowed_domain: Some("acme.example".into()),
        default_role: Role::Member,
        org: None,
        metadata: Default::default(),
    };
    let h = Harness::start_runtime(backend, store, "agency", |config| {
        config.web.oidc = Some(oidc)
    })
    .await;
    add_user(
        &*h.store,
        &h.org,
        "ann@acme.example",
        "ann password",
        Role::Viewer,
    )
    .await;

    let mut ann = Browser::new(&h.server.url(""));
    assert!(ann.get("/login").await.body.contains("/login/oidc"));
    let signed = sign_in(&h, &issuer, &mut ann, "Ann@Acme.example", true, None).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    assert!(
        ann.get("/monitors")
            .await
            .body
            .contains("ann@acme.example · viewer"),
        "an existing user keeps her role"
    );

    // A new person of the allowed domain joins with the default role.
    let mut bob = Browser::new(&h.server.url(""));
    let joined = sign_in(&h, &issuer, &mut bob, "bob@acme.example", true, None).await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    assert!(
        bob.get("/monitors")
            .await
            .body
            .contains("bob@acme.example · member")
    );
    assert_eq!(
        issuer.discoveries.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "two sign-ins (each two steps) discover the provider once"
    );
    let audit = h.get("audit-logs?action=member.join").await;
    let entry = audit.body["auditLogs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["actorEmail"] == "bob@acme.example")
        .expect("the join is audited")
        .clone();
    assert_eq!(entry["metadata"], json!({"role": "member", "via": "oidc"}));

    // Refused: another domain, an unverified email, a replayed nonce.
    for (email, verified, nonce) in [
        ("eve@elsewhere.example", true, None),
        ("carol@acme.example", false, None),
        ("dave@acme.example", true, Some("another sign-in's nonce")),
    ] {
        let mut other = Browser::new(&h.server.url(""));
        let refused = sign_in(&h, &issuer, &mut other, email, verified, nonce).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{email}: {}",
            refused.body
        );
        assert_eq!(
            other.get("/monitors").await.location(),
            Some("/login"),
            "{email}"
        );
    }
    assert!(
        h.store
            .find_user_by_email("eve@elsewhere.example")
            .await
            .unwrap()
            .is_none()
    );
}
