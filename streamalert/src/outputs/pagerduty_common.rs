//! What the three PagerDuty outputs share: the Events API v2 event, the sanitising of images,
//! links and contexts, and which of their credentials are not secret.

use crate::alert::Alert;
use crate::json::{PythonJson, write_key, write_string};
use crate::output::DispatchError;
use crate::output::http::{Http, HttpReply, HttpRequest};
use crate::publisher::Publication;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::borrow::Cow;

/// StreamAlert's Events API v2 endpoint (default of `pagerduty-v2`'s `url` and of
/// `pagerduty-incident`'s `events_url`).
pub const EVENTS_V2_ENQUEUE_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// Credentials of the PagerDuty outputs that are configuration, not secrets: they may appear
/// in errors and logs. The keys, tokens and routing keys are redacted.
pub(crate) const PUBLIC_CREDENTIALS: &[&str] = &[
    "url",
    "api",
    "events_url",
    "email_from",
    "service_name",
    "service_id",
    "escalation_policy",
    "escalation_policy_id",
];

/// Sends a PagerDuty request and requires a non-empty JSON reply (decision Q2).
pub(crate) async fn send_for_json(request: HttpRequest<'_>) -> Result<Value, DispatchError> {
    request.send().await?.json_nonempty()
}

/// A reply's JSON, or `None` when it is empty or falsy (StreamAlert's `response or False`).
pub(crate) fn truthy_json(reply: &HttpReply<'_>) -> Result<Option<Value>, DispatchError> {
    let value = reply.json()?;
    Ok((!crate::alert::is_falsy(&value)).then_some(value))
}

/// The Events API v2 event of `pagerduty-v2` and `pagerduty-incident` (spec §2.16), reading
/// the `@pagerduty-v2.*` keys of `publication`; `with_record: false` leaves the record out of
/// the default `custom_details`.
///
/// ```
/// use streamalert::{Alert, Publication, outputs::pagerduty_common::events_v2_event};
/// let alert = Alert::new("r", serde_json::json!({"k": 1}), ["pagerduty-v2:p"]);
/// let mut publication = Publication::new();
/// publication.insert("@pagerduty-v2.severity", "info");
/// let event = events_v2_event(&alert, "p", "KEY", &publication, true);
/// assert_eq!(event.dedup_key, format!("p:{}", alert.alert_id));
/// let event = serde_json::to_value(&event).unwrap();
/// assert_eq!(event["payload"]["severity"], "info");
/// assert_eq!(event["payload"]["custom_details"]["record"]["k"], 1);
/// ```
pub fn events_v2_event<'a>(
    alert: &'a Alert,
    descriptor: &str,
    routing_key: &'a str,
    publication: &'a Publication,
    with_record: bool,
) -> Event<'a> {
    // Most publications set none of these keys: then no key is looked up.
    let keyed = publication
        .keys()
        .any(|key| key.starts_with("@pagerduty-v2."));
    let field = |name: &str| {
        keyed
            .then(|| publication.get(&format!("@pagerduty-v2.{name}")))
            .flatten()
    };
    let or_null = |name: &str| field(name).unwrap_or(&NULL);
    let summary = match field("summary") {
        Some(summary) => Cow::Borrowed(summary),
        None => Cow::Owned(format!("StreamAlert Rule Triggered - {}", alert.rule_name).into()),
    };
    let custom_details = match field("custom_details") {
        Some(custom) => Details::Custom(custom),
        None => Details::Default {
            description: &alert.rule_description,
            record: with_record.then_some(&alert.record),
        },
    };
    Event {
        routing_key,
        event_action: "trigger",
        dedup_key: format!("{descriptor}:{}", alert.alert_id),
        payload: EventPayload {
            summary,
            source: &alert.log_source,
            severity: field("severity").map_or(Cow::Owned("critical".into()), Cow::Borrowed),
            custom_details,
            component: or_null("component"),
            group: or_null("group"),
            class: or_null("class"),
        },
        client: "StreamAlert",
        client_url: or_null("client_url"),
        images: standardize_images(or_null("images")),
        links: standardize_links(or_null("links")),
    }
}

/// `null`, for the fields of an [`Event`] whose publication key is absent.
static NULL: Value = Value::Null;

/// An Events API v2 event ([`events_v2_event`]); it serializes with its fields in this order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event<'a> {
    /// The integration's routing key.
    pub routing_key: &'a str,
    /// `trigger`.
    pub event_action: &'static str,
    /// `<descriptor>:<alert id>`.
    pub dedup_key: String,
    /// What the alert says.
    pub payload: EventPayload<'a>,
    /// `StreamAlert`.
    pub client: &'static str,
    /// `@pagerduty-v2.client_url`, else `null`.
    pub client_url: &'a Value,
    /// `@pagerduty-v2.images`, sanitised ([`standardize_images`]).
    pub images: Value,
    /// `@pagerduty-v2.links`, sanitised ([`standardize_links`]).
    pub links: Value,
}

impl Event<'_> {
    /// The event as Python's `json.dumps` writes it: the bytes
    /// [`PythonJson::serialize`] makes of `self`, written with the crate's own writer, which
    /// copies the runs between escapes at once (serde_json's looks at every byte of the record
    /// twice).
    ///
    /// ```
    /// use streamalert::{Alert, Publication, outputs::pagerduty_common::events_v2_event};
    /// let alert = Alert::new("r", serde_json::json!({"k": "é"}), ["pagerduty-v2:p"]);
    /// let publication = Publication::new();
    /// let json = events_v2_event(&alert, "p", "KEY", &publication, true).to_json();
    /// assert!(json.starts_with(r#"{"routing_key": "KEY", "event_action": "trigger""#));
    /// assert!(json.contains(r#""record": {"k": "\u00e9"}"#));
    /// ```
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(512);
        out.push_str("{\"routing_key\": ");
        write_string(&mut out, self.routing_key, true);
        write_key(&mut out, "event_action");
        write_string(&mut out, self.event_action, true);
        write_key(&mut out, "dedup_key");
        write_string(&mut out, &self.dedup_key, true);
        write_key(&mut out, "payload");
        self.payload.write_json(&mut out);
        write_key(&mut out, "client");
        write_string(&mut out, self.client, true);
        for (name, value) in [
            ("client_url", self.client_url),
            ("images", &self.images),
            ("links", &self.links),
        ] {
            write_key(&mut out, name);
            DUMP.dump_to(&mut out, value);
        }
        out.push('}');
        out
    }
}

/// The settings of the request body: `json.dumps(event)`.
const DUMP: PythonJson = PythonJson::DEFAULT;

/// Appends `value` as a JSON string, or `null`.
fn write_optional_string(out: &mut String, value: Option<&str>) {
    match value {
        Some(text) => write_string(out, text, true),
        None => out.push_str("null"),
    }
}

/// The `payload` of an [`Event`]: each field is its `@pagerduty-v2.<field>` key when the
/// publication has it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventPayload<'a> {
    /// Default `StreamAlert Rule Triggered - <rule>`.
    pub summary: Cow<'a, Value>,
    /// The alert's log source.
    pub source: &'a Option<String>,
    /// Default `critical`.
    pub severity: Cow<'a, Value>,
    /// Default `{"description": <rule description>, "record": <record>}`.
    pub custom_details: Details<'a>,
    /// Default `null`.
    pub component: &'a Value,
    /// Default `null`.
    pub group: &'a Value,
    /// Default `null`.
    pub class: &'a Value,
}

impl EventPayload<'_> {
    /// Appends the payload as `json.dumps` writes it (see [`Event::to_json`]).
    fn write_json(&self, out: &mut String) {
        out.push_str("{\"summary\": ");
        DUMP.dump_to(out, &self.summary);
        write_key(out, "source");
        write_optional_string(out, self.source.as_deref());
        write_key(out, "severity");
        DUMP.dump_to(out, &self.severity);
        write_key(out, "custom_details");
        match &self.custom_details {
            Details::Custom(value) => DUMP.dump_to(out, value),
            Details::Default {
                description,
                record,
            } => {
                out.push_str("{\"description\": ");
                write_optional_string(out, description.as_deref());
                if let Some(record) = record {
                    write_key(out, "record");
                    DUMP.dump_to(out, record);
                }
                out.push('}');
            }
        }
        for (name, value) in [
            ("component", self.component),
            ("group", self.group),
            ("class", self.class),
        ] {
            write_key(out, name);
            DUMP.dump_to(out, value);
        }
        out.push('}');
    }
}

/// The `custom_details` of an [`EventPayload`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Details<'a> {
    /// `@pagerduty-v2.custom_details`, as published.
    Custom(&'a Value),
    /// The rule's description, and the record unless left out.
    Default {
        /// The rule's description (`null` without one).
        description: &'a Option<String>,
        /// The record.
        #[serde(skip_serializing_if = "Option::is_none")]
        record: Option<&'a Value>,
    },
}

/// `@pagerduty-v2.images`: objects with a `src` become `{"src", "href", "alt"}` (missing
/// `href`/`alt` as `""`); everything else is dropped; a non-list gives `[]`.
///
/// ```
/// use serde_json::json;
/// use streamalert::outputs::pagerduty_common::standardize_images;
/// assert_eq!(
///     standardize_images(&json!([{"src": "s", "alt": "a"}, {"href": "h"}, "x"])),
///     json!([{"src": "s", "href": "", "alt": "a"}])
/// );
/// ```
pub fn standardize_images(images: &Value) -> Value {
    let kept = list_of_objects(images)
        .filter_map(|image| {
            let src = image.get("src")?;
            let text = |key: &str| image.get(key).cloned().unwrap_or_else(|| "".into());
            Some(json!({"src": src, "href": text("href"), "alt": text("alt")}))
        })
        .collect();
    Value::Array(kept)
}

/// `@pagerduty-v2.links`: objects with an `href` become `{"href", "text"}` (`text` defaults
/// to the `href`); everything else is dropped; a non-list gives `[]`.
///
/// ```
/// use serde_json::json;
/// use streamalert::outputs::pagerduty_common::standardize_links;
/// assert_eq!(
///     standardize_links(&json!([{"href": "h"}, {"text": "t"}])),
///     json!([{"href": "h", "text": "h"}])
/// );
/// ```
pub fn standardize_links(links: &Value) -> Value {
    let kept = list_of_objects(links)
        .filter_map(|link| {
            let href = link.get("href")?;
            let text = link.get("text").unwrap_or(href);
            Some(json!({"href": href, "text": text}))
        })
        .collect();
    Value::Array(kept)
}

/// `@pagerduty.contexts` (Events API v1): `link` contexts need `href` and `text`, `image`
/// contexts need `src`; each is rebuilt with only those keys; everything else is dropped. A
/// non-list logs `Invalid pagerduty.contexts provided: Not an array` and gives `[]`.
///
/// ```
/// use serde_json::json;
/// use streamalert::outputs::pagerduty_common::strip_invalid_contexts;
/// assert_eq!(
///     strip_invalid_contexts(&json!([{"type": "image", "src": "s", "alt": "x"}, {"type": "link", "href": "h"}])),
///     json!([{"type": "image", "src": "s"}])
/// );
/// assert_eq!(strip_invalid_contexts(&json!({"type": "link"})), json!([]));
/// ```
pub fn strip_invalid_contexts(contexts: &Value) -> Value {
    if !contexts.is_array() {
        tracing::warn!("Invalid pagerduty.contexts provided: Not an array");
        return json!([]);
    }
    let kept = list_of_objects(contexts)
        .filter_map(|context| match context.get("type")?.as_str()? {
            "link" => Some(json!({
                "type": "link",
                "href": context.get("href")?,
                "text": context.get("text")?,
            })),
            "image" => Some(json!({"type": "image", "src": context.get("src")?})),
            _ => None,
        })
        .collect();
    Value::Array(kept)
}

fn list_of_objects(value: &Value) -> impl Iterator<Item = &Map<String, Value>> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

/// The HTTP context of a PagerDuty delivery: secrets redacted, configuration shown.
pub(crate) fn http<'a>(service: &str, delivery: &crate::output::Delivery<'a>) -> Http<'a> {
    Http::new(service, delivery).public(PUBLIC_CREDENTIALS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The body written by hand is byte for byte what serde_json writes of the same event
    /// through the Python formatter: the default event (with and without the record, with and
    /// without a log source and description) and one with every `@pagerduty-v2.*` key, with
    /// every kind of character to escape.
    #[test]
    fn the_body_is_what_the_python_serializer_writes() {
        let tricky = crate::outputs::text_to_escape();
        let mut alert = crate::outputs::alert_to_escape("pagerduty-v2:p");
        alert.log_source = Some(tricky.clone());
        let bare = Alert::new("r", json!({}), ["pagerduty-v2:p"]);
        let mut keyed = Publication::new();
        for (field, value) in [
            ("summary", json!(tricky.clone())),
            ("severity", json!("info")),
            ("custom_details", json!({"t": tricky.clone(), "n": 1.50})),
            ("component", json!(tricky.clone())),
            ("group", json!(["g", 1])),
            ("class", json!(null)),
            ("client_url", json!("https://é.example")),
            ("images", json!([{"src": tricky.clone(), "alt": "a"}, "x"])),
            (
                "links",
                json!([{"href": "h"}, {"href": "h2", "text": tricky.clone()}]),
            ),
        ] {
            keyed.insert(format!("@pagerduty-v2.{field}"), value);
        }
        let default = Publication::new();
        for (alert, publication, with_record) in [
            (&alert, &default, true),
            (&alert, &default, false),
            (&bare, &default, true),
            (&alert, &keyed, true),
        ] {
            let event = events_v2_event(alert, "p", &tricky, publication, with_record);
            assert_eq!(event.to_json(), DUMP.serialize(&event));
        }
    }
}
