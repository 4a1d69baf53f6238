//! Telegram: `sendMessage` through the bot API with `parse_mode: HTML`.
//! Only `&`, `<` and `>` need escaping in Telegram's HTML ([`escape`]).

use serde_json::{Value, json};

use super::{Message, clip, escape};

/// `{api}/bot{token}/sendMessage`.
pub fn url(api: &str, bot_token: &str) -> String {
    format!("{}/bot{bot_token}/sendMessage", api.trim_end_matches('/'))
}

pub fn payload(message: &Message, chat_id: &str, thread: Option<i64>) -> Value {
    let mut text = format!("<b>{}</b>", escape(&message.title));
    if let Some(target) = &message.target {
        text.push_str(&format!("\n{}", escape(target)));
    }
    for (k, v) in &message.fields {
        text.push_str(&format!("\n<b>{}:</b> {}", escape(k), escape(v)));
    }
    if let Some(link) = &message.link {
        text.push_str(&format!(
            "\n<a href=\"{}\">Open CertSentry</a>",
            escape(link)
        ));
    }
    // A numeric chat id goes as a number, a @channelname as text.
    let chat: Value = chat_id
        .parse::<i64>()
        .map_or_else(|_| json!(chat_id), |n| json!(n));
    let mut body = json!({
        "chat_id": chat,
        "text": clip(&text, 4096),
        "parse_mode": "HTML",
        "disable_web_page_preview": true,
    });
    if let Some(thread) = thread {
        body["message_thread_id"] = json!(thread);
    }
    body
}
