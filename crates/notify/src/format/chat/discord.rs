//! Discord webhooks: one embed with the severity colour and the details as
//! fields, within Discord's limits (a 256-character title, 25 fields, 256
//! characters per field name, 1,024 per value, 6,000 in all). `?wait=true` makes Discord
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

/// Discord refuses an embed whose title, description and fields hold more
/// than 6,000 characters together.
const EMBED_TOTAL: usize = 6000;

pub fn payload(message: &Message) -> Value {
    let title = clip(&message.title, 256);
    let description = message.target.as_deref().map(|t| clip(t, 4096));
    let mut budget = EMBED_TOTAL
        - title.chars().count()
        - description.as_deref().map_or(0, |d| d.chars().count());
    let mut fields = Vec::new();
    for (k, v) in message.fields.iter().take(25) {
        let name = clip(k, 256);
        let value = clip(if v.is_empty() { "-" } else { v }, 1024);
        let cost = name.chars().count() + value.chars().count();
        if cost > budget {
            break;
        }
        budget -= cost;
        fields.push(json!({ "name": name, "value": value, "inline": v.len() < 40 }));
    }
    let mut embed = json!({
        "title": title,
        "color": message.colour(),
        "fields": fields,
        "timestamp": message.timestamp,
    });
    if let Some(description) = description {
        embed["description"] = json!(description);
    }
    if let Some(link) = &message.link {
        embed["url"] = json!(link);
    }
    json!({ "username": "CertSentry", "embeds": [embed] })
}
