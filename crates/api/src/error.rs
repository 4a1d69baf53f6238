//! The one error type of the API and its JSON envelope:
//! `{"error": {"code": "...", "message": "...", "details": {...}}}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use certsentry_domain::FieldErrors;
use certsentry_store::StoreError;
use serde::de::DeserializeOwned;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("This endpoint does not support that method.")]
    MethodNotAllowed,
    /// `invalid_input`: 400 for requests that cannot be read, 422 for
    /// well-formed requests whose values break a rule.
    #[error("{message}")]
    Invalid {
        status: StatusCode,
        message: String,
        details: Option<FieldErrors>,
    },
    #[error("{0}")]
    PlanLimit(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Too many requests - retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// `unavailable`: the database cannot be reached; nothing was stored.
    #[error("The database is unavailable; nothing was stored. Retry in {retry_after} s.")]
    Unavailable { retry_after: u64 },
    #[error("{0}")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Seconds a client is asked to wait when the database is unavailable.
pub const UNAVAILABLE_RETRY_AFTER: u64 = 5;

impl ApiError {
    /// A request that could not be read (malformed JSON, bad query value).
    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut details = FieldErrors::new();
        details.add(field, message.clone());
        Self::Invalid {
            status: StatusCode::BAD_REQUEST,
            message: format!("Invalid {field}: {message}"),
            details: Some(details),
        }
    }

    /// Values that break validation rules.
    pub fn validation(details: FieldErrors) -> Self {
        let message = if details.len() == 1 {
            let (field, problem) = details.iter().next().expect("one entry");
            format!("Validation failed: {field} {problem}")
        } else {
            format!("Validation failed for {} fields", details.len())
        };
        Self::Invalid {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message,
            details: Some(details),
        }
    }

    /// One field that breaks a rule (422, like [`ApiError::validation`]).
    pub fn invalid(field: &str, problem: impl Into<String>) -> Self {
        let mut details = FieldErrors::new();
        details.add(field, problem);
        Self::validation(details)
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Invalid { .. } => "invalid_input",
            Self::PlanLimit(_) => "plan_limit",
            Self::Conflict(_) => "conflict",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable { .. } => "unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Invalid { status, .. } => *status,
            Self::PlanLimit(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::not_found("Object"),
            StoreError::Conflict(what) => {
                Self::Conflict(format!("An object with this {what} already exists."))
            }
            StoreError::QuotaExceeded { limit } => {
                Self::PlanLimit(format!("The plan allows {limit}. Upgrade to add more."))
            }
            StoreError::Unavailable(why) => {
                tracing::warn!(error = %why, "database unavailable");
                Self::Unavailable {
                    retry_after: UNAVAILABLE_RETRY_AFTER,
                }
            }
            other => {
                tracing::error!(error = %other, "store error");
                Self::Internal("The server could not complete the request.".into())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code(), "message": self.to_string() });
        if let Self::Invalid {
            details: Some(details),
            ..
        } = &self
        {
            error["details"] = json!(details);
        }
        let mut response = (self.status(), Json(json!({ "error": error }))).into_response();
        if let Self::RateLimited { retry_after } | Self::Unavailable { retry_after } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

/// JSON body extractor whose every failure is an `invalid_input` envelope
/// naming the offending field. The content type is not checked, so a
/// `curl -d` without `-H Content-Type` still works.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::bad_request("body", "exceeds the 1 MiB limit")
            } else {
                ApiError::bad_request("body", rejection.body_text())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Deserializes with the failing field's path in the error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(ApiError::bad_request("body", "a JSON body is required")),
        // Every request body is an object; serde would otherwise accept an
        // array for a struct and report a puzzling `[0]` path.
        Some(b'{') => {}
        Some(_) => return Err(ApiError::bad_request("body", "must be a JSON object")),
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let field = if path.is_empty() || path == "." {
            "body".to_string()
        } else {
            path
        };
        ApiError::bad_request(&field, inner.to_string())
    })?;
    deserializer.end().map_err(|e| {
        ApiError::bad_request("body", format!("trailing characters after JSON: {e}"))
    })?;
    Ok(value)
}
