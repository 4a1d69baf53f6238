//! Discord webhooks: one embed with the severity colour and the details as
//! fields, within Discord's limits (a 256-character title, 25 fields, 256
//! characters per field name, 1,024 per value). `?wait=true` makes Discord
//! answer with the created message, so a 2xx means it was posted.

use serde_json::{Value, json};

use super::{Message, clip};

/// The webhook URL with `wait=true`.
pub fn url(webhook: &str) -> String {
    match url::Url::parse(webhook) {
        Ok(mut parsed) => {
            let others: Vec<(String, String)> = parsed
                .query_pairs()
                .filter(|(k, _)| k != "wait")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            parsed
                .query_pairs_mut()
                .clear()
                .extend_pairs(others)
                .append_pair("wait", "true");
            parsed.to_string()
        }
        Err(_) => webhook.to_string(),
    }
}

pub fn payload(message: &Message) -> Value {
    let fields: Vec<Value> = message
        .fields
        .iter()
        .take(25)
        .map(|(k, v)| json!({ "name": clip(k, 256), "value": clip(if v.is_empty() { "-" } else { v }, 1024), "inline": v.len() < 40 }))
        .collect();
    let mut embed = json!({
        "title": clip(&message.title, 256),
        "color": message.colour(),
        "fields": fields,
        "timestamp": message.timestamp,
    });
    if let Some(target) = &message.target {
        embed["description"] = json!(clip(target, 4096));
    }
    if let Some(link) = &message.link {
        embed["url"] = json!(link);
    }
    json!({ "username": "CertSentry", "embeds": [embed] })
}
