//! Bearer-key authentication.
//!
//! Keys are looked up by SHA-256. A verified key (with its organization and
//! plan) is cached for one second: requests never wait on the database for
//! a known key, and a revocation takes effect within a second. Last-use
//! times are collected in memory and written in batches by a background task.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use certsentry_domain::apikey::{self, ApiKey};
use certsentry_domain::org::Org;
use certsentry_domain::time::now_ms;

use crate::error::ApiError;
use crate::ratelimit::Class;
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

async fn lookup(state: &AppState, token: &str) -> Result<Lookup, ApiError> {
    let digest = apikey::key_digest(token);
    if let Some(hit) = state.keys.get_fresh(&digest) {
        return Ok(hit);
    }
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

/// Middleware for `/api/v1`: authenticate, authorize, rate-limit, then
/// stamp the rate-limit headers on whatever the handler answers.
pub async fn require_key(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let looked_up = match bearer_token(req.headers()) {
        Ok(token) => lookup(&state, token).await,
        Err(e) => return e.into_response(),
    };
    let (caller, read_only) = match looked_up {
        Ok(Lookup::Valid { caller, read_only }) => (caller, read_only),
        Ok(Lookup::Rejected(why)) => return ApiError::Unauthorized(why.into()).into_response(),
        Ok(Lookup::Forbidden(why)) => return ApiError::Forbidden(why.to_string()).into_response(),
        Err(e) => return e.into_response(),
    };
    let class = class_of(req.method());
    if class == Class::Write && read_only {
        return ApiError::Forbidden("This API key is read-only.".into()).into_response();
    }
    state.keys.touch(&caller.key_id, now_ms());

    let limit = match class {
        Class::Read => caller.plan.reads_per_minute,
        Class::Write => caller.plan.writes_per_minute,
    };
    let decision = state.limiter.check(&caller.key_id, class, limit);
    let mut response = if decision.allowed {
        req.extensions_mut().insert(caller);
        next.run(req).await
    } else {
        ApiError::RateLimited {
            retry_after: decision.retry_after,
        }
        .into_response()
    };
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(decision.remaining),
    );
    headers.insert("x-ratelimit-reset", HeaderValue::from(decision.reset_at));
    response
}
