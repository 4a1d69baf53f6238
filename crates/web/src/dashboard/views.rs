//! What every dashboard page shares: the frame around it (navigation,
//! organization switcher, sign-out form) and the error pages.

use std::collections::BTreeMap;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use certsentry_api::ApiError;
use certsentry_domain::people::Permission;

use super::Signed;

/// The frame of a signed-in page.
pub struct Frame {
    pub title: String,
    /// The navigation entry to mark as current.
    pub section: &'static str,
    pub email: String,
    pub org_name: String,
    pub org_id: String,
    pub role: &'static str,
    /// `(id, name, current)` of every organization the user belongs to.
    pub orgs: Vec<(String, String, bool)>,
    pub csrf: String,
    /// A notice shown once above the page (after a change).
    pub notice: Option<String>,
}

impl Frame {
    pub fn new(signed: &Signed, title: impl Into<String>, section: &'static str) -> Self {
        Self {
            title: title.into(),
            section,
            email: signed.user.email.clone(),
            org_name: signed.membership.org_name.clone(),
            org_id: signed.org_id().to_string(),
            role: signed.membership.role.as_str(),
            orgs: signed
                .memberships
                .iter()
                .map(|m| {
                    (
                        m.org_id.to_string(),
                        m.org_name.clone(),
                        m.org_id == signed.membership.org_id,
                    )
                })
                .collect(),
            csrf: signed.csrf.clone(),
            notice: None,
        }
    }

    pub fn with_notice(mut self, notice: Option<String>) -> Self {
        self.notice = notice;
        self
    }
}

/// Whether the signed-in role may change things on a page: pages show
/// their forms and buttons only when it may.
pub fn may(signed: &Signed, permission: Permission) -> bool {
    signed.may(permission)
}

/// Renders a page, or the "unavailable" page if the template fails.
pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a dashboard page");
            unavailable()
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/message.html")]
struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
}

/// A refused form's problems: messages by field (the API's `details`,
/// keyed like `label` or `httpHeaders[2].name`), and one for the whole form.
pub type FormRefusal = (BTreeMap<String, String>, Option<String>);

/// The API's refusal as a form shows it.
pub fn refusal(e: ApiError) -> FormRefusal {
    match e {
        ApiError::Invalid {
            details: Some(details),
            ..
        } => (
            details
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            None,
        ),
        e => (BTreeMap::new(), Some(e.to_string())),
    }
}

/// The API's refusal as one line, for a form whose fields carry no
/// messages of their own: `field: message; …`, then the form's message.
pub fn refusal_text(e: ApiError) -> String {
    let (errors, error) = refusal(e);
    let mut why: Vec<String> = errors.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    why.extend(error);
    why.join("; ")
}

/// The messages for `field` and the fields under it (`field.x`,
/// `field[2]`), joined; `name_parts` puts each part's key before its
/// message (a list's rows), where a single field's message stands alone.
pub fn messages_for(
    errors: &BTreeMap<String, String>,
    field: &str,
    name_parts: bool,
) -> Option<String> {
    let found: Vec<String> = errors
        .iter()
        .filter(|(k, _)| {
            *k == field
                || k.starts_with(&format!("{field}."))
                || k.starts_with(&format!("{field}["))
        })
        .map(|(k, v)| {
            if name_parts && k != field {
                format!("{k}: {v}")
            } else {
                v.clone()
            }
        })
        .collect();
    (!found.is_empty()).then(|| found.join("; "))
}

/// A form page: 422 when it comes back with problems, so scripts and
/// tests see the refusal without reading the page.
pub fn render_form(template: &impl Template, refused: bool) -> Response {
    let mut response = render(template);
    if refused {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

/// A page that only says what happened, with `status`.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let html = MessagePage { title, message }
        .render()
        .unwrap_or_else(|_| message.to_string());
    (status, Html(html)).into_response()
}

/// The store could not be reached: say so, and let the user retry.
pub fn unavailable() -> Response {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable",
        "The database could not be reached. Try again in a moment.",
    )
}

pub fn not_found() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is nothing here, or it belongs to another organization.",
    )
}

/// A time to the minute, as pages show it (`2026-12-05 10:54`, UTC).
pub(crate) fn minute(at: certsentry_domain::time::Millis) -> String {
    certsentry_domain::time::format_ms(at)[..16].replace('T', " ")
}
