//! Single sign-on with OpenID Connect (`openidconnect`): Google, Microsoft
//! Entra, Okta, Keycloak, Authentik and the like. The provider is found by
//! discovery from its issuer URL; sign-in is the authorization code flow
//! with PKCE, a state and a nonce kept in the session; the ID token's
//! signature (from the provider's JWKS), issuer, audience, expiry and
//! nonce are checked by the crate. Its verified email decides the person:
//! an existing user signs in; a new one joins the configured organization
//! with the default role, but only when their email is in the allowed
//! domain.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use certsentry_domain::OrgId;
use certsentry_domain::audit::{Actor, AuditEvent};
use certsentry_domain::people::{Role, User, normalize_email};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;

use super::Dashboard;
use super::sign_in::{enter, first_org};
use super::views::{error_page, unavailable};

const STATE_KEY: &str = "oidc_state";
const NONCE_KEY: &str = "oidc_nonce";
const VERIFIER_KEY: &str = "oidc_pkce";

/// The provider, from `CERTSENTRY_OIDC_*`.
#[derive(Debug, Clone)]
pub struct OidcSignIn {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// New people whose email is in this domain join `org` with
    /// `default_role`; `None`: only existing users sign in.
    pub allowed_domain: Option<String>,
    pub default_role: Role,
    /// The organization new people join; `None`: the `default` one.
    pub org: Option<OrgId>,
    /// The provider's discovered metadata, kept for [`METADATA_FOR`].
    pub metadata: MetadataCache,
}

/// How long discovered metadata is used before it is fetched again: a
/// sign-in's two steps then ask the provider once, and a provider's key
/// rotation is still seen within the hour.
const METADATA_FOR: std::time::Duration = std::time::Duration::from_secs(3600);

/// The provider's metadata and when it was fetched, shared by clones.
#[derive(Clone, Default)]
pub struct MetadataCache(
    std::sync::Arc<std::sync::Mutex<Option<(std::time::Instant, CoreProviderMetadata)>>>,
);

impl std::fmt::Debug for MetadataCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetadataCache")
    }
}

impl MetadataCache {
    fn fresh(&self) -> Option<CoreProviderMetadata> {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.as_ref()
            .filter(|(at, _)| at.elapsed() < METADATA_FOR)
            .map(|(_, metadata)| metadata.clone())
    }

    fn keep(&self, metadata: &CoreProviderMetadata) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((std::time::Instant::now(), metadata.clone()));
    }

    /// Forgets the metadata, so that the next sign-in discovers again (an
    /// ID token signed by a key the kept metadata does not list).
    pub fn forget(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

fn http() -> Option<reqwest::Client> {
    // The provider's answers are not followed anywhere else.
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .ok()
}

fn refused(message: &str) -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "Single sign-on did not work",
        message,
    )
}

fn not_configured() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Not available",
        "Single sign-on is not set up on this server.",
    )
}

/// Discovers the provider and makes the client that talks to it.
async fn discover(
    oidc: &OidcSignIn,
    public_url: &str,
    http: &reqwest::Client,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    Response,
> {
    let metadata = match oidc.metadata.fresh() {
        Some(metadata) => metadata,
        None => {
            let issuer = IssuerUrl::new(oidc.issuer.clone()).map_err(|_| unavailable())?;
            let metadata = CoreProviderMetadata::discover_async(issuer, http)
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, "OpenID Connect discovery");
                    error_page(
                        StatusCode::BAD_GATEWAY,
                        "Single sign-on is unavailable",
                        "The identity provider could not be reached. Try again, or sign in with a password.",
                    )
                })?;
            oidc.metadata.keep(&metadata);
            metadata
        }
    };
    let redirect = RedirectUrl::new(format!(
        "{}/login/oidc/callback",
        public_url.trim_end_matches('/')
    ))
    .map_err(|_| unavailable())?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(oidc.client_id.clone()),
        Some(ClientSecret::new(oidc.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

/// `GET /login/oidc`: off to the provider.
pub async fn start(State(dashboard): State<Dashboard>, session: Session) -> Response {
    let Some(oidc) = &dashboard.oidc else {
        return not_configured();
    };
    let Some(http) = http() else {
        return unavailable();
    };
    let client = match discover(oidc, &dashboard.public_url, &http).await {
        Ok(client) => client,
        Err(response) => return response,
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    for (key, value) in [
        (STATE_KEY, state.secret()),
        (NONCE_KEY, nonce.secret()),
        (VERIFIER_KEY, verifier.secret()),
    ] {
        if session.insert(key, value).await.is_err() {
            return unavailable();
        }
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

/// `GET /login/oidc/callback`: the code for tokens, the ID token checked,
/// its verified email for a person here.
pub async fn callback(
    State(dashboard): State<Dashboard>,
    session: Session,
    Query(callback): Query<Callback>,
) -> Response {
    let Some(oidc) = &dashboard.oidc else {
        return not_configured();
    };
    let state: Option<String> = session.remove(STATE_KEY).await.ok().flatten();
    let nonce: Option<String> = session.remove(NONCE_KEY).await.ok().flatten();
    let verifier: Option<String> = session.remove(VERIFIER_KEY).await.ok().flatten();
    let (Some(state), Some(nonce), Some(verifier)) = (state, nonce, verifier) else {
        return refused("The sign-in expired. Start again from the sign-in page.");
    };
    if !super::csrf::same_secret(&state, &callback.state) || callback.code.is_empty() {
        return refused("The answer from the identity provider did not match this sign-in.");
    }
    let Some(http) = http() else {
        return unavailable();
    };
    let client = match discover(oidc, &dashboard.public_url, &http).await {
        Ok(client) => client,
        Err(response) => return response,
    };
    let Ok(request) = client.exchange_code(AuthorizationCode::new(callback.code)) else {
        return refused("The identity provider names no token endpoint.");
    };
    let tokens = match request
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http)
        .await
    {
        Ok(tokens) => tokens,
        Err(e) => {
            tracing::warn!(error = %e, "the identity provider refused the sign-in code");
            return refused("The identity provider did not accept the sign-in. Start again.");
        }
    };
    let Some(id_token) = tokens.id_token() else {
        return refused("The identity provider sent no ID token.");
    };
    let claims = match id_token.claims(&client.id_token_verifier(), &Nonce::new(nonce)) {
        Ok(claims) => claims,
        Err(e) => {
            tracing::warn!(error = %e, "an ID token did not check");
            // Perhaps the provider rotated its keys: the next try discovers.
            oidc.metadata.forget();
            return refused("The identity provider's answer did not check out.");
        }
    };
    let email = match (claims.email(), claims.email_verified()) {
        (Some(email), Some(true)) => normalize_email(email.as_str()).ok(),
        _ => None,
    };
    let Some(email) = email else {
        return refused("The identity provider gave no verified email for this account.");
    };
    match person(&dashboard, oidc, &email).await {
        Ok(Some((user, org))) => enter(&session, &user, &org).await,
        Ok(None) => refused(&format!(
            "No one here has the email {email}. Ask an admin of your organization for an invitation."
        )),
        Err(response) => response,
    }
}

/// The person signing in and the organization they start in: an existing
/// member, or a new member of the configured organization when the email
/// is in the allowed domain.
async fn person(
    dashboard: &Dashboard,
    oidc: &OidcSignIn,
    email: &str,
) -> Result<Option<(certsentry_domain::UserId, OrgId)>, Response> {
    let store = &dashboard.store;
    let existing = store
        .find_user_by_email(email)
        .await
        .map_err(|_| unavailable())?;
    if let Some(user) = &existing
        && let Some(org) = first_org(dashboard, &user.id).await?
    {
        return Ok(Some((user.id.clone(), org)));
    }
    let allowed = oidc.allowed_domain.as_deref().is_some_and(|domain| {
        email
            .rsplit_once('@')
            .is_some_and(|(_, d)| d.eq_ignore_ascii_case(domain))
    });
    if !allowed {
        return Ok(None);
    }
    let orgs = store.list_orgs().await.map_err(|_| unavailable())?;
    let org = match &oidc.org {
        Some(id) => orgs.iter().find(|o| &o.id == id),
        None => orgs
            .iter()
            .find(|o| o.name == "default")
            .or_else(|| orgs.iter().min_by_key(|o| o.created_at)),
    };
    let Some(org) = org else {
        return Ok(None);
    };
    let is_new = existing.is_none();
    let user = existing.unwrap_or_else(|| User::new(email));
    let audit = AuditEvent::new(
        &org.id,
        &Actor::user(&user.id, email),
        "member.join",
        "member",
        user.id.as_str(),
        json!({"role": oidc.default_role.as_str(), "via": "oidc"}),
    );
    let joined = if is_new {
        store
            .create_user(&user, Some((&org.id, oidc.default_role)), Some(&audit))
            .await
    } else {
        store
            .add_member(&org.id, &user.id, oidc.default_role, &audit)
            .await
    };
    match joined {
        Ok(()) | Err(certsentry_store::StoreError::Conflict(_)) => {
            Ok(Some((user.id, org.id.clone())))
        }
        Err(_) => Err(unavailable()),
    }
}
