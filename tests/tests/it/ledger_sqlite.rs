//! The embedded SQLite ledger on a real file: sent is forever, the union of sent outputs,
//! statuses, intents (and finding an interrupted delivery by its intent), input checkpoints,
//! merges, exclusive use, and its on-disk format (WAL, the pages an alert writes).

use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, join_all};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use streamalert::Alert;
use streamalert::alert::Timestamp;
use streamalert::config::{LedgerSettings, OutputsConfig};
use streamalert::ledger::{
    AlertKey, AlertStatus, Claim, DeliveryState, Fingerprint, InputCheckpoint, Ledger, LedgerError,
    NewAlert, Outcome, SqliteLedger,
};
use streamalert::processor::Processor;

fn settings(name: &str) -> LedgerSettings {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("ledger-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    LedgerSettings {
        path: dir.join("ledger.sqlite3"),
        ..Default::default()
    }
}

fn new(alert: &Alert) -> NewAlert {
    NewAlert {
        alert: alert.clone().into(),
        intents: BTreeMap::new(),
    }
}

/// Records `alerts` (with no intents) in one batch.
async fn record(ledger: &SqliteLedger, alerts: &[&Alert]) {
    let batch = alerts.iter().map(|alert| new(alert)).collect();
    ledger.record_alerts(batch).await.expect("record");
}

/// Records the outcome of `output` of the alert `key`.
async fn outcome(ledger: &SqliteLedger, key: &AlertKey, output: &str, outcome: Outcome) {
    ledger
        .record_outcome(key.clone(), output.into(), outcome)
        .await
        .expect("outcome");
}

#[tokio::test]
async fn a_sent_output_is_never_unsent_and_the_alert_completes() {
    let ledger = SqliteLedger::open(&settings("sent")).expect("open");
    let alert = Alert::new("r", json!({"k": 1}), ["file:a", "stdout:b"]);
    let key = AlertKey::of(&alert);
    record(&ledger, &[&alert]).await;
    outcome(&ledger, &key, "file:a", Outcome::Sent).await;
    outcome(
        &ledger,
        &key,
        "file:a",
        Outcome::Failed("late failure".into()),
    )
    .await;
    let entry = ledger.get(key.clone()).await.expect("get").expect("found");
    let a = entry.delivery("file:a").expect("record");
    assert_eq!(
        (a.state, a.attempts, a.last_error.clone()),
        (DeliveryState::Sent, 1, None)
    );
    assert_eq!(entry.status, AlertStatus::Open);
    assert_eq!(
        entry.delivery("stdout:b").expect("record").state,
        DeliveryState::Pending
    );

    outcome(&ledger, &key, "stdout:b", Outcome::Failed("closed".into())).await;
    outcome(&ledger, &key, "stdout:b", Outcome::Sent).await;
    let entry = ledger.get(key).await.expect("get").expect("found");
    assert_eq!(entry.status, AlertStatus::Complete);
    let b = entry.delivery("stdout:b").expect("record");
    assert_eq!(
        (b.state, b.attempts, b.last_error.clone()),
        (DeliveryState::Sent, 2, None)
    );
    assert_eq!(entry.alert.outputs_sent.len(), 2);
    let counts = ledger.counts().await.expect("counts");
    assert_eq!(
        (counts.complete_alerts, counts.sent, counts.unsent()),
        (1, 2, 0)
    );
}

#[tokio::test]
async fn outputs_sent_is_the_union_of_every_pass_decision_q3() {
    let ledger = SqliteLedger::open(&settings("union")).expect("open");
    let mut alert = Alert::new("r", json!({}), ["a:1", "b:2", "c:3"]);
    let key = AlertKey::of(&alert);
    record(&ledger, &[&alert]).await;
    outcome(&ledger, &key, "a:1", Outcome::Sent).await;
    // A later event says only b:2 was sent (StreamAlert's overwritten OutputsSent).
    alert.outputs_sent = ["b:2".to_owned()].into();
    record(&ledger, &[&alert]).await;
    let entry = ledger.get(key).await.expect("get").expect("found");
    assert_eq!(
        entry.alert.outputs_sent.iter().collect::<Vec<_>>(),
        ["a:1", "b:2"],
        "a:1 is not forgotten"
    );
    assert_eq!(
        entry
            .alert
            .remaining_outputs()
            .into_iter()
            .collect::<Vec<_>>(),
        ["c:3"]
    );
}

#[tokio::test]
async fn intents_survive_until_the_outcome_and_are_visible_after_reopening() {
    let settings = settings("intents");
    let alert = Alert::new("r", json!({}), ["file:a"]);
    let key = AlertKey::of(&alert);
    let fingerprint = Fingerprint::of(b"{\"id\":1}");
    {
        let ledger = SqliteLedger::open(&settings).expect("open");
        let mut record = new(&alert);
        record.intents.insert("file:a".into(), fingerprint);
        ledger.record_alerts(vec![record]).await.expect("record");
        // The process "stops" here: no outcome.
    }
    let ledger = SqliteLedger::open(&settings).expect("reopen");
    let open = ledger.open_alerts().await.expect("open alerts");
    assert_eq!(open.len(), 1);
    assert_eq!(
        open[0].delivery("file:a").expect("record").intent,
        Some(fingerprint)
    );
    let claim = ledger
        .begin_attempt(key.clone(), Timestamp::now(), BTreeMap::new())
        .await
        .expect("begin");
    assert_eq!(claim, Claim::Granted);
    outcome(&ledger, &key, "file:a", Outcome::Sent).await;
    let entry = ledger.get(key).await.expect("get").expect("found");
    assert_eq!(entry.delivery("file:a").expect("record").intent, None);
    assert_eq!(entry.alert.attempts, 1);
    assert!(ledger.open_alerts().await.expect("open").is_empty());
}

#[tokio::test]
async fn a_claim_on_an_output_sent_meanwhile_is_contended_and_records_nothing() {
    let ledger = SqliteLedger::open(&settings("contended")).expect("open");
    let alert = Alert::new("r", json!({}), ["file:a", "stdout:b"]);
    let key = AlertKey::of(&alert);
    record(&ledger, &[&alert]).await;
    outcome(&ledger, &key, "file:a", Outcome::Sent).await;
    let b = Fingerprint::of(b"b");
    let both = BTreeMap::from([
        ("file:a".to_owned(), Fingerprint::of(b"a")),
        ("stdout:b".to_owned(), b),
    ]);
    let claim = ledger
        .begin_attempt(key.clone(), Timestamp::now(), both)
        .await
        .expect("begin");
    assert_eq!(
        claim,
        Claim::Contended {
            output: Some("file:a".into()),
            reason: "it was sent meanwhile".into()
        }
    );
    let entry = ledger.get(key.clone()).await.expect("get").expect("found");
    assert_eq!(entry.alert.attempts, 0, "nothing recorded");
    assert_eq!(entry.delivery("stdout:b").expect("record").intent, None);

    // A claim on what is left to send is granted, as DynamoDB's.
    let rest = BTreeMap::from([("stdout:b".to_owned(), b)]);
    let claim = ledger
        .begin_attempt(key.clone(), Timestamp::now(), rest)
        .await
        .expect("begin");
    assert_eq!(claim, Claim::Granted);
    let entry = ledger.get(key).await.expect("get").expect("found");
    assert_eq!(entry.alert.attempts, 1);
    assert_eq!(entry.delivery("stdout:b").expect("record").intent, Some(b));
}

#[tokio::test]
async fn merge_enabled_alerts_stay_open_until_merged() {
    let ledger = SqliteLedger::open(&settings("merge")).expect("open");
    let mut first = Alert::new("r", json!({"host": "h"}), ["file:a"]);
    first.merge_by_keys = vec!["host".into()];
    first.merge_window_mins = 5;
    let second = Alert {
        alert_id: "second".into(),
        ..first.clone()
    };
    record(&ledger, &[&first, &second]).await;
    let open = ledger.open_alerts().await.expect("open");
    assert_eq!(open.len(), 2, "waiting for the merge");
    assert!(
        open.iter().all(|e| e.deliveries.is_empty()),
        "only the required output goes out alone"
    );

    let merged = Alert::merge([&first, &second]).expect("merged");
    ledger
        .record_merge(
            vec![AlertKey::of(&first), AlertKey::of(&second)],
            new(&merged),
        )
        .await
        .expect("merge");
    let entries = ledger.entries().expect("entries");
    let merged_into = AlertStatus::Merged {
        into: merged.alert_id.clone(),
    };
    assert_eq!(
        entries.iter().filter(|e| e.status == merged_into).count(),
        2
    );
    let open = ledger.open_alerts().await.expect("open");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].alert.alert_id, merged.alert_id);
    assert_eq!(
        open[0].delivery("file:a").expect("record").state,
        DeliveryState::Pending
    );
}

#[tokio::test]
async fn unknown_alerts_are_errors() {
    let ledger = SqliteLedger::open(&settings("unknown")).expect("open");
    let key = AlertKey::new("r", "nope");
    assert!(ledger.get(key.clone()).await.expect("get").is_none());
    let error = ledger
        .record_outcome(key.clone(), "file:a".into(), Outcome::Sent)
        .await
        .expect_err("unknown");
    assert!(matches!(error, LedgerError::UnknownAlert(k) if k == key));
}

#[test]
fn one_processor_at_a_time_and_the_file_is_in_wal_mode() {
    let mut settings = settings("exclusive");
    settings.lock_timeout_secs = 0;
    let first = SqliteLedger::open(&settings).expect("first");
    let error = SqliteLedger::open(&settings).expect_err("second waits, then gives up");
    assert!(matches!(error, LedgerError::Busy { .. }), "{error}");
    assert!(
        error.to_string().contains("in use by another processor"),
        "{error}"
    );
    drop(first);
    let again = SqliteLedger::open(&settings).expect("free again");
    drop(again);
    // The WAL journal mode is recorded in the database header (bytes 18 and 19 are 2).
    let header = std::fs::read(&settings.path).expect("ledger file");
    assert_eq!(&header[..16], b"SQLite format 3\0");
    assert_eq!((header[18], header[19]), (2, 2), "WAL mode");
}

/// Concurrent writes are committed together, each in a savepoint of its own: a write that fails
/// (even after writing something, like a merge naming an unknown original) rolls back alone and
/// gets its own error; every other write is committed and gets its own answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_commit_together_and_a_failed_one_rolls_back_alone() {
    let settings = settings("group");
    let ledger = SqliteLedger::open(&settings).expect("open");
    let alerts: Vec<Alert> = (0..64)
        .map(|i| Alert::new("r", json!({ "i": i }), ["file:a"]))
        .collect();
    record(&ledger, &alerts.iter().collect::<Vec<_>>()).await;
    let orphan = Alert::new("r", json!({ "orphan": true }), ["file:a"]);
    let missing = AlertKey::new("r", "missing");
    let mut writes: Vec<BoxFuture<'_, Result<(), LedgerError>>> = Vec::new();
    let mut fails = Vec::new();
    for (i, alert) in alerts.iter().enumerate() {
        if i == 20 {
            writes.push(
                ledger
                    .record_merge(vec![missing.clone()], new(&orphan))
                    .boxed(),
            );
            fails.push(true);
        }
        if i == 40 {
            let sent = Outcome::Sent;
            writes.push(
                ledger
                    .record_outcome(missing.clone(), "file:a".into(), sent)
                    .boxed(),
            );
            fails.push(true);
        }
        let outcome = if i % 2 == 0 {
            Outcome::Sent
        } else {
            Outcome::Failed(format!("error {i}"))
        };
        let key = AlertKey::of(alert);
        writes.push(ledger.record_outcome(key, "file:a".into(), outcome).boxed());
        fails.push(false);
    }
    let results = join_all(writes).await;
    assert_eq!(results.len(), fails.len());
    for (result, fails) in results.iter().zip(&fails) {
        match result {
            Err(LedgerError::UnknownAlert(key)) if *fails => assert_eq!(key, &missing),
            Ok(()) if !fails => {}
            other => panic!("unexpected answer {other:?} (should fail: {fails})"),
        }
    }
    // What was answered is committed: it is there after reopening; the failed merge left nothing.
    drop(ledger);
    let ledger = SqliteLedger::open(&settings).expect("reopen");
    assert!(
        ledger
            .get(AlertKey::of(&orphan))
            .await
            .expect("get")
            .is_none()
    );
    let entries = ledger.entries().expect("entries");
    assert_eq!(entries.len(), alerts.len());
    for (i, alert) in alerts.iter().enumerate() {
        let entry = ledger
            .get(AlertKey::of(alert))
            .await
            .expect("get")
            .expect("recorded");
        let delivery = entry.delivery("file:a").expect("delivery");
        assert_eq!(delivery.attempts, 1, "alert {i}");
        if i % 2 == 0 {
            assert_eq!(delivery.state, DeliveryState::Sent, "alert {i}");
            assert_eq!(entry.status, AlertStatus::Complete, "alert {i}");
        } else {
            assert_eq!(delivery.state, DeliveryState::Failed, "alert {i}");
            assert_eq!(
                delivery.last_error.as_deref(),
                Some(format!("error {i}").as_str())
            );
            assert_eq!(entry.status, AlertStatus::Open, "alert {i}");
        }
    }
}

/// A checkpoint of `input` read up to `offset`.
fn checkpoint(input: &str, offset: u64) -> InputCheckpoint {
    InputCheckpoint {
        input: input.into(),
        file_id: "2049:131".into(),
        size: 4096,
        head_len: offset.min(1024),
        head_hash: Fingerprint::of(b"head"),
        offset,
        line: offset / 100,
    }
}

#[tokio::test]
async fn input_checkpoints_are_recorded_with_their_alerts_replaced_and_kept() {
    let settings = settings("checkpoints");
    let ledger = SqliteLedger::open(&settings).expect("open");
    assert_eq!(
        ledger
            .input_checkpoint("/in.jsonl".into())
            .await
            .expect("read"),
        None
    );
    let alert = Alert::new("r", json!({ "n": 1 }), ["file:a"]);
    ledger
        .record_alerts_at(vec![new(&alert)], checkpoint("/in.jsonl", 100))
        .await
        .expect("record");
    assert!(
        ledger
            .get(AlertKey::of(&alert))
            .await
            .expect("get")
            .is_some()
    );
    assert_eq!(
        ledger
            .input_checkpoint("/in.jsonl".into())
            .await
            .expect("read"),
        Some(checkpoint("/in.jsonl", 100))
    );
    // A chunk without alerts still moves the checkpoint; other inputs have their own.
    ledger
        .record_alerts_at(Vec::new(), checkpoint("/in.jsonl", 2000))
        .await
        .expect("record");
    assert_eq!(
        ledger
            .input_checkpoint("/other.jsonl".into())
            .await
            .expect("read"),
        None
    );
    drop(ledger);
    let ledger = SqliteLedger::open(&settings).expect("reopen");
    assert_eq!(
        ledger
            .input_checkpoint("/in.jsonl".into())
            .await
            .expect("read"),
        Some(checkpoint("/in.jsonl", 2000))
    );
    assert_eq!(ledger.entries().expect("entries").len(), 1);
}

#[tokio::test]
async fn alerts_and_their_checkpoint_are_one_transaction() {
    let settings = settings("checkpoint-atomic");
    let ledger = SqliteLedger::open(&settings).expect("open");
    let alert = Alert::new("r", json!({ "n": 1 }), ["file:a"]);
    // SQLite cannot hold this offset: the checkpoint fails after the alert was written.
    let error = ledger
        .record_alerts_at(vec![new(&alert)], checkpoint("/in.jsonl", u64::MAX))
        .await
        .expect_err("an offset beyond SQLite's integers");
    assert!(error.to_string().contains("out of range"), "{error}");
    assert!(
        ledger
            .get(AlertKey::of(&alert))
            .await
            .expect("get")
            .is_none(),
        "rolled back with it"
    );
    assert_eq!(
        ledger
            .input_checkpoint("/in.jsonl".into())
            .await
            .expect("read"),
        None
    );
}

#[tokio::test]
async fn an_interrupted_file_delivery_is_found_as_it_was_written_not_as_read_back() {
    let settings = settings("probe-as-written");
    let ledger = Arc::new(SqliteLedger::open(&settings).expect("open"));
    let out = settings.path.with_file_name("alerts.jsonl");
    let config =
        OutputsConfig::from_json(&json!({ "file": { "a": out } }).to_string()).expect("outputs");
    let processor = Processor::new(config).with_ledger(ledger.clone());
    // `1.50` as the input wrote it; the ledger's copy reads back as `1.5`.
    let record: serde_json::Value = serde_json::from_str(r#"{"amount": 1.50}"#).expect("record");
    let alert = Alert::new("r", record, ["file:a"]);
    // What a run killed mid-delivery leaves: the line written, its intent recorded, no outcome.
    processor
        .deliver_output(&alert, "file:a")
        .await
        .expect("written");
    let written = std::fs::read_to_string(&out).expect("the file output");
    assert!(written.contains(r#""amount":1.50"#), "{written}");
    let intent = Fingerprint::of(written.trim_end().as_bytes());
    let intents = BTreeMap::from([("file:a".to_owned(), intent)]);
    ledger
        .record_alerts(vec![NewAlert {
            alert: alert.clone().into(),
            intents,
        }])
        .await
        .expect("record");

    let report = processor.retry().await.expect("retry");
    assert_eq!((report.reconciled, report.sent), (1, 0), "{report:?}");
    assert_eq!(
        std::fs::read_to_string(&out).expect("the file output"),
        written,
        "found, not written twice"
    );
    let entry = ledger.get(AlertKey::of(&alert)).await.expect("get");
    assert_eq!(entry.expect("recorded").status, AlertStatus::Complete);
}

/// Turns the current ledger at `settings` into one of schema `version` 2 (before quarantine,
/// tombstones and integer alert keys: no `quarantine_reason`, no `completed`, no `alerts.id`,
/// `alert_items` and `deliveries` keyed by the alert id), as a previous release left it.
fn downgrade_to_v2(settings: &LedgerSettings) {
    let conn = rusqlite::Connection::open(&settings.path).unwrap();
    conn.execute_batch(
        "CREATE TABLE alerts_v2 (
             alert_id TEXT PRIMARY KEY, rule_name TEXT NOT NULL, created TEXT NOT NULL,
             status TEXT NOT NULL, merged_into TEXT, merge_enabled INTEGER NOT NULL,
             attempts INTEGER NOT NULL, dispatched TEXT NOT NULL);
         INSERT INTO alerts_v2 (rowid, alert_id, rule_name, created, status, merged_into,
             merge_enabled, attempts, dispatched)
             SELECT id, alert_id, rule_name, created, status, merged_into, merge_enabled,
             attempts, dispatched FROM alerts;
         CREATE TABLE alert_items_v2 (alert_id TEXT PRIMARY KEY, item TEXT NOT NULL);
         INSERT INTO alert_items_v2 SELECT a.alert_id, i.item FROM alert_items i JOIN alerts a ON a.id = i.id;
         CREATE TABLE deliveries_v2 (
             alert_id TEXT NOT NULL, output TEXT NOT NULL, state TEXT NOT NULL,
             attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, intent TEXT, updated TEXT,
             PRIMARY KEY (alert_id, output)) WITHOUT ROWID;
         INSERT INTO deliveries_v2 SELECT a.alert_id, d.output, d.state, d.attempts, d.last_error,
             d.intent, d.updated FROM deliveries d JOIN alerts a ON a.id = d.id;
         DROP TABLE alert_items;
         DROP TABLE deliveries;
         DROP TABLE alerts;
         ALTER TABLE alerts_v2 RENAME TO alerts;
         ALTER TABLE alert_items_v2 RENAME TO alert_items;
         ALTER TABLE deliveries_v2 RENAME TO deliveries;
         CREATE INDEX alerts_open ON alerts (created) WHERE status = 'open';
         UPDATE meta SET value = '2' WHERE key = 'schema_version';",
    )
    .unwrap();
}

fn schema_version(settings: &LedgerSettings) -> String {
    let conn = rusqlite::Connection::open(&settings.path).unwrap();
    conn.query_row(
        "SELECT value FROM meta WHERE key = 'schema_version'",
        [],
        |row| row.get(0),
    )
    .unwrap()
}

#[tokio::test]
async fn an_older_schema_is_upgraded_in_place_and_a_newer_one_refused() {
    let settings = settings("schema");
    let alert = Alert::new("r", json!({"k": 1}), ["file:a"]);
    {
        let ledger = SqliteLedger::open(&settings).expect("open");
        record(&ledger, &[&alert]).await;
    }
    assert_eq!(schema_version(&settings), "4");
    downgrade_to_v2(&settings);

    let ledger = SqliteLedger::open(&settings).expect("a version 2 ledger opens");
    let open = ledger.open_alerts().await.unwrap();
    assert_eq!(open.len(), 1, "its alerts are kept");
    assert_eq!(open[0].alert.record, alert.record);
    outcome(&ledger, &AlertKey::of(&alert), "file:a", Outcome::Sent).await;
    drop(ledger);
    assert_eq!(schema_version(&settings), "4", "upgraded");

    for newer in ["5", "not a number"] {
        let conn = rusqlite::Connection::open(&settings.path).unwrap();
        conn.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
            [newer],
        )
        .unwrap();
        drop(conn);
        let error = SqliteLedger::open(&settings).expect_err("refused");
        assert!(matches!(error, LedgerError::Corrupt { .. }), "{error:?}");
        let message = error.to_string();
        assert!(
            message.contains(&format!(
                "schema version {newer}, this processor reads versions 2 to 4"
            )),
            "{message}"
        );
        assert_eq!(schema_version(&settings), newer, "left as it was");
    }
}

/// Schema 4 keys items and deliveries by the alert's row (recording order), not by the random
/// alert id: alerts recorded 32 at a time and completed concurrently write under 3.5 pages
/// each to the WAL over a ledger of 10,000 tombstones (about 2.4; schema 3 wrote about 4.7;
/// the pages a commit writes to the WAL are what it costs).
#[tokio::test]
async fn alerts_recorded_and_completed_32_at_a_time_write_few_pages_each() {
    let settings = settings("pages");
    let alert = |n: usize| Alert::new("r", json!({"n": n, "detail": "x".repeat(1500)}), ["file:a"]);
    {
        let ledger = SqliteLedger::open(&settings).expect("open");
        for chunk in 0..10 {
            let batch = (0..1000)
                .map(|n| {
                    let mut done = alert(chunk * 1000 + n);
                    done.outputs_sent = done.outputs.clone();
                    new(&done)
                })
                .collect();
            ledger.record_alerts(batch).await.expect("record");
        }
    }
    // An empty WAL, so that its length counts the pages written from here on.
    let conn = rusqlite::Connection::open(&settings.path).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    drop(conn);
    let wal = settings.path.with_file_name("ledger.sqlite3-wal");
    let frames = || {
        let len = std::fs::metadata(&wal).map_or(0, |m| m.len());
        len.saturating_sub(32) / (4096 + 24)
    };
    let ledger = SqliteLedger::open(&settings).expect("open");
    let before = frames();
    let rounds = 20;
    for round in 0..rounds {
        let alerts: Vec<Alert> = (0..32).map(|n| alert(round * 32 + n)).collect();
        record(&ledger, &alerts.iter().collect::<Vec<_>>()).await;
        let keys: Vec<AlertKey> = alerts.iter().map(AlertKey::of).collect();
        join_all(
            keys.iter()
                .map(|key| outcome(&ledger, key, "file:a", Outcome::Sent)),
        )
        .await;
    }
    let per_alert = (frames() - before) as f64 / (rounds * 32) as f64;
    assert!(per_alert < 3.5, "{per_alert:.2} WAL frames per alert");
    let counts = ledger.counts().await.expect("counts");
    assert_eq!((counts.complete_alerts, counts.open_alerts), (10_640, 0));
}
