//! Rule evaluation (StreamAlert's `RulesEngine`): records in, alerts out.

use super::{Rule, RuleFn};
use crate::alert::{Alert, Context, REQUIRED_OUTPUT, Record};
use crate::output::{OutputRef, OutputRefError};
use crate::publisher::PublisherSpec;
use crate::text::panic_message;
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

/// A classified record and where it came from.
///
/// ```
/// use streamalert::rule::Payload;
/// let payload = Payload::new("osquery:differential", serde_json::json!({"name": "x"}));
/// assert_eq!(payload.log_type, "osquery:differential");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Payload {
    /// The record's schema, e.g. `cloudwatch:events` (StreamAlert's `log_schema_type`).
    pub log_type: String,
    /// The record's data type, e.g. `json`.
    pub data_type: Option<String>,
    /// The cluster the record came from.
    pub cluster: Option<String>,
    /// The service the record came from, e.g. `kinesis`.
    pub service: Option<String>,
    /// The resource the record came from, e.g. a stream name.
    pub resource: Option<String>,
    /// The record itself, shared with the alerts the payload triggers.
    pub record: Arc<Record>,
}

impl Payload {
    /// A payload of `record` with schema `log_type` and no source information.
    pub fn new(log_type: impl Into<String>, record: impl Into<Arc<Record>>) -> Self {
        Self {
            log_type: log_type.into(),
            data_type: None,
            cluster: None,
            service: None,
            resource: None,
            record: record.into(),
        }
    }
}

/// Evaluates rules against records.
///
/// ```
/// use streamalert::rule::{Payload, RulesEngine};
/// let engine = RulesEngine::new(); // every registered rule
/// let alerts = engine.run(&Payload::new("no:such-log", serde_json::json!({})));
/// assert!(alerts.is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct RulesEngine {
    rules: Vec<&'static Rule>,
    staged: HashSet<String>,
    required_outputs: Vec<String>,
}

impl Default for RulesEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl RulesEngine {
    /// An engine over every registered rule.
    pub fn new() -> Self {
        Self::with_rules(super::registered())
    }

    /// An engine over these rules, evaluated in this order.
    pub fn with_rules(rules: Vec<&'static Rule>) -> Self {
        Self {
            rules,
            staged: HashSet::new(),
            required_outputs: vec![REQUIRED_OUTPUT.to_owned()],
        }
    }

    /// The same engine with other outputs added to every alert instead of StreamAlert's
    /// `aws-firehose:alerts` (an empty list: none, for a processor without historical search).
    pub fn with_required_outputs<I: IntoIterator<Item = S>, S: Into<String>>(
        self,
        outputs: I,
    ) -> Self {
        Self {
            required_outputs: outputs.into_iter().map(Into::into).collect(),
            ..self
        }
    }

    /// The same engine with these rules staged: their alerts go only to the required output.
    pub fn with_staged_rules<I: IntoIterator<Item = S>, S: Into<String>>(self, names: I) -> Self {
        Self {
            staged: names.into_iter().map(Into::into).collect(),
            ..self
        }
    }

    /// True when the rule named `name` is staged.
    pub fn is_staged(&self, name: &str) -> bool {
        // Most engines stage nothing: no need to hash the name.
        !self.staged.is_empty() && self.staged.contains(name)
    }

    /// The enabled rules that apply to `log_type`, in evaluation order.
    pub fn rules_for_log_type<'a>(
        &'a self,
        log_type: &'a str,
    ) -> impl Iterator<Item = &'static Rule> + 'a {
        self.rules.iter().copied().filter(move |rule| {
            !rule.disabled && rule.logs.is_none_or(|logs| logs.contains(&log_type))
        })
    }

    /// Evaluates every applicable rule on the payload; one alert per rule that triggers.
    pub fn run(&self, payload: &Payload) -> Vec<Alert> {
        self.rules_for_log_type(&payload.log_type)
            .filter_map(|rule| self.evaluate(rule, payload))
            .collect()
    }

    /// Evaluates one rule: `req_subkeys`, then matchers, then the function. A panic or error
    /// anywhere counts as not triggered and is logged with the rule's name.
    pub fn evaluate(&self, rule: &Rule, payload: &Payload) -> Option<Alert> {
        let record = &*payload.record;
        if !has_required_subkeys(rule, record) || !matchers_pass(rule, record) {
            return None;
        }
        let mut context = rule.context.map(|make| make());
        let outcome = isolate(|| match (rule.func, context.as_mut()) {
            (RuleFn::Record(f), _) => f(record),
            (RuleFn::WithContext(f), Some(context)) => f(record, context),
            (RuleFn::WithContext(f), None) => f(record, &mut Context::new()),
        });
        match outcome {
            Ok(true) => {}
            Ok(false) => return None,
            Err(error) => {
                tracing::error!(rule = rule.name, %error, record = %record, "Encountered error with rule: {}", rule.name);
                return None;
            }
        }
        let context = context.unwrap_or_default();
        let staged = self.is_staged(rule.name);
        let outputs = outputs(rule, record, &context, staged, &self.required_outputs);
        let publishers = if staged {
            Value::Null
        } else {
            PublisherSpec::from(rule.publishers).for_outputs(&outputs)
        };
        let mut alert = Alert::new(rule.name, Arc::clone(&payload.record), [""; 0]);
        alert.outputs = outputs; // moved in, not collected into a new set
        alert.cluster = payload.cluster.clone();
        alert.context = context;
        alert.log_source = Some(payload.log_type.clone());
        alert.log_type = payload.data_type.clone();
        alert.merge_by_keys = rule.merge_by_keys.iter().map(|k| (*k).to_owned()).collect();
        alert.merge_window_mins = rule.merge_window_mins;
        alert.publishers = publishers;
        alert.rule_description = Some(rule.description.to_owned());
        alert.source_entity = payload.resource.clone();
        alert.source_service = payload.service.clone();
        alert.staged = staged;
        Some(alert)
    }
}

/// Every `key: [subkeys]` needs `record[key]` to be an object holding each subkey (any value).
pub fn has_required_subkeys(rule: &Rule, record: &Record) -> bool {
    rule.req_subkeys.iter().all(|(key, subkeys)| {
        record
            .get(*key)
            .and_then(Value::as_object)
            .is_some_and(|object| subkeys.iter().all(|subkey| object.contains_key(*subkey)))
    })
}

fn matchers_pass(rule: &Rule, record: &Record) -> bool {
    rule.matchers.iter().enumerate().all(|(index, matcher)| match isolate(|| matcher(record)) {
        Ok(passed) => passed,
        Err(error) => {
            tracing::error!(rule = rule.name, matcher = index, %error, "matcher failed; the rule does not apply");
            false
        }
    })
}

/// The required outputs, the static outputs and the dynamic ones, minus any that is not
/// `service:descriptor` ([`OutputRef`]'s grammar; one without a `:` is logged with StreamAlert's
/// text, any other with the grammar's). A staged rule gets only the required outputs.
fn outputs(
    rule: &Rule,
    record: &Record,
    context: &Context,
    staged: bool,
    required: &[String],
) -> BTreeSet<String> {
    let mut outputs = BTreeSet::new();
    let mut add = |output: String| match OutputRef::parse(&output) {
        Ok(_) => {
            outputs.insert(output);
        }
        Err(OutputRefError::NoDescriptor(_)) => {
            tracing::warn!(rule = rule.name, "Output ({output}) is missing ':'");
        }
        Err(error) => tracing::warn!(rule = rule.name, "{error}"),
    };
    required.iter().cloned().for_each(&mut add);
    if !staged {
        rule.outputs
            .iter()
            .map(|o| (*o).to_owned())
            .for_each(&mut add);
        for dynamic in rule.dynamic_outputs {
            match isolate(|| (dynamic.func)(record, context)) {
                Ok(found) => found.into_iter().for_each(&mut add),
                Err(error) => tracing::error!(
                    rule = rule.name,
                    function = dynamic.name,
                    %error,
                    "Exception when calling dynamic_output for rule {}",
                    rule.name
                ),
            }
        }
    }
    outputs
}

/// True for an output string of the form `service:descriptor` ([`OutputRef::parse`] accepts
/// it).
///
/// ```
/// assert!(streamalert::rule::is_valid_output("aws-sns:test"));
/// assert!(!streamalert::rule::is_valid_output("aws-sns"));
/// assert!(!streamalert::rule::is_valid_output("aws-sns:a b"));
/// ```
pub fn is_valid_output(output: &str) -> bool {
    OutputRef::parse(output).is_ok()
}

fn isolate<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_message(&*panic))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::Location;
    use crate::rule::StaticPublishers;
    use serde_json::json;

    const fn always(name: &'static str) -> Rule {
        Rule {
            name,
            description: "",
            logs: Some(&["test:log"]),
            datatypes: &[],
            outputs: &["slack:a"],
            dynamic_outputs: &[],
            matchers: &[],
            req_subkeys: &[],
            publishers: StaticPublishers::None,
            context: None,
            merge_by_keys: &[],
            merge_window_mins: 0,
            disabled: false,
            func: RuleFn::Record(|_| Ok(true)),
            location: Location {
                file: file!(),
                line: line!(),
            },
        }
    }

    static FIRST: Rule = always("first");
    static SECOND: Rule = always("second");

    /// Every alert of a payload shares its record: triggering rules copies nothing.
    #[test]
    fn the_alerts_of_a_payload_share_its_record() {
        let engine = RulesEngine::with_rules(vec![&FIRST, &SECOND]);
        let payload = Payload::new("test:log", json!({"user": "root", "n": 1.50}));
        let alerts = engine.run(&payload);
        assert_eq!(
            alerts
                .iter()
                .map(|a| a.rule_name.as_str())
                .collect::<Vec<_>>(),
            ["first", "second"]
        );
        assert!(
            alerts
                .iter()
                .all(|alert| Arc::ptr_eq(&alert.record, &payload.record))
        );
    }

    /// A staged rule's alert goes to the required outputs only; the other rules' alerts keep
    /// theirs, and an engine that stages nothing stages no rule.
    #[test]
    fn only_the_staged_rules_alerts_are_held_to_the_required_outputs() {
        let payload = Payload::new("test:log", json!({}));
        let outputs_of = |engine: &RulesEngine| -> Vec<Vec<String>> {
            let alerts = engine.run(&payload);
            alerts
                .into_iter()
                .map(|a| a.outputs.into_iter().collect())
                .collect()
        };
        let staging = RulesEngine::with_rules(vec![&FIRST, &SECOND]).with_staged_rules(["first"]);
        assert!(staging.is_staged("first") && !staging.is_staged("second"));
        assert_eq!(
            outputs_of(&staging),
            [
                vec![REQUIRED_OUTPUT.to_owned()],
                vec![REQUIRED_OUTPUT.to_owned(), "slack:a".to_owned()]
            ]
        );
        let none = RulesEngine::with_rules(vec![&FIRST, &SECOND]);
        assert!(!none.is_staged("first"));
        assert_eq!(outputs_of(&none)[0], [REQUIRED_OUTPUT, "slack:a"]);
    }
}
