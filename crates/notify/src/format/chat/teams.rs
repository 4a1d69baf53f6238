//! Microsoft Teams through a Workflows (Power Automate) webhook: an
//! Adaptive Card 1.4 in the `message` envelope those workflows accept.

use certsentry_domain::alert::Severity;
use serde_json::{Value, json};

use super::Message;

pub fn payload(message: &Message) -> Value {
    let colour = match message.severity {
        Severity::Critical => "Attention",
        Severity::Warning => "Warning",
        Severity::Resolved => "Good",
    };
    let mut body = vec![json!({
        "type": "TextBlock", "text": message.title, "weight": "Bolder", "size": "Medium",
        "color": colour, "wrap": true
    })];
    if let Some(target) = &message.target {
        body.push(json!({ "type": "TextBlock", "text": target, "isSubtle": true, "wrap": true }));
    }
    if !message.fields.is_empty() {
        let facts: Vec<Value> = message
            .fields
            .iter()
            .map(|(k, v)| json!({ "title": k, "value": v }))
            .collect();
        body.push(json!({ "type": "FactSet", "facts": facts }));
    }
    let actions: Vec<Value> = message
        .link
        .iter()
        .map(|url| json!({ "type": "Action.OpenUrl", "title": "Open CertSentry", "url": url }))
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": actions
            }
        }]
    })
}
