//! Telegram: `sendMessage` through the bot API with `parse_mode: HTML`.
//! Only `&`, `<` and `>` need escaping in Telegram's HTML ([`escape`]).

use serde_json::{Value, json};

use super::{Message, clip, escape};

/// `{api}/bot{token}/sendMessage`.
pub fn url(api: &str, bot_token: &str) -> String {
    format!("{}/bot{bot_token}/sendMessage", api.trim_end_matches('/'))
}

/// Telegram counts a message's 4,096 characters after reading its HTML,
/// so each part is cut before it is escaped (cutting the HTML afterwards
/// could split a tag or an entity, which Telegram refuses).
const TEXT_BUDGET: usize = 4000;

pub fn payload(message: &Message, chat_id: &str, thread: Option<i64>) -> Value {
    let mut text = format!("<b>{}</b>", escape(&clip(&message.title, 256)));
    let mut shown = message.title.chars().count().min(256);
    if let Some(target) = &message.target {
        let target = clip(target, 256);
        shown += target.chars().count() + 1;
        text.push_str(&format!("\n{}", escape(&target)));
    }
    for (k, v) in &message.fields {
        let (k, v) = (clip(k, 64), clip(v, 512));
        let cost = k.chars().count() + v.chars().count() + 3;
        if shown + cost > TEXT_BUDGET {
            text.push_str("\n…");
            break;
        }
        shown += cost;
        text.push_str(&format!("\n<b>{}:</b> {}", escape(&k), escape(&v)));
    }
    if let Some(link) = &message.link {
        text.push_str(&format!(
            "\n<a href=\"{}\">Open CertSentry</a>",
            escape(link).replace('"', "&quot;")
        ));
    }
    // A numeric chat id goes as a number, a @channelname as text.
    let chat: Value = chat_id
        .parse::<i64>()
        .map_or_else(|_| json!(chat_id), |n| json!(n));
    let mut body = json!({
        "chat_id": chat,
        "text": text,
        "parse_mode": "HTML",
        "disable_web_page_preview": true,
    });
    if let Some(thread) = thread {
        body["message_thread_id"] = json!(thread);
    }
    body
}
