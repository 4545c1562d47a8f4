//! A rule or publisher that panics or errors fails alone: it is reported by name and every
//! other rule and publisher carries on.

use streamalert::prelude::*;
use streamalert::publisher::Chain;
use streamalert::rule::{Payload, RulesEngine};
use streamalert_tests::capture_logs;

streamalert::services!();

/// Always triggers.
#[rule(logs = ["isolation:test"], outputs = ["stdout:console"])]
fn healthy(_: &Record) -> bool {
    true
}

/// Panics on every record.
#[rule(logs = ["isolation:test"], outputs = ["stdout:console"])]
fn panicking(rec: &Record) -> bool {
    let user = rec["user"].as_str().expect("the record has no user");
    user == "root"
}

/// Returns an error on every record.
#[rule(logs = ["isolation:test"], outputs = ["stdout:console"])]
fn failing(_: &Record) -> Result<bool, String> {
    Err("the lookup table is unavailable".into())
}

/// Panics when it runs.
#[publisher(name = "isolation.panicking_publisher")]
fn panicking_publisher(_: &Alert, _: Publication) -> Publication {
    panic!("the template is broken")
}

/// Fails when it runs.
#[publisher(name = "isolation.failing_publisher")]
fn failing_publisher(_: &Alert, _: Publication) -> Result<Publication, PublishError> {
    Err(PublishError::missing_key("slack_message_template"))
}

fn engine() -> RulesEngine {
    let registry = streamalert::registry();
    let rules =
        ["panicking", "failing", "healthy"].map(|name| registry.rule(name).expect("registered"));
    RulesEngine::with_rules(rules.to_vec())
}

#[test]
fn a_panicking_or_failing_rule_does_not_trigger_and_does_not_stop_the_others() {
    let (alerts, logs) = capture_logs(|| {
        engine().run(&Payload::new(
            "isolation:test",
            serde_json::json!({"id": 1}),
        ))
    });
    let triggered: Vec<&str> = alerts.iter().map(|a| a.rule_name.as_str()).collect();
    assert_eq!(triggered, ["healthy"]);
    assert!(
        logs.contains("Encountered error with rule: panicking"),
        "{logs}"
    );
    assert!(
        logs.contains("the record has no user"),
        "the panic message is logged: {logs}"
    );
    assert!(
        logs.contains("Encountered error with rule: failing"),
        "{logs}"
    );
    assert!(logs.contains("the lookup table is unavailable"), "{logs}");
}

#[test]
fn a_panicking_publisher_fails_its_chain_by_name_and_other_chains_run() {
    let alert = Alert::new("healthy", serde_json::json!({"id": 1}), ["stdout:console"]);
    let broken = Chain::from_names(["publishers.none", "isolation.panicking_publisher"]);
    let error = broken.publish(&alert).expect_err("the chain fails");
    assert_eq!(error.publisher, "isolation.panicking_publisher");
    assert_eq!(
        error.to_string(),
        "publisher `isolation.panicking_publisher` failed: panicked: the template is broken"
    );

    let failing = Chain::from_names(["isolation.failing_publisher"])
        .publish(&alert)
        .expect_err("fails");
    assert_eq!(failing.publisher, "isolation.failing_publisher");
    assert_eq!(
        failing.to_string(),
        "publisher `isolation.failing_publisher` failed: missing key `slack_message_template`"
    );

    let healthy = Chain::from_names([streamalert::publisher::DEFAULT_PUBLISHER])
        .publish(&alert)
        .expect("runs");
    assert_eq!(healthy["rule_name"], "healthy");
}

/// Adds outputs from a directory that is down.
fn broken_team_output(_: &Record) -> Vec<String> {
    panic!("the team directory is down")
}

/// Always triggers; its dynamic output function panics.
#[rule(logs = ["isolation:dynamic"], outputs = ["stdout:console"], dynamic_outputs = [broken_team_output])]
fn with_broken_dynamic_output(_: &Record) -> bool {
    true
}

#[test]
fn a_failing_dynamic_output_function_is_reported_by_name_and_the_static_outputs_stay() {
    let rule = streamalert::registry()
        .rule("with_broken_dynamic_output")
        .expect("registered");
    let engine = RulesEngine::with_rules(vec![rule]);
    let (alerts, logs) = capture_logs(|| {
        engine.run(&Payload::new(
            "isolation:dynamic",
            serde_json::json!({"id": 1}),
        ))
    });
    assert_eq!(alerts.len(), 1);
    let outputs: Vec<&str> = alerts[0].outputs.iter().map(String::as_str).collect();
    // StreamAlert's required output and the static one; nothing from the failed function.
    assert_eq!(outputs, ["aws-firehose:alerts", "stdout:console"]);
    let line = logs
        .lines()
        .find(|line| {
            line.contains(
                "Exception when calling dynamic_output for rule with_broken_dynamic_output",
            )
        })
        .unwrap_or_else(|| panic!("the failure is logged: {logs}"));
    assert!(line.contains("broken_team_output"), "{line}");
    assert!(line.contains("the team directory is down"), "{line}");
    assert!(!line.contains("function=0"), "{line}");
}

/// Names outputs of every shape: without a `:`, with a space or a second `:` in the
/// descriptor, and one well-formed.
fn mixed_outputs(_: &Record) -> Vec<String> {
    ["slack", "slack:a b", "slack:a:b", ":x", "stdout:team"]
        .map(str::to_owned)
        .to_vec()
}

/// Always triggers; its dynamic outputs are of every shape.
#[rule(logs = ["isolation:grammar"], dynamic_outputs = [mixed_outputs])]
fn with_mixed_dynamic_outputs(_: &Record) -> bool {
    true
}

#[test]
fn dynamic_outputs_that_are_not_service_descriptor_are_dropped_with_the_grammars_message() {
    let rule = streamalert::registry()
        .rule("with_mixed_dynamic_outputs")
        .expect("registered");
    let engine = RulesEngine::with_rules(vec![rule]);
    let (alerts, logs) = capture_logs(|| {
        engine.run(&Payload::new(
            "isolation:grammar",
            serde_json::json!({"id": 1}),
        ))
    });
    assert_eq!(alerts.len(), 1);
    let outputs: Vec<&str> = alerts[0].outputs.iter().map(String::as_str).collect();
    assert_eq!(outputs, ["aws-firehose:alerts", "stdout:team"]);
    for message in [
        // StreamAlert's own text for an output without a colon.
        "Output (slack) is missing ':'",
        "the descriptor `a b` of output `slack:a b` may not contain ' '",
        "the descriptor `a:b` of output `slack:a:b` may not contain ':'",
        "output `:x` has no service before the `:`",
    ] {
        let lines: Vec<&str> = logs.lines().filter(|line| line.contains(message)).collect();
        assert_eq!(lines.len(), 1, "{message}: {logs}");
        assert!(lines[0].contains(" WARN "), "{}", lines[0]);
    }
}
