//! `discord`: messages with embeds posted to a Discord channel through a webhook, within
//! Discord's 2,000-character content and 6,000-character embed limits.

use super::slack::split_text_to;
use crate::alert::Alert;
use crate::json::{PythonJson, py_str};
use crate::output::http::Http;
use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use crate::publisher::Publication;
use crate::text::elide_string_middle;
use serde_json::{Map, Value, json};

const SERVICE: &str = "discord";

/// The longest message content Discord accepts, in characters.
pub const MAX_CONTENT: usize = 2000;

/// The most characters the embeds of one message may hold together (titles, descriptions,
/// field names and values, footers, authors).
pub const MAX_EMBED_TOTAL: usize = 6000;

/// The most embeds one message carries.
pub const MAX_EMBEDS: usize = 10;

/// The longest embed description, in characters.
const MAX_DESCRIPTION: usize = 4096;

/// The longest embed field value, in characters.
const MAX_FIELD_VALUE: usize = 1024;

/// The most messages the record is split into (a warning names the number of parts).
pub const MAX_PARTS: usize = 10;

/// The default embed colour (`#b22222`, `slack`'s).
const DEFAULT_COLOR: u32 = 0x00b2_2222;

/// The code fence around the record: ```` ```json\n…\n``` ````.
const FENCE_OPEN: &str = "```json\n";
const FENCE_CLOSE: &str = "\n```";

/// Posts an alert to a Discord channel webhook, as messages with embeds.
///
/// Properties: `descriptor`, `url` (the webhook URL, whose last path segment is its token;
/// masked, secret, only spaces forbidden). Errors show the URL's host only.
///
/// Publication keys: `@discord.content` (the message text, default `**StreamAlert Rule
/// Triggered: <rule>**`, elided to 2,000 characters), `@discord.username` (the name the
/// webhook posts as), `@discord.color` (the embed colour as an integer, default `#b22222`)
/// and `@discord.embeds` (a list of embed objects replacing the default ones).
///
/// By default the record is shown as indented JSON in a code block, split (at newlines, on
/// character boundaries, never inside a character) into embeds whose descriptions hold at
/// most 4,096 characters; each message carries one such embed, so no message passes 6,000
/// embed characters, and the first message also carries the content and the rule
/// description. At most 10 parts are sent. Custom embeds are grouped into as few messages as
/// fit 10 embeds and 6,000 characters each. Every message sets `allowed_mentions` to none, so
/// a record never pings `@everyone`.
///
/// Request: `POST <url>` per message, JSON; any 2xx is success (Discord answers 204), under
/// the shared retry policy (Discord's 429 carries `Retry-After`). A failure after the first
/// message fails the delivery; a later attempt sends every message again.
///
/// ```
/// use streamalert::{Alert, Publication, outputs::discord::messages};
/// let alert = Alert::new("r", serde_json::json!({"user": "root"}), ["discord:soc"]);
/// let messages = messages(&alert, &Publication::new(), "discord:soc").unwrap();
/// assert_eq!(messages.len(), 1);
/// assert_eq!(messages[0]["content"], "**StreamAlert Rule Triggered: r**");
/// assert_eq!(messages[0]["embeds"][0]["description"], "```json\n{\n  \"user\": \"root\"\n}\n```");
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "discord", builtin)]
pub struct Discord;

#[async_trait::async_trait]
impl Output for Discord {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "a short and unique descriptor for this Discord webhook (ie: channel name)",
            ),
            OutputProperty::new("url", "the full Discord webhook url, including its token")
                .masked()
                .secret()
                .forbidding(&[' ']),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let http = Http::new(SERVICE, delivery);
        let url = http.url_credential("url")?;
        let messages = messages(delivery.alert, delivery.publication, http.output())
            .map_err(|message| http.error(ErrorKind::Publish, message))?;
        for message in &messages {
            http.post(url.clone()).json(message).send().await?;
        }
        Ok(())
    }
}

/// The messages of one alert, in order (see [`Discord`]). `Err` names a malformed
/// `@discord.embeds` or `@discord.color`.
pub fn messages(
    alert: &Alert,
    publication: &Publication,
    output: &str,
) -> Result<Vec<Value>, String> {
    let field = |name: &str| publication.get(&format!("@{SERVICE}.{name}"));
    let content = match field("content") {
        Some(Value::String(text)) => text.clone(),
        Some(other) => py_str(other),
        None => format!("**StreamAlert Rule Triggered: {}**", alert.rule_name),
    };
    let content = elide_string_middle(&content, MAX_CONTENT);
    let color = match field("color") {
        None => DEFAULT_COLOR,
        Some(value) => value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n <= 0x00ff_ffff)
            .ok_or_else(|| {
                format!("`@{SERVICE}.color` must be an integer from 0 to 16777215 (0xffffff)")
            })?,
    };
    let groups = match field("embeds") {
        Some(custom) => group_embeds(custom)?,
        None => record_embeds(alert, color, output),
    };
    let username = field("username").map(|v| match v {
        Value::String(s) => s.clone(),
        other => py_str(other),
    });
    let messages = groups
        .into_iter()
        .enumerate()
        .map(|(i, embeds)| {
            let mut message = Map::new();
            if i == 0 {
                message.insert("content".into(), content.clone().into());
            }
            if let Some(username) = &username {
                message.insert("username".into(), username.clone().into());
            }
            message.insert("embeds".into(), Value::Array(embeds));
            message.insert("allowed_mentions".into(), json!({"parse": []}));
            Value::Object(message)
        })
        .collect();
    Ok(messages)
}

/// The default embeds, one per message: the record as indented JSON in a code block, split.
fn record_embeds(alert: &Alert, color: u32, output: &str) -> Vec<Vec<Value>> {
    let record = PythonJson::pretty(2)
        .keep_unicode()
        .dump(&alert.record)
        // A fence inside the record would end the code block.
        .replace("```", "`\u{200b}`\u{200b}`");
    let room = MAX_DESCRIPTION - FENCE_OPEN.len() - FENCE_CLOSE.len();
    let chunks = split_text_to(&record, room);
    let parts = chunks.len();
    if parts > MAX_PARTS {
        tracing::warn!(
            output,
            "{output}: {parts}-part message truncated to {MAX_PARTS} parts"
        );
    }
    let description = alert.rule_description.as_deref().unwrap_or("None");
    chunks
        .into_iter()
        .take(MAX_PARTS)
        .enumerate()
        .map(|(i, chunk)| {
            let title = if parts > 1 {
                format!("Record (Part {} of {parts})", i + 1)
            } else {
                "Record".to_owned()
            };
            let mut embed = json!({
                "title": title,
                "description": format!("{FENCE_OPEN}{chunk}{FENCE_CLOSE}"),
                "color": color,
            });
            if i == 0 {
                embed["fields"] = json!([
                    {"name": "Rule Description", "value": elide_string_middle(description, MAX_FIELD_VALUE), "inline": false},
                    {"name": "Alert ID", "value": alert.alert_id, "inline": false},
                ]);
            }
            vec![embed]
        })
        .collect()
}

/// `@discord.embeds` grouped into messages of at most [`MAX_EMBEDS`] embeds and
/// [`MAX_EMBED_TOTAL`] characters each.
fn group_embeds(custom: &Value) -> Result<Vec<Vec<Value>>, String> {
    let Some(items) = custom.as_array() else {
        return Err(format!(
            "`@{SERVICE}.embeds` must be a list of embed objects"
        ));
    };
    let mut groups: Vec<Vec<Value>> = Vec::new();
    let mut total = 0;
    for item in items {
        if !item.is_object() {
            return Err(format!(
                "every item of `@{SERVICE}.embeds` must be an object"
            ));
        }
        let size = embed_chars(item);
        match groups.last_mut() {
            Some(group) if group.len() < MAX_EMBEDS && total + size <= MAX_EMBED_TOTAL => {
                total += size;
                group.push(item.clone());
            }
            _ => {
                total = size;
                groups.push(vec![item.clone()]);
            }
        }
    }
    if groups.is_empty() {
        groups.push(Vec::new());
    }
    Ok(groups)
}

/// The characters Discord counts towards [`MAX_EMBED_TOTAL`]: title, description, field
/// names and values, footer text, author name.
///
/// ```
/// use streamalert::outputs::discord::embed_chars;
/// let embed = serde_json::json!({"title": "ab", "description": "é", "fields": [{"name": "n", "value": "v"}], "footer": {"text": "f"}, "color": 5});
/// assert_eq!(embed_chars(&embed), 6);
/// ```
pub fn embed_chars(embed: &Value) -> usize {
    let chars = |value: &Value| value.as_str().map_or(0, |s| s.chars().count());
    let fields: usize = embed
        .get("fields")
        .and_then(Value::as_array)
        .map_or(0, |fields| {
            fields
                .iter()
                .map(|f| chars(&f["name"]) + chars(&f["value"]))
                .sum()
        });
    chars(&embed["title"])
        + chars(&embed["description"])
        + fields
        + chars(&embed["footer"]["text"])
        + chars(&embed["author"]["name"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_stays_within_discords_limits() {
        // Multi-byte characters and no separators: cuts must fall on character boundaries.
        let record = json!({"a": "é".repeat(9000), "b": "日本".repeat(3000)});
        let mut alert = Alert::new("r", record, ["discord:d"]);
        alert.rule_description = Some("d".repeat(3000));
        let messages = messages(&alert, &Publication::new(), "discord:d").unwrap();
        assert!(messages.len() > 2);
        let mut rebuilt = String::new();
        for message in &messages {
            let embeds = message["embeds"].as_array().unwrap();
            assert!(embeds.len() <= MAX_EMBEDS);
            assert!(embeds.iter().map(embed_chars).sum::<usize>() <= MAX_EMBED_TOTAL);
            let description = embeds[0]["description"].as_str().unwrap();
            assert!(description.chars().count() <= MAX_DESCRIPTION);
            let inner = description
                .strip_prefix(FENCE_OPEN)
                .and_then(|d| d.strip_suffix(FENCE_CLOSE))
                .unwrap();
            rebuilt.push_str(inner);
        }
        let expected = PythonJson::pretty(2).keep_unicode().dump(&alert.record);
        // Only the separators at the cuts (a newline or a space) are dropped.
        let strip = |text: &str| text.replace(['\n', ' '], "");
        assert_eq!(strip(&rebuilt), strip(&expected));
        assert!(messages[0]["content"].as_str().unwrap().chars().count() <= MAX_CONTENT);
    }

    #[test]
    fn a_record_of_more_than_ten_parts_is_cut_to_ten_messages() {
        let record = json!({"a": "x ".repeat(30_000)});
        let alert = Alert::new("r", record, ["discord:d"]);
        let messages = messages(&alert, &Publication::new(), "discord:d").unwrap();
        assert_eq!(messages.len(), MAX_PARTS);
        let title = messages[9]["embeds"][0]["title"].as_str().unwrap();
        assert!(title.starts_with("Record (Part 10 of 1"), "{title}");
    }

    #[test]
    fn custom_embeds_are_grouped_by_count_and_size() {
        let big = json!({"description": "x".repeat(4000)});
        let small = json!({"title": "t"});
        let custom = json!([big, big, small, small]);
        let groups = group_embeds(&custom).unwrap();
        assert_eq!(
            groups.iter().map(Vec::len).collect::<Vec<_>>(),
            [1, 3],
            "two 4,000-character embeds never share a message"
        );
        let many: Vec<Value> = (0..12).map(|_| small.clone()).collect();
        let groups = group_embeds(&Value::Array(many)).unwrap();
        assert_eq!(groups.iter().map(Vec::len).collect::<Vec<_>>(), [10, 2]);
        assert!(group_embeds(&json!("x")).is_err());
        assert!(group_embeds(&json!([1])).is_err());
    }

    #[test]
    fn content_is_elided_and_a_fence_in_the_record_cannot_close_the_block() {
        let alert = Alert::new("r", json!({"cmd": "```rm```"}), ["discord:d"]);
        let mut publication = Publication::new();
        publication.insert("@discord.content", "c".repeat(2500));
        let messages = messages(&alert, &publication, "discord:d").unwrap();
        assert_eq!(
            messages[0]["content"].as_str().unwrap().chars().count(),
            1999
        );
        let description = messages[0]["embeds"][0]["description"].as_str().unwrap();
        assert_eq!(description.matches("```").count(), 2, "{description}");
        publication.insert("@discord.color", "red");
        assert!(super::messages(&alert, &publication, "discord:d").is_err());
    }
}
