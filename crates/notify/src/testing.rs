//! What each chat and paging service documents it accepts, as checks a
//! test fake runs on every request it receives (and the snapshot tests run
//! on every rendered message). Each check answers the service's own kind
//! of complaint, so a fake can refuse the request the way the service
//! would.
//!
//! The rules, from each service's documentation:
//! - Slack Block Kit: at most 50 blocks; section text up to 3,000
//!   characters; at most 10 fields of up to 2,000; button labels up to 75;
//!   `&`, `<` and `>` escaped in `mrkdwn`.
//! - Adaptive Cards 1.4 in the Teams `message` envelope: known element
//!   types, `TextBlock` colours, sizes and weights from the card schema,
//!   `FactSet` facts with a title and a value, `Action.OpenUrl` actions.
//! - Discord embeds: title 256, description 4,096, 25 fields (name 256,
//!   value 1,024, neither empty), footer 2,048, 6,000 characters in all,
//!   10 embeds, a colour from 0 to 0xFFFFFF.
//! - Telegram `sendMessage` with `parse_mode: HTML`: only its tags, the
//!   entities `&lt;`, `&gt;`, `&amp;`, `&quot;` and numeric ones, every
//!   other `<`, `>` and `&` escaped, 1 to 4,096 characters once parsed.
//! - PagerDuty Events API v2: a 32-character routing key, `trigger`,
//!   `acknowledge` or `resolve`, a `dedup_key` of at most 255 characters
//!   (required to resolve), and for a trigger a payload with `summary`
//!   (1,024), `source` and a severity of `critical`, `error`, `warning` or
//!   `info`.
//! - ntfy: a priority of 1–5 or its names, a single content type, a body
//!   within its 4,096-byte message limit.

use serde_json::Value;

fn chars(value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

fn text_at_most(value: &Value, what: &str, max: usize) -> Result<(), String> {
    match value.as_str() {
        Some("") => Err(format!("{what} must not be empty")),
        Some(s) if s.chars().count() > max => Err(format!("{what} is longer than {max}")),
        Some(_) => Ok(()),
        None => Err(format!("{what} must be a string")),
    }
}

/// Slack's `invalid_blocks`-style complaints.
pub fn check_slack(body: &Value) -> Result<(), String> {
    text_at_most(&body["text"], "text", 40_000)?;
    let attachments = body["attachments"].as_array().ok_or("no attachments")?;
    for attachment in attachments {
        let colour = attachment["color"].as_str().unwrap_or_default();
        if colour.len() != 7
            || !colour.starts_with('#')
            || !colour[1..].chars().all(|c| c.is_ascii_hexdigit())
        {
            return Err(format!("invalid color {colour:?}"));
        }
        let blocks = attachment["blocks"].as_array().ok_or("no blocks")?;
        if blocks.is_empty() || blocks.len() > 50 {
            return Err(format!("{} blocks (1 to 50)", blocks.len()));
        }
        for block in blocks {
            check_slack_block(block)?;
        }
    }
    Ok(())
}

fn check_slack_block(block: &Value) -> Result<(), String> {
    match block["type"].as_str().unwrap_or_default() {
        "section" => {
            if block.get("text").is_none() && block.get("fields").is_none() {
                return Err("a section needs text or fields".into());
            }
            if let Some(text) = block.get("text") {
                check_slack_text(text, 3000)?;
            }
            if let Some(fields) = block.get("fields") {
                let fields = fields.as_array().ok_or("fields must be a list")?;
                if fields.is_empty() || fields.len() > 10 {
                    return Err(format!("{} fields in a section (1 to 10)", fields.len()));
                }
                for field in fields {
                    check_slack_text(field, 2000)?;
                }
            }
            Ok(())
        }
        "context" => {
            let elements = block["elements"].as_array().ok_or("no elements")?;
            if elements.is_empty() || elements.len() > 10 {
                return Err(format!("{} context elements (1 to 10)", elements.len()));
            }
            elements.iter().try_for_each(|e| check_slack_text(e, 3000))
        }
        "actions" => {
            let elements = block["elements"].as_array().ok_or("no elements")?;
            for button in elements {
                if button["type"] != "button" || button["text"]["type"] != "plain_text" {
                    return Err(format!("unsupported action element {button}"));
                }
                text_at_most(&button["text"]["text"], "button text", 75)?;
                text_at_most(&button["url"], "button url", 3000)?;
            }
            Ok(())
        }
        "header" => check_slack_text(&block["text"], 150),
        "divider" => Ok(()),
        other => Err(format!("unknown block type {other:?}")),
    }
}

fn check_slack_text(text: &Value, max: usize) -> Result<(), String> {
    let kind = text["type"].as_str().unwrap_or_default();
    if kind != "mrkdwn" && kind != "plain_text" {
        return Err(format!("unknown text type {kind:?}"));
    }
    text_at_most(&text["text"], "text", max)?;
    let s = text["text"].as_str().unwrap_or_default();
    if kind == "mrkdwn" {
        if s.contains('<') || s.contains('>') {
            return Err(format!("unescaped control character in {s:?}"));
        }
        check_entities(s, &["amp", "lt", "gt"])?;
    }
    Ok(())
}

/// Each `&` starts one of `allowed` (or a numeric entity) and ends in `;`.
fn check_entities(s: &str, allowed: &[&str]) -> Result<(), String> {
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        let after = &rest[at + 1..];
        let end = after
            .find(';')
            .ok_or_else(|| format!("can't find end of the entity in {s:?}"))?;
        let name = &after[..end];
        let numeric = name
            .strip_prefix("#x")
            .map(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
            .or_else(|| {
                name.strip_prefix('#')
                    .map(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
            })
            .unwrap_or(false);
        if !numeric && !allowed.contains(&name) {
            return Err(format!("unsupported entity &{name}; in {s:?}"));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

const CARD_ELEMENTS: [&str; 5] = ["TextBlock", "FactSet", "Container", "ColumnSet", "Image"];
const CARD_COLOURS: [&str; 7] = [
    "Default",
    "Dark",
    "Light",
    "Accent",
    "Good",
    "Warning",
    "Attention",
];
const CARD_SIZES: [&str; 5] = ["Default", "Small", "Medium", "Large", "ExtraLarge"];
const CARD_WEIGHTS: [&str; 3] = ["Default", "Lighter", "Bolder"];

/// A Teams workflow's refusal of a card it cannot read.
pub fn check_teams(body: &Value) -> Result<(), String> {
    if body["type"] != "message" {
        return Err("the envelope's type must be \"message\"".into());
    }
    let attachments = body["attachments"].as_array().ok_or("no attachments")?;
    if attachments.is_empty() {
        return Err("no attachments".into());
    }
    for attachment in attachments {
        if attachment["contentType"] != "application/vnd.microsoft.card.adaptive" {
            return Err("contentType must be an adaptive card".into());
        }
        let card = &attachment["content"];
        if card["type"] != "AdaptiveCard" || card["version"] != "1.4" {
            return Err("content must be an AdaptiveCard, version 1.4".into());
        }
        for element in card["body"].as_array().ok_or("the card has no body")? {
            check_card_element(element)?;
        }
        if let Some(actions) = card.get("actions") {
            for action in actions.as_array().ok_or("actions must be a list")? {
                if action["type"] != "Action.OpenUrl" {
                    return Err(format!("unsupported action {action}"));
                }
                text_at_most(&action["url"], "action url", 2048)?;
                text_at_most(&action["title"], "action title", 256)?;
            }
        }
    }
    Ok(())
}

fn check_card_element(element: &Value) -> Result<(), String> {
    let kind = element["type"].as_str().unwrap_or_default();
    if !CARD_ELEMENTS.contains(&kind) {
        return Err(format!("unknown element type {kind:?}"));
    }
    let one_of = |field: &str, allowed: &[&str]| match element.get(field) {
        None => Ok(()),
        Some(v) if allowed.contains(&v.as_str().unwrap_or_default()) => Ok(()),
        Some(v) => Err(format!("{kind}.{field} cannot be {v}")),
    };
    match kind {
        "TextBlock" => {
            if !element["text"].is_string() {
                return Err("TextBlock.text must be a string".into());
            }
            one_of("color", &CARD_COLOURS)?;
            one_of("size", &CARD_SIZES)?;
            one_of("weight", &CARD_WEIGHTS)?;
            Ok(())
        }
        "FactSet" => {
            for fact in element["facts"].as_array().ok_or("FactSet.facts missing")? {
                if !fact["title"].is_string() || !fact["value"].is_string() {
                    return Err(format!("a fact needs a title and a value: {fact}"));
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Discord's `400 Invalid Form Body` complaints.
pub fn check_discord(body: &Value) -> Result<(), String> {
    if let Some(content) = body.get("content") {
        text_at_most(content, "content", 2000)?;
    }
    if let Some(name) = body["username"].as_str() {
        let lower = name.to_lowercase();
        if name.is_empty() || name.chars().count() > 80 || lower.contains("discord") {
            return Err(format!("username {name:?} is not allowed"));
        }
    }
    let embeds = body["embeds"].as_array().map_or(&[][..], Vec::as_slice);
    if embeds.is_empty() && body.get("content").is_none() {
        return Err("cannot send an empty message".into());
    }
    if embeds.len() > 10 {
        return Err("at most 10 embeds".into());
    }
    for embed in embeds {
        let mut total = chars(&embed["title"]) + chars(&embed["description"]);
        for (field, max) in [("title", 256), ("description", 4096)] {
            if let Some(v) = embed.get(field) {
                text_at_most(v, field, max)?;
            }
        }
        let fields = embed["fields"].as_array().map_or(&[][..], Vec::as_slice);
        if fields.len() > 25 {
            return Err(format!("{} fields (at most 25)", fields.len()));
        }
        for field in fields {
            text_at_most(&field["name"], "field name", 256)?;
            text_at_most(&field["value"], "field value", 1024)?;
            total += chars(&field["name"]) + chars(&field["value"]);
        }
        if let Some(footer) = embed.get("footer") {
            text_at_most(&footer["text"], "footer text", 2048)?;
            total += chars(&footer["text"]);
        }
        if total > 6000 {
            return Err(format!(
                "the embed holds {total} characters (at most 6,000)"
            ));
        }
        if let Some(colour) = embed.get("color")
            && colour.as_u64().is_none_or(|c| c > 0xFF_FFFF)
        {
            return Err(format!("invalid color {colour}"));
        }
        if let Some(timestamp) = embed.get("timestamp") {
            chrono::DateTime::parse_from_rfc3339(timestamp.as_str().unwrap_or_default())
                .map_err(|_| format!("invalid timestamp {timestamp}"))?;
        }
    }
    Ok(())
}

const TELEGRAM_TAGS: [&str; 16] = [
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
];

/// Telegram's `400 Bad Request: can't parse entities` and its kin.
pub fn check_telegram(body: &Value) -> Result<(), String> {
    let chat = &body["chat_id"];
    if !(chat.is_i64() || chat.as_str().is_some_and(|s| !s.is_empty())) {
        return Err("Bad Request: chat_id is empty".into());
    }
    if let Some(thread) = body.get("message_thread_id")
        && !thread.is_i64()
    {
        return Err("Bad Request: message_thread_id must be an integer".into());
    }
    let text = body["text"]
        .as_str()
        .ok_or("Bad Request: message text is empty")?;
    let shown = match body["parse_mode"].as_str() {
        Some("HTML") => telegram_html_text(text)
            .map_err(|e| format!("Bad Request: can't parse entities: {e}"))?,
        None => text.to_string(),
        Some(other) => return Err(format!("Bad Request: unsupported parse_mode {other}")),
    };
    match shown.chars().count() {
        0 => Err("Bad Request: message text is empty".into()),
        n if n > 4096 => Err("Bad Request: message is too long".into()),
        _ => Ok(()),
    }
}

/// The text Telegram shows for `html`, or why it cannot read it.
fn telegram_html_text(html: &str) -> Result<String, String> {
    let mut shown = String::new();
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest.find('>').ok_or("can't find end of the tag")?;
                let tag = &rest[1..end];
                if let Some(name) = tag.strip_prefix('/') {
                    match open.pop() {
                        Some(top) if top == name.trim() => {}
                        _ => return Err(format!("unexpected end tag {name}")),
                    }
                } else {
                    let name = tag.split_whitespace().next().unwrap_or_default();
                    if !TELEGRAM_TAGS.contains(&name) {
                        return Err(format!("unsupported start tag \"{name}\""));
                    }
                    check_entities(tag, &["amp", "lt", "gt", "quot"])?;
                    open.push(name.to_string());
                }
                rest = &rest[end + 1..];
            }
            '>' => return Err("unexpected >".into()),
            '&' => {
                let end = rest.find(';').ok_or("can't find end of the entity")?;
                check_entities(&rest[..=end], &["amp", "lt", "gt", "quot"])?;
                shown.push('?');
                rest = &rest[end + 1..];
            }
            _ => {
                shown.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    match open.pop() {
        Some(tag) => Err(format!(
            "can't find end tag corresponding to start tag {tag}"
        )),
        None => Ok(shown),
    }
}

/// PagerDuty's `400 invalid event` errors.
pub fn check_pagerduty(body: &Value) -> Result<(), String> {
    if body["routing_key"].as_str().map(str::len) != Some(32) {
        return Err("'routing_key' must be 32 characters".into());
    }
    let action = body["event_action"].as_str().unwrap_or_default();
    if !["trigger", "acknowledge", "resolve"].contains(&action) {
        return Err(format!("'event_action' is invalid: {action:?}"));
    }
    match body.get("dedup_key") {
        Some(key) => text_at_most(key, "'dedup_key'", 255)?,
        None if action != "trigger" => return Err("'dedup_key' is missing".into()),
        None => {}
    }
    if action != "trigger" {
        return Ok(());
    }
    let payload = &body["payload"];
    text_at_most(&payload["summary"], "'payload.summary'", 1024)?;
    text_at_most(&payload["source"], "'payload.source'", 255)?;
    let severity = payload["severity"].as_str().unwrap_or_default();
    if !["critical", "error", "warning", "info"].contains(&severity) {
        return Err(format!("'payload.severity' is invalid: {severity:?}"));
    }
    for field in ["component", "group", "class", "timestamp"] {
        if let Some(v) = payload.get(field)
            && !v.is_string()
        {
            return Err(format!("'payload.{field}' must be a string"));
        }
    }
    if let Some(details) = payload.get("custom_details")
        && !details.is_object()
    {
        return Err("'payload.custom_details' must be an object".into());
    }
    for link in body["links"].as_array().map_or(&[][..], Vec::as_slice) {
        text_at_most(&link["href"], "'links.href'", 2048)?;
    }
    Ok(())
}

/// ntfy's refusals; `headers` as received, names in any case.
pub fn check_ntfy(headers: &[(String, String)], body: &[u8]) -> Result<(), String> {
    let get = |name: &str| {
        headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    if let [priority] = get("priority").as_slice() {
        let names = [
            "1", "2", "3", "4", "5", "min", "low", "default", "high", "max", "urgent",
        ];
        if !names.contains(priority) {
            return Err(format!("invalid priority {priority:?}"));
        }
    }
    if get("content-type").len() > 1 {
        return Err("more than one Content-Type".into());
    }
    if body.len() > 4096 {
        return Err("the message is larger than 4,096 bytes".into());
    }
    if let [click] = get("click").as_slice()
        && !(click.starts_with("http://") || click.starts_with("https://"))
    {
        return Err(format!("invalid click URL {click:?}"));
    }
    Ok(())
}
