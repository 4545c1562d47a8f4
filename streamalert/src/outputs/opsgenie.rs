//! `opsgenie`: an Opsgenie alert created through the Alert API v2 (`POST /v2/alerts`).

use crate::alert::Alert;
use crate::json::{PythonJson, py_str};
use crate::output::http::{Http, HttpRequest, Url};
use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use crate::publisher::Publication;
use crate::text::elide_string_middle;
use serde_json::{Map, Value, json};

const SERVICE: &str = "opsgenie";

/// The Alert API of Opsgenie's US instance (`region` `us`, the default).
pub const US_API: &str = "https://api.opsgenie.com";

/// The Alert API of Opsgenie's EU instance (`region` `eu`).
pub const EU_API: &str = "https://api.eu.opsgenie.com";

/// The priority of an alert whose publication sets none (Opsgenie's own default).
pub const DEFAULT_PRIORITY: &str = "P3";

/// Opsgenie's limits, in code points: longer values are elided in the middle.
const MAX_MESSAGE: usize = 130;
const MAX_ALIAS: usize = 512;
const MAX_DESCRIPTION: usize = 15_000;
const MAX_TAG: usize = 50;
const MAX_TAGS: usize = 20;

/// Stored values that are configuration, shown in errors and logs (the API key is redacted).
const PUBLIC: &[&str] = &["region", "url"];

/// Creates an Opsgenie alert for each delivery (Alert API v2).
///
/// Properties: `descriptor`; `api_key` (the key of an Opsgenie *API integration*; masked,
/// secret, sent as `Authorization: GenieKey <key>` and redacted from every error and log);
/// `region` (`us` for `api.opsgenie.com`, `eu` for `api.eu.opsgenie.com`; blank means `us`,
/// anything else is a configuration error). A stored `url` replaces the region's base URL
/// (decision Q11).
///
/// Publication keys (all optional):
/// * `@opsgenie.message` — default `StreamAlert Rule Triggered: <rule>` (elided to 130 code
///   points, Opsgenie's limit);
/// * `@opsgenie.alias` — the de-duplication key, default the alert id: Opsgenie counts a
///   retried delivery on the alert it opened (while open) instead of opening another;
/// * `@opsgenie.description` — default the rule description and the record as indented JSON
///   (elided to 15,000 code points);
/// * `@opsgenie.priority` — `P1` … `P5` (any case), default [`DEFAULT_PRIORITY`]; another
///   value is logged and replaced by the default;
/// * `@opsgenie.tags` — a list (at most 20 tags of 50 code points), default
///   `["streamalert", <rule>]`;
/// * `@opsgenie.details` — an object of custom properties (non-text values sent as compact
///   JSON), default the alert's `rule_name`, `alert_id`, `log_source`, `log_type`, `cluster`,
///   `source_entity`, `source_service` (those set and not empty);
/// * `@opsgenie.responders` — a list of responder objects (`{"type": "team", "name": …}`),
///   sent as is.
///
/// A malformed `tags`, `details` or `responders` fails the delivery with an error naming the
/// key. Request: `POST <base>/v2/alerts`, JSON; any 2xx is success (Opsgenie answers 202 and
/// creates the alert asynchronously), under the shared retry policy.
///
/// ```
/// use streamalert::{Output, outputs::Opsgenie};
/// let names: Vec<_> = Opsgenie.properties().iter().map(|p| p.name).collect();
/// assert_eq!(names, ["descriptor", "api_key", "region"]);
/// assert!(Opsgenie.properties()[1].mask && Opsgenie.properties()[1].secret);
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "opsgenie", builtin)]
pub struct Opsgenie;

#[async_trait::async_trait]
impl Output for Opsgenie {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "a short and unique descriptor for this Opsgenie integration (ie: team name)",
            ),
            OutputProperty::new("api_key", "the API key of the Opsgenie API integration")
                .masked()
                .secret(),
            OutputProperty::new(
                "region",
                "the Opsgenie instance: us (api.opsgenie.com) or eu (api.eu.opsgenie.com)",
            )
            .secret(),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let http = Http::new(SERVICE, delivery).public(PUBLIC);
        request(&http, delivery)?.send().await.map(|_| ())
    }
}

/// The request `opsgenie` sends for `delivery`, built but not sent: `POST <base>/v2/alerts`
/// with `Authorization: GenieKey <api_key>` and the [`alert_body`]. `http` is the delivery's
/// HTTP context (`Http::new("opsgenie", delivery)`).
///
/// `Err` when no `api_key` is stored, the `region` is neither `us` nor `eu`, or a publication
/// key is malformed.
///
/// ```
/// use streamalert::{Alert, Publication, outputs::opsgenie};
/// use streamalert::output::{Credentials, Delivery, http::Http};
/// let alert = Alert::new("r", serde_json::json!({"k": 1}), ["opsgenie:soc"]);
/// let publication = Publication::new();
/// let credentials = Credentials::from_iter([("api_key", "k3y"), ("region", "EU")]);
/// let delivery = Delivery::new(&alert, "soc", &publication).with_credentials(&credentials);
/// let http = Http::new("opsgenie", &delivery);
/// let request = opsgenie::request(&http, &delivery).unwrap();
/// assert_eq!(request.url().as_str(), "https://api.eu.opsgenie.com/v2/alerts");
/// ```
pub fn request<'h>(
    http: &'h Http<'_>,
    delivery: &Delivery<'_>,
) -> Result<HttpRequest<'h>, DispatchError> {
    let api_key = http.credential("api_key")?;
    let url = Http::join(&base_url(http, delivery)?, "v2/alerts")?;
    let body = alert_body(delivery.alert, delivery.publication, http.output())
        .map_err(|message| http.error(ErrorKind::Publish, message))?;
    Ok(http
        .post(url)
        .header("Authorization", format!("GenieKey {api_key}"))
        .json(&body))
}

/// The region's base URL, or the stored `url`.
fn base_url(http: &Http<'_>, delivery: &Delivery<'_>) -> Result<Url, DispatchError> {
    let region = delivery
        .credentials
        .require("region")
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let default = match region.as_str() {
        "" | "us" => US_API,
        "eu" => EU_API,
        other => {
            return Err(http.error(
                ErrorKind::Config,
                format!("the stored `region` must be `us` or `eu`, not {other:?}"),
            ));
        }
    };
    http.endpoint("url", default)
}

/// The create-alert body: `message`, `alias`, `description`, `responders` (when set), `tags`,
/// `details`, `source` (`StreamAlert`), `priority`. `Err` names a malformed publication key.
///
/// ```
/// use streamalert::{Alert, Publication, outputs::opsgenie::alert_body};
/// let alert = Alert::new("root_login", serde_json::json!({"host": "web-1"}), ["opsgenie:soc"]);
/// let mut publication = Publication::new();
/// publication.insert("@opsgenie.priority", "p1");
/// let body = alert_body(&alert, &publication, "opsgenie:soc").unwrap();
/// assert_eq!(body["message"], "StreamAlert Rule Triggered: root_login");
/// assert_eq!(body["alias"], alert.alert_id.as_str());
/// assert_eq!(body["priority"], "P1");
/// assert_eq!(body["tags"], serde_json::json!(["streamalert", "root_login"]));
/// ```
pub fn alert_body(alert: &Alert, publication: &Publication, output: &str) -> Result<Value, String> {
    let field = |name: &str| publication.get(&format!("@{SERVICE}.{name}"));
    let text = |name: &str, default: String, max: usize| {
        let value = field(name).map_or(default, |v| match v {
            Value::String(s) => s.clone(),
            other => py_str(other),
        });
        elide_string_middle(&value, max)
    };
    let mut body = Map::new();
    body.insert(
        "message".into(),
        text(
            "message",
            format!("StreamAlert Rule Triggered: {}", alert.rule_name),
            MAX_MESSAGE,
        )
        .into(),
    );
    body.insert(
        "alias".into(),
        text("alias", alert.alert_id.clone(), MAX_ALIAS).into(),
    );
    body.insert(
        "description".into(),
        text("description", default_description(alert), MAX_DESCRIPTION).into(),
    );
    if let Some(responders) = field("responders") {
        if !responders.is_array() {
            return Err(format!(
                "`@{SERVICE}.responders` must be a list of responder objects"
            ));
        }
        body.insert("responders".into(), responders.clone());
    }
    body.insert("tags".into(), tags(alert, field("tags"), output)?);
    body.insert("details".into(), details(alert, field("details"))?);
    body.insert("source".into(), "StreamAlert".into());
    body.insert(
        "priority".into(),
        priority(field("priority"), output).into(),
    );
    Ok(Value::Object(body))
}

/// The rule description (Python's `None` when unset) and the record as indented JSON.
fn default_description(alert: &Alert) -> String {
    let description = alert.rule_description.as_deref().unwrap_or("None");
    let record = PythonJson::pretty(2).keep_unicode().dump(&alert.record);
    format!("{description}\n\nRecord:\n{record}")
}

/// `P1` … `P5`, else the default (logged when a value was given).
fn priority(value: Option<&Value>, output: &str) -> String {
    let Some(value) = value else {
        return DEFAULT_PRIORITY.to_owned();
    };
    let text = value
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_ascii_uppercase();
    if matches!(text.as_str(), "P1" | "P2" | "P3" | "P4" | "P5") {
        return text;
    }
    tracing::warn!(
        output,
        "priority {} is not one of P1-P5; using {DEFAULT_PRIORITY}",
        py_str(value)
    );
    DEFAULT_PRIORITY.to_owned()
}

fn tags(alert: &Alert, custom: Option<&Value>, output: &str) -> Result<Value, String> {
    let tags: Vec<String> = match custom {
        None => vec!["streamalert".to_owned(), alert.rule_name.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => s.clone(),
                other => py_str(other),
            })
            .collect(),
        Some(_) => return Err(format!("`@{SERVICE}.tags` must be a list of tags")),
    };
    if tags.len() > MAX_TAGS {
        tracing::warn!(
            output,
            "{} tags truncated to Opsgenie's {MAX_TAGS}",
            tags.len()
        );
    }
    Ok(tags
        .iter()
        .take(MAX_TAGS)
        .map(|tag| Value::from(elide_string_middle(tag, MAX_TAG)))
        .collect())
}

fn details(alert: &Alert, custom: Option<&Value>) -> Result<Value, String> {
    match custom {
        Some(Value::Object(map)) => Ok(map
            .iter()
            .map(|(key, value)| {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => PythonJson::COMPACT.dump(other),
                };
                (key.clone(), Value::from(text))
            })
            .collect::<Map<_, _>>()
            .into()),
        Some(_) => Err(format!(
            "`@{SERVICE}.details` must be an object of custom properties"
        )),
        None => {
            let optional = [
                ("log_source", &alert.log_source),
                ("log_type", &alert.log_type),
                ("cluster", &alert.cluster),
                ("source_entity", &alert.source_entity),
                ("source_service", &alert.source_service),
            ];
            let mut map = Map::new();
            map.insert("rule_name".into(), alert.rule_name.clone().into());
            map.insert("alert_id".into(), alert.alert_id.clone().into());
            for (key, value) in optional {
                if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                    map.insert(key.into(), value.into());
                }
            }
            Ok(json!(map))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_elided_to_opsgenie_limits() {
        let alert = Alert::new("r", json!({}), ["opsgenie:o"]);
        let mut publication = Publication::new();
        publication.insert("@opsgenie.message", "m".repeat(500));
        publication.insert("@opsgenie.tags", json!(["t".repeat(80), 7]));
        let body = alert_body(&alert, &publication, "o").unwrap();
        // Elided in the middle (Python's `elide_string_middle`: an odd length for an even limit).
        let message = body["message"].as_str().unwrap();
        assert_eq!(message.chars().count(), 129);
        assert!(message.contains(" ... "), "{message}");
        assert_eq!(body["tags"][0].as_str().unwrap().chars().count(), 49);
        assert_eq!(body["tags"][1], "7");
        let many: Vec<String> = (0..25).map(|i| format!("t{i}")).collect();
        publication.insert("@opsgenie.tags", json!(many));
        let body = alert_body(&alert, &publication, "o").unwrap();
        assert_eq!(body["tags"].as_array().unwrap().len(), 20);
    }

    #[test]
    fn malformed_keys_are_named_and_bad_priorities_fall_back() {
        let alert = Alert::new("r", json!({}), ["opsgenie:o"]);
        for (key, value) in [
            ("@opsgenie.tags", json!("one")),
            ("@opsgenie.details", json!([1])),
            ("@opsgenie.responders", json!({"type": "team"})),
        ] {
            let mut publication = Publication::new();
            publication.insert(key, value);
            let error = alert_body(&alert, &publication, "o").unwrap_err();
            assert!(error.contains(key), "{error}");
        }
        assert_eq!(priority(Some(&json!("P7")), "o"), "P3");
        assert_eq!(priority(Some(&json!(" p5 ")), "o"), "P5");
    }

    #[test]
    fn custom_details_are_text() {
        let alert = Alert::new("r", json!({}), ["opsgenie:o"]);
        let mut publication = Publication::new();
        publication.insert(
            "@opsgenie.details",
            json!({"n": 1, "o": {"a": [true]}, "s": "x"}),
        );
        let body = alert_body(&alert, &publication, "o").unwrap();
        assert_eq!(
            body["details"],
            json!({"n": "1", "o": "{\"a\":[true]}", "s": "x"})
        );
    }
}
