//! `teams`: a Microsoft Teams Office 365 connector card, as StreamAlert sends it through
//! pymsteams (spec `outputs.md` §2.20).

use crate::alert::{Alert, is_falsy};
use crate::json::py_str;
use crate::output::http::Http;
use crate::output::{Delivery, DispatchError, Output, OutputProperty};
use crate::publisher::Publication;
use serde_json::{Map, Value, json};
use std::time::Duration;

const SERVICE: &str = "teams";

/// pymsteams' timeout, kept (decision Q16).
pub(crate) const TEAMS_TIMEOUT: Duration = Duration::from_secs(60);

/// StreamAlert's default card colour (red).
pub(crate) const DEFAULT_COLOR: &str = "E81123";

/// Posts a MessageCard to a Teams incoming webhook (Office 365 connector).
///
/// Properties: `descriptor`, `url` (the full webhook URL; masked, secret; only spaces
/// forbidden, decision Q6). The URL's path is a secret and is redacted from errors.
///
/// Publication keys: `@teams.title` (default `StreamAlert Rule Triggered: <rule>`),
/// `@teams.description` (default the rule description), `@teams.card_color` (default
/// `E81123`; `red` in any case means `E81123`), `@teams.with_record` (default true: a section
/// with the record's keys in order and their Python `str()` values),
/// `@teams.additional_card_sections` (MessageCard section objects, one or a list),
/// `@teams.buttons` (a list of `[text, url]` pairs or `{"text", "url"}` objects, sent as
/// `ViewAction`s in `potentialAction`).
///
/// Request: `POST <url>`, JSON card (`title`, `text`, `themeColor`, `sections`, then
/// `potentialAction` when there are buttons), 60 s timeout. Any 2xx is success and the shared
/// retry policy applies (decision Q16; StreamAlert accepted only 200 and never retried).
///
/// ```
/// use streamalert::{Output, outputs::Teams};
/// let url = &Teams.properties()[1];
/// assert!(url.mask && url.secret);
/// assert_eq!(url.restrictions, [' ']);
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "teams", builtin)]
pub struct Teams;

#[async_trait::async_trait]
impl Output for Teams {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "a short and unique descriptor for this service configuration (ie: name of Team the webhook relates too)",
            ),
            OutputProperty::new("url", "the full teams webhook url, including the secret")
                .masked()
                .secret()
                .forbidding(&[' ']),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let http = Http::new(SERVICE, delivery).timeout(TEAMS_TIMEOUT);
        let url = http.url_credential("url")?;
        let card = message_card(delivery.alert, delivery.publication, http.output());
        http.post(url).json(&card).send().await.map(|_| ())
    }
}

/// The fields `teams` and `teams-workflows` share, read from `@<service>.*` keys.
pub(crate) struct CardFields {
    /// The card title.
    pub(crate) title: Value,
    /// The text under the title (the rule description by default; may be null).
    pub(crate) description: Value,
    /// The colour as given (`E81123` by default).
    pub(crate) color: Value,
    /// Whether the record section is included.
    pub(crate) with_record: bool,
    /// `(text, url)` of each valid button.
    pub(crate) buttons: Vec<(Value, Value)>,
}

impl CardFields {
    /// Reads the fields of `service` from `publication`.
    pub(crate) fn read(
        alert: &Alert,
        publication: &Publication,
        service: &str,
        output: &str,
    ) -> Self {
        let field = |name: &str| publication.get(&format!("@{service}.{name}"));
        Self {
            title: field("title").cloned().unwrap_or_else(|| {
                format!("StreamAlert Rule Triggered: {}", alert.rule_name).into()
            }),
            description: field("description")
                .cloned()
                .unwrap_or_else(|| json!(alert.rule_description)),
            color: field("card_color")
                .cloned()
                .unwrap_or_else(|| DEFAULT_COLOR.into()),
            with_record: field("with_record").is_none_or(|v| !is_falsy(v)),
            buttons: field("buttons")
                .map(|b| buttons(b, output))
                .unwrap_or_default(),
        }
    }
}

/// The `alert_id` and `rule_name` facts and the record facts (keys in order, values as
/// Python's `str()`), as `(name, value)` pairs.
pub(crate) fn record_facts(record: &Value) -> Vec<(String, String)> {
    match record {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), py_str(v))).collect(),
        Value::Null => Vec::new(),
        other => vec![("record".to_owned(), py_str(other))],
    }
}

/// The MessageCard StreamAlert sends.
///
/// ```
/// use streamalert::{Alert, Publication, outputs::teams::message_card};
/// let alert = Alert::new("r", serde_json::json!({"n": {"x": 1}}), ["teams:t"]);
/// let mut publication = Publication::new();
/// publication.insert("@teams.card_color", "RED");
/// let card = message_card(&alert, &publication, "teams:t");
/// assert_eq!(card["themeColor"], "E81123");
/// assert_eq!(card["sections"][1]["facts"][0], serde_json::json!({"name": "n", "value": "{'x': 1}"}));
/// ```
pub fn message_card(alert: &Alert, publication: &Publication, output: &str) -> Value {
    let fields = CardFields::read(alert, publication, SERVICE, output);
    let color = match &fields.color {
        Value::String(c) if c.eq_ignore_ascii_case("red") => DEFAULT_COLOR.into(),
        other => other.clone(),
    };
    let fact = |name: &str, value: &str| json!({"name": name, "value": value});
    let mut sections = vec![json!({
        "activityTitle": "Alert Info",
        "facts": [fact("rule_name", &alert.rule_name), fact("alert_id", &alert.alert_id)],
    })];
    if fields.with_record {
        let facts: Vec<Value> = record_facts(&alert.record)
            .iter()
            .map(|(name, value)| fact(name, value))
            .collect();
        sections.push(json!({"activityTitle": "StreamAlert Alert Record", "facts": facts}));
    }
    if let Some(extra) = publication.get("@teams.additional_card_sections") {
        let extra = match extra {
            Value::Array(list) => list.clone(),
            one => vec![one.clone()],
        };
        for section in extra {
            if section.is_object() {
                sections.push(section);
            } else {
                tracing::error!(
                    output,
                    "additional_section: {} is not a card section object",
                    py_str(&section)
                );
            }
        }
    }
    let mut card = Map::new();
    card.insert("title".into(), fields.title);
    card.insert("text".into(), fields.description);
    card.insert("themeColor".into(), color);
    card.insert("sections".into(), Value::Array(sections));
    if !fields.buttons.is_empty() {
        let actions = fields
            .buttons
            .into_iter()
            .map(|(text, url)| {
                json!({"@context": "http://schema.org", "@type": "ViewAction", "name": text, "target": [url]})
            })
            .collect();
        card.insert("potentialAction".into(), Value::Array(actions));
    }
    Value::Object(card)
}

/// `[text, url]` pairs or `{"text", "url"}` objects; anything else is logged and skipped.
fn buttons(value: &Value, output: &str) -> Vec<(Value, Value)> {
    let Some(list) = value.as_array() else {
        tracing::warn!(
            output,
            "buttons must be a list of [text, url] pairs; ignored"
        );
        return Vec::new();
    };
    list.iter()
        .filter_map(|button| {
            let pair = match button {
                Value::Array(pair) if pair.len() == 2 => Some((pair[0].clone(), pair[1].clone())),
                Value::Object(map) => map.get("text").cloned().zip(map.get("url").cloned()),
                _ => None,
            };
            if pair.is_none() {
                tracing::warn!(
                    output,
                    "button {} is not a [text, url] pair; skipped",
                    py_str(button)
                );
            }
            pair
        })
        .collect()
}
