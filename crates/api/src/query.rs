//! Query-string parameters with field-level errors, so `?limit=abc` or a
//! bad cursor is an `invalid_input` naming the parameter, never a 500.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, RawQuery};
use axum::http::request::Parts;
use certsentry_domain::FieldErrors;
use certsentry_domain::id::looks_like_id;
use certsentry_domain::time::{Millis, parse_datetime};

use crate::error::ApiError;

/// The parsed query string plus the errors found while reading it.
pub struct QueryParams {
    values: HashMap<String, String>,
    errors: FieldErrors,
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let RawQuery(raw) = RawQuery::from_request_parts(parts, state)
            .await
            .unwrap_or(RawQuery(None));
        let values = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
        Ok(Self {
            values,
            errors: FieldErrors::new(),
        })
    }
}

impl QueryParams {
    fn raw(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn string(&self, name: &str) -> Option<String> {
        self.raw(name).map(str::to_string)
    }

    /// `limit`-style integer in `min..=max`.
    pub fn limit(&mut self, name: &str, min: u32, max: u32, default: u32) -> u32 {
        match self.raw(name).map(str::parse::<u32>) {
            None => default,
            Some(Ok(v)) if (min..=max).contains(&v) => v,
            Some(_) => {
                self.errors
                    .add(name, format!("must be an integer from {min} to {max}"));
                default
            }
        }
    }

    pub fn bool(&mut self, name: &str) -> Option<bool> {
        match self.raw(name)? {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                self.errors.add(name, "must be true or false");
                None
            }
        }
    }

    /// A value from a fixed set, parsed by `parse`.
    pub fn choice<T>(
        &mut self,
        name: &str,
        allowed: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let raw = self.raw(name)?;
        let parsed = parse(raw);
        if parsed.is_none() {
            self.errors.add(name, format!("must be one of {allowed}"));
        }
        parsed
    }

    /// A pagination cursor: an id from a previous `nextCursor`.
    pub fn cursor(&mut self) -> Option<String> {
        let raw = self.raw("cursor")?;
        if looks_like_id(raw) {
            Some(raw.to_string())
        } else {
            self.errors.add(
                "cursor",
                "is not a cursor from a previous response's nextCursor",
            );
            None
        }
    }

    pub fn datetime(&mut self, name: &str) -> Option<Millis> {
        let raw = self.raw(name)?;
        let parsed = parse_datetime(raw);
        if parsed.is_none() {
            self.errors.add(
                name,
                "must be an ISO 8601 datetime such as 2026-06-01T00:00:00Z",
            );
        }
        parsed
    }

    /// Records a problem found while interpreting parameters.
    pub fn reject(&mut self, name: &str, problem: &str) {
        self.errors.add(name, problem);
    }

    /// Ends parsing: any recorded problem becomes a 400 `invalid_input`.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            return Ok(());
        }
        let message = format!("Invalid query parameters: {}", self.errors);
        Err(ApiError::Invalid {
            status: axum::http::StatusCode::BAD_REQUEST,
            message,
            details: Some(self.errors),
        })
    }
}
