//! Sign-in with GitHub: OAuth 2 (not OpenID Connect), with the `oauth2`
//! crate: the authorization code flow with PKCE and a state kept in the
//! session, then GitHub's list of the person's emails, where the verified
//! primary one decides who signs in. Only people who already have an
//! account here sign in this way; others are told to ask for an invitation.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use certsentry_domain::people::normalize_email;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use serde::Deserialize;
use tower_sessions::Session;

use super::Dashboard;
use super::sign_in::{enter, first_org};
use super::views::{error_page, unavailable};

/// Session keys of a sign-in on its way through GitHub.
const STATE_KEY: &str = "github_state";
const VERIFIER_KEY: &str = "github_pkce";

/// An OAuth app registered on GitHub (`--github-client-id`,
/// `--github-client-secret`); the URLs are GitHub's unless overridden
/// (GitHub Enterprise, or a test server).
#[derive(Debug, Clone)]
pub struct GithubSignIn {
    pub client_id: String,
    pub client_secret: String,
    /// `https://github.com`: the authorize and token endpoints live here.
    pub web_url: String,
    /// `https://api.github.com`: the emails endpoint lives here.
    pub api_url: String,
}

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

fn client(github: &GithubSignIn, public_url: &str) -> Result<Client, String> {
    let web = github.web_url.trim_end_matches('/');
    Ok(BasicClient::new(ClientId::new(github.client_id.clone()))
        .set_client_secret(ClientSecret::new(github.client_secret.clone()))
        .set_auth_uri(
            AuthUrl::new(format!("{web}/login/oauth/authorize")).map_err(|e| e.to_string())?,
        )
        .set_token_uri(
            TokenUrl::new(format!("{web}/login/oauth/access_token")).map_err(|e| e.to_string())?,
        )
        .set_redirect_uri(
            RedirectUrl::new(format!(
                "{}/login/github/callback",
                public_url.trim_end_matches('/')
            ))
            .map_err(|e| e.to_string())?,
        ))
}

fn not_configured() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Not available",
        "GitHub sign-in is not set up on this server.",
    )
}

/// `GET /login/github`: off to GitHub, with a state and a PKCE challenge
/// kept in the session.
pub async fn start(State(dashboard): State<Dashboard>, session: Session) -> Response {
    let Some(github) = &dashboard.github else {
        return not_configured();
    };
    let client = match client(github, &dashboard.public_url) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "GitHub sign-in settings");
            return unavailable();
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("user:email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let kept_state = session.insert(STATE_KEY, state.secret()).await;
    let kept_verifier = session.insert(VERIFIER_KEY, verifier.secret()).await;
    if kept_state.is_err() || kept_verifier.is_err() {
        return unavailable();
    }
    Redirect::to(url.as_str()).into_response()
}

#[derive(Deserialize)]
pub struct Callback {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
}

#[derive(Deserialize)]
struct GithubEmail {
    email: String,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    verified: bool,
}

fn refused(message: &str) -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "GitHub sign-in did not work",
        message,
    )
}

/// `GET /login/github/callback`: the code for a token, the token for the
/// person's emails, the verified primary email for an account here.
pub async fn callback(
    State(dashboard): State<Dashboard>,
    session: Session,
    Query(callback): Query<Callback>,
) -> Response {
    let Some(github) = &dashboard.github else {
        return not_configured();
    };
    let expected: Option<String> = session.remove(STATE_KEY).await.ok().flatten();
    let verifier: Option<String> = session.remove(VERIFIER_KEY).await.ok().flatten();
    let (Some(expected), Some(verifier)) = (expected, verifier) else {
        return refused("The sign-in expired. Start again from the sign-in page.");
    };
    if !super::csrf::same_secret(&expected, &callback.state) || callback.code.is_empty() {
        return refused("The answer from GitHub did not match this sign-in. Start again.");
    }
    let Ok(client) = client(github, &dashboard.public_url) else {
        return unavailable();
    };
    // GitHub's answers are not followed anywhere else.
    let Ok(http) = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(15))
        .build()
    else {
        return unavailable();
    };
    let token = match client
        .exchange_code(AuthorizationCode::new(callback.code))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http)
        .await
    {
        Ok(token) => token,
        Err(e) => {
            tracing::warn!(error = %e, "GitHub refused the sign-in code");
            return refused("GitHub did not accept the sign-in. Start again.");
        }
    };
    let emails = http
        .get(format!(
            "{}/user/emails",
            github.api_url.trim_end_matches('/')
        ))
        .bearer_auth(token.access_token().secret())
        .header("accept", "application/vnd.github+json")
        .header("user-agent", "CertSentry")
        .send()
        .await;
    let emails: Vec<GithubEmail> = match emails {
        Ok(response) if response.status().is_success() => match response.json().await {
            Ok(emails) => emails,
            Err(_) => return refused("GitHub's list of emails could not be read."),
        },
        _ => return refused("GitHub did not give the account's emails."),
    };
    let Some(email) = emails
        .iter()
        .find(|e| e.primary && e.verified)
        .and_then(|e| normalize_email(&e.email).ok())
    else {
        return refused("The GitHub account has no verified primary email.");
    };
    let user = match dashboard.store.find_user_by_email(&email).await {
        Ok(user) => user,
        Err(_) => return unavailable(),
    };
    let org = match &user {
        Some(user) => match first_org(&dashboard, &user.id).await {
            Ok(org) => org,
            Err(response) => return response,
        },
        None => None,
    };
    let (Some(user), Some(org)) = (user, org) else {
        return refused(&format!(
            "No one here has the email {email}. Ask an admin of your organization for an invitation."
        ));
    };
    enter(&session, &user.id, &org).await
}
