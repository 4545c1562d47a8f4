//! Running test events through the rules engine and the publishers.

use super::report::{CheckOutcome, EventReport, EventStatus, FileReport, PublisherCheck, Report};
use super::{Condition, PublisherTest, TestEvent, TestingError, jmes, load_file};
use crate::alert::Alert;
use crate::output::OutputRef;
use crate::publisher::Chain;
use crate::rule::helpers::py_eq;
use crate::rule::{Payload, Rule, RulesEngine};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Runs test events against a set of rules (by default every registered rule).
///
/// ```
/// use streamalert::prelude::*;
/// use streamalert::testing::{EventStatus, Runner, parse_events};
///
/// /// Fraudulent Duo logins.
/// #[rule(logs = ["duo:authentication"])]
/// fn duo_fraud(rec: &Record) -> bool {
///     rec["result"] == "FRAUD"
/// }
/// streamalert::services!();
///
/// # fn main() {
/// let events = parse_events(r#"[
///   {"description": "fraud", "log": "duo:authentication", "service": "streamalert_app",
///    "source": "duo_app", "override_record": {"result": "FRAUD"}, "trigger_rules": []}
/// ]"#, "duo_fraud.json").unwrap();
/// let report = Runner::new().run_event(&events[0]);
/// assert_eq!(report.status, EventStatus::Failed);
/// assert!(!report.rules_passed());
/// assert_eq!(report.unexpected().collect::<Vec<_>>(), ["duo_fraud"]);
/// assert_eq!(report.missing().count(), 0);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Runner {
    rules: Vec<&'static Rule>,
    engine: RulesEngine,
    selected: Vec<String>,
}

impl Default for Runner {
    fn default() -> Self {
        Self::new()
    }
}

impl Runner {
    /// A runner over every registered rule.
    ///
    /// ```
    /// let report = streamalert::testing::Runner::new().run_paths(&["no/such/dir"]);
    /// assert_eq!(report.counts().file_errors, 1);
    /// ```
    pub fn new() -> Self {
        Self::with_rules(crate::registry().rules().to_vec())
    }

    /// A runner over these rules only, evaluated in this order (the names of `trigger_rules`
    /// are still looked up in the registry, to tell disabled and unknown rules apart).
    ///
    /// ```
    /// use streamalert::testing::{Runner, parse_events};
    /// let events = parse_events(r#"[{"description": "d", "log": "l", "service": "s3",
    ///     "source": "b", "data": {"k": 1}, "trigger_rules": []}]"#, "x.json").unwrap();
    /// let report = Runner::with_rules(Vec::new()).run_event(&events[0]);
    /// assert!(report.rules_passed());
    /// ```
    pub fn with_rules(rules: Vec<&'static Rule>) -> Self {
        Self {
            engine: RulesEngine::with_rules(rules.clone()),
            rules,
            selected: Vec::new(),
        }
    }

    /// Restricts the run to the events that expect one of `rules` (StreamAlert's
    /// `--test-rules`); the other events are reported as skipped. Every rule still runs on the
    /// events that are run.
    ///
    /// ```
    /// let report = streamalert::testing::Runner::new().select_rules(["no_such_rule"]).run_paths(&["no/such/dir"]);
    /// assert_eq!(report.unknown_selected_rules, ["no_such_rule"]);
    /// assert!(!report.passed());
    /// ```
    pub fn select_rules<I, S>(mut self, rules: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.selected = rules.into_iter().map(Into::into).collect();
        self
    }

    fn rule(&self, name: &str) -> Option<&'static Rule> {
        self.rules
            .iter()
            .copied()
            .find(|rule| rule.name == name)
            .or_else(|| crate::registry().rule(name))
    }

    /// Runs every test-event file under `paths`: a directory is searched recursively for
    /// `*.json` files (sorted), a file is run whatever its name.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("quiet.json"), r#"[{"description": "nothing", "log": "l",
    ///     "service": "s3", "source": "b", "data": {"k": 1}, "trigger_rules": []}]"#)?;
    /// let report = streamalert::testing::Runner::new().run_paths(&[dir.path()]);
    /// report.assert_passed();
    /// # Ok(())
    /// # }
    /// ```
    pub fn run_paths<P: AsRef<Path>>(&self, paths: &[P]) -> Report {
        let mut report = Report {
            selected_rules: self.selected.clone(),
            unknown_selected_rules: self
                .selected
                .iter()
                .filter(|name| self.rule(name).is_none())
                .cloned()
                .collect(),
            ..Report::default()
        };
        let mut files = Vec::new();
        for path in paths {
            let path = path.as_ref();
            if path.is_dir() {
                if let Err(error) = json_files(path, &mut files) {
                    report.errors.push(error);
                }
            } else if path.exists() {
                files.push(path.to_owned());
            } else {
                report.errors.push(TestingError::NotFound(path.to_owned()));
            }
        }
        report.files = files.iter().map(|file| self.run_file(file)).collect();
        // As StreamAlert, rules without test events are listed only for a run of whole
        // directories with no rule selection.
        let unfiltered = self.selected.is_empty() && paths.iter().all(|p| p.as_ref().is_dir());
        if unfiltered {
            let tested: BTreeSet<&str> = report
                .events()
                .flat_map(|(_, event)| event.expected.iter().chain(&event.disabled))
                .map(String::as_str)
                .collect();
            report.untested_rules = self
                .rules
                .iter()
                .filter(|rule| !rule.disabled && !tested.contains(rule.name))
                .map(|rule| rule.name.to_owned())
                .collect();
        }
        report
    }

    /// Runs the test events of one file.
    ///
    /// ```
    /// let file = streamalert::testing::Runner::new().run_file("missing.json");
    /// assert!(file.events.is_err());
    /// ```
    pub fn run_file(&self, path: impl AsRef<Path>) -> FileReport {
        let path = path.as_ref();
        FileReport {
            path: path.to_owned(),
            events: load_file(path)
                .map(|events| events.iter().map(|e| self.run_event(e)).collect()),
        }
    }

    /// Runs one test event: every rule on its record, then its publisher tests on the
    /// publications of every alert (see [`Runner`] for an example).
    pub fn run_event(&self, event: &TestEvent) -> EventReport {
        let mut report = EventReport {
            index: event.index,
            description: event.description.clone(),
            log: event.log.clone(),
            status: EventStatus::Passed,
            classify_only: event.classify_only,
            expected: BTreeSet::new(),
            triggered: BTreeSet::new(),
            disabled: BTreeSet::new(),
            unknown: BTreeSet::new(),
            publisher_checks: Vec::new(),
            warnings: event.warnings.clone(),
        };
        for name in &event.trigger_rules {
            match self.rule(name) {
                Some(rule) if rule.disabled => report.disabled.insert(name.clone()),
                Some(_) => report.expected.insert(name.clone()),
                None => {
                    report.unknown.insert(name.clone());
                    report.expected.insert(name.clone())
                }
            };
        }
        if !self.selected.is_empty() && !self.selected.iter().any(|r| report.expected.contains(r)) {
            report.status = EventStatus::Skipped;
            return report;
        }
        if event.classify_only {
            report
                .warnings
                .push("classify_only: there is no classifier, so nothing was run".to_owned());
            return report;
        }
        let mut payload = Payload::new(event.log.clone(), event.record.clone());
        payload.service = Some(event.service.clone());
        payload.resource = Some(event.source.clone());
        let alerts = self.engine.run(&payload);
        report.triggered = alerts.iter().map(|a| a.rule_name.clone()).collect();
        if !event.skip_publishers {
            for alert in &alerts {
                report
                    .publisher_checks
                    .extend(check_publications(alert, &event.publisher_tests));
            }
        }
        let publishers_passed = report
            .publisher_checks
            .iter()
            .all(|check| check.outcome == CheckOutcome::Passed);
        if !report.rules_passed() || !publishers_passed {
            report.status = EventStatus::Failed;
        }
        report
    }
}

/// Every `*.json` file under `dir`, recursively, appended in sorted order.
fn json_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), TestingError> {
    let read_error = |source| TestingError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(read_error)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_error)?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            json_files(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "json") {
            files.push(path);
        }
    }
    Ok(())
}

/// Runs the publisher tests of every output on `alert`'s publications. A test naming an output
/// the alert does not have fails, as in StreamAlert (which runs every test on every alert).
fn check_publications(
    alert: &Alert,
    tests: &[(String, Vec<PublisherTest>)],
) -> Vec<PublisherCheck> {
    let mut checks = Vec::new();
    for (output, output_tests) in tests {
        let publication = if alert.outputs.contains(output) {
            OutputRef::parse(output)
                .map_err(|error| error.to_string())
                .and_then(|parsed| {
                    Chain::for_output(&alert.publishers, parsed.service, parsed.descriptor)
                        .publish(alert)
                        .map(Value::from)
                        .map_err(|error| error.to_string())
                })
        } else {
            Err(format!(
                "no such output {output} was configured for this alert (its outputs: {})",
                alert.outputs.iter().cloned().collect::<Vec<_>>().join(", ")
            ))
        };
        for test in output_tests {
            let outcome = match &publication {
                Ok(publication) => check(test, publication),
                Err(message) => CheckOutcome::Error(message.clone()),
            };
            checks.push(PublisherCheck {
                rule: alert.rule_name.clone(),
                output: output.clone(),
                test: test.clone(),
                outcome,
            });
        }
    }
    checks
}

/// Evaluates one publisher test on a publication.
pub(crate) fn check(test: &PublisherTest, publication: &Value) -> CheckOutcome {
    let subject = match jmes::search(publication, &test.expression) {
        Ok(subject) => subject,
        Err(error) => return CheckOutcome::Error(format!("JMESPath: {error}")),
    };
    match holds(test.condition, &subject, &test.value) {
        Ok(true) => CheckOutcome::Passed,
        Ok(false) => CheckOutcome::Failed { actual: subject },
        Err(message) => CheckOutcome::Error(message),
    }
}

/// Whether `condition` holds between the expression's result and the expected value.
fn holds(condition: Condition, subject: &Value, value: &Value) -> Result<bool, String> {
    match (condition, subject, value) {
        (Condition::Is, _, _) => Ok(py_eq(subject, value)),
        (Condition::In, _, Value::Array(items)) => {
            Ok(items.iter().any(|item| py_eq(subject, item)))
        }
        (Condition::In, Value::String(needle), Value::String(text)) => {
            Ok(text.contains(needle.as_str()))
        }
        (Condition::In, _, Value::String(_)) => Err(format!(
            "`in` with a text value needs a text result; the expression gave {subject}"
        )),
        (Condition::In, _, _) => Err(format!("`in` needs a list or a text value, not {value}")),
        (Condition::Contains, Value::String(text), Value::String(needle)) => {
            Ok(text.contains(needle.as_str()))
        }
        (Condition::Contains, Value::Array(items), _) => {
            Ok(items.iter().any(|item| py_eq(item, value)))
        }
        (Condition::Contains, Value::Object(map), Value::String(key)) => Ok(map.contains_key(key)),
        (Condition::Contains, Value::Object(_), _) => Ok(false),
        (Condition::Contains, Value::String(_), _) => Err(format!(
            "`contains` on a text result needs a text value, not {value}"
        )),
        (Condition::Contains, _, _) => Err(format!(
            "`contains` needs a text, list or object result; the expression gave {subject}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn outcome(condition: Condition, subject: Value, value: Value) -> Result<bool, String> {
        holds(condition, &subject, &value)
    }

    #[test]
    fn conditions() {
        assert_eq!(outcome(Condition::Is, json!(1), json!(1.0)), Ok(true));
        assert_eq!(outcome(Condition::Is, json!(null), json!("x")), Ok(false));
        // P10: a list value is membership, a text value a substring.
        assert_eq!(
            outcome(Condition::In, json!("b"), json!(["a", "b"])),
            Ok(true)
        );
        assert_eq!(
            outcome(Condition::In, json!("ell"), json!("hello")),
            Ok(true)
        );
        assert_eq!(
            outcome(Condition::In, json!("x"), json!("hello")),
            Ok(false)
        );
        assert!(outcome(Condition::In, json!(1), json!("hello")).is_err());
        assert!(outcome(Condition::In, json!(1), json!(1)).is_err());
        assert_eq!(
            outcome(Condition::Contains, json!("hello"), json!("ell")),
            Ok(true)
        );
        assert_eq!(
            outcome(Condition::Contains, json!([1, 2]), json!(2.0)),
            Ok(true)
        );
        assert_eq!(
            outcome(Condition::Contains, json!({"k": 1}), json!("k")),
            Ok(true)
        );
        assert_eq!(
            outcome(Condition::Contains, json!({"k": 1}), json!(1)),
            Ok(false)
        );
        assert!(outcome(Condition::Contains, json!(null), json!("x")).is_err());
        assert!(outcome(Condition::Contains, json!("x"), json!(1)).is_err());
    }

    #[test]
    fn checks_search_the_publication() {
        let publication =
            json!({"@slack.text": "Rule triggered", "@slack.attachments": [{"title": "t"}]});
        let test = |expression: &str, condition, value| PublisherTest {
            expression: expression.to_owned(),
            condition,
            value,
        };
        assert_eq!(
            check(
                &test("\"@slack.attachments\"[0].title", Condition::Is, json!("t")),
                &publication
            ),
            CheckOutcome::Passed
        );
        assert_eq!(
            check(
                &test("\"@slack.text\"", Condition::Is, json!("other")),
                &publication
            ),
            CheckOutcome::Failed {
                actual: json!("Rule triggered")
            }
        );
        assert!(matches!(
            check(&test("nope(@)", Condition::Is, json!(1)), &publication),
            CheckOutcome::Error(_)
        ));
    }
}
