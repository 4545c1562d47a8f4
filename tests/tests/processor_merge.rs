//! `retry` is StreamAlert's alert merger: alerts of a merging rule wait in the ledger, then
//! each group (same merge-key values, one window) is delivered once as a merged alert.

use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use streamalert::config::{LedgerSettings, OutputsConfig};
use streamalert::ledger::{AlertStatus, SqliteLedger};
use streamalert::processor::Processor;

streamalert::services!();

fn event(id: &str, host: &str, created: &str) -> Value {
    json!({
        "RuleName": "brute_force", "AlertID": id, "Attempts": 0, "Created": created,
        "Record": json!({"host": host, "id": id}).to_string(),
        "Outputs": ["file:alerts"], "MergeByKeys": ["host"], "MergeWindowMins": 5
    })
}

#[tokio::test]
async fn waiting_alerts_are_merged_per_key_and_window_and_delivered_once() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("processor-merge-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("alerts.jsonl");
    let config =
        OutputsConfig::from_json(&json!({"file": {"alerts": out}}).to_string()).expect("config");
    let settings = LedgerSettings {
        path: dir.join("ledger.sqlite3"),
        ..Default::default()
    };
    let ledger = Arc::new(SqliteLedger::open(&settings).expect("ledger"));
    let processor = Processor::new(config).with_ledger(ledger.clone());

    let events = [
        event("a1", "h1", "2024-01-01T00:00:00.000000Z"),
        event("a2", "h1", "2024-01-01T00:03:00.000000Z"),
        event("a3", "h2", "2024-01-01T00:01:00.000000Z"),
        event("a4", "h1", "2024-01-01T00:09:00.000000Z"), // outside a1's window: a group of its own
    ];
    for event in &events {
        let outcome = processor.dispatch_event(event).await;
        assert!(
            outcome.results().is_empty(),
            "merging alerts wait: {outcome:?}"
        );
    }
    assert!(!out.exists(), "nothing delivered before the merge");
    assert_eq!(ledger.entries().expect("entries").len(), 4);

    // A pass in the last 5 s before its deadline merges nothing: every group waits.
    let near = std::time::SystemTime::now() + std::time::Duration::from_secs(3);
    let late = processor
        .clone()
        .with_deadline(near)
        .retry_pass()
        .await
        .expect("retry");
    assert_eq!(
        (late.deferred, late.run.merged, late.run.alerts),
        (4, 0, 0),
        "{late:?}"
    );
    assert!(!out.exists(), "nothing delivered by the late pass");

    let report = processor.retry().await.expect("retry");
    assert_eq!(
        (report.merged, report.alerts, report.sent, report.failed),
        (4, 3, 3, 0)
    );

    let text = std::fs::read_to_string(&out).expect("merged alerts delivered");
    let mut merged: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("JSON")["record"].clone())
        .collect();
    merged.sort_by_key(|record| record["AlertTimeFirst"].as_str().map(str::to_owned));
    let summary: Vec<(Value, Value, Value)> = merged
        .iter()
        .map(|r| {
            (
                r["AlertCount"].clone(),
                r["MergedBy"].clone(),
                r["AlertTimeFirst"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                json!(2),
                json!({"host": "h1"}),
                json!("2024-01-01T00:00:00.000000Z")
            ),
            (
                json!(1),
                json!({"host": "h2"}),
                json!("2024-01-01T00:01:00.000000Z")
            ),
            (
                json!(1),
                json!({"host": "h1"}),
                json!("2024-01-01T00:09:00.000000Z")
            ),
        ]
    );
    assert_eq!(
        merged[0]["ValueDiffs"],
        json!({"2024-01-01T00:00:00.000000Z": {"id": "a1"}, "2024-01-01T00:03:00.000000Z": {"id": "a2"}})
    );

    let entries = ledger.entries().expect("entries");
    let originals = entries
        .iter()
        .filter(|e| matches!(e.status, AlertStatus::Merged { .. }))
        .count();
    let complete = entries
        .iter()
        .filter(|e| e.status == AlertStatus::Complete)
        .count();
    assert_eq!((entries.len(), originals, complete), (7, 4, 3));

    let again = processor.retry().await.expect("retry");
    assert_eq!(
        (again.merged, again.alerts, again.sent),
        (0, 0, 0),
        "merged once"
    );
    assert_eq!(
        std::fs::read_to_string(&out).expect("file").lines().count(),
        3
    );
}
