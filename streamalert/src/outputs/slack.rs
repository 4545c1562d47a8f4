//! `slack`: a Slack incoming webhook (spec `outputs.md` §2.19), and the text helpers that lay
//! out its default attachments.

use crate::alert::Alert;
use crate::json::py_str;
use crate::output::http::{Http, HttpRequest};
use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use crate::publisher::Publication;
use crate::text::html_escape_quoted;
use serde_json::{Map, Value, json};

const SERVICE: &str = "slack";

/// The longest attachment text Slack accepts, in code points.
pub const MAX_MESSAGE_SIZE: usize = 4000;

/// The most attachments one message carries.
pub const MAX_ATTACHMENTS: usize = 20;

/// Posts an alert to a Slack incoming webhook.
///
/// Properties: `descriptor`, `url` (the full webhook URL with its secret; masked, stored in
/// the credential store; only spaces forbidden). The URL's path is a secret: errors and logs
/// show `https://hooks.slack.com/[REDACTED]`.
///
/// Publication keys:
/// * `@slack.text` — the message's first line, default `*StreamAlert Rule Triggered: <rule>*`;
/// * `@slack.attachments` — a list of attachment objects, each laid over Slack's attachment
///   skeleton (at most 20; a `text` longer than 4000 code points is elided in the middle to
///   3999, decision Q5). Without it the record is rendered into up to 20 attachments of at
///   most 4000 code points each ([`default_attachments`]).
///
/// Request: `POST <url>` with `{"text", "mrkdwn": true, "attachments"}` as Python's
/// `json.dumps` writes it; any 2xx is success, under the shared retry policy.
///
/// ```
/// use streamalert::{Output, outputs::Slack};
/// let names: Vec<_> = Slack.properties().iter().map(|p| p.name).collect();
/// assert_eq!(names, ["descriptor", "url"]);
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "slack", builtin)]
pub struct Slack;

#[async_trait::async_trait]
impl Output for Slack {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "a short and unique descriptor for this Slack integration (ie: channel, group, etc)",
            ),
            OutputProperty::new("url", "the full Slack webhook url, including the secret")
                .masked()
                .secret()
                .forbidding(&[' ']),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let http = Http::new(SERVICE, delivery);
        request(&http, delivery)?.send().await.map(|_| ())
    }
}

/// The request `slack` sends for `delivery`, built but not sent: `POST <url>` (the stored
/// webhook) with the [`format_message`] payload as Python's `json.dumps` writes it. `http` is
/// the delivery's HTTP context, `Http::new("slack", delivery)`.
///
/// `Err` when no valid `url` is stored or `@slack.attachments` is malformed.
///
/// ```
/// use streamalert::{Alert, Publication, outputs::slack};
/// use streamalert::output::{Credentials, Delivery, http::Http};
/// let alert = Alert::new("r", serde_json::json!({"k": 1}), ["slack:c"]);
/// let publication = Publication::new();
/// let credentials = Credentials::from_iter([("url", "https://hooks.slack.com/services/T0/B0/X")]);
/// let delivery = Delivery::new(&alert, "c", &publication).with_credentials(&credentials);
/// let http = Http::new("slack", &delivery);
/// let request = slack::request(&http, &delivery).unwrap();
/// assert_eq!(request.url().as_str(), "https://hooks.slack.com/services/T0/B0/X");
/// let body: serde_json::Value = serde_json::from_slice(request.body_bytes().unwrap()).unwrap();
/// assert_eq!(body["text"], "*StreamAlert Rule Triggered: r*");
/// ```
pub fn request<'h>(
    http: &'h Http<'_>,
    delivery: &Delivery<'_>,
) -> Result<HttpRequest<'h>, DispatchError> {
    let url = http.url_credential("url")?;
    let message = format_message(delivery.alert, delivery.publication, http.output())
        .map_err(|message| http.error(ErrorKind::Publish, message))?;
    Ok(http.post(url).json(&message))
}

/// The whole webhook payload: `{"text", "mrkdwn": true, "attachments"}`.
///
/// `Err` names a malformed `@slack.attachments`.
///
/// ```
/// use streamalert::{Alert, Publication, outputs::slack::format_message};
/// let alert = Alert::new("r", serde_json::json!({"b": 1, "a": "<x>"}), ["slack:c"]);
/// let message = format_message(&alert, &Publication::new(), "slack:c").unwrap();
/// assert_eq!(message["text"], "*StreamAlert Rule Triggered: r*");
/// assert_eq!(message["attachments"][0]["text"], "*a:* &lt;x&gt;\n*b:* 1");
/// ```
pub fn format_message(
    alert: &Alert,
    publication: &Publication,
    output: &str,
) -> Result<Value, String> {
    let message = layout(&[SERVICE], alert, publication, output)?;
    Ok(json!({"text": message.text, "mrkdwn": true, "attachments": message.attachments}))
}

/// A Slack message as `slack` and `slack-bot` lay it out, before it is sent.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    /// The message's first line.
    pub(crate) text: Value,
    /// The custom attachments, or the record's split parts.
    pub(crate) attachments: Vec<Value>,
    /// True when `attachments` are the record's split parts ([`default_attachments`]).
    pub(crate) split: bool,
}

/// The layout of [`format_message`], reading `@<service>.text` and `@<service>.attachments`
/// from the first of `services` that has each key.
pub(crate) fn layout(
    services: &[&str],
    alert: &Alert,
    publication: &Publication,
    output: &str,
) -> Result<Layout, String> {
    let key = |field: &str| {
        services.iter().find_map(|service| {
            let key = format!("@{service}.{field}");
            publication.get(&key).map(|value| (key, value))
        })
    };
    let text = key("text")
        .map(|(_, value)| value.clone())
        .unwrap_or_else(|| format!("*StreamAlert Rule Triggered: {}*", alert.rule_name).into());
    let (attachments, split) = match key("attachments") {
        Some((key, custom)) => (attachments_from(&key, custom, output)?, false),
        None => (default_attachments(alert, &text, output), true),
    };
    Ok(Layout {
        text,
        attachments,
        split,
    })
}

/// The default attachments: the record rendered by [`mrkdwn_lines`], HTML-escaped, split by
/// [`split_text`]; the first carries the rule description as pretext. At most
/// [`MAX_ATTACHMENTS`] are kept (a warning names the number of parts).
///
/// ```
/// use streamalert::{Alert, outputs::slack::default_attachments};
/// let mut alert = Alert::new("r", serde_json::json!({"k": "v"}), ["slack:c"]);
/// alert.rule_description = Some("why".into());
/// let attachments = default_attachments(&alert, &"header".into(), "slack:c");
/// assert_eq!(attachments[0]["pretext"], "*Rule Description:*\nwhy\n");
/// assert_eq!(attachments[0]["title"], "Record:");
/// assert_eq!(attachments[0]["fallback"], "header");
/// ```
pub fn default_attachments(alert: &Alert, fallback: &Value, output: &str) -> Vec<Value> {
    let text = html_escape_quoted(&mrkdwn_lines(&alert.record, 0).join("\n"));
    let chunks = split_text(&text);
    let parts = chunks.len();
    if parts > MAX_ATTACHMENTS {
        tracing::warn!(
            output,
            "{output}: {parts}-part message truncated to {MAX_ATTACHMENTS} parts"
        );
    }
    let description = alert
        .rule_description
        .clone()
        .unwrap_or_else(|| "None".to_owned()); // Python's str(None), decision Q17
    chunks
        .into_iter()
        .take(MAX_ATTACHMENTS)
        .enumerate()
        .map(|(i, chunk)| {
            let title = if parts > 1 {
                format!("Record (Part {} of {parts}):", i + 1)
            } else {
                "Record:".to_owned()
            };
            let pretext = if i == 0 {
                format!("*Rule Description:*\n{description}\n")
            } else {
                String::new()
            };
            json!({
                "fallback": fallback,
                "color": "#b22222",
                "pretext": pretext,
                "title": title,
                "text": chunk,
                "mrkdwn_in": ["text", "pretext"],
            })
        })
        .collect()
}

/// Custom attachments from `@slack.attachments`: each object laid over Slack's attachment
/// skeleton (skeleton keys first, in its order; new keys after), `text` elided to
/// [`MAX_MESSAGE_SIZE`] (3999 code points, decision Q5), at most [`MAX_ATTACHMENTS`].
///
/// `Err` when the value is not a list of objects.
///
/// ```
/// use streamalert::outputs::slack::custom_attachments;
/// let custom = serde_json::json!([{"text": "hi", "extra": 1}]);
/// let attachments = custom_attachments(&custom, "slack:c").unwrap();
/// let keys: Vec<_> = attachments[0].as_object().unwrap().keys().cloned().collect();
/// assert_eq!(keys.first().map(String::as_str), Some("fallback"));
/// assert_eq!(keys.last().map(String::as_str), Some("extra"));
/// assert_eq!(attachments[0]["color"], "#36a64f");
/// assert!(custom_attachments(&serde_json::json!("text"), "slack:c").is_err());
/// ```
pub fn custom_attachments(custom: &Value, output: &str) -> Result<Vec<Value>, String> {
    attachments_from("@slack.attachments", custom, output)
}

/// [`custom_attachments`] of the publication key `key`, which errors name.
fn attachments_from(key: &str, custom: &Value, output: &str) -> Result<Vec<Value>, String> {
    let Some(items) = custom.as_array() else {
        return Err(format!("`{key}` must be a list of attachment objects"));
    };
    let mut attachments = Vec::new();
    for item in items {
        let Some(fields) = item.as_object() else {
            return Err(format!("every item of `{key}` must be an object"));
        };
        let mut attachment = attachment_skeleton();
        for (key, value) in fields {
            attachment.insert(key.clone(), value.clone());
        }
        if let Some(Value::String(text)) = attachment.get("text")
            && text.chars().count() > MAX_MESSAGE_SIZE
        {
            tracing::warn!(
                output,
                "Custom attachment was truncated to length {MAX_MESSAGE_SIZE}"
            );
            let elided = crate::text::elide_string_middle(text, MAX_MESSAGE_SIZE);
            attachment.insert("text".to_owned(), elided.into());
        }
        attachments.push(Value::Object(attachment));
        if attachments.len() >= MAX_ATTACHMENTS {
            if items.len() > MAX_ATTACHMENTS {
                tracing::warn!(
                    output,
                    "Message with {} custom attachments was truncated to {MAX_ATTACHMENTS} attachments",
                    items.len()
                );
            }
            break;
        }
    }
    Ok(attachments)
}

fn attachment_skeleton() -> Map<String, Value> {
    let skeleton = json!({
        "fallback": "", "color": "#36a64f", "pretext": "", "author_name": "", "author_link": "",
        "author_icon": "", "title": "", "title_link": "", "text": "", "fields": [],
        "image_url": "", "thumb_url": "", "footer": "", "footer_icon": "", "ts": "",
        "mrkdwn_in": ["text", "pretext"],
    });
    match skeleton {
        Value::Object(map) => map,
        _ => Map::new(), // unreachable: the literal is an object
    }
}

/// Renders a record as Slack "mrkdwn" lines: object keys sorted, `*key:* value`, list items
/// `*[n]* value`, nested non-empty containers on their own lines one TAB deeper, scalars
/// and empty containers as Python's `str()`. A top-level scalar is one line.
///
/// ```
/// use streamalert::outputs::slack::mrkdwn_lines;
/// let lines = mrkdwn_lines(&serde_json::json!({"b": [1, {"c": null}], "a": {}}), 0);
/// assert_eq!(lines, ["*a:* {}", "*b:*", "\t*[1]* 1", "\t*[2]*", "\t\t*c:* None"]);
/// ```
pub fn mrkdwn_lines(value: &Value, depth: usize) -> Vec<String> {
    let tabs = "\t".repeat(depth);
    let entry = |label: String, value: &Value, lines: &mut Vec<String>| {
        let nested = match value {
            Value::Object(map) => !map.is_empty(),
            Value::Array(items) => !items.is_empty(),
            _ => false,
        };
        if nested {
            lines.push(format!("{tabs}{label}"));
            lines.extend(mrkdwn_lines(value, depth + 1));
        } else {
            lines.push(format!("{tabs}{label} {}", py_str(value)));
        }
    };
    let mut lines = Vec::new();
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for key in keys {
                entry(format!("*{key}:*"), &map[key.as_str()], &mut lines);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                entry(format!("*[{}]*", i + 1), item, &mut lines);
            }
        }
        scalar => lines.push(py_str(scalar)),
    }
    lines
}

/// Splits text into chunks of at most [`MAX_MESSAGE_SIZE`] code points: each cut is at the
/// last newline within the first 4001 code points, else at the last space, and that
/// separator is dropped; without either the cut is hard at 4000 and, unlike StreamAlert,
/// no character is lost (decision Q4). Empty text gives no chunk.
///
/// ```
/// use streamalert::outputs::slack::split_text;
/// let text = "x".repeat(4001);
/// let chunks = split_text(&text);
/// assert_eq!(chunks.iter().map(|c| c.len()).collect::<Vec<_>>(), [4000, 1]);
/// assert!(split_text("").is_empty());
/// ```
pub fn split_text(text: &str) -> Vec<String> {
    split_text_to(text, MAX_MESSAGE_SIZE)
}

/// [`split_text`] into chunks of at most `max` code points (at least 1).
pub(crate) fn split_text_to(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let chars: Vec<char> = text.chars().collect();
    let mut chunks = Vec::new();
    // A window over what is left: each cut moves it on (linear in the text's length).
    let mut rest = chars.as_slice();
    while !rest.is_empty() {
        if rest.len() <= max {
            chunks.push(rest.iter().collect());
            break;
        }
        let window = &rest[..=max];
        let separator = window
            .iter()
            .rposition(|c| *c == '\n')
            .or_else(|| window.iter().rposition(|c| *c == ' '));
        let (cut, next) = match separator {
            Some(cut) => (cut, cut + 1),
            None => (max, max),
        };
        chunks.push(rest[..cut].iter().collect());
        rest = &rest[next..];
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4_slack_hard_split_keeps_every_character() {
        let text: String = (0..9000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let chunks = split_text(&text);
        assert_eq!(
            chunks.iter().map(|c| c.chars().count()).collect::<Vec<_>>(),
            [4000, 4000, 1000]
        );
        assert_eq!(chunks.concat(), text);
    }

    /// A hostile record (20 MiB of text without a separator) is split in one pass: the
    /// split used to move what was left after every cut, quadratic in the text's length.
    #[test]
    fn a_20_mib_text_is_split_whole_into_full_chunks() {
        let text: String = (0..20 << 20)
            .map(|i: usize| char::from(b'a' + (i % 26) as u8))
            .collect();
        let chunks = split_text(&text);
        assert_eq!(chunks.len(), (20 << 20) / MAX_MESSAGE_SIZE + 1);
        assert!(chunks.iter().all(|c| c.len() <= MAX_MESSAGE_SIZE));
        assert_eq!(chunks.concat(), text);
    }

    #[test]
    fn splits_at_newlines_and_spaces_drop_the_separator() {
        let text = format!("{}\n{}", "a".repeat(3000), "b".repeat(2000));
        assert_eq!(split_text(&text), ["a".repeat(3000), "b".repeat(2000)]);
        let text = format!("{} {}", "a".repeat(4000), "b".repeat(10));
        assert_eq!(split_text(&text), ["a".repeat(4000), "b".repeat(10)]);
    }

    #[test]
    fn escaping_covers_quotes() {
        assert_eq!(html_escape_quoted("<b>&'\""), "&lt;b&gt;&amp;&#x27;&quot;");
    }

    #[test]
    fn q17_missing_description_prints_none() {
        let alert = Alert::new("r", json!({"k": 1}), ["slack:c"]);
        let attachments = default_attachments(&alert, &json!("h"), "slack:c");
        assert_eq!(attachments[0]["pretext"], "*Rule Description:*\nNone\n");
    }

    #[test]
    fn empty_record_gives_no_attachment() {
        let alert = Alert::new("r", json!({}), ["slack:c"]);
        assert!(default_attachments(&alert, &json!("h"), "slack:c").is_empty());
    }

    #[test]
    fn q5_custom_text_is_elided_to_3999() {
        let custom = json!([{"text": "x".repeat(5000)}]);
        let attachments = custom_attachments(&custom, "slack:c").unwrap();
        assert_eq!(
            attachments[0]["text"].as_str().unwrap().chars().count(),
            3999
        );
    }
}
