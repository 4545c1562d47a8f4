//! `teams-workflows`: a Microsoft Teams channel message posted through a Workflows (Power
//! Automate) "post to a channel when a webhook request is received" URL, carrying an Adaptive
//! Card. Office 365 connectors, which the `teams` output uses, are being retired.

use super::teams::{CardFields, DEFAULT_COLOR, TEAMS_TIMEOUT, record_facts};
use crate::alert::Alert;
use crate::json::py_str;
use crate::output::http::Http;
use crate::output::{Delivery, DispatchError, Output, OutputProperty};
use crate::publisher::Publication;
use serde_json::{Value, json};

const SERVICE: &str = "teams-workflows";

/// The Adaptive Card schema version sent (Teams renders up to 1.5).
pub const ADAPTIVE_CARD_VERSION: &str = "1.4";

/// The Adaptive Card text colours a `card_color` may name.
const ADAPTIVE_COLORS: &[&str] = &[
    "default",
    "dark",
    "light",
    "accent",
    "good",
    "warning",
    "attention",
];

/// Posts an Adaptive Card to a Teams Workflows webhook.
///
/// Properties: `descriptor`, `url` (the workflow's HTTP trigger URL, whose `sig` query
/// parameter is a secret; masked, secret, only spaces forbidden). Errors show the URL's host
/// only.
///
/// Publication keys (the same as `teams`, under `@teams-workflows.`): `title` (default
/// `StreamAlert Rule Triggered: <rule>`), `description` (default the rule description),
/// `card_color` (an Adaptive Card colour name: `attention` by default; `red` and StreamAlert's
/// `E81123` mean `attention`; any other value is logged and replaced by `attention`),
/// `with_record` (default true), `facts` (extra facts: an object, or a list of
/// `{"title", "value"}` objects) and `buttons` (`[text, url]` pairs or `{"text", "url"}`).
///
/// The request body (`POST <url>`, JSON, 60 s timeout, any 2xx is success — Workflows answers
/// 202):
///
/// ```text
/// {"type": "message",
///  "attachments": [{
///    "contentType": "application/vnd.microsoft.card.adaptive",
///    "contentUrl": null,
///    "content": {
///      "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
///      "type": "AdaptiveCard", "version": "1.4", "msteams": {"width": "Full"},
///      "body": [
///        {"type": "TextBlock", "text": <title>, "size": "Large", "weight": "Bolder", "color": <colour>, "wrap": true},
///        {"type": "TextBlock", "text": <description>, "wrap": true},          (when not null)
///        {"type": "FactSet", "facts": [{"title": "rule_name", "value": …}, {"title": "alert_id", "value": …}, <facts>…]},
///        {"type": "TextBlock", "text": "StreamAlert Alert Record", "weight": "Bolder", "separator": true, "wrap": true},
///        {"type": "FactSet", "facts": [{"title": <record key>, "value": <Python str() of value>}, …]}   (unless with_record is false)
///      ],
///      "actions": [{"type": "Action.OpenUrl", "title": <text>, "url": <url>}, …]   (when there are buttons)
///    }}]}
/// ```
///
/// ```
/// use streamalert::{Alert, Publication, outputs::teams_workflows::adaptive_card};
/// let alert = Alert::new("r", serde_json::json!({"user": "root"}), ["teams-workflows:soc"]);
/// let card = adaptive_card(&alert, &Publication::new(), "teams-workflows:soc");
/// let content = &card["attachments"][0]["content"];
/// assert_eq!(content["type"], "AdaptiveCard");
/// assert_eq!(content["body"][0]["text"], "StreamAlert Rule Triggered: r");
/// assert_eq!(content["body"][0]["color"], "attention");
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "teams-workflows", builtin)]
pub struct TeamsWorkflows;

#[async_trait::async_trait]
impl Output for TeamsWorkflows {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "a short and unique descriptor for this Teams Workflows webhook (ie: name of the Team or channel)",
            ),
            OutputProperty::new(
                "url",
                "the full Teams Workflows webhook url, including its signature",
            )
            .masked()
            .secret()
            .forbidding(&[' ']),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let http = Http::new(SERVICE, delivery).timeout(TEAMS_TIMEOUT);
        let url = http.url_credential("url")?;
        let card = adaptive_card(delivery.alert, delivery.publication, http.output());
        http.post(url).json(&card).send().await.map(|_| ())
    }
}

/// The Workflows message carrying the Adaptive Card (shape above).
pub fn adaptive_card(alert: &Alert, publication: &Publication, output: &str) -> Value {
    let fields = CardFields::read(alert, publication, SERVICE, output);
    let fact = |title: &str, value: &str| json!({"title": title, "value": value});
    let mut body = vec![json!({
        "type": "TextBlock", "text": fields.title, "size": "Large", "weight": "Bolder",
        "color": color(&fields.color, output), "wrap": true,
    })];
    if !fields.description.is_null() {
        body.push(json!({"type": "TextBlock", "text": fields.description, "wrap": true}));
    }
    let mut info = vec![
        fact("rule_name", &alert.rule_name),
        fact("alert_id", &alert.alert_id),
    ];
    if let Some(extra) = publication.get(&format!("@{SERVICE}.facts")) {
        info.extend(extra_facts(extra, output));
    }
    body.push(json!({"type": "FactSet", "facts": info}));
    if fields.with_record {
        body.push(json!({
            "type": "TextBlock", "text": "StreamAlert Alert Record", "weight": "Bolder",
            "separator": true, "wrap": true,
        }));
        let facts: Vec<Value> = record_facts(&alert.record)
            .iter()
            .map(|(title, value)| fact(title, value))
            .collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    let mut content = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    });
    if !fields.buttons.is_empty() {
        let actions: Vec<Value> = fields
            .buttons
            .into_iter()
            .map(|(text, url)| json!({"type": "Action.OpenUrl", "title": text, "url": url}))
            .collect();
        content["actions"] = Value::Array(actions);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": content,
        }],
    })
}

/// An Adaptive Card colour name for `card_color`.
fn color(value: &Value, output: &str) -> &'static str {
    let text = value.as_str().unwrap_or_default().to_ascii_lowercase();
    if text == "red" || text.eq_ignore_ascii_case(DEFAULT_COLOR) {
        return "attention";
    }
    match ADAPTIVE_COLORS.iter().find(|c| **c == text) {
        Some(color) => color,
        None => {
            tracing::warn!(
                output,
                "card_color {} is not an Adaptive Card colour; using attention",
                py_str(value)
            );
            "attention"
        }
    }
}

/// `facts` as an object (key → value) or a list of `{"title", "value"}` objects.
fn extra_facts(value: &Value, output: &str) -> Vec<Value> {
    let pair = |title: &str, value: &Value| json!({"title": title, "value": py_str(value)});
    match value {
        Value::Object(map) => map.iter().map(|(k, v)| pair(k, v)).collect(),
        Value::Array(list) => list
            .iter()
            .filter_map(|item| {
                let title = item.get("title")?;
                Some(pair(
                    &py_str(title),
                    item.get("value").unwrap_or(&Value::Null),
                ))
            })
            .collect(),
        other => {
            tracing::warn!(
                output,
                "facts {} are neither an object nor a list; ignored",
                py_str(other)
            );
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_map_to_adaptive_names() {
        assert_eq!(color(&json!("RED"), "o"), "attention");
        assert_eq!(color(&json!("e81123"), "o"), "attention");
        assert_eq!(color(&json!("good"), "o"), "good");
        assert_eq!(color(&json!("#00ff00"), "o"), "attention");
    }

    #[test]
    fn facts_buttons_and_record_switch() {
        let alert = Alert::new("r", json!({"k": [1]}), ["teams-workflows:t"]);
        let mut publication = Publication::new();
        publication.insert("@teams-workflows.facts", json!({"host": "h1", "n": 2}));
        publication.insert("@teams-workflows.buttons", json!([["Open", "https://x"]]));
        publication.insert("@teams-workflows.with_record", false);
        let card = adaptive_card(&alert, &publication, "o");
        let content = &card["attachments"][0]["content"];
        assert_eq!(
            content["body"][1]["facts"][2],
            json!({"title": "host", "value": "h1"})
        );
        assert_eq!(
            content["body"][1]["facts"][3],
            json!({"title": "n", "value": "2"})
        );
        assert_eq!(content["body"].as_array().unwrap().len(), 2);
        assert_eq!(
            content["actions"][0],
            json!({"type": "Action.OpenUrl", "title": "Open", "url": "https://x"})
        );
    }
}
