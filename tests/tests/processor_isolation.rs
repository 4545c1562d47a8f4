//! A panicking rule and a panicking publisher: each reported by name, nothing else affected.

mod processor_support;

use processor_support::*;
use serde_json::json;
use streamalert::ledger::{AlertStatus, DeliveryState};
use streamalert::prelude::*;

streamalert::services!();

/// Panics on every record.
#[rule(logs = ["test:event"], outputs = ["file:alerts"])]
fn panicking_rule(rec: &Record) -> bool {
    panic!("rule blew up on {}", rec["n"])
}

/// Every event.
#[rule(logs = ["test:event"], outputs = ["file:alerts"])]
fn healthy_rule(rec: &Record) -> bool {
    rec["n"].is_number()
}

/// Every event, to two files; the first one through a publisher that panics.
#[rule(
    logs = ["test:event"],
    outputs = ["file:alerts", "file:other"],
    publishers = { "file:alerts" => [exploding_publisher] },
)]
fn rule_with_bad_publisher(rec: &Record) -> bool {
    rec["n"].is_number()
}

/// Panics on every alert.
#[publisher]
fn exploding_publisher(_: &Alert, _: Publication) -> Publication {
    panic!("publisher blew up")
}

#[test]
fn cli_child() {
    if !child_main() {
        assert!(streamalert::registry().rule("panicking_rule").is_some());
    }
}

#[test]
fn a_panicking_rule_and_publisher_are_reported_by_name_and_nothing_else_is_affected() {
    let dir = scratch("isolation");
    let conf = write_config(
        &dir,
        &json!({"file": {"alerts": "out/alerts.jsonl", "other": "out/other.jsonl"}}),
        Some(&json!({"ledger": {"path": "ledger.sqlite3"}})),
    );
    let input: String = (0..3)
        .map(|n| record_line("test:event", &json!({"n": n})) + "\n")
        .collect();
    let run = run_cli_with_stdin(
        &dir,
        &["process", "--config", conf.to_str().expect("utf-8")],
        Some(input.as_bytes()),
    );
    let err = stderr(&run);
    assert_eq!(
        code(&run),
        Some(1),
        "the publisher's failed deliveries fail the run: {err}"
    );
    assert!(
        err.contains("Encountered error with rule: panicking_rule"),
        "{err}"
    );
    let publisher = streamalert::registry()
        .publishers()
        .iter()
        .find(|p| p.name.ends_with("exploding_publisher"))
        .expect("registered")
        .name;
    assert!(
        err.contains(&format!(
            "publisher `{publisher}` failed: panicked: publisher blew up"
        )),
        "{err}"
    );
    assert!(
        err.contains(
            "records: 3, malformed: 0, alerts: 6, deliveries sent: 6, failed: 3, pending: 3"
        ),
        "{err}"
    );

    let alerts = json_lines(&dir.join("out/alerts.jsonl"));
    let other = json_lines(&dir.join("out/other.jsonl"));
    assert_eq!(alerts.len(), 3, "healthy_rule's alerts are all delivered");
    assert!(alerts.iter().all(|a| a["rule_name"] == "healthy_rule"));
    assert_eq!(
        other.len(),
        3,
        "the bad publisher's rule still reaches its other output"
    );
    assert!(
        other
            .iter()
            .all(|a| a["rule_name"] == "rule_with_bad_publisher")
    );

    let entries = ledger_entries(&dir.join("ledger.sqlite3"));
    let mut rules: Vec<&str> = entries.iter().map(|e| e.alert.rule_name.as_str()).collect();
    rules.sort_unstable();
    assert_eq!(
        rules,
        [
            "healthy_rule",
            "healthy_rule",
            "healthy_rule",
            "rule_with_bad_publisher",
            "rule_with_bad_publisher",
            "rule_with_bad_publisher"
        ],
        "every alert is recorded, the panicking rule's none"
    );
    for entry in entries {
        match entry.alert.rule_name.as_str() {
            "healthy_rule" => assert_eq!(entry.status, AlertStatus::Complete),
            "rule_with_bad_publisher" => {
                assert_eq!(entry.status, AlertStatus::Open);
                let failed = entry.delivery("file:alerts").expect("record");
                assert_eq!(failed.state, DeliveryState::Failed);
                assert!(
                    failed
                        .last_error
                        .as_deref()
                        .is_some_and(|e| e.contains(publisher)),
                    "{failed:?}"
                );
                assert_eq!(
                    entry.delivery("file:other").expect("record").state,
                    DeliveryState::Sent
                );
            }
            other => panic!("unexpected alert of {other}"),
        }
    }
}
