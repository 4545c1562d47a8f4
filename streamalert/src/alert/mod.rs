//! The [`Alert`]: what a rule produces for one [`Record`] (with the rule's [`Context`]) and what
//! every output delivers.
//!
//! Its fields, defaults, default publication ([`Alert::output_dict`]) and alerts-table item
//! ([`Alert::to_item`], [`Alert::from_item`]) follow StreamAlert's `streamalert/shared/alert.py`
//! so that alerts move unchanged between StreamAlert and this crate.

mod item;
mod merge;
mod timestamp;

pub use item::InvalidAlert;
pub use merge::{MAX_ALERTS_PER_GROUP, MERGED_BY_MISSING, merge_groups};
pub use timestamp::Timestamp;

use crate::json::PythonJson;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// A classified log record, as rules, matchers and publishers see it.
pub type Record = Value;

/// A rule's context: a JSON object copied fresh for every evaluation, which the rule may change
/// and which then travels on the alert to publishers and outputs.
pub type Context = Map<String, Value>;

/// The output every alert is also sent to: StreamAlert's historical-search delivery stream.
pub const REQUIRED_OUTPUT: &str = "aws-firehose:alerts";

/// One alert: the record a rule triggered on, where it goes and how it is published.
///
/// ```
/// use streamalert::Alert;
/// use serde_json::json;
///
/// let alert = Alert::new("root_login", json!({"user": "root"}), ["slack:secops"]);
/// assert_eq!(alert.rule_name, "root_login");
/// assert!(alert.remaining_outputs().contains("slack:secops"));
/// assert_eq!(alert.output_dict()["record"], json!({"user": "root"}));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Unique id (a random UUID4 unless given).
    pub alert_id: String,
    /// How many times the alert processor was invoked for this alert.
    pub attempts: u32,
    /// The cluster the record came from.
    pub cluster: Option<String>,
    /// The rule's context after evaluation; publishers and outputs read it.
    pub context: Context,
    /// When the alert was created (UTC).
    pub created: Timestamp,
    /// When the alert was last handed to the alert processor (UTC).
    pub dispatched: Timestamp,
    /// The record's schema, e.g. `cloudwatch:events`.
    pub log_source: Option<String>,
    /// The record's data type, e.g. `json`.
    pub log_type: Option<String>,
    /// Record keys whose equal values let alerts of the same rule merge.
    pub merge_by_keys: Vec<String>,
    /// How long, in minutes, alerts wait to be merged; 0 disables merging.
    pub merge_window_mins: u64,
    /// Every `service:descriptor` this alert is delivered to.
    pub outputs: BTreeSet<String>,
    /// The outputs already delivered.
    pub outputs_sent: BTreeSet<String>,
    /// The publishers of each output, as stored: a name, a list of names, a map, or `null`.
    pub publishers: Value,
    /// The record that triggered the rule, shared with the payload it came from and with every
    /// other alert of that payload (change it with [`Arc::make_mut`], which copies it if shared).
    pub record: Arc<Record>,
    /// The rule's description (its doc comment).
    pub rule_description: Option<String>,
    /// The rule that triggered.
    pub rule_name: String,
    /// The resource the record came from, e.g. a stream or bucket name.
    pub source_entity: Option<String>,
    /// The service the record came from, e.g. `kinesis` or `s3`.
    pub source_service: Option<String>,
    /// True when the rule is staged: the alert only goes to the required output.
    pub staged: bool,
}

impl Alert {
    /// A new alert with a random id, created now, every other field at its default.
    pub fn new<I, S>(
        rule_name: impl Into<String>,
        record: impl Into<Arc<Record>>,
        outputs: I,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            alert_id: uuid::Uuid::new_v4().to_string(),
            attempts: 0,
            cluster: None,
            context: Context::new(),
            created: Timestamp::now(),
            dispatched: Timestamp::EPOCH,
            log_source: None,
            log_type: None,
            merge_by_keys: Vec::new(),
            merge_window_mins: 0,
            outputs: outputs.into_iter().map(Into::into).collect(),
            outputs_sent: BTreeSet::new(),
            publishers: Value::Null,
            record: record.into(),
            rule_description: None,
            rule_name: rule_name.into(),
            source_entity: None,
            source_service: None,
            staged: false,
        }
    }

    /// True when alerts of this rule are merged: merge keys are set and the window is non-zero.
    pub fn merge_enabled(&self) -> bool {
        !self.merge_by_keys.is_empty() && self.merge_window_mins > 0
    }

    /// The outputs still to deliver. While merging is enabled only the required output goes
    /// out at once; the others receive the merged alert later.
    ///
    /// ```
    /// use streamalert::Alert;
    /// let mut alert = Alert::new("r", serde_json::json!({}), ["slack:a", "aws-firehose:alerts"]);
    /// alert.outputs_sent.insert("slack:a".into());
    /// assert_eq!(alert.remaining_outputs().into_iter().collect::<Vec<_>>(), ["aws-firehose:alerts"]);
    /// ```
    pub fn remaining_outputs(&self) -> BTreeSet<String> {
        self.outputs
            .iter()
            .filter(|output| !self.merge_enabled() || output.as_str() == REQUIRED_OUTPUT)
            .filter(|output| !self.outputs_sent.contains(*output))
            .cloned()
            .collect()
    }

    /// The alerts-table key: `{"RuleName": …, "AlertID": …}`.
    pub fn key(&self) -> Value {
        json!({"RuleName": self.rule_name, "AlertID": self.alert_id})
    }

    /// The default publication (StreamAlert's `output_dict`): 14 keys in a fixed order, missing
    /// strings as `""` so that Athena's schema holds.
    pub fn output_dict(&self) -> Map<String, Value> {
        self.output_dict_with(Record::clone(&self.record))
    }

    /// [`output_dict`](Self::output_dict) with `record` as its record (the default publisher
    /// shares the alert's record in its place).
    pub(crate) fn output_dict_with(&self, record: Value) -> Map<String, Value> {
        let text = |value: &Option<String>| Value::String(value.clone().unwrap_or_default());
        let entries = [
            ("cluster", text(&self.cluster)),
            ("context", Value::Object(self.context.clone())),
            ("created", self.created.to_string().into()),
            ("id", self.alert_id.clone().into()),
            ("log_source", text(&self.log_source)),
            ("log_type", text(&self.log_type)),
            ("outputs", self.outputs.iter().cloned().collect()),
            ("publishers", self.publishers_or_empty()),
            ("record", record),
            ("rule_description", text(&self.rule_description)),
            ("rule_name", self.rule_name.clone().into()),
            ("source_entity", text(&self.source_entity)),
            ("source_service", text(&self.source_service)),
            ("staged", self.staged.into()),
        ];
        // A copy of one map of the keys, made (and its keys hashed) once per process, its
        // values then set in order: no key is hashed again.
        static KEYS: OnceLock<Map<String, Value>> = OnceLock::new();
        let keys = KEYS.get_or_init(|| {
            let keys = entries
                .iter()
                .map(|(key, _)| ((*key).to_owned(), Value::Null));
            keys.collect()
        });
        let mut dict = keys.clone();
        for (slot, (_, value)) in dict.values_mut().zip(entries) {
            *slot = value;
        }
        dict
    }

    /// The record as the alerts table stores it: compact JSON, non-ASCII escaped, key order kept.
    pub fn record_json(&self) -> String {
        PythonJson::COMPACT.dump(&self.record)
    }

    fn publishers_or_empty(&self) -> Value {
        if is_falsy(&self.publishers) {
            Value::Object(Map::new())
        } else {
            self.publishers.clone()
        }
    }
}

impl fmt::Display for Alert {
    /// `<Alert {alert_id} triggered from {rule_name}>`, as StreamAlert prints an alert.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<Alert {} triggered from {}>",
            self.alert_id, self.rule_name
        )
    }
}

/// Python truthiness of a JSON value: `null`, `false`, `0`, `""`, `[]` and `{}` are falsy.
pub(crate) fn is_falsy(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}
