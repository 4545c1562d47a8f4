//! The result of a test run: per file, per event, per rule.

use super::diff::value_diff;
use super::{Condition, PublisherTest, TestingError};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

/// What became of one test event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    /// The triggered rules were the expected ones and every publisher test passed.
    Passed,
    /// Something differed; the [`EventReport`] says what.
    Failed,
    /// Not run: it expects none of the rules the run was restricted to.
    Skipped,
}

/// The result of one test event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventReport {
    /// 1-based position of the event in its file.
    pub index: usize,
    /// The event's description.
    pub description: String,
    /// The event's log type.
    pub log: String,
    /// Passed, failed or skipped.
    pub status: EventStatus,
    /// The event only tests classification; nothing was run.
    pub classify_only: bool,
    /// The rules expected to trigger: `trigger_rules` minus disabled rules.
    pub expected: BTreeSet<String>,
    /// The rules that triggered.
    pub triggered: BTreeSet<String>,
    /// Rules of `trigger_rules` dropped from the expectation because they are disabled.
    pub disabled: BTreeSet<String>,
    /// Rules of `trigger_rules` that no registered rule is named after.
    pub unknown: BTreeSet<String>,
    /// Every publisher test run, per alert.
    pub publisher_checks: Vec<PublisherCheck>,
    /// Remarks on the event's format.
    pub warnings: Vec<String>,
}

impl EventReport {
    /// True when exactly the expected rules triggered (see [`Runner`](super::Runner) for an
    /// example).
    pub fn rules_passed(&self) -> bool {
        self.expected == self.triggered
    }

    /// Expected rules that did not trigger.
    pub fn missing(&self) -> impl Iterator<Item = &String> {
        self.expected.difference(&self.triggered)
    }

    /// Rules that triggered without being expected.
    pub fn unexpected(&self) -> impl Iterator<Item = &String> {
        self.triggered.difference(&self.expected)
    }
}

/// One publisher test applied to the publication of one alert's output.
#[derive(Debug, Clone, PartialEq)]
pub struct PublisherCheck {
    /// The rule whose alert was published.
    pub rule: String,
    /// The output `service:descriptor`.
    pub output: String,
    /// The test.
    pub test: PublisherTest,
    /// What happened.
    pub outcome: CheckOutcome,
}

/// The outcome of a [`PublisherCheck`].
#[derive(Debug, Clone, PartialEq)]
pub enum CheckOutcome {
    /// The condition held.
    Passed,
    /// The condition did not hold for this value of the expression.
    Failed {
        /// The expression's result.
        actual: Value,
    },
    /// The test could not be evaluated: no such output on the alert, a publisher failed, the
    /// expression failed, or the value does not suit the condition.
    Error(String),
}

/// The results of one test-event file, or why it could not be read.
#[derive(Debug)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Its events' results, or the error that stopped the file.
    pub events: Result<Vec<EventReport>, TestingError>,
}

/// Counts over a whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Test events read.
    pub events: usize,
    /// Events that passed.
    pub passed: usize,
    /// Events that failed.
    pub failed: usize,
    /// Events skipped by the rule selection.
    pub skipped: usize,
    /// Files or paths that could not be used.
    pub file_errors: usize,
}

/// How the test events of one rule went (see [`Report::rule_summaries`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSummary {
    /// The rule.
    pub rule: String,
    /// Events run that concern it.
    pub events: usize,
    /// Of those, the events that failed.
    pub failed: usize,
}

/// The report of a test run. `Display` prints it per file with a diff for each failure, then a
/// summary per rule.
///
/// ```
/// use streamalert::testing::Report;
/// let report = Report::default();
/// assert!(!report.passed(), "a run of no test event does not pass");
/// assert_eq!(report.counts().events, 0);
/// ```
#[derive(Debug, Default)]
pub struct Report {
    /// One entry per test-event file, in the order run.
    pub files: Vec<FileReport>,
    /// Paths that could not be used at all (missing or unreadable directories).
    pub errors: Vec<TestingError>,
    /// The rules the run was restricted to (empty: all).
    pub selected_rules: Vec<String>,
    /// Selected rules that are not registered.
    pub unknown_selected_rules: Vec<String>,
    /// Enabled rules no test event expects (listed only for an unrestricted run).
    pub untested_rules: Vec<String>,
}

impl Report {
    /// Event and error counts.
    ///
    /// ```
    /// let report = streamalert::testing::run_dir("no/such/dir");
    /// assert_eq!(report.counts().file_errors, 1);
    /// assert_eq!(report.counts().events, 0);
    /// ```
    pub fn counts(&self) -> Counts {
        let mut counts = Counts {
            file_errors: self.errors.len(),
            ..Counts::default()
        };
        for file in &self.files {
            match &file.events {
                Ok(events) => {
                    for event in events {
                        counts.events += 1;
                        match event.status {
                            EventStatus::Passed => counts.passed += 1,
                            EventStatus::Failed => counts.failed += 1,
                            EventStatus::Skipped => counts.skipped += 1,
                        }
                    }
                }
                Err(_) => counts.file_errors += 1,
            }
        }
        counts
    }

    /// True when every file could be read, every event run passed, every selected rule is
    /// registered, and at least one event ran.
    ///
    /// ```
    /// assert!(!streamalert::testing::Report::default().passed());
    /// ```
    pub fn passed(&self) -> bool {
        let counts = self.counts();
        counts.failed == 0
            && counts.file_errors == 0
            && self.unknown_selected_rules.is_empty()
            && counts.passed > 0
    }

    /// Every event of every file that could be read, with its file.
    ///
    /// ```
    /// assert_eq!(streamalert::testing::Report::default().events().count(), 0);
    /// ```
    pub fn events(&self) -> impl Iterator<Item = (&PathBuf, &EventReport)> {
        self.files.iter().flat_map(|file| {
            file.events
                .iter()
                .flatten()
                .map(move |event| (&file.path, event))
        })
    }

    /// Per rule, sorted by rule: the events run that expect it or that it triggered on, and
    /// the events of the file named after it (StreamAlert's `rules/<group>/<rule>.json`).
    ///
    /// ```
    /// assert!(streamalert::testing::Report::default().rule_summaries().is_empty());
    /// ```
    pub fn rule_summaries(&self) -> Vec<RuleSummary> {
        let known: BTreeSet<&str> = self
            .events()
            .flat_map(|(_, e)| e.expected.iter().chain(&e.triggered).chain(&e.disabled))
            .map(String::as_str)
            .collect();
        let mut rules: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (path, event) in self.events() {
            if event.status == EventStatus::Skipped {
                continue;
            }
            let stem = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .filter(|stem| known.contains(stem));
            let concerned: BTreeSet<&str> = event
                .expected
                .iter()
                .chain(&event.triggered)
                .map(String::as_str)
                .chain(stem)
                .collect();
            for rule in concerned {
                let entry = rules.entry(rule).or_default();
                entry.0 += 1;
                if event.status == EventStatus::Failed {
                    entry.1 += 1;
                }
            }
        }
        rules
            .into_iter()
            .map(|(rule, (events, failed))| RuleSummary {
                rule: rule.to_owned(),
                events,
                failed,
            })
            .collect()
    }

    /// Panics with the whole report unless it [passed](Self::passed): the one call a
    /// `cargo test` needs.
    ///
    /// ```should_panic
    /// streamalert::testing::run_dir("no/such/dir").assert_passed();
    /// ```
    #[track_caller]
    pub fn assert_passed(&self) {
        assert!(self.passed(), "rule test events failed:\n{self}");
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for error in &self.errors {
            writeln!(f, "ERROR {error}")?;
        }
        // Events skipped by the rule selection are only counted, as StreamAlert suppresses them.
        for file in &self.files {
            match &file.events {
                Ok(events) => {
                    let run: Vec<&EventReport> = events
                        .iter()
                        .filter(|event| event.status != EventStatus::Skipped)
                        .collect();
                    if !run.is_empty() || events.is_empty() {
                        writeln!(f, "{}", file.path.display())?;
                    }
                    run.into_iter()
                        .try_for_each(|event| write_event(f, event))?;
                }
                Err(error) => {
                    writeln!(f, "{}", file.path.display())?;
                    writeln!(f, "  ERROR {error}")?;
                }
            }
        }
        let summaries = self.rule_summaries();
        if !summaries.is_empty() {
            writeln!(f, "\nPer rule:")?;
            let width = summaries.iter().map(|s| s.rule.len()).max().unwrap_or(0);
            for summary in &summaries {
                let events = plural(summary.events, "event");
                let verdict = if summary.failed == 0 {
                    "ok".to_owned()
                } else {
                    format!("{} failed", summary.failed)
                };
                writeln!(f, "  {:<width$}  {events:>9}  {verdict}", summary.rule)?;
            }
        }
        if !self.untested_rules.is_empty() {
            writeln!(
                f,
                "\nNo test events configured for the following rules: {}",
                self.untested_rules.join(", ")
            )?;
        }
        if !self.unknown_selected_rules.is_empty() {
            writeln!(
                f,
                "\nERROR no registered rule is named: {}",
                self.unknown_selected_rules.join(", ")
            )?;
        }
        let counts = self.counts();
        if counts.passed + counts.failed == 0 && counts.file_errors == 0 {
            let why = if self.selected_rules.is_empty() {
                "no test event was found".to_owned()
            } else {
                format!("no test event expects {}", self.selected_rules.join(", "))
            };
            writeln!(f, "\nERROR {why}")?;
        }
        write!(
            f,
            "\n{}: {} passed, {} failed, {} skipped",
            plural(counts.events, "test event"),
            counts.passed,
            counts.failed,
            counts.skipped
        )?;
        if counts.file_errors > 0 {
            write!(
                f,
                "; {} with errors",
                plural(counts.file_errors, "file or path")
            )?;
        }
        writeln!(f)
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn list(rules: &BTreeSet<String>) -> String {
    let names: Vec<&str> = rules.iter().map(String::as_str).collect();
    format!("[{}]", names.join(", "))
}

fn write_event(f: &mut fmt::Formatter<'_>, event: &EventReport) -> fmt::Result {
    let label = match event.status {
        EventStatus::Passed => "ok  ",
        EventStatus::Failed => "FAIL",
        EventStatus::Skipped => "skip",
    };
    writeln!(f, "  {label}  #{} {}", event.index, event.description)?;
    const PAD: &str = "          ";
    for warning in &event.warnings {
        writeln!(f, "{PAD}warning: {warning}")?;
    }
    if event.status != EventStatus::Failed {
        return Ok(());
    }
    if !event.rules_passed() {
        writeln!(
            f,
            "{PAD}rules ({}): triggered {}, expected {}",
            event.log,
            list(&event.triggered),
            list(&event.expected)
        )?;
        for rule in event.missing() {
            let why = if event.unknown.contains(rule) {
                "expected, but no registered rule has this name"
            } else {
                "expected, not triggered"
            };
            writeln!(f, "{PAD}  - {rule}  ({why})")?;
        }
        for rule in event.unexpected() {
            writeln!(f, "{PAD}  + {rule}  (triggered, not expected)")?;
        }
    }
    if !event.disabled.is_empty() {
        writeln!(
            f,
            "{PAD}disabled rules (not expected): {}",
            list(&event.disabled)
        )?;
    }
    let failures: Vec<&PublisherCheck> = event
        .publisher_checks
        .iter()
        .filter(|check| check.outcome != CheckOutcome::Passed)
        .collect();
    if !failures.is_empty() {
        let total = event.publisher_checks.len();
        writeln!(
            f,
            "{PAD}publishers: {}/{total} passed",
            total - failures.len()
        )?;
        for check in failures {
            writeln!(f, "{PAD}  {} {}: {}", check.rule, check.output, check.test)?;
            match &check.outcome {
                CheckOutcome::Passed => {}
                CheckOutcome::Error(message) => writeln!(f, "{PAD}    error: {message}")?,
                CheckOutcome::Failed { actual } => {
                    let indent = format!("{PAD}    ");
                    let expected = &check.test.value;
                    let lines = match (check.test.condition, expected) {
                        (Condition::Is, _) => value_diff(expected, actual, &indent),
                        (Condition::In, Value::Array(_)) => vec![
                            format!("{indent}expected one of: {expected}"),
                            format!("{indent}actual:          {actual}"),
                        ],
                        (Condition::In, _) => vec![
                            format!("{indent}expected within: {expected}"),
                            format!("{indent}actual:          {actual}"),
                        ],
                        (Condition::Contains, _) => vec![
                            format!("{indent}expected to contain: {expected}"),
                            format!("{indent}actual:              {actual}"),
                        ],
                    };
                    for line in lines {
                        writeln!(f, "{line}")?;
                    }
                }
            }
        }
    }
    Ok(())
}
