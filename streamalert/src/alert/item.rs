//! The alerts-table item (StreamAlert's `dynamo_record`) and the snake_case field form.

use super::Context;
use super::{Alert, Timestamp, is_falsy};
use crate::json::{PythonJson, write_string};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Why an alert could not be rebuilt from an alerts-table item or from its fields.
///
/// ```
/// use streamalert::Alert;
/// let err = Alert::from_item(&serde_json::json!({"RuleName": "r", "Record": "{}"})).unwrap_err();
/// assert_eq!(err.to_string(), "invalid alert item: missing required key `AlertID`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAlert {
    /// The item is not a JSON object.
    #[error("invalid alert item: expected a JSON object, found {0}")]
    NotAnObject(&'static str),
    /// A required key is absent (or null).
    #[error("invalid alert item: missing required key `{0}`")]
    Missing(&'static str),
    /// A key holds a value of the wrong type or format.
    #[error("invalid alert item: `{key}` {problem}")]
    Invalid {
        /// The offending key.
        key: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
    /// Field names that an alert does not have.
    #[error(
        "Invalid Alert kwargs: {unexpected} are not in the expected set of {expected}",
        unexpected = .0.join(", "),
        expected = KWARGS.join(", ")
    )]
    UnknownFields(Vec<String>),
}

/// The keyword fields of StreamAlert's `Alert(rule_name, record, outputs, **kwargs)`, sorted.
const KWARGS: [&str; 16] = [
    "alert_id",
    "attempts",
    "cluster",
    "context",
    "created",
    "dispatched",
    "log_source",
    "log_type",
    "merge_by_keys",
    "merge_window",
    "outputs_sent",
    "publishers",
    "rule_description",
    "source_entity",
    "source_service",
    "staged",
];

/// How a ledger's item writes its record: compact, its numbers as received.
const LEDGER_RECORD: PythonJson = PythonJson::COMPACT.exact_numbers();

impl Alert {
    /// The alerts-table item (StreamAlert's `dynamo_record`): no empty strings or sets, the
    /// record as compact JSON text.
    ///
    /// ```
    /// use streamalert::Alert;
    /// let alert = Alert::new("r", serde_json::json!({"k": "é"}), ["slack:c"]);
    /// let item = alert.to_item();
    /// assert_eq!(item["Record"], r#"{"k":"\u00e9"}"#);
    /// assert_eq!(Alert::from_item(&item.clone().into()).unwrap().to_item(), item);
    /// ```
    pub fn to_item(&self) -> Map<String, Value> {
        self.item_with_record(&self.record_json())
    }

    /// The alerts-table item as a ledger stores it: [`to_item`](Alert::to_item), with the
    /// record's numbers written as they were received (`1.50`, `1e400`, integers beyond 64 bits) so that it reads back unchanged ([`from_item`](Alert::from_item)); Python reads
    /// them as the same values.
    ///
    /// ```
    /// use streamalert::Alert;
    /// let record = streamalert::json::read(r#"{"pid": 1e400, "cpu": 1.50}"#).unwrap();
    /// let alert = Alert::new("r", record, ["slack:c"]);
    /// assert_eq!(alert.to_item()["Record"], r#"{"pid":Infinity,"cpu":1.5}"#);
    /// let item = alert.to_ledger_item();
    /// assert_eq!(item["Record"], r#"{"pid":1e+400,"cpu":1.50}"#);
    /// assert_eq!(Alert::from_item(&item.into()).unwrap().record, alert.record);
    /// ```
    pub fn to_ledger_item(&self) -> Map<String, Value> {
        self.item_with_record(&self.ledger_record_json())
    }

    /// [`to_ledger_item`](Alert::to_ledger_item) as compact JSON text (what the SQLite ledger
    /// stores), written straight from the alert: no map is built and nothing is copied.
    ///
    /// ```
    /// use streamalert::Alert;
    /// let record = streamalert::json::read(r#"{"cpu": 1.50}"#).unwrap();
    /// let alert = Alert::new("r", record, ["slack:c"]);
    /// let text = alert.ledger_item_json();
    /// assert_eq!(text, serde_json::Value::Object(alert.to_ledger_item()).to_string());
    /// assert!(text.contains(r#""Record":"{\"cpu\":1.50}""#));
    /// ```
    pub fn ledger_item_json(&self) -> String {
        // Written field by field, in StreamAlert's key order, strings escaped as `serde_json`
        // escapes them; the record written once, straight into its string
        // ([`PythonJson::quoted`]), not written and then escaped.
        let values = PythonJson::COMPACT.keep_unicode().exact_numbers();
        let string = |out: &mut String, text: &str| write_string(out, text, false);
        let optional = |out: &mut String, text: Option<&String>| match text {
            Some(text) => string(out, text),
            None => out.push_str("null"),
        };
        let strings = |out: &mut String, texts: &mut dyn Iterator<Item = &String>| {
            out.push('[');
            for (i, text) in texts.enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(out, text);
            }
            out.push(']');
        };
        // Room for most items (a 2 KiB record, escaped, and the other fields): written without
        // regrowing. An item lives only until it is written to the ledger (or framed for its
        // intake log), so the room it does not use is not given back.
        let mut out = String::with_capacity(4096);
        out.push_str("{\"RuleName\":");
        string(&mut out, &self.rule_name);
        out.push_str(",\"AlertID\":");
        string(&mut out, &self.alert_id);
        // Writing to a `String` cannot fail.
        let _ = write!(out, ",\"Attempts\":{},\"Cluster\":", self.attempts);
        optional(&mut out, self.cluster.as_ref());
        out.push_str(",\"Context\":");
        values.dump_object_to(&mut out, self.context.iter());
        // A timestamp's text has nothing to escape.
        let _ = write!(
            out,
            ",\"Created\":\"{}\",\"Dispatched\":\"{}\",\"LogSource\":",
            self.created, self.dispatched
        );
        optional(&mut out, self.log_source.as_ref());
        out.push_str(",\"LogType\":");
        optional(&mut out, self.log_type.as_ref());
        out.push_str(",\"MergeByKeys\":");
        strings(&mut out, &mut self.merge_by_keys.iter());
        let _ = write!(
            out,
            ",\"MergeWindowMins\":{},\"Outputs\":",
            self.merge_window_mins
        );
        strings(&mut out, &mut self.outputs.iter());
        out.push_str(",\"OutputsSent\":");
        if self.outputs_sent.is_empty() {
            out.push_str("null");
        } else {
            strings(&mut out, &mut self.outputs_sent.iter());
        }
        out.push_str(",\"Publishers\":");
        if is_falsy(&self.publishers) {
            out.push_str("null");
        } else {
            values.dump_to(&mut out, &self.publishers);
        }
        out.push_str(",\"Record\":");
        out.push('"');
        LEDGER_RECORD.quoted().dump_to(&mut out, &self.record);
        out.push('"');
        out.push_str(",\"RuleDescription\":");
        optional(&mut out, self.rule_description.as_ref());
        out.push_str(",\"SourceEntity\":");
        optional(&mut out, self.source_entity.as_ref());
        out.push_str(",\"SourceService\":");
        optional(&mut out, self.source_service.as_ref());
        let _ = write!(out, ",\"Staged\":{}}}", self.staged);
        out
    }

    /// The record as a ledger's item holds it: compact, its numbers as received.
    fn ledger_record_json(&self) -> String {
        // Most records are under 2 KiB of JSON: written without regrowing.
        let mut record = String::with_capacity(2048);
        LEDGER_RECORD.dump_to(&mut record, &self.record);
        record
    }

    fn item_with_record(&self, record: &str) -> Map<String, Value> {
        let item = serde_json::to_value(Item::of(self, record)).expect(Item::SERIALIZES);
        let Value::Object(item) = item else {
            unreachable!("a struct serializes as a JSON object")
        };
        item
    }

    /// Rebuilds an alert from an alerts-table item, as StreamAlert's alert processor receives it.
    ///
    /// `RuleName`, `AlertID`, `Attempts`, `Record` (JSON text), `Outputs` and `Created` are
    /// required; every other key is optional and a falsy value takes the default.
    pub fn from_item(item: &Value) -> Result<Self, InvalidAlert> {
        let item = item
            .as_object()
            .ok_or(InvalidAlert::NotAnObject(json_type(item)))?;
        let get = |key: &'static str| item.get(key).filter(|v| !v.is_null());
        let required = |key: &'static str| get(key).ok_or(InvalidAlert::Missing(key));

        let record_text = required("Record")?
            .as_str()
            .ok_or_else(|| invalid("Record", "is not JSON text"))?;
        // As Python's `json.loads` reads it: StreamAlert writes `NaN`/`Infinity`, and a merged
        // record nests deeper than the records `process` accepts.
        let record = crate::json::read(record_text)
            .map_err(|e| invalid("Record", &format!("is not valid JSON: {e}")))?;
        let mut alert = Alert::new(
            string(required("RuleName")?, "RuleName")?,
            record,
            Vec::<String>::new(),
        );
        alert.alert_id = string(required("AlertID")?, "AlertID")?;
        // A count past u32::MAX (a long-retried item, or one written elsewhere) saturates.
        alert.attempts = count(required("Attempts")?, "Attempts")?;
        alert.outputs = string_set(required("Outputs")?, "Outputs")?;
        alert.created = timestamp(required("Created")?, "Created")?;
        if let Some(value) = get("Dispatched") {
            alert.dispatched = timestamp(value, "Dispatched")?;
        }
        if let Some(value) = get("MergeWindowMins") {
            alert.merge_window_mins = integer(value, "MergeWindowMins")?.into();
        }
        if let Some(value) = get("OutputsSent") {
            alert.outputs_sent = string_set(value, "OutputsSent")?;
        }
        alert.cluster = optional_string(get("Cluster"), "Cluster")?;
        alert.log_source = optional_string(get("LogSource"), "LogSource")?;
        alert.log_type = optional_string(get("LogType"), "LogType")?;
        alert.rule_description = optional_string(get("RuleDescription"), "RuleDescription")?;
        alert.source_entity = optional_string(get("SourceEntity"), "SourceEntity")?;
        alert.source_service = optional_string(get("SourceService"), "SourceService")?;
        alert.context = context(get("Context"), "Context")?;
        alert.merge_by_keys = string_list(get("MergeByKeys"), "MergeByKeys")?;
        alert.publishers = publishers(get("Publishers"));
        alert.staged = get("Staged").is_some_and(|v| !is_falsy(v));
        Ok(alert)
    }

    /// Builds an alert from its snake_case fields: `rule_name`, `record`, `outputs` and the
    /// keyword fields of StreamAlert's `Alert` constructor (`merge_window_mins` is accepted for
    /// `merge_window`). Unknown fields are rejected, naming them; falsy values take the default.
    ///
    /// ```
    /// use streamalert::Alert;
    /// use serde_json::json;
    /// let fields = json!({"rule_name": "r", "record": {}, "outputs": ["slack:c"], "cluster": "prod"});
    /// let alert = Alert::from_fields(fields.as_object().unwrap()).unwrap();
    /// assert_eq!(alert.cluster.as_deref(), Some("prod"));
    /// assert!(Alert::from_fields(json!({"invalid": 1}).as_object().unwrap()).is_err());
    /// ```
    pub fn from_fields(fields: &Map<String, Value>) -> Result<Self, InvalidAlert> {
        let mut unknown: Vec<String> = fields
            .keys()
            .filter(|k| {
                !KWARGS.contains(&k.as_str())
                    && !matches!(
                        k.as_str(),
                        "rule_name" | "record" | "outputs" | "merge_window_mins"
                    )
            })
            .cloned()
            .collect();
        if !unknown.is_empty() {
            unknown.sort();
            return Err(InvalidAlert::UnknownFields(unknown));
        }
        let get = |key: &str| fields.get(key).filter(|v| !is_falsy(v));
        let mut alert = Alert::new(
            get("rule_name")
                .map(|v| string(v, "rule_name"))
                .transpose()?
                .unwrap_or_default(),
            fields.get("record").cloned().unwrap_or(Value::Null),
            Vec::<String>::new(),
        );
        if let Some(value) = get("alert_id") {
            alert.alert_id = string(value, "alert_id")?;
        }
        if let Some(value) = get("outputs") {
            alert.outputs = string_set(value, "outputs")?;
        }
        if let Some(value) = get("outputs_sent") {
            alert.outputs_sent = string_set(value, "outputs_sent")?;
        }
        if let Some(value) = get("attempts") {
            alert.attempts = integer(value, "attempts")?;
        }
        if let Some(value) = get("created") {
            alert.created = timestamp(value, "created")?;
        }
        if let Some(value) = get("dispatched") {
            alert.dispatched = timestamp(value, "dispatched")?;
        }
        if let Some(value) = get("merge_window_mins").or_else(|| get("merge_window")) {
            alert.merge_window_mins = integer(value, "merge_window")?.into();
        }
        alert.cluster = optional_string(get("cluster"), "cluster")?;
        alert.log_source = optional_string(get("log_source"), "log_source")?;
        alert.log_type = optional_string(get("log_type"), "log_type")?;
        alert.rule_description = optional_string(get("rule_description"), "rule_description")?;
        alert.source_entity = optional_string(get("source_entity"), "source_entity")?;
        alert.source_service = optional_string(get("source_service"), "source_service")?;
        alert.context = context(get("context"), "context")?;
        alert.merge_by_keys = string_list(get("merge_by_keys"), "merge_by_keys")?;
        alert.publishers = publishers(get("publishers"));
        alert.staged = get("staged").is_some();
        Ok(alert)
    }
}

/// The alerts-table item of an alert, borrowed from it: its keys in StreamAlert's order.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct Item<'a> {
    rule_name: &'a str,
    #[serde(rename = "AlertID")]
    alert_id: &'a str,
    attempts: u32,
    cluster: Option<&'a String>,
    context: &'a Context,
    #[serde(serialize_with = "display")]
    created: Timestamp,
    #[serde(serialize_with = "display")]
    dispatched: Timestamp,
    log_source: Option<&'a String>,
    log_type: Option<&'a String>,
    merge_by_keys: &'a [String],
    merge_window_mins: u64,
    outputs: &'a BTreeSet<String>,
    /// `null` when nothing is sent.
    outputs_sent: Option<&'a BTreeSet<String>>,
    /// `null` when falsy.
    publishers: Option<&'a Value>,
    /// JSON text.
    record: &'a str,
    rule_description: Option<&'a String>,
    source_entity: Option<&'a String>,
    source_service: Option<&'a String>,
    staged: bool,
}

impl<'a> Item<'a> {
    /// Why serializing it cannot fail: every key is a string.
    const SERIALIZES: &'static str = "an alerts-table item serializes: its keys are strings";

    fn of(alert: &'a Alert, record: &'a str) -> Self {
        Self {
            rule_name: &alert.rule_name,
            alert_id: &alert.alert_id,
            attempts: alert.attempts,
            cluster: alert.cluster.as_ref(),
            context: &alert.context,
            created: alert.created,
            dispatched: alert.dispatched,
            log_source: alert.log_source.as_ref(),
            log_type: alert.log_type.as_ref(),
            merge_by_keys: &alert.merge_by_keys,
            merge_window_mins: alert.merge_window_mins,
            outputs: &alert.outputs,
            outputs_sent: Some(&alert.outputs_sent).filter(|sent| !sent.is_empty()),
            publishers: Some(&alert.publishers).filter(|p| !is_falsy(p)),
            record,
            rule_description: alert.rule_description.as_ref(),
            source_entity: alert.source_entity.as_ref(),
            source_service: alert.source_service.as_ref(),
            staged: alert.staged,
        }
    }
}

/// Serializes `value` as its `Display` text.
fn display<S: serde::Serializer>(value: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

fn invalid(key: &'static str, problem: &str) -> InvalidAlert {
    InvalidAlert::Invalid {
        key,
        problem: problem.to_owned(),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn string(value: &Value, key: &'static str) -> Result<String, InvalidAlert> {
    value.as_str().map(str::to_owned).ok_or_else(|| {
        invalid(
            key,
            &format!("must be a string, found {}", json_type(value)),
        )
    })
}

fn optional_string(
    value: Option<&Value>,
    key: &'static str,
) -> Result<Option<String>, InvalidAlert> {
    value
        .filter(|v| !is_falsy(v))
        .map(|v| string(v, key))
        .transpose()
}

/// Python's `int(value)`: integers, integral floats and numeric strings.
fn integer(value: &Value, key: &'static str) -> Result<u32, InvalidAlert> {
    let parsed = match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    parsed.and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
        invalid(
            key,
            &format!("must be a non-negative integer, found {value}"),
        )
    })
}

/// A non-negative integer as [`integer`] reads it, saturating at `u32::MAX`.
fn count(value: &Value, key: &'static str) -> Result<u32, InvalidAlert> {
    let digits = match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.trim().to_owned()),
        _ => None,
    };
    match digits.filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())) {
        Some(digits) => Ok(digits.parse().unwrap_or(u32::MAX)),
        None => integer(value, key),
    }
}

fn timestamp(value: &Value, key: &'static str) -> Result<Timestamp, InvalidAlert> {
    string(value, key)?
        .parse()
        .map_err(|e: super::timestamp::InvalidTimestamp| invalid(key, &e.to_string()))
}

fn string_list(value: Option<&Value>, key: &'static str) -> Result<Vec<String>, InvalidAlert> {
    let Some(value) = value.filter(|v| !is_falsy(v)) else {
        return Ok(Vec::new());
    };
    value
        .as_array()
        .ok_or_else(|| {
            invalid(
                key,
                &format!("must be a list of strings, found {}", json_type(value)),
            )
        })?
        .iter()
        .map(|item| string(item, key))
        .collect()
}

fn string_set(value: &Value, key: &'static str) -> Result<BTreeSet<String>, InvalidAlert> {
    Ok(string_list(Some(value), key)?.into_iter().collect())
}

fn context(value: Option<&Value>, key: &'static str) -> Result<Context, InvalidAlert> {
    match value.filter(|v| !is_falsy(v)) {
        None => Ok(Context::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(other) => Err(invalid(
            key,
            &format!("must be an object, found {}", json_type(other)),
        )),
    }
}

fn publishers(value: Option<&Value>) -> Value {
    value
        .filter(|v| !is_falsy(v))
        .cloned()
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An alert with every field of the item set, and text that needs escaping twice.
    fn full_alert() -> Alert {
        let record = crate::json::read(r#"{"quote": "a\"b\\c\n", "é": 1.50, "big": 1e400}"#)
            .expect("valid JSON");
        let mut alert = Alert::new("rule", record, ["slack:a", "aws-s3:b"]);
        alert.attempts = 2;
        alert.cluster = Some("prod".into());
        alert
            .context
            .insert("tab\t".into(), json!({"n": [1, null]}));
        alert.dispatched = alert.created;
        alert.log_source = Some("cloudtrail:events".into());
        alert.log_type = Some("json".into());
        alert.merge_by_keys = vec!["user".into()];
        alert.merge_window_mins = 5;
        alert.outputs_sent.insert("slack:a".into());
        alert.publishers = json!({"slack": ["p"]});
        alert.rule_description = Some("ü\u{1}".into());
        alert.source_entity = Some("stream".into());
        alert.source_service = Some("kinesis".into());
        alert.staged = true;
        alert
    }

    #[test]
    fn the_ledger_item_text_is_the_ledger_item_and_reads_back_as_the_alert() {
        let alert = full_alert();
        let text = alert.ledger_item_json();
        assert_eq!(text, Value::Object(alert.to_ledger_item()).to_string());
        let parsed: Value = serde_json::from_str(&text).expect("the item is JSON");
        assert_eq!(parsed, Value::Object(alert.to_ledger_item()));
        let back = Alert::from_item(&parsed).expect("the item reads back");
        assert_eq!(back.to_ledger_item(), alert.to_ledger_item());
        assert_eq!(back.record, alert.record, "numbers kept as received");
        let keys: Vec<_> = alert.to_item().keys().cloned().collect();
        assert_eq!(keys[..3], ["RuleName", "AlertID", "Attempts"]);
        assert_eq!(keys.last().map(String::as_str), Some("Staged"));
    }

    /// The item's text is written field by field; it is the text `serde_json` writes for the
    /// item's map, byte for byte, whatever its strings hold and whichever fields are empty.
    #[test]
    fn the_ledger_item_text_is_serde_json_text_of_the_item_for_any_content() {
        let record = crate::json::read(
            r#"{"q": "say \"hi\"", "b": "a\\b", "c": "\u0001\t\n\u007f", "u": "é😀",
                "n": [1.50, 1e400, -0, 123456789012345678901234567890, NaN], "e": {}, "": [[]]}"#,
        )
        .expect("the record is JSON");
        let mut bare = Alert::new("rule \"q\"", record, ["slack:a"]);
        assert_eq!(
            bare.ledger_item_json(),
            Value::Object(bare.to_ledger_item()).to_string()
        );
        bare.context
            .insert("clé\u{2028}".into(), json!([{"x": "\\"}]));
        bare.publishers = json!(["p\"1", "p2"]);
        bare.merge_by_keys = vec!["a\"b".into(), "ü".into()];
        bare.log_type = Some(String::new());
        let text = bare.ledger_item_json();
        assert_eq!(text, Value::Object(bare.to_ledger_item()).to_string());
        let back = Alert::from_item(&crate::json::read(&text).expect("the item reads"))
            .expect("the item reads back");
        assert_eq!(back.record, bare.record);
        assert_eq!(
            (&back.context, &back.publishers, &back.merge_by_keys),
            (&bare.context, &bare.publishers, &bare.merge_by_keys)
        );
    }

    #[test]
    fn empty_sent_outputs_and_falsy_publishers_are_null_in_the_item() {
        let mut alert = full_alert();
        alert.outputs_sent.clear();
        alert.publishers = json!([]);
        let item = alert.to_item();
        assert_eq!(
            (&item["OutputsSent"], &item["Publishers"]),
            (&Value::Null, &Value::Null)
        );
        alert.cluster = None;
        assert_eq!(alert.to_ledger_item()["Cluster"], Value::Null);
    }
}
