//! Bearer-key authentication.
//!
//! Keys are looked up by SHA-256. A verified key (with its organization and
//! plan) is cached for one second: requests never wait on the database for
//! a known key, and a revocation takes effect within a second. Last-use
//! times are collected in memory and written in batches by a background task.

use std::convert::Infallible;
use std::future::{Future, Ready};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use certsentry_domain::apikey::{self, ApiKey};
use certsentry_domain::org::Org;
use certsentry_domain::time::now_ms;
use tower::{Service, ServiceExt};

use crate::error::ApiError;
use crate::ratelimit::{Class, Decision};
use crate::state::AppState;

use crate::key_cache::Lookup;
pub use crate::key_cache::{Caller, KEY_CACHE_TTL, KeyCache};

fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized("Missing API key: send Authorization: Bearer csk_...".into())
    })?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("Malformed Authorization header.".into()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::Unauthorized("Malformed Authorization header: expected Bearer csk_...".into())
        })?;
    if !apikey::is_well_formed(token) {
        return Err(ApiError::Unauthorized("Malformed API key.".into()));
    }
    Ok(token)
}

fn classify(state: &AppState, key: ApiKey, org: Org) -> Lookup {
    let Some(plan) = state.config.plans.get(&org.plan).cloned() else {
        tracing::error!(org = %org.id, plan = %org.plan, "organization has a plan that is not configured");
        return Lookup::Forbidden(
            format!(
                "The organization's plan \"{}\" is not configured on this server.",
                org.plan
            )
            .into(),
        );
    };
    if !plan.api_access {
        return Lookup::Forbidden(
            format!(
                "The {} plan does not include API access. Upgrade to Starter or higher.",
                plan.display_name
            )
            .into(),
        );
    }
    let read_only = key.read_only;
    Lookup::Valid {
        caller: Arc::new(Caller {
            key_id: key.id,
            key_name: key.name,
            email: None,
            org,
            plan,
        }),
        read_only,
    }
}

/// Looks a key up in the database (not in the cache) and caches what it finds.
async fn fetch_lookup(state: &AppState, digest: [u8; 32]) -> Result<Lookup, ApiError> {
    let hash = apikey::digest_hex(&digest);
    let lookup = match state.store.find_api_key_by_hash(&hash).await? {
        None => Lookup::Rejected("Unknown API key."),
        Some(key) if key.revoked_at.is_some() => Lookup::Rejected("This API key has been revoked."),
        Some(key) => match state.store.get_org(&key.org_id).await? {
            Some(org) => classify(state, key, org),
            None => Lookup::Rejected("Unknown API key."),
        },
    };
    state.keys.put(digest, lookup.clone());
    Ok(lookup)
}

fn class_of(method: &Method) -> Class {
    if method == Method::GET || method == Method::HEAD {
        Class::Read
    } else {
        Class::Write
    }
}

/// What the key says about a request.
enum Admission {
    /// Authenticated, authorized and within its budget: the caller is in
    /// the request's extensions; the handler answers.
    Admitted {
        request: Request,
        decision: Decision,
    },
    /// Answered here: 401, 403, or 429 (with the rate-limit headers).
    Answered(Response),
}

/// Authorizes and rate-limits a request whose key was looked up.
fn admit(state: &AppState, looked_up: Result<Lookup, ApiError>, mut request: Request) -> Admission {
    let (caller, read_only) = match looked_up {
        Ok(Lookup::Valid { caller, read_only }) => (caller, read_only),
        Ok(Lookup::Rejected(why)) => {
            return Admission::Answered(ApiError::Unauthorized(why.into()).into_response());
        }
        Ok(Lookup::Forbidden(why)) => {
            return Admission::Answered(ApiError::Forbidden(why.to_string()).into_response());
        }
        Err(e) => return Admission::Answered(e.into_response()),
    };
    let class = class_of(request.method());
    if class == Class::Write && read_only {
        return Admission::Answered(
            ApiError::Forbidden("This API key is read-only.".into()).into_response(),
        );
    }
    state.keys.touch(&caller.key_id, now_ms());

    let limit = match class {
        Class::Read => caller.plan.reads_per_minute,
        Class::Write => caller.plan.writes_per_minute,
    };
    let decision = state.limiter.check(&caller.key_id, class, limit);
    if !decision.allowed {
        let mut refused = ApiError::RateLimited {
            retry_after: decision.retry_after,
        }
        .into_response();
        stamp_budget(&mut refused, &decision);
        return Admission::Answered(refused);
    }
    request.extensions_mut().insert(caller);
    Admission::Admitted { request, decision }
}

/// The `X-RateLimit-*` headers, on whatever the handler answered.
fn stamp_budget(response: &mut Response, decision: &Decision) {
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(decision.remaining),
    );
    headers.insert("x-ratelimit-reset", HeaderValue::from(decision.reset_at));
}

/// A route under `/api/v1` (`Router::route_layer`): authenticate,
/// authorize, rate-limit, then stamp the rate-limit headers on whatever the
/// handler answers.
///
/// A `tower::Service` written out rather than axum's `middleware::from_fn`:
/// a known key is found in the cache without waiting, and then the request
/// goes straight to the route, whose future is wrapped in [`KeyChecked`].
/// `from_fn` cloned the route, boxed it again and boxed two futures on every
/// request; only a key missing from the cache now pays a box, for its
/// database lookup.
#[derive(Clone)]
pub struct RequireKey<S> {
    state: AppState,
    inner: S,
}

impl<S> RequireKey<S> {
    /// `route` behind the key check (for `tower::layer::layer_fn`).
    pub fn new(state: AppState, route: S) -> Self {
        Self {
            state,
            inner: route,
        }
    }
}

impl<S> Service<Request> for RequireKey<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = KeyChecked<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let digest = match bearer_token(request.headers()) {
            Ok(token) => apikey::key_digest(token),
            Err(e) => return KeyChecked::answered(e.into_response()),
        };
        if let Some(cached) = self.state.keys.get_fresh(&digest) {
            return proceed(&mut self.inner, admit(&self.state, Ok(cached), request));
        }
        let state = self.state.clone();
        let mut inner = self.inner.clone();
        KeyChecked::LookedUp {
            response: Box::pin(async move {
                let admission = admit(&state, fetch_lookup(&state, digest).await, request);
                let Ok(route) = inner.ready().await;
                let Ok(response) = proceed(route, admission).await;
                response
            }),
        }
    }
}

/// The route's answer to an admitted request (its budget's headers stamped
/// when it completes), or the refusal: one path whether the key was cached
/// or just looked up.
fn proceed<S>(route: &mut S, admission: Admission) -> KeyChecked<S::Future>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    match admission {
        Admission::Admitted { request, decision } => KeyChecked::Passed {
            response: route.call(request),
            decision,
        },
        Admission::Answered(response) => KeyChecked::answered(response),
    }
}

pin_project_lite::pin_project! {
    /// The answer to a request under `/api/v1`.
    #[project = KeyCheckedProjection]
    pub enum KeyChecked<F> {
        /// An admitted request: the route's own future, then the budget's headers.
        Passed { #[pin] response: F, decision: Decision },
        /// Refused before the route.
        Answered { response: Ready<Response> },
        /// A key that had to be looked up in the database first (then one
        /// of the two above, boxed with the lookup).
        LookedUp { response: Pin<Box<dyn Future<Output = Response> + Send>> },
    }
}

impl<F> KeyChecked<F> {
    fn answered(response: Response) -> Self {
        Self::Answered {
            response: std::future::ready(response),
        }
    }
}

impl<F> Future for KeyChecked<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            KeyCheckedProjection::Passed { response, decision } => {
                let Ok(mut response) = ready!(response.poll(cx));
                stamp_budget(&mut response, decision);
                Poll::Ready(Ok(response))
            }
            KeyCheckedProjection::Answered { response } => Pin::new(response).poll(cx).map(Ok),
            KeyCheckedProjection::LookedUp { response } => response.as_mut().poll(cx).map(Ok),
        }
    }
}
