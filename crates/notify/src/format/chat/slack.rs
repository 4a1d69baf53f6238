//! Slack incoming webhooks: Block Kit blocks inside one `attachments[]`
//! entry, so the severity colour shows as the bar beside the message.
//! Slack-compatible hooks (Mattermost, Rocket.Chat) read the same body.

use serde_json::{Value, json};

use super::{Message, clip, escape};

pub fn payload(message: &Message) -> Value {
    let mut blocks = vec![json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": clip(&format!("*{}*", escape(&message.title)), 3000) }
    })];
    if let Some(target) = &message.target {
        blocks.push(json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": clip(&escape(target), 3000) }]
        }));
    }
    // Block Kit allows 10 fields per section.
    for chunk in message.fields.chunks(10) {
        let fields: Vec<Value> = chunk
            .iter()
            .map(|(k, v)| {
                json!({ "type": "mrkdwn", "text": clip(&format!("*{}*\n{}", escape(k), escape(v)), 2000) })
            })
            .collect();
        blocks.push(json!({ "type": "section", "fields": fields }));
    }
    if let Some(link) = &message.link {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": { "type": "plain_text", "text": "Open CertSentry" },
                "url": link
            }]
        }));
    }
    json!({
        "text": message.title,
        "attachments": [{
            "color": format!("#{:06X}", message.colour()),
            "blocks": blocks
        }]
    })
}
