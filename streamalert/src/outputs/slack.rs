//! `slack`: a Slack incoming webhook (spec `outputs.md` §2.19), and the text helpers that lay
//! out its default attachments.

use crate::alert::Alert;
use crate::json::{PythonJson, by_code_point, write_key, write_repr, write_string};
use crate::output::http::{Http, HttpRequest};
use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use crate::publisher::Publication;
use crate::text::html_escape_quoted;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::fmt::Write as _;

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
    Ok(http.post(url).body(message.to_json(), "application/json"))
}

/// The webhook payload [`format_message`] builds; it serializes as
/// `{"text", "mrkdwn": true, "attachments"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message<'a> {
    /// The first line: `@slack.text`, else `*StreamAlert Rule Triggered: <rule>*`.
    pub text: Cow<'a, Value>,
    /// Always `true`.
    pub mrkdwn: bool,
    /// The default attachments or the custom ones.
    pub attachments: Attachments<'a>,
}

impl Message<'_> {
    /// The payload as Python's `json.dumps` writes it: the bytes
    /// [`PythonJson::serialize`](crate::json::PythonJson::serialize) makes of `self`, written
    /// with the crate's string writer ([`write_string`]), which copies the runs between escapes
    /// at once (serde_json looks at every byte of the record text twice).
    fn to_json(&self) -> String {
        let text_len = match &self.attachments {
            Attachments::Default(parts) => parts.iter().map(|part| part.text.len()).sum(),
            Attachments::Custom(_) => 0,
        };
        // The record text and its escapes (a tab or two and a newline a line) plus the rest.
        let mut out = String::with_capacity(512 + text_len + text_len / 4);
        out.push_str("{\"text\": ");
        DUMP.dump_to(&mut out, &self.text);
        out.push_str(", \"mrkdwn\": ");
        out.push_str(if self.mrkdwn { "true" } else { "false" });
        out.push_str(", \"attachments\": [");
        match &self.attachments {
            Attachments::Default(parts) => {
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    part.write_json(&mut out);
                }
            }
            Attachments::Custom(values) => {
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    DUMP.dump_to(&mut out, value);
                }
            }
        }
        out.push_str("]}");
        out
    }
}

/// The settings of the request body: `json.dumps(message)`.
const DUMP: PythonJson = PythonJson::DEFAULT;

/// The attachments of a [`Message`]; each variant serializes as a list of objects.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Attachments<'a> {
    /// The record, rendered ([`default_attachments`]).
    Default(Vec<Attachment<'a>>),
    /// `@slack.attachments`, laid over Slack's skeleton ([`custom_attachments`]).
    Custom(Vec<Value>),
}

/// One default attachment; it serializes as
/// `{"fallback", "color", "pretext", "title", "text", "mrkdwn_in": ["text", "pretext"]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attachment<'a> {
    /// The message's first line.
    pub fallback: Cow<'a, Value>,
    /// `#b22222`.
    pub color: &'static str,
    /// `*Rule Description:*\n<description>\n` on the first attachment, else empty.
    pub pretext: String,
    /// `Record:`, or `Record (Part i of n):` when the record takes several attachments.
    pub title: Cow<'static, str>,
    /// A chunk of the rendered record.
    pub text: String,
    /// `["text", "pretext"]`.
    pub mrkdwn_in: [&'static str; 2],
}

impl Attachment<'_> {
    /// Appends the attachment as `json.dumps` writes it (see [`Message::to_json`]).
    fn write_json(&self, out: &mut String) {
        out.push_str("{\"fallback\": ");
        DUMP.dump_to(out, &self.fallback);
        let fields = [
            ("color", self.color),
            ("pretext", &self.pretext),
            ("title", &self.title),
            ("text", &self.text),
        ];
        for (name, value) in fields {
            write_key(out, name);
            write_string(out, value, true);
        }
        out.push_str(", \"mrkdwn_in\": [");
        for (i, name) in self.mrkdwn_in.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_string(out, name, true);
        }
        out.push_str("]}");
    }
}

/// The whole webhook payload: `{"text", "mrkdwn": true, "attachments"}`.
///
/// `Err` names a malformed `@slack.attachments`.
///
/// ```
/// use streamalert::{Alert, Publication, outputs::slack::format_message};
/// let alert = Alert::new("r", serde_json::json!({"b": 1, "a": "<x>"}), ["slack:c"]);
/// let publication = Publication::new();
/// let message = format_message(&alert, &publication, "slack:c").unwrap();
/// let message = serde_json::to_value(&message).unwrap();
/// assert_eq!(message["text"], "*StreamAlert Rule Triggered: r*");
/// assert_eq!(message["attachments"][0]["text"], "*a:* &lt;x&gt;\n*b:* 1");
/// ```
pub fn format_message<'a>(
    alert: &'a Alert,
    publication: &'a Publication,
    output: &str,
) -> Result<Message<'a>, String> {
    format_message_for(&[SERVICE], alert, publication, output)
}

/// [`format_message`] reading `@<service>.text` and `@<service>.attachments` from the first of
/// `services` that has each key (`slack-bot` reads its own keys, then `slack`'s).
pub(crate) fn format_message_for<'a>(
    services: &[&str],
    alert: &'a Alert,
    publication: &'a Publication,
    output: &str,
) -> Result<Message<'a>, String> {
    let key = |field: &str| {
        services.iter().find_map(|service| {
            let key = ["@", service, ".", field].concat();
            publication.get(&key).map(|value| (key, value))
        })
    };
    let text = match key("text") {
        Some((_, text)) => Cow::Borrowed(text),
        None => Cow::Owned(
            ["*StreamAlert Rule Triggered: ", &alert.rule_name, "*"]
                .concat()
                .into(),
        ),
    };
    let attachments = match key("attachments") {
        Some((key, custom)) => Attachments::Custom(attachments_from(&key, custom, output)?),
        None => Attachments::Default(default_attachments(alert, &text, output)),
    };
    Ok(Message {
        text,
        mrkdwn: true,
        attachments,
    })
}

/// The default attachments: the record rendered by [`mrkdwn_lines`], HTML-escaped, split by
/// [`split_text`]; the first carries the rule description as pretext. At most
/// [`MAX_ATTACHMENTS`] are kept (a warning names the number of parts). `fallback` is the
/// message's first line.
///
/// ```
/// use std::borrow::Cow;
/// use streamalert::{Alert, outputs::slack::default_attachments};
/// let mut alert = Alert::new("r", serde_json::json!({"k": "v"}), ["slack:c"]);
/// alert.rule_description = Some("why".into());
/// let header = "header".into();
/// let attachments = default_attachments(&alert, &Cow::Borrowed(&header), "slack:c");
/// assert_eq!(attachments[0].pretext, "*Rule Description:*\nwhy\n");
/// assert_eq!(attachments[0].title, "Record:");
/// assert_eq!(*attachments[0].fallback, "header");
/// assert_eq!(attachments[0].text, "*k:* v");
/// ```
pub fn default_attachments<'a>(
    alert: &Alert,
    fallback: &Cow<'a, Value>,
    output: &str,
) -> Vec<Attachment<'a>> {
    let mut lines = String::with_capacity(2048);
    render_mrkdwn(&alert.record, 0, &mut Joined::new(&mut lines));
    // Only keys and strings can hold `&<>"'` (labels, tabs, numbers, `None` and `{}` cannot):
    // escaping the whole text once escapes them as escaping each would.
    let text = html_escape_quoted(&lines);
    let chunks = split_text(&text);
    let parts = chunks.len();
    if parts > MAX_ATTACHMENTS {
        tracing::warn!(
            output,
            "{output}: {parts}-part message truncated to {MAX_ATTACHMENTS} parts"
        );
    }
    let description = alert.rule_description.as_deref().unwrap_or("None"); // Python's str(None), decision Q17
    // A record that fits one attachment (the usual case) is moved there, not copied.
    let texts: Vec<String> = if parts == 1 && chunks[0].len() == text.len() {
        vec![text]
    } else {
        let chunks = chunks.into_iter().take(MAX_ATTACHMENTS);
        chunks.map(str::to_owned).collect()
    };
    texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| Attachment {
            fallback: fallback.clone(),
            color: "#b22222",
            pretext: if i == 0 {
                ["*Rule Description:*\n", description, "\n"].concat()
            } else {
                String::new()
            },
            title: if parts > 1 {
                Cow::Owned(format!("Record (Part {} of {parts}):", i + 1))
            } else {
                Cow::Borrowed("Record:")
            },
            text,
            mrkdwn_in: ["text", "pretext"],
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
    let mut lines = Lines(Vec::new());
    render_mrkdwn(value, depth, &mut lines);
    lines.0
}

/// Where [`render_mrkdwn`] writes: the text goes to the current line.
trait MrkdwnSink {
    /// Starts a new line.
    fn new_line(&mut self);
    /// The current line.
    fn line(&mut self) -> &mut String;
}

/// Each line on its own ([`mrkdwn_lines`]).
struct Lines(Vec<String>);

impl MrkdwnSink for Lines {
    fn new_line(&mut self) {
        self.0.push(String::new());
    }

    fn line(&mut self) -> &mut String {
        if self.0.is_empty() {
            self.new_line();
        }
        let last = self.0.len() - 1;
        &mut self.0[last]
    }
}

/// The lines joined with `\n`, written once.
struct Joined<'s> {
    out: &'s mut String,
    started: bool,
}

impl<'s> Joined<'s> {
    fn new(out: &'s mut String) -> Self {
        Self {
            out,
            started: false,
        }
    }
}

impl MrkdwnSink for Joined<'_> {
    fn new_line(&mut self) {
        if self.started {
            self.out.push('\n');
        }
        self.started = true;
    }

    fn line(&mut self) -> &mut String {
        self.out
    }
}

/// Writes [`mrkdwn_lines`] of `value` to `sink`.
fn render_mrkdwn(value: &Value, depth: usize, sink: &mut impl MrkdwnSink) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| by_code_point(a.0, b.0));
            for (key, item) in entries {
                start_entry(sink, depth);
                let line = sink.line();
                line.push('*');
                line.push_str(key);
                line.push_str(":*");
                finish_entry(sink, item, depth);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                start_entry(sink, depth);
                // Writing an integer to a `String` cannot fail.
                let _ = write!(sink.line(), "*[{}]*", i + 1);
                finish_entry(sink, item, depth);
            }
        }
        scalar => {
            sink.new_line();
            render_scalar(scalar, sink);
        }
    }
}

fn start_entry(sink: &mut impl MrkdwnSink, depth: usize) {
    sink.new_line();
    let line = sink.line();
    for _ in 0..depth {
        line.push('\t');
    }
}

/// After an entry's label: a nested non-empty container on the next lines, else ` value`.
fn finish_entry(sink: &mut impl MrkdwnSink, value: &Value, depth: usize) {
    let nested = match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    };
    if nested {
        render_mrkdwn(value, depth + 1, sink);
    } else {
        sink.line().push(' ');
        render_scalar(value, sink);
    }
}

/// Python's `str()` of a scalar or an empty container (`repr()` but for a string).
fn render_scalar(value: &Value, sink: &mut impl MrkdwnSink) {
    match value {
        Value::String(text) => sink.line().push_str(text),
        other => write_repr(sink.line(), other),
    }
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
pub fn split_text(text: &str) -> Vec<&str> {
    split_text_to(text, MAX_MESSAGE_SIZE)
}

/// [`split_text`] into chunks of at most `max` code points (at least 1).
pub(crate) fn split_text_to(text: &str, max: usize) -> Vec<&str> {
    let max = max.max(1);
    let mut chunks = Vec::new();
    // A window over what is left: each cut moves it on (linear in the text's length).
    let mut rest = text;
    while !rest.is_empty() {
        // At most `max` bytes is at most `max` code points: short enough without counting.
        if rest.len() <= max {
            chunks.push(rest);
            break;
        }
        // The byte offsets of the code points at `max` and `max + 1`.
        let mut boundaries = rest.char_indices().map(|(i, _)| i).skip(max);
        let Some(hard) = boundaries.next() else {
            chunks.push(rest);
            break;
        };
        let window_end = boundaries.next().unwrap_or(rest.len());
        let window = &rest[..window_end];
        // Both separators are ASCII: a byte search finds them at character boundaries.
        let (cut, next) = match window.rfind('\n').or_else(|| window.rfind(' ')) {
            Some(cut) => (cut, cut + 1),
            None => (hard, hard),
        };
        chunks.push(&rest[..cut]);
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

    /// Limits count code points, not bytes: 4001 two-byte characters are 4000 and 1.
    #[test]
    fn splits_count_code_points() {
        let text = "é".repeat(4001);
        let chunks = split_text(&text);
        assert_eq!(chunks, ["é".repeat(4000), "é".to_owned()]);
        let text = format!("{} {}", "é".repeat(3000), "ü".repeat(1500));
        assert_eq!(split_text(&text), ["é".repeat(3000), "ü".repeat(1500)]);
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
        assert_eq!(
            crate::text::html_escape_quoted("<b>&'\""),
            "&lt;b&gt;&amp;&#x27;&quot;"
        );
    }

    #[test]
    fn q17_missing_description_prints_none() {
        let alert = Alert::new("r", json!({"k": 1}), ["slack:c"]);
        let attachments = default_attachments(&alert, &Cow::Owned(json!("h")), "slack:c");
        assert_eq!(attachments[0].pretext, "*Rule Description:*\nNone\n");
    }

    #[test]
    fn empty_record_gives_no_attachment() {
        let alert = Alert::new("r", json!({}), ["slack:c"]);
        assert!(default_attachments(&alert, &Cow::Owned(json!("h")), "slack:c").is_empty());
    }

    /// The body written by hand is byte for byte what serde_json writes of the same message
    /// through the Python formatter, for default attachments (one part and several) and for
    /// custom ones, with every kind of character to escape.
    #[test]
    fn the_body_is_what_the_python_serializer_writes() {
        let tricky = crate::outputs::text_to_escape();
        let long = json!({"a": "x ".repeat(3000), "b": format!("{tricky}\n").repeat(40)});
        let alert = crate::outputs::alert_to_escape("slack:c");
        let mut long_alert = Alert::new("r", long, ["slack:c"]);
        long_alert.rule_description = None;
        let mut custom = Publication::new();
        custom.insert("@slack.text", json!({"t": tricky.clone(), "n": 1e5}));
        custom.insert(
            "@slack.attachments",
            json!([{"text": tricky.clone(), "fields": [{"x": 1.50}]}, {"color": "é"}]),
        );
        let mut text_only = Publication::new();
        text_only.insert("@slack.text", tricky.clone());
        let cases = [
            (&alert, Publication::new(), 1),
            (&long_alert, Publication::new(), 6),
            (&alert, custom, 2),
            (&alert, text_only, 1),
        ];
        for (alert, publication, parts) in &cases {
            let message = format_message(alert, publication, "slack:c").unwrap();
            let attachments = match &message.attachments {
                Attachments::Default(parts) => parts.len(),
                Attachments::Custom(values) => values.len(),
            };
            assert_eq!(attachments, *parts);
            assert_eq!(message.to_json(), DUMP.serialize(&message));
        }
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
