//! A failing output is retried alone: a test output that fails twice, then succeeds.
//!
//! Runs this binary as a processor (its rule and outputs, the real command line and a real
//! SQLite ledger) in child processes: `process`, then `retry` twice.

mod processor_support;

use processor_support::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use streamalert::ledger::{AlertStatus, DeliveryState};
use streamalert::prelude::*;

streamalert::services!(Flaky);

/// How many times each alert's delivery to `flaky` fails before it succeeds.
const FAILURES: u32 = 2;

/// Fails the first [`FAILURES`] deliveries of each alert, then appends the alert id to
/// `<setting>/delivered.log`. Attempts are counted in files, so they survive the process.
#[derive(Default)]
#[output(service = "flaky")]
pub struct Flaky;

#[streamalert::async_trait]
impl Output for Flaky {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![OutputProperty::descriptor("a name")]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let dir = PathBuf::from(delivery.setting.unwrap_or("."));
        std::fs::create_dir_all(&dir)
            .map_err(|e| DispatchError::new(ErrorKind::Io, e.to_string()))?;
        let counter = dir.join(format!("{}.attempts", delivery.alert.alert_id));
        let attempts: u32 = std::fs::read_to_string(&counter)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        std::fs::write(&counter, (attempts + 1).to_string())
            .map_err(|e| DispatchError::new(ErrorKind::Io, e.to_string()))?;
        if attempts < FAILURES {
            return Err(DispatchError::new(
                ErrorKind::Unavailable,
                format!("flaky failure {} of {FAILURES}", attempts + 1),
            ));
        }
        use std::io::Write as _;
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("delivered.log"))
            .map_err(|e| DispatchError::new(ErrorKind::Io, e.to_string()))?;
        // One `write` per line: `writeln!` may split it, and deliveries run concurrently.
        log.write_all(format!("{}\n", delivery.alert.alert_id).as_bytes())
            .map_err(|e| DispatchError::new(ErrorKind::Io, e.to_string()))
    }
}

use streamalert::output::{Delivery, ErrorKind};

/// Every login.
#[rule(logs = ["test:login"], outputs = ["file:alerts", "flaky:twice"])]
fn any_login(rec: &Record) -> bool {
    rec["user"].is_string()
}

#[test]
fn cli_child() {
    if !child_main() {
        // In the test process: the registrations this file relies on exist.
        assert!(streamalert::registry().rule("any_login").is_some());
        assert!(streamalert::registry().output("flaky").is_some());
    }
}

fn count_by_id(values: impl IntoIterator<Item = String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for value in values {
        *counts.entry(value).or_default() += 1;
    }
    counts
}

#[test]
fn only_the_failing_output_is_retried_and_everything_is_sent_exactly_once() {
    let dir = scratch("retry");
    let conf = write_config(
        &dir,
        &json!({"file": {"alerts": "out/alerts.jsonl"}, "flaky": {"twice": "out/flaky"}}),
        Some(&json!({"ledger": {"path": "ledger.sqlite3"}})),
    );
    let conf = conf.to_str().expect("utf-8 path");
    let input: String = (0..5)
        .map(|i| record_line("test:login", &json!({"user": format!("u{i}")})) + "\n")
        .collect();
    let input_path = dir.join("records.jsonl");
    std::fs::write(&input_path, input).expect("input");
    let input_path = input_path.to_str().expect("utf-8 path");

    let first = run_cli(&dir, &["process", "--input", input_path, "--config", conf]);
    let err = stderr(&first);
    assert_eq!(
        code(&first),
        Some(1),
        "a failed delivery fails the run: {err}"
    );
    assert!(
        err.contains(
            "records: 5, malformed: 0, alerts: 5, deliveries sent: 5, failed: 5, pending: 5"
        ),
        "{err}"
    );
    assert!(
        err.contains("flaky failure 1 of 2"),
        "the reason is logged: {err}"
    );
    let entries = ledger_entries(&dir.join("ledger.sqlite3"));
    assert_eq!(entries.len(), 5);
    for entry in &entries {
        let flaky = entry.delivery("flaky:twice").expect("flaky record");
        assert_eq!(flaky.state, DeliveryState::Failed);
        assert_eq!(flaky.attempts, 1);
        assert_eq!(
            flaky.last_error.as_deref(),
            Some("service unavailable: flaky failure 1 of 2")
        );
        assert_eq!(
            entry.delivery("file:alerts").expect("file record").state,
            DeliveryState::Sent
        );
        assert_eq!(entry.status, AlertStatus::Open);
    }

    let second = run_cli(&dir, &["retry", "--config", conf]);
    let err = stderr(&second);
    assert_eq!(code(&second), Some(1), "{err}");
    assert!(
        err.contains("alerts: 5, deliveries sent: 0, failed: 5, pending: 5"),
        "only flaky is retried: {err}"
    );

    let third = run_cli(&dir, &["retry", "--config", conf]);
    let err = stderr(&third);
    assert_eq!(code(&third), Some(0), "{err}");
    assert!(
        err.contains("alerts: 5, deliveries sent: 5, failed: 0, pending: 0"),
        "{err}"
    );

    let fourth = run_cli(&dir, &["retry", "--config", conf]);
    let err = stderr(&fourth);
    assert_eq!(code(&fourth), Some(0), "{err}");
    assert!(
        err.contains("alerts: 0, deliveries sent: 0, failed: 0, pending: 0"),
        "nothing left: {err}"
    );

    let entries = ledger_entries(&dir.join("ledger.sqlite3"));
    let ids: Vec<String> = entries.iter().map(|e| e.alert.alert_id.clone()).collect();
    let file_ids = json_lines(&dir.join("out/alerts.jsonl"))
        .into_iter()
        .map(|alert| alert["id"].as_str().expect("id").to_owned());
    let flaky_ids = std::fs::read_to_string(dir.join("out/flaky/delivered.log"))
        .expect("flaky log")
        .lines()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    let expected: BTreeMap<String, usize> = ids.iter().map(|id| (id.clone(), 1)).collect();
    assert_eq!(
        count_by_id(file_ids),
        expected,
        "the file output got each alert once"
    );
    assert_eq!(
        count_by_id(flaky_ids),
        expected,
        "flaky got each alert once"
    );
    for entry in &entries {
        assert_eq!(entry.status, AlertStatus::Complete);
        let file = entry.delivery("file:alerts").expect("file record");
        assert_eq!(
            (file.state, file.attempts),
            (DeliveryState::Sent, 1),
            "never resent"
        );
        let flaky = entry.delivery("flaky:twice").expect("flaky record");
        assert_eq!((flaky.state, flaky.attempts), (DeliveryState::Sent, 3));
        assert_eq!(flaky.last_error, None);
        assert_eq!(entry.alert.attempts, 3, "one pass by process, two by retry");
    }
}
