//! The community rules pass every test event under `rules/`, and the test runner
//! (`streamalert::testing`) reports passing files, failed expectations, failed publisher tests
//! and malformed files as it should (fixtures under `tests/fixtures/`).

// The rules are the binary's own module, compiled into this test too (a test cannot import a
// binary crate).
#[path = "../src/rules/mod.rs"]
mod rules;

streamalert::services!();

use std::path::{Path, PathBuf};
use streamalert::testing::{CheckOutcome, EventStatus, Report, TestingError, run_dir};

fn path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn fixture(name: &str) -> Report {
    run_dir(path(&format!("tests/fixtures/{name}")))
}

#[test]
fn every_test_event_passes() {
    let report = run_dir(path("rules"));
    println!("{report}");
    report.assert_passed();
    assert!(
        report.untested_rules.is_empty(),
        "rules without test events: {:?}",
        report.untested_rules
    );
    let files = report.files.len();
    let rules = streamalert::registry().rules().len();
    assert!(
        files > 0 && files == rules,
        "{files} test-event files for {rules} rules"
    );
    for (file, event) in report.events() {
        assert!(
            event.warnings.is_empty(),
            "{} #{}: {:?}",
            file.display(),
            event.index,
            event.warnings
        );
    }
}

#[test]
fn a_passing_file_passes() {
    let report = fixture("passing.json");
    report.assert_passed();
    let counts = report.counts();
    assert_eq!((counts.events, counts.passed), (3, 3), "{report}");
    let checks: usize = report.events().map(|(_, e)| e.publisher_checks.len()).sum();
    assert_eq!(checks, 5, "{report}");
}

#[test]
fn a_failing_trigger_expectation_fails_with_a_diff() {
    let report = fixture("failing_trigger.json");
    assert!(!report.passed());
    let counts = report.counts();
    assert_eq!((counts.passed, counts.failed), (1, 2), "{report}");
    let text = report.to_string();
    for line in [
        "FAIL  #2 a fraud record expected to trigger nothing",
        "rules (duo:authentication): triggered [duo_fraud], expected []",
        "+ duo_fraud  (triggered, not expected)",
        "FAIL  #3 an anonymous-IP failure expected to be fraud",
        "- duo_fraud  (expected, not triggered)",
        "+ duo_anonymous_ip_failure  (triggered, not expected)",
        "3 events  2 failed",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

#[test]
fn a_failing_publisher_test_fails_with_expected_and_actual() {
    let report = fixture("failing_publisher.json");
    assert!(!report.passed());
    let (_, event) = report.events().next().expect("one event");
    assert_eq!(event.status, EventStatus::Failed);
    assert!(
        event.rules_passed(),
        "the rule itself triggered as expected"
    );
    let failed: Vec<_> = event
        .publisher_checks
        .iter()
        .filter(|c| c.outcome != CheckOutcome::Passed)
        .collect();
    assert_eq!(failed.len(), 2, "{report}");
    let text = report.to_string();
    for line in [
        "publishers: 2/4 passed",
        r#"cloudtrail_put_object_acl_public_publisher_example slack:sample-channel: `"@slack.text"` is "Rule fired""#,
        r#"expected: "Rule fired""#,
        r#"actual:   "Rule triggered""#,
        r#"`"@pagerduty.details".userName` in ["alice","bob"]"#,
        r#"expected one of: ["alice","bob"]"#,
        r#"actual:          "test_user""#,
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

#[test]
fn a_malformed_file_is_an_error_with_file_and_position() {
    for (name, line, column, message) in [
        ("malformed_syntax.json", 9, 3, "trailing comma"),
        ("malformed_event.json", 2, 3, "invalid condition `equals`"),
    ] {
        let report = fixture(name);
        assert!(!report.passed());
        let file = &report.files[0];
        let Err(TestingError::Malformed {
            path,
            line: l,
            column: c,
            message: m,
        }) = &file.events
        else {
            panic!("{name} is not reported as malformed: {report}");
        };
        assert_eq!((path, *l, *c), (&file.path, line, column), "{name}: {m}");
        assert!(m.contains(message), "{name}: {m}");
        let text = report.to_string();
        let position = format!("{}:{line}:{column}: ", file.path.display());
        assert!(text.contains(&position), "{text}");
    }
}
