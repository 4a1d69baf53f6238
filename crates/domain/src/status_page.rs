//! Public status pages: the model the API manages, and (`public`) what a
//! visitor of the page is told.

pub mod incident;
pub mod maintenance;
pub mod public;

use serde::{Deserialize, Serialize};

use crate::errors::FieldErrors;
use crate::id::{MonitorId, OrgId, StatusPageId};
use crate::time::Millis;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusPageMonitor {
    pub monitor_id: MonitorId,
    pub public_label: String,
    pub show_target: bool,
    pub show_cert_health: bool,
}

/// A validated page definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPageSpec {
    pub slug: String,
    pub title: String,
    pub description: Option<String>,
    pub enabled: bool,
    /// In display order.
    pub monitors: Vec<StatusPageMonitor>,
    /// Origins allowed to show the public page in a frame (CSP
    /// `frame-ancestors`); none by default.
    pub embed_origins: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPage {
    pub id: StatusPageId,
    pub org_id: OrgId,
    pub spec: StatusPageSpec,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// One monitor of a page as a client described it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusPageMonitorDraft {
    pub monitor_id: Option<String>,
    pub public_label: Option<String>,
    pub show_target: Option<bool>,
    pub show_cert_health: Option<bool>,
}

/// A status page as a client described it, before validation. The API's
/// `StatusPageInput` is its JSON shape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusPageDraft {
    pub slug: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub monitors: Option<Vec<StatusPageMonitorDraft>>,
    pub embed_origins: Option<Vec<String>>,
}

/// 3-40 characters of lowercase letters, digits and inner hyphens.
pub fn is_valid_slug(slug: &str) -> bool {
    (3..=40).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}

/// At most this many origins may embed one page.
pub const MAX_EMBED_ORIGINS: usize = 10;

/// `https://host` or `https://host:port`: lowercase letters, digits, dots
/// and hyphens, starting and ending with a letter or digit, and a port of
/// 1-5 digits (the OpenAPI document states the same as a pattern).
pub fn is_valid_embed_origin(origin: &str) -> bool {
    let Some(rest) = origin.strip_prefix("https://") else {
        return false;
    };
    let (host, port) = match rest.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && host
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && host
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

/// Validates a page showing at most `max_monitors` monitors (a plan
/// setting, 20 by default as in the API reference). Whether each monitor
/// belongs to the organization is for the caller to check against the
/// store.
pub fn validate_status_page(
    input: &StatusPageDraft,
    max_monitors: usize,
) -> Result<StatusPageSpec, FieldErrors> {
    let mut errors = FieldErrors::new();
    let slug = match input.slug.as_deref() {
        None => {
            errors.add("slug", "is required");
            String::new()
        }
        Some(s) if !is_valid_slug(s) => {
            errors.add(
                "slug",
                "must be 3-40 lowercase letters, digits and inner hyphens",
            );
            String::new()
        }
        Some(s) => s.to_string(),
    };
    let title = match input.title.as_deref().map(str::trim) {
        None => {
            errors.add("title", "is required");
            String::new()
        }
        Some(t) if t.is_empty() || t.chars().count() > 80 => {
            errors.add("title", "must be 1-80 characters");
            String::new()
        }
        Some(t) => t.to_string(),
    };
    let description = input.description.as_deref().map(str::trim).and_then(|d| {
        if d.chars().count() > 300 {
            errors.add("description", "at most 300 characters");
            None
        } else if d.is_empty() {
            None
        } else {
            Some(d.to_string())
        }
    });
    let mut monitors: Vec<StatusPageMonitor> = Vec::new();
    match &input.monitors {
        None => errors.add("monitors", "is required"),
        Some(list) if list.is_empty() || list.len() > max_monitors => {
            errors.add("monitors", format!("must list 1-{max_monitors} monitors"))
        }
        Some(list) => {
            for (i, item) in list.iter().enumerate() {
                let field = format!("monitors[{i}]");
                let Some(monitor_id) = item.monitor_id.as_deref() else {
                    errors.add(format!("{field}.monitorId"), "is required");
                    continue;
                };
                let label = item.public_label.as_deref().map(str::trim).unwrap_or("");
                if label.is_empty() || label.chars().count() > 100 {
                    errors.add(format!("{field}.publicLabel"), "must be 1-100 characters");
                    continue;
                }
                if monitors.iter().any(|m| m.monitor_id.as_str() == monitor_id) {
                    errors.add(format!("{field}.monitorId"), "monitor listed twice");
                    continue;
                }
                monitors.push(StatusPageMonitor {
                    monitor_id: MonitorId::from_string(monitor_id),
                    public_label: label.to_string(),
                    show_target: item.show_target.unwrap_or(false),
                    show_cert_health: item.show_cert_health.unwrap_or(true),
                });
            }
        }
    }
    let embed_origins = input.embed_origins.clone().unwrap_or_default();
    if embed_origins.len() > MAX_EMBED_ORIGINS {
        errors.add("embedOrigins", "at most 10 origins");
    }
    for (i, origin) in embed_origins.iter().enumerate() {
        if !is_valid_embed_origin(origin) {
            errors.add(
                format!("embedOrigins[{i}]"),
                "must be an origin such as https://client.example or https://client.example:8443",
            );
        }
    }
    errors.into_result()?;
    Ok(StatusPageSpec {
        slug,
        title,
        description,
        enabled: input.enabled.unwrap_or(true),
        monitors,
        embed_origins,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embed_origins() {
        for ok in [
            "https://client.example",
            "https://a.b-c.example:8443",
            "https://x",
        ] {
            assert!(is_valid_embed_origin(ok), "{ok}");
        }
        for bad in [
            "http://client.example",
            "https://client.example/",
            "https://Client.example",
            "https://-a.example",
            "https://a.example:",
            "https://a.example:123456",
            "https://",
            "https://a b",
        ] {
            assert!(!is_valid_embed_origin(bad), "{bad}");
        }
    }

    #[test]
    fn slugs() {
        for ok in ["acme", "a-b", "abc", "status-2026"] {
            assert!(is_valid_slug(ok), "{ok}");
        }
        for bad in ["ab", "-abc", "abc-", "Acme", "ac me", &"a".repeat(41)] {
            assert!(!is_valid_slug(bad), "{bad}");
        }
    }
}
