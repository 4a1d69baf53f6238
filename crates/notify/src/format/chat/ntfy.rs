//! ntfy: the message as the body, and the rest as ntfy's headers: a
//! title, a priority from the severity, tags (shown as emoji) and a click
//! link; an access token as a bearer token.

use certsentry_domain::alert::Severity;

use super::Message;

pub fn headers(message: &Message, token: Option<&str>) -> Vec<(String, String)> {
    let (priority, tag) = match message.severity {
        Severity::Critical => ("5", "rotating_light"),
        Severity::Warning => ("4", "warning"),
        Severity::Resolved => ("3", "white_check_mark"),
    };
    let mut headers = vec![
        ("Title".to_string(), header_text(&message.title)),
        ("Priority".to_string(), priority.to_string()),
        ("Tags".to_string(), format!("{tag},certsentry")),
        (
            "Content-Type".to_string(),
            "text/plain; charset=utf-8".to_string(),
        ),
    ];
    if let Some(link) = &message.link {
        headers.push(("Click".to_string(), link.clone()));
    }
    if let Some(token) = token {
        headers.push(("Authorization".to_string(), format!("Bearer {token}")));
    }
    headers
}

/// Header values carry no line breaks; emoji and other UTF-8 are fine for
/// ntfy, which reads them as UTF-8.
fn header_text(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

pub fn body(message: &Message) -> Vec<u8> {
    let mut lines = Vec::new();
    if let Some(target) = &message.target {
        lines.push(target.clone());
    }
    for (k, v) in &message.fields {
        lines.push(format!("{k}: {v}"));
    }
    if lines.is_empty() {
        lines.push(message.title.clone());
    }
    lines.join("\n").into_bytes()
}
