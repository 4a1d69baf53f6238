//! CSRF: a synchronizer token kept in the session, sent back by every
//! form as the hidden `csrf_token` field (a file upload's form, whose body
//! is not read here, in its action's query string; a script in the
//! `X-CSRF-Token` header), compared in constant time. The `Origin` header
//! is checked as well: a request from another origin is refused even when
//! it carries a valid token.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use rand::RngExt;
use rand::distr::Alphanumeric;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use super::Dashboard;
use super::views::error_page;

const CSRF_KEY: &str = "csrf";
/// The form field and the header that carry the token.
pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";
/// Dashboard forms are small; a larger body is refused before parsing.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The session's token, made on first use.
pub async fn token(session: &Session) -> Result<String, tower_sessions::session::Error> {
    if let Some(token) = session.get::<String>(CSRF_KEY).await? {
        return Ok(token);
    }
    let token: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    session.insert(CSRF_KEY, &token).await?;
    Ok(token)
}

fn refused(why: &str) -> Response {
    error_page(StatusCode::FORBIDDEN, "Request refused", why)
}

/// The origins a form may be posted from: the public URL's, and the one
/// the request names in `Host` (a server reached by another name).
fn same_origin(dashboard: &Dashboard, parts: &Parts, origin: &str) -> bool {
    let public = dashboard.public_url.trim_end_matches('/');
    if origin == public {
        return true;
    }
    let host = parts
        .headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok());
    host.is_some_and(|host| {
        origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            == Some(host)
    })
}

/// The request again, when its origin is ours and it carries `expected`;
/// otherwise a 403 page.
pub async fn checked(
    dashboard: &Dashboard,
    expected: &str,
    parts: Parts,
    body: Body,
) -> Result<Request, Response> {
    if let Some(origin) = parts.headers.get(axum::http::header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("null");
        if !same_origin(dashboard, &parts, origin) {
            return Err(refused("The request came from another site."));
        }
    }
    // Browsers set `Sec-Fetch-Site` themselves (no page can forge it):
    // anything but our own origin, or the user's own navigation, is refused.
    if parts
        .headers
        .get("sec-fetch-site")
        .is_some_and(|site| site != "same-origin" && site != "none")
    {
        return Err(refused("The request came from another site."));
    }
    // A file upload (multipart) is streamed to its handler, not read here:
    // its form names the token in its action's query string instead.
    let multipart = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if multipart {
        let presented = parts.uri.query().and_then(|query| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == FIELD)
                .map(|(_, value)| value.into_owned())
        });
        return match presented {
            Some(token) if same_secret(expected, &token) => Ok(Request::from_parts(parts, body)),
            _ => Err(refused(
                "The form has expired or did not come from this dashboard. Go back, reload the page and try again.",
            )),
        };
    }
    let bytes: Bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| {
            error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                "The form is too large.",
            )
        })?;
    let presented = parts
        .headers
        .get(HEADER)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            form_urlencoded::parse(&bytes)
                .find(|(name, _)| name == FIELD)
                .map(|(_, value)| value.into_owned())
        });
    match presented {
        Some(token) if same_secret(expected, &token) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(refused(
            "The form has expired or did not come from this dashboard. Go back, reload the page and try again.",
        )),
    }
}

/// Whether two secrets are equal, compared in constant time.
pub fn same_secret(expected: &str, presented: &str) -> bool {
    bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}
