//! The SQLite ledger's states beyond sent/pending/failed: records that must read back exactly
//! (poison kinds), quarantined rows, dead deliveries, replay, prune, status and list, and the
//! upgrade of ledgers written by the previous schema versions.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use streamalert::Alert;
use streamalert::alert::Timestamp;
use streamalert::config::{LedgerSettings, OutputsConfig};
use streamalert::json::PythonJson;
use streamalert::ledger::{
    AlertKey, AlertStatus, DeliveryFilter, DeliveryRecord, DeliveryState, Fingerprint, Ledger,
    LedgerEntry, LedgerError, NewAlert, Outcome, SqliteLedger,
};
use streamalert::processor::Processor;
use streamalert_tests::capture_logs;

fn settings(name: &str) -> LedgerSettings {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("ledger-states")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    LedgerSettings {
        path: dir.join("ledger.sqlite3"),
        ..Default::default()
    }
}

async fn record(ledger: &SqliteLedger, alerts: &[&Alert]) {
    let batch = alerts
        .iter()
        .map(|alert| NewAlert {
            alert: (*alert).clone().into(),
            intents: BTreeMap::new(),
        })
        .collect();
    ledger.record_alerts(batch).await.unwrap();
}

async fn outcome(ledger: &SqliteLedger, alert: &Alert, output: &str, outcome: Outcome) {
    ledger
        .record_outcome(AlertKey::of(alert), output.into(), outcome)
        .await
        .unwrap();
}

/// `[[[…{"leaf": leaf}…]]]`, `depth` levels in all.
fn nested(depth: usize, leaf: i64) -> Value {
    let mut value = json!({ "leaf": leaf });
    for _ in 1..depth {
        value = Value::Array(vec![value]);
    }
    value
}

/// Every kind of record that once made `retry` fail for all alerts reads back equal, and a
/// retry pass sees each of them.
#[tokio::test]
async fn records_process_accepts_read_back_exactly() {
    let ledger = SqliteLedger::open(&settings("exact")).unwrap();
    let line = r#"{"pid": 1e400, "cpu": 1.50, "big": 123456789012345678901234567890, "neg": -98765432109876543210, "tiny": 1e-400}"#;
    // As `process` reads an input line.
    let numbers: Value = serde_json::from_str(line).unwrap();
    let alerts = [
        Alert::new("numbers", numbers.clone(), ["file:a"]),
        Alert::new("deep", json!({"d": nested(126, 1)}), ["file:a"]),
    ];
    record(&ledger, &alerts.iter().collect::<Vec<_>>()).await;
    let open = ledger.open_alerts().await.unwrap();
    assert_eq!(open.len(), 2, "both alerts are open: {open:?}");
    for alert in &alerts {
        let entry = ledger.get(AlertKey::of(alert)).await.unwrap().unwrap();
        assert_eq!(entry.alert.record, alert.record, "{}", alert.rule_name);
    }
    let back = &ledger
        .get(AlertKey::of(&alerts[0]))
        .await
        .unwrap()
        .unwrap()
        .alert
        .record;
    // The text as received, not Python's re-printed floats.
    assert_eq!(back["cpu"].to_string(), "1.50");
    assert_eq!(back["big"].to_string(), "123456789012345678901234567890");
    // Published as Python would: 1e400 is an infinite float.
    assert_eq!(
        PythonJson::COMPACT.dump(back),
        r#"{"pid":Infinity,"cpu":1.5,"big":123456789012345678901234567890,"neg":-98765432109876543210,"tiny":0.0}"#
    );
}

/// A merged record nests deeper than serde_json's limit of 128 (the merge wraps the records'
/// differences); it still reads back.
#[tokio::test]
async fn a_merged_record_deeper_than_128_levels_reads_back() {
    let ledger = SqliteLedger::open(&settings("merged-deep")).unwrap();
    let mut a = Alert::new("r", json!({"d": nested(126, 1)}), ["file:a"]);
    a.merge_by_keys = vec!["k".into()];
    a.merge_window_mins = 5;
    let mut b = a.clone();
    b.alert_id = "b".into();
    b.record = json!({"d": nested(126, 2)}).into();
    let merged = Alert::merge([&a, &b]).unwrap();
    let text = merged.record.to_string();
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "the merged record is past serde_json's depth limit"
    );
    record(&ledger, &[&merged]).await;
    let entry = ledger.get(AlertKey::of(&merged)).await.unwrap().unwrap();
    assert_eq!(entry.alert.record, merged.record);
    assert_eq!(ledger.open_alerts().await.unwrap().len(), 1);
}

/// An item StreamAlert's Python wrote, with `NaN` and `Infinity` in its record and `Attempts`
/// past u32::MAX: it is read, recorded, read back, and published as Python would.
#[tokio::test]
async fn a_python_item_with_non_finite_floats_and_huge_attempts_reads_back() {
    let ledger = SqliteLedger::open(&settings("python-item")).unwrap();
    let item = json!({
        "RuleName": "r", "AlertID": "a1", "Attempts": 4_294_967_296_u64,
        "Created": "2019-01-01T00:00:00.000000Z", "Outputs": ["file:a"],
        "Record": "{\"x\":NaN,\"y\":Infinity,\"z\":-Infinity}",
    });
    let alert = Alert::from_item(&item).unwrap();
    assert_eq!(alert.attempts, u32::MAX, "Attempts saturates");
    record(&ledger, &[&alert]).await;
    // One more pass on an alert at the limit stays at the limit.
    let claim = ledger
        .begin_attempt(AlertKey::of(&alert), Timestamp::now(), BTreeMap::new())
        .await
        .unwrap();
    assert!(claim.is_granted());
    let entry = ledger.get(AlertKey::of(&alert)).await.unwrap().unwrap();
    assert_eq!(entry.alert.attempts, u32::MAX);
    assert_eq!(
        PythonJson::DEFAULT.dump(&entry.alert.record),
        r#"{"x": NaN, "y": Infinity, "z": -Infinity}"#
    );
    assert_eq!(ledger.open_alerts().await.unwrap().len(), 1);
}

/// Replaces the stored item of `alert_id` with `item` (the ledger must be closed).
fn overwrite_item(path: &std::path::Path, alert_id: &str, item: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let changed = conn
        .execute(
            "UPDATE alert_items SET item = ?2 WHERE id = (SELECT id FROM alerts WHERE alert_id = ?1)",
            [alert_id, item],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

/// A row that cannot be read back is quarantined with the reason: the retry pass gets the
/// other alerts, `get` names the quarantine, counts and `quarantined` report it, and `replay`
/// gives it another chance (quarantined again while still unreadable).
#[tokio::test]
async fn an_unreadable_row_is_quarantined_and_never_blocks_the_others() {
    let settings = settings("quarantine");
    let good = Alert::new("good_rule", json!({"n": 1}), ["file:a"]);
    let bad = Alert::new("bad_rule", json!({"n": 2}), ["file:a"]);
    {
        let ledger = SqliteLedger::open(&settings).unwrap();
        record(&ledger, &[&bad, &good]).await;
    }
    overwrite_item(
        &settings.path,
        &bad.alert_id,
        r#"{"RuleName": "bad_rule", "Record": "{"#,
    );

    let ledger = SqliteLedger::open(&settings).unwrap();
    let open = ledger.open_alerts().await.unwrap();
    assert_eq!(
        open.iter().map(|e| &e.alert.alert_id).collect::<Vec<_>>(),
        [&good.alert_id]
    );
    let quarantined = ledger.quarantined().await.unwrap();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].key, AlertKey::of(&bad));
    assert!(
        quarantined[0]
            .reason
            .contains("stored item is not JSON: unterminated string"),
        "{}",
        quarantined[0].reason
    );
    let counts = ledger.counts().await.unwrap();
    assert_eq!(
        (
            counts.quarantined_alerts,
            counts.open_alerts,
            counts.pending
        ),
        (1, 1, 1)
    );
    let error = ledger.get(AlertKey::of(&bad)).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains(&format!("alert {} is quarantined", bad.alert_id)),
        "{error}"
    );
    assert_eq!(
        ledger.find(bad.alert_id.clone()).await.unwrap(),
        Some(AlertKey::of(&bad))
    );
    // The good alert goes on to completion.
    outcome(&ledger, &good, "file:a", Outcome::Sent).await;
    assert!(ledger.open_alerts().await.unwrap().is_empty());

    // Replay: open again, read again, quarantined again (the item is still unreadable).
    assert_eq!(
        ledger.replay(vec![AlertKey::of(&bad)], None).await.unwrap(),
        1
    );
    assert!(ledger.quarantined().await.unwrap().is_empty());
    assert!(ledger.open_alerts().await.unwrap().is_empty());
    assert_eq!(ledger.quarantined().await.unwrap().len(), 1);
}

/// Dead deliveries are not retried; an alert whose unsent deliveries are all dead is not open
/// for a retry pass; `list` and `status` show them; `replay` makes them pending with no
/// attempts counted, and never touches a sent delivery.
#[tokio::test]
async fn dead_deliveries_wait_for_replay() {
    let ledger = SqliteLedger::open(&settings("dead")).unwrap();
    let alert = Alert::new("r", json!({}), ["file:a", "slack:b", "stdout:c"]);
    let other = Alert::new("r", json!({}), ["slack:b"]);
    record(&ledger, &[&alert, &other]).await;
    outcome(&ledger, &alert, "file:a", Outcome::Sent).await;
    outcome(&ledger, &alert, "slack:b", Outcome::Dead("HTTP 400".into())).await;
    outcome(
        &ledger,
        &alert,
        "stdout:c",
        Outcome::Failed("closed".into()),
    )
    .await;
    outcome(&ledger, &other, "slack:b", Outcome::Sent).await;

    let open = ledger.open_alerts().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        open[0].to_retry().into_iter().collect::<Vec<_>>(),
        ["stdout:c"]
    );
    outcome(&ledger, &alert, "stdout:c", Outcome::Dead("gave up".into())).await;
    assert!(
        ledger.open_alerts().await.unwrap().is_empty(),
        "nothing left to retry"
    );
    let entry = ledger.get(AlertKey::of(&alert)).await.unwrap().unwrap();
    assert_eq!(entry.status, AlertStatus::Open, "not complete: undelivered");
    let dead = entry.delivery("slack:b").unwrap();
    assert_eq!(
        (dead.state, dead.attempts, dead.last_error.as_deref()),
        (DeliveryState::Dead, 1, Some("HTTP 400"))
    );

    let status = ledger.status().await.unwrap();
    assert_eq!(
        (
            status.counts.dead,
            status.counts.sent,
            status.counts.unsent()
        ),
        (2, 2, 0)
    );
    assert_eq!(
        status.by_output["slack:b"],
        BTreeMap::from([(DeliveryState::Sent, 1), (DeliveryState::Dead, 1)])
    );
    assert_eq!(status.oldest_unsent, None, "dead is not pending");
    let listed = ledger
        .list(DeliveryFilter {
            state: Some(DeliveryState::Dead),
            output: Some("slack:b".into()),
        })
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|e| &e.alert.alert_id).collect::<Vec<_>>(),
        [&alert.alert_id]
    );

    // One output first, then the rest; the sent one never changes.
    let changed = ledger
        .replay(vec![AlertKey::of(&alert)], Some("slack:b".into()))
        .await
        .unwrap();
    assert_eq!(changed, 1);
    let entry = ledger.get(AlertKey::of(&alert)).await.unwrap().unwrap();
    let replayed = entry.delivery("slack:b").unwrap();
    assert_eq!(
        (
            replayed.state,
            replayed.attempts,
            replayed.last_error.as_deref()
        ),
        (DeliveryState::Pending, 0, None)
    );
    assert_eq!(
        entry.delivery("stdout:c").unwrap().state,
        DeliveryState::Dead
    );
    assert_eq!(
        ledger
            .replay(vec![AlertKey::of(&alert), AlertKey::of(&other)], None)
            .await
            .unwrap(),
        1
    );
    let entry = ledger.get(AlertKey::of(&alert)).await.unwrap().unwrap();
    assert_eq!(entry.delivery("file:a").unwrap().state, DeliveryState::Sent);
    assert_eq!(entry.to_retry().len(), 2);
    assert_eq!(ledger.open_alerts().await.unwrap().len(), 1);
    assert!(
        ledger.status().await.unwrap().oldest_unsent.is_some(),
        "pending again"
    );
}

/// Replaying an alert that is not recorded changes nothing and names it.
#[tokio::test]
async fn replaying_an_unknown_alert_changes_nothing() {
    let ledger = SqliteLedger::open(&settings("replay-unknown")).unwrap();
    let alert = Alert::new("r", json!({}), ["file:a"]);
    record(&ledger, &[&alert]).await;
    outcome(&ledger, &alert, "file:a", Outcome::Dead("no".into())).await;
    let unknown = AlertKey::new("r", "nope");
    let error = ledger
        .replay(vec![AlertKey::of(&alert), unknown.clone()], None)
        .await
        .unwrap_err();
    assert!(matches!(error, LedgerError::UnknownAlert(key) if key == unknown));
    let entry = ledger.get(AlertKey::of(&alert)).await.unwrap().unwrap();
    assert_eq!(entry.delivery("file:a").unwrap().state, DeliveryState::Dead);
    assert_eq!(ledger.find("nope".into()).await.unwrap(), None);
}

/// `prune` deletes complete and merged alerts last changed before the cutoff, never an open
/// one (pending, failed or dead deliveries).
#[tokio::test]
async fn prune_deletes_only_finished_alerts_older_than_the_cutoff() {
    let ledger = SqliteLedger::open(&settings("prune")).unwrap();
    let done = Alert::new("r", json!({}), ["file:a"]);
    let pending = Alert::new("r", json!({}), ["file:a"]);
    let dead = Alert::new("r", json!({}), ["file:a"]);
    record(&ledger, &[&done, &pending, &dead]).await;
    outcome(&ledger, &done, "file:a", Outcome::Sent).await;
    outcome(&ledger, &dead, "file:a", Outcome::Dead("no".into())).await;

    assert_eq!(
        ledger.prune(Timestamp::EPOCH).await.unwrap(),
        0,
        "too recent"
    );
    let later = Timestamp::now().plus_minutes(1);
    assert_eq!(ledger.prune(later).await.unwrap(), 1);
    assert_eq!(ledger.get(AlertKey::of(&done)).await.unwrap(), None);
    assert_eq!(ledger.find(done.alert_id.clone()).await.unwrap(), None);
    for kept in [&pending, &dead] {
        assert!(ledger.get(AlertKey::of(kept)).await.unwrap().is_some());
    }
    let counts = ledger.counts().await.unwrap();
    assert_eq!((counts.complete_alerts, counts.open_alerts), (0, 2));
}

/// The schema of version 2, as it was written.
const SCHEMA_V2: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE alerts (
    alert_id TEXT PRIMARY KEY, rule_name TEXT NOT NULL, created TEXT NOT NULL,
    status TEXT NOT NULL, merged_into TEXT, merge_enabled INTEGER NOT NULL,
    attempts INTEGER NOT NULL, dispatched TEXT NOT NULL
);
CREATE INDEX alerts_open ON alerts (created) WHERE status = 'open';
CREATE TABLE alert_items (alert_id TEXT PRIMARY KEY, item TEXT NOT NULL);
CREATE TABLE deliveries (
    alert_id TEXT NOT NULL, output TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, intent TEXT, updated TEXT,
    PRIMARY KEY (alert_id, output)
) WITHOUT ROWID;
INSERT INTO meta VALUES ('schema_version', '2');
";

/// A ledger of schema version 2 is upgraded when opened: its alerts read back, its rows can
/// be quarantined and its deliveries can die. A version from the future is refused.
#[tokio::test]
async fn a_version_2_ledger_is_upgraded_and_a_newer_one_refused() {
    let settings = settings("upgrade");
    std::fs::create_dir_all(settings.path.parent().unwrap()).unwrap();
    let alert = Alert::new("r", json!({"n": 1}), ["file:a"]);
    {
        let conn = rusqlite::Connection::open(&settings.path).unwrap();
        conn.execute_batch(SCHEMA_V2).unwrap();
        conn.execute(
            "INSERT INTO alerts VALUES (?1, 'r', ?2, 'open', NULL, 0, 1, ?2)",
            [&alert.alert_id, &alert.created.to_string()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO alert_items VALUES (?1, ?2)",
            [
                alert.alert_id.clone(),
                Value::Object(alert.to_item()).to_string(),
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO deliveries (alert_id, output, state, attempts) VALUES (?1, 'file:a', 'failed', 1)",
            [&alert.alert_id],
        )
        .unwrap();
    }
    {
        let ledger = SqliteLedger::open(&settings).unwrap();
        let open = ledger.open_alerts().await.unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].alert.record, alert.record);
        outcome(&ledger, &alert, "file:a", Outcome::Dead("no".into())).await;
        assert_eq!(ledger.counts().await.unwrap().dead, 1);
    }
    let conn = rusqlite::Connection::open(&settings.path).unwrap();
    assert_eq!(schema_version(&conn), "4");
    conn.execute(
        "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
        [],
    )
    .unwrap();
    drop(conn);
    let error = SqliteLedger::open(&settings).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("schema version 99, this processor reads versions 2 to 4"),
        "{error}"
    );
}

/// The schema of version 3, as it was written (items in a table of their own).
const SCHEMA_V3: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE alerts (
    alert_id TEXT PRIMARY KEY, rule_name TEXT NOT NULL, created TEXT NOT NULL,
    status TEXT NOT NULL, merged_into TEXT, merge_enabled INTEGER NOT NULL,
    attempts INTEGER NOT NULL, dispatched TEXT NOT NULL, quarantine_reason TEXT, completed TEXT
);
CREATE INDEX alerts_open ON alerts (created) WHERE status = 'open';
CREATE TABLE alert_items (alert_id TEXT PRIMARY KEY, item TEXT NOT NULL);
CREATE TABLE deliveries (
    alert_id TEXT NOT NULL, output TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, intent TEXT, updated TEXT,
    PRIMARY KEY (alert_id, output)
) WITHOUT ROWID;
CREATE TABLE input_checkpoints (
    input TEXT PRIMARY KEY, file_id TEXT NOT NULL, size INTEGER NOT NULL,
    head_len INTEGER NOT NULL, head_hash TEXT NOT NULL, offset INTEGER NOT NULL,
    line INTEGER NOT NULL, updated TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX alerts_completed ON alerts (completed) WHERE status = 'complete';
INSERT INTO meta VALUES ('schema_version', '3');
";

/// A ledger of schema version 3 is upgraded when opened, in the transaction that opens it:
/// every alert gets its rowid as `id` and its item and deliveries are keyed by it, an open alert
/// reads back exactly as recorded (record, attempts, deliveries with their errors, intents and
/// times), a tombstone stays one, and an open alert that had no item is quarantined as before.
#[tokio::test]
async fn a_version_3_ledger_is_upgraded_with_items_and_deliveries_keyed_by_alert_row() {
    let settings = settings("upgrade-v3");
    std::fs::create_dir_all(settings.path.parent().unwrap()).unwrap();
    let mut open = Alert::new(
        "r",
        json!({"n": 1.5, "big": 18446744073709551615u64, "nested": {"list": [1, "two", null]}, "text": "é\n\"q\""}),
        ["file:a", "file:b"],
    );
    open.attempts = 2;
    open.dispatched = Timestamp::now();
    open.outputs_sent = ["file:b".to_owned()].into();
    let done = Alert::new("r", json!({"n": 2}), ["file:a"]);
    let itemless = Alert::new("r", json!({"n": 3}), ["file:a"]);
    let updated = Timestamp::now();
    let intent = Fingerprint::of(b"the publication");
    let item = Value::Object(open.to_ledger_item()).to_string();
    {
        let conn = rusqlite::Connection::open(&settings.path).unwrap();
        conn.execute_batch(SCHEMA_V3).unwrap();
        let insert = "INSERT INTO alerts VALUES (?1, 'r', ?2, ?3, NULL, 0, ?4, ?5, NULL, ?6)";
        let (created, dispatched) = (open.created.to_string(), open.dispatched.to_string());
        conn.execute(
            insert,
            rusqlite::params![
                open.alert_id,
                created,
                "open",
                2,
                dispatched,
                None::<String>
            ],
        )
        .unwrap();
        let created = done.created.to_string();
        conn.execute(
            insert,
            rusqlite::params![
                done.alert_id,
                created,
                "complete",
                1,
                created,
                Some(updated.to_string())
            ],
        )
        .unwrap();
        let created = itemless.created.to_string();
        conn.execute(
            insert,
            rusqlite::params![
                itemless.alert_id,
                created,
                "open",
                0,
                created,
                None::<String>
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO alert_items VALUES (?1, ?2)",
            [&open.alert_id, &item],
        )
        .unwrap();
        let delivery = "INSERT INTO deliveries VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
        let rows = [
            (
                &open.alert_id,
                "file:a",
                "failed",
                2,
                Some("HTTP 500"),
                Some(intent),
            ),
            (&open.alert_id, "file:b", "sent", 1, None, None),
            (&done.alert_id, "file:a", "sent", 1, None, None),
            (&itemless.alert_id, "file:a", "pending", 0, None, None),
        ];
        for (id, output, state, attempts, error, intent) in rows {
            let intent = intent.map(|i: Fingerprint| i.to_string());
            conn.execute(
                delivery,
                rusqlite::params![
                    id,
                    output,
                    state,
                    attempts,
                    error,
                    intent,
                    updated.to_string()
                ],
            )
            .unwrap();
        }
    }
    let ledger = SqliteLedger::open(&settings).unwrap();
    let record = |output: &str, state, attempts, last_error: Option<&str>, intent| DeliveryRecord {
        output: output.to_owned(),
        state,
        attempts,
        last_error: last_error.map(str::to_owned),
        intent,
        updated: Some(updated),
    };
    let expected = LedgerEntry {
        alert: open.clone(),
        status: AlertStatus::Open,
        deliveries: vec![
            record(
                "file:a",
                DeliveryState::Failed,
                2,
                Some("HTTP 500"),
                Some(intent),
            ),
            record("file:b", DeliveryState::Sent, 1, None, None),
        ],
    };
    let entry = ledger.get(AlertKey::of(&open)).await.unwrap().unwrap();
    assert_eq!(entry, expected);
    assert_eq!(
        PythonJson::DEFAULT.dump(&entry.alert.record),
        PythonJson::DEFAULT.dump(&open.record)
    );
    let tombstone = ledger.get(AlertKey::of(&done)).await.unwrap().unwrap();
    assert_eq!(tombstone.status, AlertStatus::Complete);
    assert_eq!(*tombstone.alert.record, Value::Null);
    assert_eq!(
        tombstone.alert.outputs_sent.iter().collect::<Vec<_>>(),
        ["file:a"]
    );
    let retry = ledger.open_alerts().await.unwrap();
    assert_eq!(retry, [expected]);
    let quarantined = ledger.quarantined().await.unwrap();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].key, AlertKey::of(&itemless));
    assert_eq!(quarantined[0].reason, "its stored item is missing");
    drop(ledger);
    let conn = rusqlite::Connection::open(&settings.path).unwrap();
    assert_eq!(schema_version(&conn), "4");
    let old_key: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM pragma_table_info('alert_items') WHERE name = 'alert_id'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(old_key, 0, "alert_items is keyed by the alert's id");
    let deliveries: Vec<(i64, String, String)> = conn
        .prepare("SELECT id, output, state FROM deliveries ORDER BY id, output")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let deliveries: Vec<(i64, &str, &str)> = deliveries
        .iter()
        .map(|(id, output, state)| (*id, output.as_str(), state.as_str()))
        .collect();
    assert_eq!(
        deliveries,
        [
            (1, "file:a", "failed"),
            (1, "file:b", "sent"),
            (2, "file:a", "sent"),
            (3, "file:a", "pending")
        ]
    );
    let ids: Vec<(i64, String)> = conn
        .prepare("SELECT id, alert_id FROM alerts ORDER BY id")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let in_order = [&open, &done, &itemless].map(|a| a.alert_id.clone());
    assert_eq!(ids, [1, 2, 3].into_iter().zip(in_order).collect::<Vec<_>>());
    let stored: Vec<(i64, String)> = conn
        .prepare("SELECT id, item FROM alert_items")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(stored, [(1, item)], "the item moved as it was");
}

/// An item left under an `id` no alert has (a pruned alert's id is the next one given when it
/// was the last) never stands for the new alert given that id: the new alert's item replaces it.
#[tokio::test]
async fn a_new_alert_never_reads_an_item_left_under_its_id() {
    let settings = settings("id-reuse");
    let first = Alert::new("r", json!({"n": 1}), ["file:a"]);
    let second = Alert::new("r", json!({"n": 2}), ["file:a"]);
    drop(SqliteLedger::open(&settings).unwrap());
    {
        let conn = rusqlite::Connection::open(&settings.path).unwrap();
        conn.execute(
            "INSERT INTO alert_items (id, item) VALUES (2, ?1)",
            [Value::Object(first.to_ledger_item()).to_string()],
        )
        .unwrap();
    }
    let ledger = SqliteLedger::open(&settings).unwrap();
    record(&ledger, &[&first, &second]).await;
    for alert in [&first, &second] {
        let entry = ledger.get(AlertKey::of(alert)).await.unwrap().unwrap();
        assert_eq!(entry.alert.alert_id, alert.alert_id);
        assert_eq!(entry.alert.record, alert.record);
    }
}

/// A complete alert is reduced to a tombstone (key, rule, sent outputs, times; no record): it
/// is still recognised, so an event delivered again sends nothing, and it is removed when the
/// ledger is opened `retention_days` after its completion.
#[tokio::test]
async fn a_complete_alert_is_a_tombstone_until_its_retention_ends() {
    let settings = settings("tombstone");
    let dir = settings.path.parent().unwrap().to_owned();
    let alert = Alert::new("r", json!({"secret_field": "x"}), ["file:a"]);
    let key = AlertKey::of(&alert);
    {
        let ledger = Arc::new(SqliteLedger::open(&settings).unwrap());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("blocker"), "a file").unwrap();
        let config = OutputsConfig::from_json(
            &json!({"file": {"a": dir.join("a.jsonl"), "blocked": dir.join("blocker/b.jsonl")}})
                .to_string(),
        )
        .unwrap();
        let processor = Processor::new(config).with_ledger(ledger.clone());
        let report = processor.process(vec![alert.clone()]).await.unwrap();
        assert_eq!(report.sent, 1);
        let entry = ledger.get(key.clone()).await.unwrap().unwrap();
        assert_eq!(entry.status, AlertStatus::Complete);
        assert_eq!(*entry.alert.record, Value::Null, "the record is gone");
        assert_eq!(entry.alert.created, alert.created);
        assert_eq!(
            entry.alert.outputs_sent.iter().collect::<Vec<_>>(),
            ["file:a"]
        );
        // StreamAlert's event of the same alert, delivered again: recognised, nothing sent.
        let outcome = processor
            .dispatch_event(&Value::Object(alert.to_item()))
            .await;
        assert!(outcome.results().is_empty(), "{outcome:?}");
        assert!(ledger.open_alerts().await.unwrap().is_empty());
        assert_eq!(ledger.entries().unwrap().len(), 1);
        // With an output it was not sent to (failing here): an alert again, record restored.
        let mut more = alert.clone();
        more.outputs.insert("file:blocked".into());
        let outcome = processor
            .dispatch_event(&Value::Object(more.to_item()))
            .await;
        assert_eq!(
            outcome.results(),
            [("file:blocked".to_owned(), false)].into()
        );
        let open = ledger.open_alerts().await.unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].alert.record, alert.record);
        ledger
            .record_outcome(key.clone(), "file:blocked".into(), Outcome::Sent)
            .await
            .unwrap();
    }
    let text = std::fs::read_to_string(dir.join("a.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 1, "delivered once");
    let conn = rusqlite::Connection::open(&settings.path).unwrap();
    let items: i64 = conn
        .query_row("SELECT COUNT(*) FROM alert_items", [], |row| row.get(0))
        .unwrap();
    assert_eq!(items, 0, "no record left in the ledger");
    drop(conn);
    // Within the retention period the tombstone stays; after it, opening removes it.
    drop(SqliteLedger::open(&settings).unwrap());
    let ledger = SqliteLedger::open(&settings).unwrap();
    assert!(ledger.get(key.clone()).await.unwrap().is_some());
    drop(ledger);
    let expired = LedgerSettings {
        retention_days: 0,
        ..settings
    };
    let (ledger, logs) = capture_logs(|| SqliteLedger::open(&expired).unwrap());
    assert_eq!(
        logs.matches("removed expired tombstones").count(),
        1,
        "{logs}"
    );
    assert!(logs.contains("expired=1"), "{logs}");
    assert_eq!(ledger.get(key).await.unwrap(), None);
    assert_eq!(ledger.counts().await.unwrap().sent, 0);
    drop(ledger);
    let (_, logs) = capture_logs(|| SqliteLedger::open(&expired).unwrap());
    assert!(
        !logs.contains("tombstones"),
        "nothing expired, nothing said: {logs}"
    );
}

/// `open_alerts_page` returns the open alerts in pages of at most `limit`, each once, the
/// same alerts `open_alerts` returns, and a quarantined row inside a page does not stop the
/// pages after it.
#[tokio::test]
async fn open_alerts_come_in_pages() {
    let settings = settings("pages");
    let mut alerts = Vec::new();
    for i in 0..7 {
        alerts.push(Alert::new("r", json!({"i": i}), ["file:a"]));
    }
    {
        let ledger = SqliteLedger::open(&settings).unwrap();
        record(&ledger, &alerts.iter().collect::<Vec<_>>()).await;
        outcome(&ledger, &alerts[1], "file:a", Outcome::Sent).await;
        outcome(&ledger, &alerts[4], "file:a", Outcome::Dead("no".into())).await;
    }
    overwrite_item(&settings.path, &alerts[2].alert_id, "torn");
    let ledger = SqliteLedger::open(&settings).unwrap();
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = ledger.open_alerts_page(after.take(), 2).await.unwrap();
        assert!(page.entries.len() <= 2);
        pages.push(
            page.entries
                .iter()
                .map(|e| e.alert.alert_id.clone())
                .collect::<Vec<_>>(),
        );
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let paged: Vec<String> = pages.concat();
    let unique: std::collections::BTreeSet<&String> = paged.iter().collect();
    assert_eq!(unique.len(), paged.len(), "each once: {pages:?}");
    let expected: std::collections::BTreeSet<&String> =
        [0, 3, 5, 6].iter().map(|&i| &alerts[i].alert_id).collect();
    assert_eq!(unique, expected, "open: neither sent, dead nor torn");
    let all: Vec<String> = ledger
        .open_alerts()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.alert.alert_id)
        .collect();
    assert_eq!(
        all.iter().collect::<std::collections::BTreeSet<_>>(),
        expected
    );
    assert_eq!(ledger.quarantined().await.unwrap().len(), 1);
    assert!(
        ledger
            .open_alerts_page(Some("not a cursor".into()), 2)
            .await
            .is_err()
    );
}

/// The schema version a ledger file says it has.
fn schema_version(conn: &rusqlite::Connection) -> String {
    conn.query_row(
        "SELECT value FROM meta WHERE key = 'schema_version'",
        [],
        |row| row.get(0),
    )
    .expect("the schema version")
}
