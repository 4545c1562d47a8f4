//! `google-chat`: a card posted to a Google Chat space through an incoming webhook.

use super::teams::{CardFields, record_facts};
use crate::alert::Alert;
use crate::json::{PythonJson, py_str};
use crate::output::http::Http;
use crate::output::{Delivery, DispatchError, Output, OutputProperty};
use crate::publisher::Publication;
use crate::text::{elide_string_middle, html_escape};
use serde_json::{Value, json};

const SERVICE: &str = "google-chat";

/// The longest record value a card shows, in code points (longer ones are elided in the middle).
pub const MAX_VALUE_CHARS: usize = 2000;

/// The record widgets stop once their JSON reaches this many bytes (a Chat message holds at
/// most 32,000); a last line says how many record keys were left out.
pub const MAX_RECORD_BYTES: usize = 24_000;

/// How many record widgets show before the section is expanded.
const UNCOLLAPSED_WIDGETS: usize = 5;

/// Posts an alert card to a Google Chat space (incoming webhook, `cardsV2`).
///
/// Properties: `descriptor`, `url` (the webhook URL, whose `key` and `token` query parameters
/// are secrets; masked, secret, only spaces forbidden). Errors show the URL's host only.
///
/// Publication keys: `@google-chat.text` (a plain message above the card, none by default),
/// `@google-chat.title` (the card header, default `StreamAlert Rule Triggered: <rule>`),
/// `@google-chat.description` (the header's subtitle, default the rule description),
/// `@google-chat.with_record` (default true) and `@google-chat.buttons` (`[text, url]` pairs
/// or `{"text", "url"}` objects).
///
/// The card: a header; an `Alert Info` section (`rule_name`, `alert_id`, `log_source`); a
/// collapsible `Record` section with one `decoratedText` per record key (its Python `str()`
/// value HTML-escaped, elided to [`MAX_VALUE_CHARS`], at most [`MAX_RECORD_BYTES`] of them);
/// a section of buttons. Request: `POST <url>` with `Content-Type: application/json;
/// charset=UTF-8`; any 2xx is success, under the shared retry policy (Chat answers 429 when a
/// space gets more than one message a second).
///
/// ```
/// use streamalert::{Alert, Publication, outputs::google_chat::message};
/// let alert = Alert::new("r", serde_json::json!({"user": "<root>"}), ["google-chat:soc"]);
/// let message = message(&alert, &Publication::new(), "google-chat:soc");
/// let card = &message["cardsV2"][0]["card"];
/// assert_eq!(card["header"]["title"], "StreamAlert Rule Triggered: r");
/// assert_eq!(card["sections"][1]["widgets"][0]["decoratedText"]["text"], "&lt;root&gt;");
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "google-chat", builtin)]
pub struct GoogleChat;

#[async_trait::async_trait]
impl Output for GoogleChat {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "a short and unique descriptor for this Google Chat space (ie: space name)",
            ),
            OutputProperty::new(
                "url",
                "the full Google Chat webhook url, including its key and token",
            )
            .masked()
            .secret()
            .forbidding(&[' ']),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let http = Http::new(SERVICE, delivery);
        let url = http.url_credential("url")?;
        let message = message(delivery.alert, delivery.publication, http.output());
        http.post(url)
            .header("Content-Type", "application/json; charset=UTF-8")
            .json(&message)
            .send()
            .await
            .map(|_| ())
    }
}

/// The webhook message: `text` (when set) and one `cardsV2` card (see [`GoogleChat`]).
pub fn message(alert: &Alert, publication: &Publication, output: &str) -> Value {
    let fields = CardFields::read(alert, publication, SERVICE, output);
    let text = |value: &Value| match value {
        Value::String(s) => s.clone(),
        other => py_str(other),
    };
    let mut header = json!({"title": text(&fields.title)});
    if !fields.description.is_null() {
        header["subtitle"] = text(&fields.description).into();
    }
    let labelled = |label: &str, value: &str| {
        json!({"decoratedText": {
            "topLabel": label,
            "text": html_escape(&elide_string_middle(value, MAX_VALUE_CHARS)),
            "wrapText": true,
        }})
    };
    let mut info = vec![
        labelled("rule_name", &alert.rule_name),
        labelled("alert_id", &alert.alert_id),
    ];
    if let Some(source) = &alert.log_source {
        info.push(labelled("log_source", source));
    }
    let mut sections = vec![json!({"header": "Alert Info", "widgets": info})];
    if fields.with_record {
        let facts = record_facts(&alert.record);
        let mut widgets = Vec::new();
        let mut bytes = 0;
        for (key, value) in &facts {
            let widget = labelled(key, value);
            // Measured as sent: Python's `json.dumps`, non-ASCII characters escaped.
            bytes += PythonJson::DEFAULT.dump(&widget).len();
            if bytes > MAX_RECORD_BYTES {
                break;
            }
            widgets.push(widget);
        }
        let left_out = facts.len() - widgets.len();
        if left_out > 0 {
            tracing::warn!(output, "{left_out} record keys left out of the card");
            widgets.push(json!({"textParagraph": {
                "text": format!("<i>{left_out} more record keys not shown</i>"),
            }}));
        }
        sections.push(json!({
            "header": "Record",
            "collapsible": true,
            "uncollapsibleWidgetsCount": UNCOLLAPSED_WIDGETS,
            "widgets": widgets,
        }));
    }
    if !fields.buttons.is_empty() {
        let buttons: Vec<Value> = fields
            .buttons
            .iter()
            .map(|(label, url)| json!({"text": text(label), "onClick": {"openLink": {"url": text(url)}}}))
            .collect();
        sections.push(json!({"widgets": [{"buttonList": {"buttons": buttons}}]}));
    }
    let mut message = serde_json::Map::new();
    if let Some(value) = publication.get(&format!("@{SERVICE}.text")) {
        message.insert("text".into(), text(value).into());
    }
    message.insert(
        "cardsV2".into(),
        json!([{
            "cardId": format!("streamalert-{}", alert.alert_id),
            "card": {"header": header, "sections": sections},
        }]),
    );
    Value::Object(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_record_is_cut_to_fit_a_chat_message() {
        // Non-ASCII values: each character is sent as a 6-byte `\uXXXX` escape.
        let record: serde_json::Map<String, Value> = (0..100)
            .map(|i| (format!("k{i:03}"), Value::from("é".repeat(5000))))
            .collect();
        let alert = Alert::new("r", Value::Object(record), ["google-chat:c"]);
        let message = message(&alert, &Publication::new(), "google-chat:c");
        assert!(PythonJson::DEFAULT.dump(&message).len() < 32_000);
        let widgets = message["cardsV2"][0]["card"]["sections"][1]["widgets"]
            .as_array()
            .unwrap();
        let shown = widgets.len() - 1;
        assert_eq!(shown, 1, "two 12 KB widgets do not fit 24,000 bytes");
        let value = widgets[0]["decoratedText"]["text"].as_str().unwrap();
        assert_eq!(value.chars().count(), MAX_VALUE_CHARS - 1);
        assert_eq!(
            widgets[shown]["textParagraph"]["text"],
            format!("<i>{} more record keys not shown</i>", 100 - shown)
        );
    }
}
