//! `demisto`: a Demisto (Cortex XSOAR) incident per alert (spec `outputs.md` §2.10).

use crate::alert::Alert;
use crate::json::py_str;
use crate::output::http::Http;
use crate::output::{Delivery, DispatchError, Output, OutputProperty};
use crate::publisher::Publication;
use serde_json::{Map, Value, json};

const SERVICE: &str = "demisto";

/// Creates a Demisto incident for an alert; its playbook starts at once.
///
/// Properties: `descriptor`; `url` (the Demisto server, `https://hostname`; secret, only
/// spaces forbidden); `token` (the API token; masked, secret).
///
/// Publication keys (see [`incident`]): `@demisto.incident_type`, `.playbook`, `.severity`,
/// `.owner`, `.details`, `.incident_name`, `.label_data`.
///
/// Request: `POST <url>/incident` with `Accept: application/json`,
/// `Content-type: application/json`, `Authorization: <token>` (the raw token) and the
/// incident; any 2xx is success (Demisto answers 201). Unlike StreamAlert, TLS certificates
/// are verified unless the descriptor opts out (decision Q8).
///
/// ```
/// use streamalert::{Output, outputs::Demisto};
/// let names: Vec<_> = Demisto.properties().iter().map(|p| p.name).collect();
/// assert_eq!(names, ["descriptor", "url", "token"]);
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "demisto", builtin)]
pub struct Demisto;

#[async_trait::async_trait]
impl Output for Demisto {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor("a short and unique descriptor for this demisto output"),
            OutputProperty::new("url", "URL to the Demisto server [https://hostname]")
                .secret()
                .forbidding(&[' ']),
            OutputProperty::new("token", "Demisto API token")
                .masked()
                .secret(),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let http = Http::new(SERVICE, delivery).public(&["url"]);
        let token = http.credential("token")?;
        let url = Http::join(&http.url_credential("url")?, "incident")?;
        let body = incident(delivery.alert, delivery.publication);
        tracing::debug!(output = %http.output(), "Sending alert to Demisto");
        http.post(url)
            .header("Accept", "application/json")
            .header("Content-type", "application/json")
            .header("Authorization", token)
            .json(&body)
            .send()
            .await
            .map(|_| ())
            .inspect_err(|error| {
                tracing::error!(output = %http.output(), "Failed to create Demisto incident: {error}.");
            })
    }
}

/// The incident, in Demisto's key order:
/// `{"type", "name", "owner", "playbook", "severity", "labels", "customFields": {}, "details",
/// "createInvestigation": true}`.
///
/// | field | publication key | default |
/// |---|---|---|
/// | `type` | `@demisto.incident_type` (as text) | `Unclassified` |
/// | `name` | `@demisto.incident_name` (as text) | the rule name |
/// | `owner` | `@demisto.owner` (as text) | `StreamAlert` |
/// | `playbook` | `@demisto.playbook` (as given) | `Unknown` |
/// | `severity` | `@demisto.severity` through [`severity`] | `unknown` → 0 |
/// | `labels` | `@demisto.label_data` through [`labels`] | the whole publication |
/// | `details` | `@demisto.details` (as text) | the rule description (`None` if missing, decision Q17) |
///
/// "As text" is Python's `str()` of the value.
///
/// ```
/// use streamalert::{Alert, Publication, outputs::demisto::incident};
/// let alert = Alert::new("r", serde_json::json!({}), ["demisto:soc"]);
/// let mut publication = Publication::new();
/// publication.insert("@demisto.severity", "HIGH");
/// publication.insert("@demisto.label_data", serde_json::json!({"host": "web-1"}));
/// let body = incident(&alert, &publication);
/// assert_eq!(body["severity"], 3);
/// assert_eq!(body["details"], "None");
/// assert_eq!(body["labels"], serde_json::json!([{"type": "host", "value": "web-1"}]));
/// ```
pub fn incident(alert: &Alert, publication: &Publication) -> Value {
    let field = |name: &str| publication.get(&format!("@{SERVICE}.{name}"));
    let text = |name: &str, default: &str| field(name).map_or_else(|| default.to_owned(), py_str);
    let whole;
    let label_data = match field("label_data") {
        Some(data) => data,
        None => {
            whole = Value::from(publication.clone());
            &whole
        }
    };
    let details = match alert.rule_description.as_deref() {
        Some(description) => text("details", description),
        None => text("details", "None"),
    };
    json!({
        "type": text("incident_type", "Unclassified"),
        "name": text("incident_name", &alert.rule_name),
        "owner": text("owner", "StreamAlert"),
        "playbook": field("playbook").cloned().unwrap_or_else(|| "Unknown".into()),
        "severity": severity(field("severity").unwrap_or(&Value::from("unknown"))),
        "labels": labels(label_data),
        "customFields": {},
        "details": details,
        "createInvestigation": true,
    })
}

/// Demisto's severity number for a publication's severity text (case-insensitive):
/// `info`/`informational` → 0.5, `low` → 1, `med`/`medium` → 2, `high` → 3, `critical` → 4;
/// anything else, or a value that is not text, → 0.
///
/// ```
/// use serde_json::json;
/// use streamalert::outputs::demisto::severity;
/// assert_eq!(severity(&json!("Informational")), json!(0.5));
/// assert_eq!(severity(&json!("MED")), json!(2));
/// assert_eq!(severity(&json!(3)), json!(0));
/// ```
pub fn severity(value: &Value) -> Value {
    let Some(text) = value.as_str() else {
        return 0.into();
    };
    match text.to_lowercase().as_str() {
        "info" | "informational" => 0.5.into(),
        "low" => 1.into(),
        "med" | "medium" => 2.into(),
        "high" => 3.into(),
        "critical" => 4.into(),
        _ => 0.into(),
    }
}

/// The incident labels of `data`: every scalar leaf becomes `{"type": <path>, "value":
/// str(leaf)}`, where the path joins object keys with `.` and appends `[i]` for list items;
/// empty objects and lists give no label, a scalar at the top has the path `""`. The labels
/// are sorted by `type` (code-point order; equal types keep their order).
///
/// ```
/// use serde_json::json;
/// use streamalert::outputs::demisto::labels;
/// assert_eq!(
///     labels(&json!({"b": [1, {"c": null}], "a": true, "e": {}})),
///     json!([
///         {"type": "a", "value": "True"},
///         {"type": "b[0]", "value": "1"},
///         {"type": "b[1].c", "value": "None"},
///     ])
/// );
/// ```
pub fn labels(data: &Value) -> Value {
    let mut found = Vec::new();
    flatten(data, String::new(), &mut found);
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Array(
        found
            .into_iter()
            .map(|(path, value)| {
                let mut label = Map::new();
                label.insert("type".into(), path.into());
                label.insert("value".into(), value.into());
                Value::Object(label)
            })
            .collect(),
    )
}

fn flatten(data: &Value, path: String, found: &mut Vec<(String, String)>) {
    match data {
        Value::Object(map) => {
            for (key, value) in map {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                flatten(value, child, found);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten(item, format!("{path}[{i}]"), found);
            }
        }
        scalar => found.push((path, py_str(scalar))),
    }
}
