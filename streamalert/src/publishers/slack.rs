//! Slack layout publishers (StreamAlert's `publishers/community/slack/slack_layout.py`), each
//! registered as `publishers.community.slack.slack_layout.<name>`.
//!
//! They build `@slack.text` and `@slack.attachments` for the Slack output. [`Summary`] starts
//! a fresh layout and keeps the incoming publication under `@slack._previous_publication`, so
//! that later publishers ([`AttachPublication`], [`AttachStringTemplate`]) can still read it.
//! A typical chain: `Summary`, `AttachRuleInfo`, `AttachPublication`, `AttachFullRecord`.
//!
//! StreamAlert's quirks are kept (spec decisions P7, P8): [`Summary`] escapes the description
//! but not the author, texts are escaped with [`html_escape`] (`cgi.escape`: `&`, `<`, `>`),
//! [`AttachFullRecord`] texts start with three backticks and two newlines, and
//! [`AttachPublication`] does nothing unless both `@slack._previous_publication` and
//! `@slack.attachments` exist.

use super::description::RuleDescriptionParser;
use super::list_entry;
use crate::alert::Alert;
use crate::json::PythonJson;
use crate::publisher::{Publication, PublishError, Publisher};
use crate::text::{capitalize, html_escape, quote_plus};
use serde_json::{Value, json};

/// Colour of the [`Summary`] attachment.
///
/// ```
/// assert_eq!(streamalert::publishers::slack::RAUSCH, "#ff5a5f");
/// ```
pub const RAUSCH: &str = "#ff5a5f";
/// Colour of the [`AttachPublication`] attachment.
///
/// ```
/// assert_eq!(streamalert::publishers::slack::BABU, "#00d1c1");
/// ```
pub const BABU: &str = "#00d1c1";
/// Colour of the [`AttachRuleInfo`] attachment.
///
/// ```
/// assert_eq!(streamalert::publishers::slack::LIMA, "#8ce071");
/// ```
pub const LIMA: &str = "#8ce071";
/// Colour of the [`AttachFullRecord`] attachments.
///
/// ```
/// assert_eq!(streamalert::publishers::slack::HACKBERRY, "#7b0051");
/// ```
pub const HACKBERRY: &str = "#7b0051";
/// Colour of the [`AttachStringTemplate`] attachment.
///
/// ```
/// assert_eq!(streamalert::publishers::slack::BEACH, "#ffb400");
/// ```
pub const BEACH: &str = "#ffb400";

/// Replaces the publication with a summary: `@slack.text` `Rule triggered` and one attachment
/// with the rule name, a link that searches the rules repository for it, the author and the
/// (HTML-escaped) description from the rule's description, and the alert time. The incoming
/// publication is kept under `@slack._previous_publication`.
///
/// Customise it by changing the fields, e.g. in your own publisher:
/// `Summary { repo_url: "https://github.com/acme/rules".into(), ..Summary::default() }.publish(alert, p)`.
///
/// Registered as `publishers.community.slack.slack_layout.Summary`.
///
/// ```
/// use streamalert::{Alert, Publication, Publisher, publishers::slack::Summary};
/// use serde_json::json;
///
/// let mut alert = Alert::new("root_login", json!({}), ["slack:secops"]);
/// alert.rule_description = Some("Root logged in <now>\n\nauthor: Derek".into());
/// let publication = Summary::default().publish(&alert, Publication::new()).unwrap();
/// assert_eq!(publication.keys().collect::<Vec<_>>(), ["@slack.text", "@slack.attachments", "@slack._previous_publication"]);
/// let attachment = &publication["@slack.attachments"][0];
/// assert_eq!(attachment["author_name"], "Derek");
/// assert_eq!(attachment["text"], "Root logged in &lt;now&gt;");
/// assert_eq!(attachment["title_link"], "https://github.com/airbnb/streamalert/search?q=root_login+path%3A%2Frules");
/// ```
#[derive(Debug, Clone)]
pub struct Summary {
    /// The repository searched by the title link: `https://github.com/airbnb/streamalert`.
    pub repo_url: String,
    /// The search path of the repository: `/search`.
    pub search_path: String,
    /// The directory of the rules, searched with `path:`: `/rules`.
    pub rules_path: String,
    /// The attachment's colour: [`RAUSCH`].
    pub color: String,
    /// The author's link, from the author's name: none (`""`).
    pub author_link: fn(&str) -> String,
    /// The author's icon URL, from the author's name: none (`""`).
    pub author_icon: fn(&str) -> String,
}

impl Default for Summary {
    fn default() -> Self {
        Self {
            repo_url: "https://github.com/airbnb/streamalert".to_owned(),
            search_path: "/search".to_owned(),
            rules_path: "/rules".to_owned(),
            color: RAUSCH.to_owned(),
            author_link: |_| String::new(),
            author_icon: |_| String::new(),
        }
    }
}

impl Summary {
    /// The title link: a search of the rules repository for the rule name,
    /// `<repo_url><search_path>?q=<rule_name>+path%3A<rules_path>` (URL-encoded like Python's
    /// `urlencode`).
    ///
    /// ```
    /// use streamalert::publishers::slack::Summary;
    /// assert_eq!(
    ///     Summary::default().title_link("my rule"),
    ///     "https://github.com/airbnb/streamalert/search?q=my+rule+path%3A%2Frules"
    /// );
    /// ```
    pub fn title_link(&self, rule_name: &str) -> String {
        let query = quote_plus(&format!("{rule_name} path:{}", self.rules_path));
        format!("{}{}?q={query}", self.repo_url, self.search_path)
    }
}

#[crate::publisher(name = "publishers.community.slack.slack_layout.Summary")]
impl Publisher for Summary {
    fn publish(
        &self,
        alert: &Alert,
        publication: Publication,
    ) -> Result<Publication, PublishError> {
        let presentation = RuleDescriptionParser::present(alert.rule_description.as_deref());
        let author = presentation.author.as_str();
        let attachment = json!({
            "fallback": format!("Rule triggered: {}", alert.rule_name),
            "color": self.color,
            "author_name": author,
            "author_link": (self.author_link)(author),
            "author_icon": (self.author_icon)(author),
            "title": alert.rule_name,
            "title_link": self.title_link(&alert.rule_name),
            "text": html_escape(&presentation.description),
            "image_url": "",
            "thumb_url": "",
            "footer": "",
            "footer_icon": "",
            "ts": alert.created.unix_seconds(),
            "mrkdwn_in": [],
        });
        let mut summary = Publication::new();
        summary.insert("@slack.text", "Rule triggered");
        summary.insert("@slack.attachments", vec![attachment]);
        summary.insert("@slack._previous_publication", publication);
        Ok(summary)
    }
}

/// Appends an attachment listing the fields of the rule's description other than the author,
/// maintainer and description (e.g. `reference`, `playbook`), each titled with its
/// capitalised name. The attachment is appended even when there are no such fields.
///
/// Registered as `publishers.community.slack.slack_layout.AttachRuleInfo`.
///
/// ```
/// use streamalert::{Alert, Publication, Publisher, publishers::slack::AttachRuleInfo};
/// use serde_json::json;
///
/// let mut alert = Alert::new("r", json!({}), ["slack:secops"]);
/// alert.rule_description = Some("author: Derek\nplaybook: CALL Bob".into());
/// let publication = AttachRuleInfo::default().publish(&alert, Publication::new()).unwrap();
/// assert_eq!(
///     publication["@slack.attachments"],
///     json!([{"color": "#8ce071", "fields": [{"title": "Playbook", "value": "CALL Bob"}]}])
/// );
/// ```
#[derive(Debug, Clone)]
pub struct AttachRuleInfo {
    /// The attachment's colour: [`LIMA`].
    pub color: String,
}

impl Default for AttachRuleInfo {
    fn default() -> Self {
        Self {
            color: LIMA.to_owned(),
        }
    }
}

#[crate::publisher(name = "publishers.community.slack.slack_layout.AttachRuleInfo")]
impl Publisher for AttachRuleInfo {
    fn publish(
        &self,
        alert: &Alert,
        mut publication: Publication,
    ) -> Result<Publication, PublishError> {
        let attachments = list_entry(&mut publication, "@slack.attachments")?;
        let presentation = RuleDescriptionParser::present(alert.rule_description.as_deref());
        let fields: Vec<Value> = presentation
            .fields
            .iter()
            .map(|(name, text)| json!({"title": capitalize(name), "value": text}))
            .collect();
        attachments.push(json!({"color": self.color, "fields": fields}));
        Ok(publication)
    }
}

/// Appends the publication [`Summary`] replaced, as indented JSON with sorted keys in a code
/// block (HTML-escaped). Without both `@slack._previous_publication` and `@slack.attachments`
/// the publication is returned unchanged.
///
/// Registered as `publishers.community.slack.slack_layout.AttachPublication`.
///
/// ```
/// use streamalert::{Alert, Publication, Publisher, publishers::slack::{AttachPublication, Summary}};
/// use serde_json::json;
///
/// let alert = Alert::new("r", json!({}), ["slack:secops"]);
/// let mut previous = Publication::new();
/// previous.insert("b", "<x>");
/// previous.insert("a", 1);
/// let publication = Summary::default().publish(&alert, previous).unwrap();
/// let publication = AttachPublication::default().publish(&alert, publication).unwrap();
/// let attachment = &publication["@slack.attachments"][1];
/// assert_eq!(attachment["text"], "```\n{\n  \"a\": 1,\n  \"b\": \"&lt;x&gt;\"\n}\n```");
///
/// let untouched = AttachPublication::default().publish(&alert, Publication::new()).unwrap();
/// assert!(untouched.is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct AttachPublication {
    /// The attachment's colour: [`BABU`].
    pub color: String,
}

impl Default for AttachPublication {
    fn default() -> Self {
        Self {
            color: BABU.to_owned(),
        }
    }
}

#[crate::publisher(name = "publishers.community.slack.slack_layout.AttachPublication")]
impl Publisher for AttachPublication {
    fn publish(
        &self,
        _alert: &Alert,
        mut publication: Publication,
    ) -> Result<Publication, PublishError> {
        let Some(previous) = publication.get("@slack._previous_publication") else {
            return Ok(publication);
        };
        if !publication.contains_key("@slack.attachments") {
            return Ok(publication);
        }
        let block = format!(
            "```\n{}\n```",
            PythonJson::pretty(2).sort_keys().dump(previous)
        );
        let attachment = json!({
            "color": self.color,
            "title": "Alert Data:",
            "text": html_escape(&block),
            "mrkdwn_in": ["text"],
        });
        list_entry(&mut publication, "@slack.attachments")?.push(attachment);
        Ok(publication)
    }
}

/// Appends an attachment whose text is the rule's template (context key
/// `slack_message_template`, default `[MISSING TEMPLATE]`) rendered like Python's
/// `str.format(**args)`, then HTML-escaped. The arguments are `@slack._previous_publication`
/// when present, else the publication itself.
///
/// The template language is the part of Python's format strings StreamAlert rules use:
/// `{name}` (a top-level key, printed like Python's `str()`), item access `{record[md5]}` and
/// `{list[0]}`, `{{` / `}}`, conversions `!s` / `!r` / `!a`, and format specs with fill,
/// alignment, sign, `#`, `0`, width and precision for the types `s`, `d`, `b`, `o`, `x`, `X`,
/// `e`, `E`, `f`, `F` and `%`. A missing key is an error naming it (spec decision P7). Beyond
/// the subset (an error naming the field): attribute access (`{a.b}`), nested fields in a
/// spec, grouping (`,` / `_`), the types `c`, `g`, `G` and `n`, a precision without a type on
/// floats, and `#` on floats.
///
/// Registered as `publishers.community.slack.slack_layout.AttachStringTemplate`.
///
/// ```
/// use streamalert::{Alert, Publication, Publisher, publishers::slack::AttachStringTemplate};
/// use serde_json::json;
///
/// let mut alert = Alert::new("r", json!({}), ["slack:secops"]);
/// alert.context.insert("slack_message_template".into(), json!("{user} from {src[ip]:>9} {{ok}}"));
/// let publication: Publication = json!({"user": "<root>", "src": {"ip": "10.0.0.1"}})
///     .as_object().unwrap().clone().into();
/// let publication = AttachStringTemplate::default().publish(&alert, publication).unwrap();
/// assert_eq!(publication["@slack.attachments"][0]["text"], "&lt;root&gt; from  10.0.0.1 {ok}");
///
/// alert.context.insert("slack_message_template".into(), json!("{missing}"));
/// let error = AttachStringTemplate::default().publish(&alert, Publication::new()).unwrap_err();
/// assert_eq!(error, streamalert::PublishError::missing_key("missing"));
/// ```
#[derive(Debug, Clone)]
pub struct AttachStringTemplate {
    /// The attachment's colour: [`BEACH`].
    pub color: String,
    /// The context key holding the template: `slack_message_template`.
    pub template_key: String,
    /// The template used when the context has none: `[MISSING TEMPLATE]`.
    pub missing_template: String,
}

impl Default for AttachStringTemplate {
    fn default() -> Self {
        Self {
            color: BEACH.to_owned(),
            template_key: "slack_message_template".to_owned(),
            missing_template: "[MISSING TEMPLATE]".to_owned(),
        }
    }
}

impl AttachStringTemplate {
    /// The rendered (not yet escaped) text for this alert and publication.
    ///
    /// ```
    /// use streamalert::{Alert, Publication, publishers::slack::AttachStringTemplate};
    /// let alert = Alert::new("r", serde_json::json!({}), ["slack:secops"]);
    /// let text = AttachStringTemplate::default().render(&alert, &Publication::new()).unwrap();
    /// assert_eq!(text, "[MISSING TEMPLATE]");
    /// ```
    pub fn render(&self, alert: &Alert, publication: &Publication) -> Result<String, PublishError> {
        let template = match alert.context.get(&self.template_key) {
            None => self.missing_template.as_str(),
            Some(Value::String(template)) => template.as_str(),
            Some(other) => {
                return Err(PublishError::failed(format!(
                    "context `{}` must be a string, found {other}",
                    self.template_key
                )));
            }
        };
        let args = match publication.get("@slack._previous_publication") {
            None => &**publication,
            Some(Value::Object(previous)) => previous,
            Some(other) => {
                return Err(PublishError::failed(format!(
                    "the template arguments must be an object, found {other}"
                )));
            }
        };
        template::render(template, args)
    }
}

#[crate::publisher(name = "publishers.community.slack.slack_layout.AttachStringTemplate")]
impl Publisher for AttachStringTemplate {
    fn publish(
        &self,
        alert: &Alert,
        mut publication: Publication,
    ) -> Result<Publication, PublishError> {
        let text = self.render(alert, &publication)?;
        let attachment = json!({"color": self.color, "text": html_escape(&text)});
        list_entry(&mut publication, "@slack.attachments")?.push(attachment);
        Ok(publication)
    }
}

/// Appends the full record as one or more attachments: indented JSON with sorted keys,
/// HTML-escaped, cut between lines into texts of about 4000 characters (Slack's limit). The
/// first attachment names the source entity and is titled `Record`; the last carries the
/// alert id and a footer linking the source service's AWS console.
///
/// Kept from StreamAlert (spec decision P7): each text starts with three backticks and two
/// newlines, a chunk may reach `max_attachment_length - length_padding + 1` characters before
/// the backticks, a single longer line becomes its own oversized attachment, and a missing
/// source service prints as `None` in the footer.
///
/// Registered as `publishers.community.slack.slack_layout.AttachFullRecord`.
///
/// ```
/// use streamalert::{Alert, Publication, Publisher, publishers::slack::AttachFullRecord};
/// use serde_json::json;
///
/// let mut alert = Alert::new("r", json!({"b": 1, "a": "é"}), ["slack:secops"]);
/// alert.source_service = Some("s3".into());
/// let publication = AttachFullRecord::default().publish(&alert, Publication::new()).unwrap();
/// let attachment = &publication["@slack.attachments"][0];
/// assert_eq!(attachment["text"], "```\n\n{\n  \"a\": \"\\u00e9\",\n  \"b\": 1\n}\n```");
/// assert_eq!(attachment["title"], "Record");
/// assert_eq!(attachment["author"], json!(null));
/// assert_eq!(attachment["footer"], "via <https://console.aws.amazon.com/s3/home|s3>");
/// ```
#[derive(Debug, Clone)]
pub struct AttachFullRecord {
    /// The attachments' colour: [`HACKBERRY`].
    pub color: String,
    /// Slack's maximum attachment text length: 4000.
    pub max_attachment_length: usize,
    /// Room kept for the backticks and newlines around each chunk: 10.
    pub length_padding: usize,
    /// The footer icon URL: none (`""`).
    pub footer_icon: String,
}

impl Default for AttachFullRecord {
    fn default() -> Self {
        Self {
            color: HACKBERRY.to_owned(),
            max_attachment_length: 4000,
            length_padding: 10,
            footer_icon: String::new(),
        }
    }
}

impl AttachFullRecord {
    /// The record document cut into chunks, each starting with a newline.
    ///
    /// ```
    /// use streamalert::publishers::slack::AttachFullRecord;
    /// let small = AttachFullRecord { max_attachment_length: 24, ..AttachFullRecord::default() };
    /// let chunks = small.chunks(&serde_json::json!({"k": "v", "l": "w"}));
    /// assert_eq!(chunks, ["\n{\n  \"k\": \"v\",", "\n  \"l\": \"w\"\n}"]);
    /// ```
    pub fn chunks(&self, record: &Value) -> Vec<String> {
        let document = html_escape(&PythonJson::pretty(2).sort_keys().dump(record));
        let limit = self
            .max_attachment_length
            .saturating_sub(self.length_padding);
        let mut chunks = Vec::new();
        let mut chunk = String::new();
        let mut chunk_chars = 0;
        for line in document.split('\n') {
            let line_chars = line.chars().count();
            if !chunk.is_empty() && chunk_chars + line_chars > limit {
                chunks.push(std::mem::take(&mut chunk));
                chunk_chars = 0;
            }
            chunk.push('\n');
            chunk.push_str(line);
            chunk_chars += 1 + line_chars;
        }
        chunks.push(chunk);
        chunks
    }

    fn attachment(&self, alert: &Alert, chunk: &str, is_first: bool, is_last: bool) -> Value {
        let author = match (is_first, &alert.source_entity) {
            (true, Some(entity)) => Value::from(entity.as_str()),
            (true, None) => Value::Null,
            (false, _) => Value::from(""),
        };
        let fields = if is_last {
            json!([{"title": "Alert Id", "value": alert.alert_id}])
        } else {
            json!([])
        };
        let footer = if is_last {
            let service = alert.source_service.as_deref().unwrap_or("None");
            format!("via <https://console.aws.amazon.com/{service}/home|{service}>")
        } else {
            String::new()
        };
        json!({
            "color": self.color,
            "author": author,
            "title": if is_first { "Record" } else { "" },
            "text": format!("```\n{chunk}\n```"),
            "fields": fields,
            "footer": footer,
            "footer_icon": self.footer_icon,
            "mrkdwn_in": ["text"],
        })
    }
}

#[crate::publisher(name = "publishers.community.slack.slack_layout.AttachFullRecord")]
impl Publisher for AttachFullRecord {
    fn publish(
        &self,
        alert: &Alert,
        mut publication: Publication,
    ) -> Result<Publication, PublishError> {
        let chunks = self.chunks(&alert.record);
        let last = chunks.len().saturating_sub(1);
        let attachments = list_entry(&mut publication, "@slack.attachments")?;
        for (i, chunk) in chunks.iter().enumerate() {
            attachments.push(self.attachment(alert, chunk, i == 0, i == last));
        }
        Ok(publication)
    }
}

/// The subset of Python's `str.format(**args)` that [`AttachStringTemplate`] renders.
mod template {
    use crate::json::{py_float_repr, py_str};
    use crate::publisher::PublishError;
    use serde_json::{Map, Value};
    use std::fmt::Write as _;

    /// Renders `template` with the keyword arguments `args`.
    pub(super) fn render(
        template: &str,
        args: &Map<String, Value>,
    ) -> Result<String, PublishError> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(at) = rest.find(['{', '}']) {
            out.push_str(&rest[..at]);
            let brace = &rest[at..=at];
            let after = &rest[at + 1..];
            if after.starts_with(brace) {
                out.push_str(brace);
                rest = &after[1..];
            } else if brace == "}" {
                return Err(invalid("Single '}' encountered in format string"));
            } else {
                let (field, remaining) = split_field(after)?;
                out.push_str(&replace(field, args)?);
                rest = remaining;
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    fn invalid(message: &str) -> PublishError {
        PublishError::failed(format!("slack message template: {message}"))
    }

    fn unsupported(field: &str, what: &str) -> PublishError {
        invalid(&format!(
            "`{{{field}}}` uses {what}, which is beyond the supported format subset"
        ))
    }

    /// The text of a replacement field up to its matching `}`, and what follows it.
    fn split_field(after_brace: &str) -> Result<(&str, &str), PublishError> {
        if after_brace.is_empty() {
            return Err(invalid("Single '{' encountered in format string"));
        }
        let mut depth = 1;
        for (at, c) in after_brace.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok((&after_brace[..at], &after_brace[at + 1..]));
                    }
                }
                _ => {}
            }
        }
        Err(invalid("expected '}' before end of string"))
    }

    /// A value being formatted: part of the arguments, or text made from them.
    enum Item<'a> {
        Json(&'a Value),
        Text(String),
    }

    /// One replacement field, `name[key]…[!conversion][:spec]`, rendered.
    fn replace(field: &str, args: &Map<String, Value>) -> Result<String, PublishError> {
        let (name, conversion, spec) = split_conversion_and_spec(field)?;
        if spec.contains('{') {
            return Err(unsupported(field, "a nested replacement field"));
        }
        let item = resolve(name, field, args)?;
        let item = match conversion {
            None => item,
            Some('s') => Item::Text(item_str(&item)),
            Some('r') => Item::Text(item_repr(&item)),
            Some('a') => Item::Text(ascii(&item_repr(&item))),
            Some(other) => return Err(invalid(&format!("Unknown conversion specifier {other}"))),
        };
        if spec.is_empty() {
            return Ok(item_str(&item));
        }
        let spec = Spec::parse(spec, field)?;
        match item {
            Item::Text(text) => spec.format_str(&text),
            Item::Json(Value::String(text)) => spec.format_str(text),
            Item::Json(Value::Bool(flag)) => {
                spec.format_int(false, if *flag { "1" } else { "0" }, "bool")
            }
            Item::Json(Value::Number(number)) => spec.format_number(&number.to_string()),
            Item::Json(other) => Err(invalid(&format!(
                "unsupported format string passed to {}.__format__",
                py_type(other)
            ))),
        }
    }

    /// `(field name, conversion, format spec)` of a field's text.
    fn split_conversion_and_spec(field: &str) -> Result<(&str, Option<char>, &str), PublishError> {
        let mut in_brackets = false;
        for (at, c) in field.char_indices() {
            match c {
                '[' => in_brackets = true,
                ']' => in_brackets = false,
                '{' if !in_brackets => return Err(invalid("unexpected '{' in field name")),
                ':' if !in_brackets => return Ok((&field[..at], None, &field[at + 1..])),
                '!' if !in_brackets => return split_conversion(&field[..at], &field[at + 1..]),
                _ => {}
            }
        }
        Ok((field, None, ""))
    }

    fn split_conversion<'a>(
        name: &'a str,
        rest: &'a str,
    ) -> Result<(&'a str, Option<char>, &'a str), PublishError> {
        let mut chars = rest.chars();
        let Some(conversion) = chars.next() else {
            return Err(invalid(
                "end of string while looking for conversion specifier",
            ));
        };
        let after = chars.as_str();
        match after.strip_prefix(':') {
            Some(spec) => Ok((name, Some(conversion), spec)),
            None if after.is_empty() => Ok((name, Some(conversion), "")),
            None => Err(invalid("expected ':' after conversion specifier")),
        }
    }

    /// Looks up `name` (a keyword, then `[key]` accessors) in the arguments.
    fn resolve<'a>(
        name: &str,
        field: &str,
        args: &'a Map<String, Value>,
    ) -> Result<Item<'a>, PublishError> {
        let first_end = name.find(['.', '[']).unwrap_or(name.len());
        let first = &name[..first_end];
        if first.is_empty() || first.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(&format!(
                "`{{{field}}}` is a positional field; only named fields can be used (tuple index out of range)"
            )));
        }
        let mut item = Item::Json(
            args.get(first)
                .ok_or_else(|| PublishError::missing_key(first))?,
        );
        let mut rest = &name[first_end..];
        while !rest.is_empty() {
            if rest.starts_with('.') {
                return Err(unsupported(field, "attribute access"));
            }
            let inner = &rest[1..];
            let close = inner
                .find(']')
                .ok_or_else(|| invalid("Missing ']' in format string"))?;
            let key = &inner[..close];
            if key.is_empty() {
                return Err(invalid("Empty attribute in format string"));
            }
            rest = &inner[close + 1..];
            if !rest.is_empty() && !rest.starts_with(['.', '[']) {
                return Err(invalid(
                    "Only '.' or '[' may follow ']' in format field specifier",
                ));
            }
            item = index(item, key)?;
        }
        Ok(item)
    }

    /// `item[key]`, where an all-digit key is an integer index as in Python's format strings.
    fn index<'a>(item: Item<'a>, key: &str) -> Result<Item<'a>, PublishError> {
        let position = if key.bytes().all(|b| b.is_ascii_digit()) {
            Some(
                key.parse::<usize>()
                    .map_err(|_| invalid("Too many decimal digits in format string"))?,
            )
        } else {
            None
        };
        match (item, position) {
            (Item::Json(Value::Object(map)), _) => {
                // JSON keys are strings: an integer index never matches (Python's KeyError).
                let found = position.is_none().then(|| map.get(key)).flatten();
                found
                    .map(Item::Json)
                    .ok_or_else(|| PublishError::missing_key(key))
            }
            (Item::Json(Value::Array(items)), Some(i)) => items
                .get(i)
                .map(Item::Json)
                .ok_or_else(|| invalid("list index out of range")),
            (Item::Json(Value::Array(_)), None) => {
                Err(invalid("list indices must be integers or slices, not str"))
            }
            (Item::Json(Value::String(text)), Some(i)) => char_at(text, i),
            (Item::Text(text), Some(i)) => char_at(&text, i),
            (Item::Json(Value::String(_)) | Item::Text(_), None) => {
                Err(invalid("string indices must be integers"))
            }
            (Item::Json(other), _) => Err(invalid(&format!(
                "'{}' object is not subscriptable",
                py_type(other)
            ))),
        }
    }

    fn char_at<'a>(text: &str, i: usize) -> Result<Item<'a>, PublishError> {
        text.chars()
            .nth(i)
            .map(|c| Item::Text(c.to_string()))
            .ok_or_else(|| invalid("string index out of range"))
    }

    fn py_type(value: &Value) -> &'static str {
        match value {
            Value::Null => "NoneType",
            Value::Bool(_) => "bool",
            Value::Number(n) if n.is_f64() => "float",
            Value::Number(_) => "int",
            Value::String(_) => "str",
            Value::Array(_) => "list",
            Value::Object(_) => "dict",
        }
    }

    /// Python's `str()` of the item.
    fn item_str(item: &Item<'_>) -> String {
        match item {
            Item::Json(value) => py_str(value),
            Item::Text(text) => text.clone(),
        }
    }

    /// Python's `repr()` of the item: the repr of a one-element list, without the brackets.
    fn item_repr(item: &Item<'_>) -> String {
        let value = match item {
            Item::Json(value) => (*value).clone(),
            Item::Text(text) => Value::from(text.as_str()),
        };
        let list = py_str(&Value::Array(vec![value]));
        let inner = list
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'));
        inner.unwrap_or(&list).to_owned()
    }

    /// Python's `ascii()` of a repr: non-ASCII characters as `\xNN`, `\uNNNN` or `\UNNNNNNNN`.
    fn ascii(repr: &str) -> String {
        let mut out = String::with_capacity(repr.len());
        for c in repr.chars() {
            let code = u32::from(c);
            let _ = match code {
                0..=0x7f => write!(out, "{c}"),
                0x80..=0xff => write!(out, "\\x{code:02x}"),
                0x100..=0xffff => write!(out, "\\u{code:04x}"),
                _ => write!(out, "\\U{code:08x}"),
            };
        }
        out
    }

    /// A parsed format spec: `[[fill]align][sign][#][0][width][grouping][.precision][type]`.
    struct Spec<'a> {
        text: &'a str,
        fill: char,
        align: Option<char>,
        sign: Option<char>,
        alternate: bool,
        width: usize,
        precision: Option<usize>,
        kind: Option<char>,
    }

    impl<'a> Spec<'a> {
        fn parse(text: &'a str, field: &str) -> Result<Self, PublishError> {
            let chars: Vec<char> = text.chars().collect();
            let mut spec = Spec {
                text,
                fill: ' ',
                align: None,
                sign: None,
                alternate: false,
                width: 0,
                precision: None,
                kind: None,
            };
            let is_align = |c: char| matches!(c, '<' | '>' | '=' | '^');
            let mut at = 0;
            let mut fill_given = false;
            if chars.len() >= 2 && is_align(chars[1]) {
                (spec.fill, spec.align, fill_given, at) = (chars[0], Some(chars[1]), true, 2);
            } else if chars.first().is_some_and(|c| is_align(*c)) {
                (spec.align, at) = (Some(chars[0]), 1);
            }
            if let Some(sign @ ('+' | '-' | ' ')) = chars.get(at).copied() {
                (spec.sign, at) = (Some(sign), at + 1);
            }
            if chars.get(at) == Some(&'#') {
                (spec.alternate, at) = (true, at + 1);
            }
            if !fill_given && chars.get(at) == Some(&'0') {
                spec.fill = '0';
                spec.align = spec.align.or(Some('='));
                at += 1;
            }
            (spec.width, at) = digits(&chars, at)?;
            if chars.get(at).is_some_and(|c| matches!(c, ',' | '_')) {
                return Err(unsupported(field, "digit grouping"));
            }
            if chars.get(at) == Some(&'.') {
                let (precision, next) = digits(&chars, at + 1)?;
                if next == at + 1 {
                    return Err(invalid("Format specifier missing precision"));
                }
                (spec.precision, at) = (Some(precision), next);
            }
            match &chars[at..] {
                [] => {}
                [kind] => spec.kind = Some(*kind),
                _ => return Err(invalid("Invalid format specifier")),
            }
            Ok(spec)
        }

        fn format_str(&self, text: &str) -> Result<String, PublishError> {
            if let Some(kind) = self.kind.filter(|kind| *kind != 's') {
                return Err(self.unknown_code(kind, "str"));
            }
            if self.sign.is_some() {
                return Err(invalid("Sign not allowed in string format specifier"));
            }
            if self.alternate {
                return Err(invalid(
                    "Alternate form (#) not allowed in string format specifier",
                ));
            }
            if self.align == Some('=') {
                return Err(invalid(
                    "'=' alignment not allowed in string format specifier",
                ));
            }
            let body: String = match self.precision {
                Some(precision) => text.chars().take(precision).collect(),
                None => text.to_owned(),
            };
            Ok(self.pad("", &body, '<'))
        }

        /// Formats JSON number text: an integer unless it has a fraction or an exponent.
        fn format_number(&self, number: &str) -> Result<String, PublishError> {
            if number.contains(['.', 'e', 'E']) {
                let value = number
                    .parse::<f64>()
                    .map_err(|_| invalid("number out of range"))?;
                return self.format_float(value, "float");
            }
            let (negative, magnitude) = match number.strip_prefix('-') {
                Some(magnitude) => (magnitude.bytes().any(|b| b != b'0'), magnitude),
                None => (false, number),
            };
            self.format_int(negative, magnitude, "int")
        }

        fn format_int(
            &self,
            negative: bool,
            magnitude: &str,
            type_name: &str,
        ) -> Result<String, PublishError> {
            let (prefix, digits) = match self.kind {
                None | Some('d') => ("", magnitude.to_owned()),
                Some(kind @ ('b' | 'o' | 'x' | 'X')) => self.radix(kind, magnitude)?,
                Some('e' | 'E' | 'f' | 'F' | '%') => {
                    let value = magnitude
                        .parse::<f64>()
                        .map_err(|_| invalid("int too large to convert to float"))?;
                    return self.format_float(if negative { -value } else { value }, type_name);
                }
                Some(kind @ ('c' | 'n' | 'g' | 'G')) => {
                    return Err(self.beyond(&format!("the type `{kind}`")));
                }
                Some(kind) => return Err(self.unknown_code(kind, type_name)),
            };
            if self.precision.is_some() {
                return Err(invalid("Precision not allowed in integer format specifier"));
            }
            let prefix = format!("{}{prefix}", self.sign_text(negative));
            Ok(self.pad(&prefix, &digits, '>'))
        }

        /// `(prefix, digits)` of a magnitude in base 2, 8 or 16.
        fn radix(
            &self,
            kind: char,
            magnitude: &str,
        ) -> Result<(&'static str, String), PublishError> {
            let value = magnitude
                .parse::<u128>()
                .map_err(|_| self.beyond("an integer this large"))?;
            let (prefix, digits) = match kind {
                'b' => ("0b", format!("{value:b}")),
                'o' => ("0o", format!("{value:o}")),
                'x' => ("0x", format!("{value:x}")),
                _ => ("0X", format!("{value:X}")),
            };
            Ok((if self.alternate { prefix } else { "" }, digits))
        }

        fn format_float(&self, value: f64, type_name: &str) -> Result<String, PublishError> {
            if self.alternate {
                return Err(self.beyond("`#` with a float"));
            }
            let magnitude = value.abs();
            let precision = self.precision.unwrap_or(6);
            let digits = match self.kind {
                None if self.precision.is_none() => py_float_repr(magnitude),
                None => return Err(self.beyond("a precision without a type")),
                Some('f' | 'F') => format!("{magnitude:.precision$}"),
                Some('%') => format!("{:.precision$}%", magnitude * 100.0),
                Some(kind @ ('e' | 'E')) => scientific(magnitude, precision, kind),
                Some(kind @ ('g' | 'G' | 'n')) => {
                    return Err(self.beyond(&format!("the type `{kind}`")));
                }
                Some(kind) => return Err(self.unknown_code(kind, type_name)),
            };
            let prefix = self.sign_text(value.is_sign_negative());
            Ok(self.pad(prefix, &digits, '>'))
        }

        fn sign_text(&self, negative: bool) -> &'static str {
            match (negative, self.sign) {
                (true, _) => "-",
                (false, Some('+')) => "+",
                (false, Some(' ')) => " ",
                (false, _) => "",
            }
        }

        /// `prefix` and `body` padded to the width with the fill character.
        fn pad(&self, prefix: &str, body: &str, default_align: char) -> String {
            let length = prefix.chars().count() + body.chars().count();
            let padding = self.width.saturating_sub(length);
            let fill = |n: usize| std::iter::repeat_n(self.fill, n).collect::<String>();
            match self.align.unwrap_or(default_align) {
                '<' => format!("{prefix}{body}{}", fill(padding)),
                '^' => format!(
                    "{}{prefix}{body}{}",
                    fill(padding / 2),
                    fill(padding - padding / 2)
                ),
                '=' => format!("{prefix}{}{body}", fill(padding)),
                _ => format!("{}{prefix}{body}", fill(padding)),
            }
        }

        fn unknown_code(&self, kind: char, type_name: &str) -> PublishError {
            invalid(&format!(
                "Unknown format code '{kind}' for object of type '{type_name}'"
            ))
        }

        fn beyond(&self, what: &str) -> PublishError {
            invalid(&format!(
                "the format spec `{}` uses {what}, which is beyond the supported subset",
                self.text
            ))
        }
    }

    /// Reads a run of decimal digits at `at`: `(value, index after the digits)`, 0 when none.
    fn digits(chars: &[char], at: usize) -> Result<(usize, usize), PublishError> {
        let end = chars[at.min(chars.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
            + at;
        let text: String = chars[at.min(chars.len())..end.min(chars.len())]
            .iter()
            .collect();
        if text.is_empty() {
            return Ok((0, at));
        }
        let value = text
            .parse()
            .map_err(|_| invalid("Too many decimal digits in format string"))?;
        Ok((value, end))
    }

    /// Python's `e` / `E` format: `1.500000e+03`, at least two exponent digits.
    fn scientific(magnitude: f64, precision: usize, kind: char) -> String {
        let rust = format!("{magnitude:.precision$e}");
        let (mantissa, exponent) = rust.split_once('e').unwrap_or((&rust, "0"));
        let exponent: i32 = exponent.parse().unwrap_or(0);
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}{kind}{sign}{:02}", exponent.unsigned_abs())
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use serde_json::json;

        fn args() -> Map<String, Value> {
            json!({
                "s": "héllo", "i": 42, "n": -7, "f": 1234.5, "t": true, "z": null,
                "big": 100000000000000000000u128, "d": {"k": "v", "0": "zero"}, "l": [1, "two", [3]],
                "q": "it's"
            })
            .as_object()
            .cloned()
            .unwrap_or_default()
        }

        fn ok(template: &str) -> String {
            render(template, &args()).unwrap_or_else(|e| panic!("{template}: {e}"))
        }

        #[test]
        fn matches_python_str_format() {
            // Each expected value was produced by Python 3 `template.format(**args)`.
            let cases = [
                ("{s} {i} {n} {f} {t} {z}", "héllo 42 -7 1234.5 True None"),
                (
                    "{big} {d} {l}",
                    "100000000000000000000 {'k': 'v', '0': 'zero'} [1, 'two', [3]]",
                ),
                ("{d[k]} {l[1]} {l[2][0]} {s[1]} {l[1][0]}", "v two 3 é t"),
                ("{{{s}}} }}{{", "{héllo} }{"),
                (
                    "{s!r} {q!r} {i!r} {s!a} {l!s}",
                    "'héllo' \"it's\" 42 'h\\xe9llo' [1, 'two', [3]]",
                ),
                (
                    "[{s:>8}] [{s:*^9}] [{s:.2}] [{s:<7s}] [{s!r:>9}]",
                    "[   héllo] [**héllo**] [hé] [héllo  ] [  'héllo']",
                ),
                (
                    "[{i:5}] [{n:05}] [{i:+}] [{n:=+6}] [{i: }] [{i:x}] [{i:#X}] [{i:#b}] [{n:o}]",
                    "[   42] [-0007] [+42] [-    7] [ 42] [2a] [0X2A] [0b101010] [-7]",
                ),
                (
                    "[{f:.2f}] [{f:e}] [{f:.3E}] [{i:.1%}] [{f:10}] [{i:f}] [{t:d}] [{t:>3}]",
                    "[1234.50] [1.234500e+03] [1.234E+03] [4200.0%] [    1234.5] [42.000000] [1] [  1]",
                ),
                ("{big:d}", "100000000000000000000"),
            ];
            for (template, expected) in cases {
                assert_eq!(ok(template), expected, "{template}");
            }
        }

        #[test]
        fn missing_keys_name_the_key() {
            assert_eq!(
                render("{nope}", &args()),
                Err(PublishError::missing_key("nope"))
            );
            assert_eq!(
                render("{d[x]}", &args()),
                Err(PublishError::missing_key("x"))
            );
            assert_eq!(
                render("{d[0]}", &args()),
                Err(PublishError::missing_key("0"))
            );
        }

        #[test]
        fn python_errors_are_errors() {
            for template in [
                "{", "}", "{s", "{}", "{0}", "{s!x}", "{s:d}", "{s:+}", "{s:=5}", "{s:05}",
                "{i:.2}", "{f:d}", "{z:>5}", "{d:>5}", "{l[x]}", "{l[9]}", "{s[x]}", "{i[0]}",
                "{d[k]x}", "{s:abc}", "{s:.}", "{s!}",
            ] {
                assert!(
                    matches!(render(template, &args()), Err(PublishError::Failed(_))),
                    "{template}"
                );
            }
        }

        #[test]
        fn beyond_the_subset_is_reported() {
            for template in [
                "{s.upper}",
                "{i:,}",
                "{f:g}",
                "{f:.2}",
                "{s:{i}}",
                "{f:#.0f}",
                "{i:c}",
            ] {
                let error = render(template, &args()).expect_err(template).to_string();
                assert!(
                    error.contains("beyond the supported"),
                    "{template}: {error}"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_record_keeps_python_chunk_boundaries() {
        let alert = Alert::new("r", json!({"k": "x".repeat(50)}), ["slack:c"]);
        let small = AttachFullRecord {
            max_attachment_length: 30,
            ..AttachFullRecord::default()
        };
        // A single line longer than the limit becomes its own chunk.
        let chunks = small.chunks(&alert.record);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[0], "\n{");
        let publication = small.publish(&alert, Publication::new()).unwrap();
        let attachments = publication["@slack.attachments"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(attachments.len(), 3);
        assert_eq!(attachments[1]["author"], "");
        assert_eq!(
            attachments[2]["footer"],
            "via <https://console.aws.amazon.com/None/home|None>"
        );
    }
}
