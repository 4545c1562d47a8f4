//! Rule test events: StreamAlert's test-event JSON files, run against the registered rules and
//! publishers (spec §4.8; StreamAlert's `manage.py test rules`).
//!
//! A test-event file holds a JSON list of events. Each gives a record, the exact set of rules
//! it must trigger (`trigger_rules`, `[]` for none; disabled rules are removed from it), and
//! optionally `publisher_tests`: per output `service:descriptor`, checks of the publication
//! that output's publishers build for each alert, as `[expression, condition, value]` or
//! `{"jmespath_expression", "condition", "value"}`. The expression is JMESPath over the
//! publication; the conditions are `is`, `in` and `contains` ([`Condition`]).
//!
//! ```json
//! [
//!   {
//!     "description": "a root login on a host",
//!     "log": "osquery:differential",
//!     "service": "kinesis",
//!     "source": "prefix_cluster1_streamalert",
//!     "data": {"name": "pack_incident-response_last", "columns": {"username": "root"}},
//!     "trigger_rules": ["root_login"],
//!     "publisher_tests": {
//!       "slack:secops": [["\"@slack.text\"", "is", "Rule triggered"]]
//!     }
//!   }
//! ]
//! ```
//!
//! # Differences from StreamAlert's runner
//!
//! - There is no classifier: `log` is taken as the record's log type and `data` is the
//!   already-parsed record (a JSON object, with the types a schema cast would give, e.g. an
//!   integer where StreamAlert's raw data may hold `"1"`). `override_record` gives exactly the
//!   keys it lists, since there is no schema to fill in defaults from. `classify_only` events
//!   are read and checked but not run; `compress` has no effect; `test_fixtures` (threat intel,
//!   lookup tables) are ignored with a warning.
//! - `in` with a text value is a substring test (spec decision P10); StreamAlert crashes on
//!   anything but a list.
//! - A malformed file is an error with its position (`file:line:column`), including a wrong
//!   condition or JMESPath syntax, which StreamAlert reports only while running the test.
//! - `keys()` and `values()` list an object's keys in the publication's order, as Python's
//!   `jmespath` does (the `jmespath` crate itself sorts them).
//!
//! From `cargo test`:
//!
//! ```
//! use streamalert::prelude::*;
//!
//! /// Root logins.
//! #[rule(logs = ["osquery:differential"])]
//! fn root_login(rec: &Record) -> bool {
//!     rec["columns"]["username"] == "root"
//! }
//! streamalert::services!();
//!
//! # fn main() -> std::io::Result<()> {
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("root_login.json"), r#"[
//!   {"description": "root", "log": "osquery:differential", "service": "kinesis", "source": "s",
//!    "data": {"columns": {"username": "root"}}, "trigger_rules": ["root_login"]},
//!   {"description": "not root", "log": "osquery:differential", "service": "kinesis", "source": "s",
//!    "data": {"columns": {"username": "alice"}}, "trigger_rules": []}
//! ]"#)?;
//! let report = streamalert::testing::run_dir(dir.path());
//! report.assert_passed();
//! assert_eq!(report.counts().passed, 2);
//! # Ok(())
//! # }
//! ```

mod diff;
mod error;
mod event;
mod jmes;
mod report;
mod runner;

pub use error::TestingError;
pub use event::{
    Condition, KEYS, LAST_HOUR_HELPER, PublisherTest, SERVICES, TestEvent, load_file, parse_events,
};
pub use report::{
    CheckOutcome, Counts, EventReport, EventStatus, FileReport, PublisherCheck, Report, RuleSummary,
};
pub use runner::Runner;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Runs every test-event file under `path` (recursively, `*.json`) against every registered
/// rule. Call [`Report::assert_passed`] on the result in a test.
///
/// ```
/// let report = streamalert::testing::run_dir("no/such/dir");
/// assert!(!report.passed());
/// assert_eq!(report.errors[0].to_string(), "no/such/dir: no such file or directory");
/// ```
pub fn run_dir(path: impl AsRef<Path>) -> Report {
    Runner::new().run_paths(&[path.as_ref()])
}

/// The directory the CLI reads when no path is given, as in StreamAlert.
pub const DEFAULT_RULES_DIR: &str = "rules";

/// The `test [RULE…]` command: runs the test events under `paths` (files or directories;
/// [`DEFAULT_RULES_DIR`] when empty), restricted to the events expecting one of `rules` when
/// any are given, prints the report (with a diff for every failure) and returns exit code 1
/// unless everything passed.
///
/// ```
/// use std::path::PathBuf;
/// use std::process::ExitCode;
/// let code = streamalert::testing::run_cli(&[PathBuf::from("no/such/dir")], &[]);
/// assert_eq!(code, ExitCode::from(1));
/// ```
pub fn run_cli(paths: &[PathBuf], rules: &[String]) -> ExitCode {
    let default = [PathBuf::from(DEFAULT_RULES_DIR)];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let report = Runner::new()
        .select_rules(rules.iter().cloned())
        .run_paths(paths);
    print!("{report}");
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Record;
    use crate::registry::Location;
    use crate::rule::{Rule, RuleFn, StaticPublishers};

    const LOG: &str = "testing:runner";

    fn is_root(rec: &Record) -> Result<bool, String> {
        Ok(rec["user"] == "root")
    }

    fn always(_: &Record) -> Result<bool, String> {
        Ok(true)
    }

    const fn rule(
        name: &'static str,
        func: fn(&Record) -> Result<bool, String>,
        disabled: bool,
    ) -> Rule {
        Rule {
            name,
            description: "A test rule.",
            logs: Some(&[LOG]),
            datatypes: &[],
            outputs: &["slack:secops"],
            dynamic_outputs: &[],
            matchers: &[],
            req_subkeys: &[],
            publishers: StaticPublishers::None,
            context: None,
            merge_by_keys: &[],
            merge_window_mins: 0,
            disabled,
            func: RuleFn::Record(func),
            location: Location {
                file: file!(),
                line: line!(),
            },
        }
    }

    static ROOT: Rule = rule("root_login", is_root, false);
    static NOISY: Rule = rule("noisy", always, true);

    fn runner() -> Runner {
        Runner::with_rules(vec![&ROOT, &NOISY])
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn events(user: &str, expected: &str, tests: &str) -> String {
        format!(
            r#"[{{"description": "d", "log": "{LOG}", "service": "kinesis", "source": "src",
                "data": {{"user": "{user}"}}, "trigger_rules": {expected}{tests}}}]"#
        )
    }

    #[test]
    fn passing_and_disabled_rules() {
        let dir = tempfile::tempdir().unwrap();
        // `noisy` is disabled: it neither runs nor is expected.
        write(
            dir.path(),
            "a.json",
            &events("root", r#"["root_login", "noisy"]"#, ""),
        );
        write(dir.path(), "b.json", &events("alice", "[]", ""));
        write(dir.path(), "notes.txt", "not an event file");
        let report = runner().run_paths(&[dir.path()]);
        assert!(report.passed(), "{report}");
        assert_eq!(report.counts().events, 2);
        let (_, first) = report.events().next().unwrap();
        assert_eq!(first.disabled.iter().collect::<Vec<_>>(), ["noisy"]);
        assert_eq!(report.rule_summaries()[0].rule, "root_login");
        assert!(report.untested_rules.is_empty());
    }

    #[test]
    fn failing_expectation_shows_the_difference() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "a.json",
            &events("root", r#"["other_rule"]"#, ""),
        );
        let report = runner().run_paths(&[&path]);
        assert!(!report.passed());
        let text = report.to_string();
        assert!(text.contains("FAIL  #1 d"), "{text}");
        assert!(
            text.contains("- other_rule  (expected, but no registered rule has this name)"),
            "{text}"
        );
        assert!(
            text.contains("+ root_login  (triggered, not expected)"),
            "{text}"
        );
        assert!(
            text.contains("1 test event: 0 passed, 1 failed, 0 skipped"),
            "{text}"
        );
    }

    #[test]
    fn publisher_tests_run_on_every_alert_output() {
        let dir = tempfile::tempdir().unwrap();
        let tests = r#", "publisher_tests": {"slack:secops": [
            ["rule_name", "is", "root_login"],
            {"jmespath_expression": "record.user", "condition": "in", "value": ["root", "admin"]},
            ["rule_name", "contains", "login"],
            ["record", "is", {"user": "alice"}]
        ], "pagerduty:x": [["a", "is", 1]]}"#;
        let path = write(
            dir.path(),
            "a.json",
            &events("root", r#"["root_login"]"#, tests),
        );
        let report = runner().run_paths(&[&path]);
        let (_, event) = report.events().next().unwrap();
        let outcomes: Vec<_> = event.publisher_checks.iter().map(|c| &c.outcome).collect();
        assert_eq!(outcomes[..3], [&CheckOutcome::Passed; 3]);
        assert_eq!(
            outcomes[3],
            &CheckOutcome::Failed {
                actual: serde_json::json!({"user": "root"})
            }
        );
        assert!(
            matches!(outcomes[4], CheckOutcome::Error(m) if m.contains("no such output pagerduty:x"))
        );
        let text = report.to_string();
        assert!(text.contains("publishers: 3/5 passed"), "{text}");
        assert!(text.contains("-   \"user\": \"alice\""), "{text}");
        assert!(text.contains("+   \"user\": \"root\""), "{text}");
    }

    #[test]
    fn selection_skips_other_events_and_names_unknown_rules() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "a.json",
            &events("root", r#"["root_login"]"#, ""),
        );
        write(dir.path(), "b.json", &events("alice", "[]", ""));
        let report = runner()
            .select_rules(["root_login"])
            .run_paths(&[dir.path()]);
        assert!(report.passed(), "{report}");
        assert_eq!(report.counts().skipped, 1);
        let text = report.to_string();
        assert!(
            !text.contains("b.json"),
            "skipped events are not listed: {text}"
        );
        assert!(
            text.contains("2 test events: 1 passed, 0 failed, 1 skipped"),
            "{text}"
        );
        let report = runner().select_rules(["nope"]).run_paths(&[dir.path()]);
        assert!(!report.passed());
        assert!(
            report
                .to_string()
                .contains("no registered rule is named: nope")
        );
    }

    #[test]
    fn malformed_files_and_missing_paths_fail() {
        let dir = tempfile::tempdir().unwrap();
        let bad = write(
            dir.path(),
            "bad.json",
            "[\n  {\"description\": \"x\", \"log\": 5}\n]",
        );
        let report = runner().run_paths(&[bad.as_path(), Path::new("/no/such/path")]);
        assert!(!report.passed());
        assert_eq!(report.counts().file_errors, 2);
        let text = report.to_string();
        assert!(
            text.contains(&format!(
                "{}:2:31: invalid type: integer `5`, expected a string",
                bad.display()
            )),
            "{text}"
        );
        assert!(
            text.contains("/no/such/path: no such file or directory"),
            "{text}"
        );
    }

    #[test]
    fn untested_rules_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "b.json", &events("alice", "[]", ""));
        let report = runner().run_paths(&[dir.path()]);
        assert_eq!(report.untested_rules, ["root_login"]);
    }
}
