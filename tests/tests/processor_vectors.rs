//! StreamAlert's alert-processor vectors (`tests/vectors/processor/`): every file is loaded and
//! checked against the processor and a real SQLite ledger.

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use streamalert::Alert;
use streamalert::alert::Timestamp;
use streamalert::config::{LedgerSettings, OutputsConfig};
use streamalert::ledger::{
    AlertKey, AlertStatus, Claim, DeliveryFilter, DeliveryState, Fingerprint, InputCheckpoint,
    Ledger, LedgerCounts, LedgerEntry, LedgerError, LedgerStatus, NewAlert, OpenPage, Outcome,
    QuarantinedAlert, SqliteLedger,
};
use streamalert::processor::{EventOutcome, Processor, ResolveError};
use streamalert_tests::capture_logs_async;
use streamalert_tests::vectors::{Harness, Shape};

streamalert::services!();

/// The `outputs.json` the vectors were recorded with (`outputs.md` §5).
fn vector_config() -> Value {
    json!({
        "aws-cloudwatch-log": ["unit_test_default"],
        "aws-firehose": {"unit_test_delivery_stream": "unit_test_delivery_stream"},
        "aws-lambda": {"unit_test_lambda": "unit_test_function", "unit_test_lambda_qual": "unit_test_qualified_function:production"},
        "aws-s3": {"unit_test_bucket": "unit.test.bucket.name"},
        "aws-sns": {"unit_test_topic": "unit_test_topic_name"},
        "aws-sqs": {"unit_test_queue": "unit_test_queue_name"},
        "demisto": ["unit_test_demisto"],
        "pagerduty": ["unit_test_pagerduty"],
        "phantom": ["unit_test_phantom"],
        "slack": ["unit_test_channel", "unit-test-channel"],
        "jira-v2": ["unit_test_channel"]
    })
}

/// StreamAlert's dispatcher classes, by the service they serve.
const DISPATCHER_CLASSES: &[(&str, &str)] = &[("S3Output", "aws-s3")];

/// Records every ledger call, then forwards it to a real SQLite ledger.
struct Recording {
    inner: SqliteLedger,
    calls: Mutex<Vec<String>>,
    /// When set, every `record_outcome` fails (a ledger that cannot be written).
    refuse_outcomes: std::sync::atomic::AtomicBool,
}

impl Recording {
    fn new(dir: &Path) -> Arc<Self> {
        let settings = LedgerSettings {
            path: dir.join("ledger.sqlite3"),
            ..Default::default()
        };
        Arc::new(Self {
            inner: SqliteLedger::open(&settings).expect("ledger"),
            calls: Mutex::new(Vec::new()),
            refuse_outcomes: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn note(&self, call: String) {
        self.calls.lock().expect("lock").push(call);
    }

    fn writes(&self) -> Vec<String> {
        self.calls.lock().expect("lock").clone()
    }
}

#[streamalert::async_trait]
impl Ledger for Recording {
    async fn record_alerts(&self, alerts: Vec<NewAlert>) -> Result<(), LedgerError> {
        self.note(format!("record_alerts({})", alerts.len()));
        self.inner.record_alerts(alerts).await
    }
    async fn record_alerts_at(
        &self,
        alerts: Vec<NewAlert>,
        checkpoint: InputCheckpoint,
    ) -> Result<(), LedgerError> {
        self.note(format!("record_alerts_at({})", alerts.len()));
        self.inner.record_alerts_at(alerts, checkpoint).await
    }
    async fn input_checkpoint(
        &self,
        input: String,
    ) -> Result<Option<InputCheckpoint>, LedgerError> {
        self.inner.input_checkpoint(input).await
    }
    async fn begin_attempt(
        &self,
        key: AlertKey,
        dispatched: Timestamp,
        intents: BTreeMap<String, Fingerprint>,
    ) -> Result<Claim, LedgerError> {
        self.note("begin_attempt".into());
        self.inner.begin_attempt(key, dispatched, intents).await
    }
    async fn record_outcome(
        &self,
        key: AlertKey,
        output: String,
        outcome: Outcome,
    ) -> Result<(), LedgerError> {
        self.note(format!("record_outcome({output}, {outcome:?})"));
        if self
            .refuse_outcomes
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(LedgerError::Worker(
                "the test's ledger refuses outcomes".into(),
            ));
        }
        self.inner.record_outcome(key, output, outcome).await
    }
    async fn get(&self, key: AlertKey) -> Result<Option<LedgerEntry>, LedgerError> {
        self.inner.get(key).await
    }
    async fn open_alerts(&self) -> Result<Vec<LedgerEntry>, LedgerError> {
        self.inner.open_alerts().await
    }
    async fn record_merge(
        &self,
        originals: Vec<AlertKey>,
        merged: NewAlert,
    ) -> Result<(), LedgerError> {
        self.note("record_merge".into());
        self.inner.record_merge(originals, merged).await
    }
    async fn counts(&self) -> Result<LedgerCounts, LedgerError> {
        self.inner.counts().await
    }
    async fn quarantined(&self) -> Result<Vec<QuarantinedAlert>, LedgerError> {
        self.inner.quarantined().await
    }
    async fn status(&self) -> Result<LedgerStatus, LedgerError> {
        self.inner.status().await
    }
    async fn list(&self, filter: DeliveryFilter) -> Result<Vec<LedgerEntry>, LedgerError> {
        self.inner.list(filter).await
    }
    async fn find(&self, alert_id: String) -> Result<Option<AlertKey>, LedgerError> {
        self.inner.find(alert_id).await
    }
    async fn replay(
        &self,
        keys: Vec<AlertKey>,
        output: Option<String>,
    ) -> Result<u64, LedgerError> {
        self.note("replay".into());
        self.inner.replay(keys, output).await
    }
    async fn prune(&self, before: Timestamp) -> Result<u64, LedgerError> {
        self.note("prune".into());
        self.inner.prune(before).await
    }
    async fn open_alerts_page(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> Result<OpenPage, LedgerError> {
        self.inner.open_alerts_page(after, limit).await
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("processor-vectors")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    dir
}

fn setup_alert(setup: &Value) -> Alert {
    let outputs: Vec<String> = setup["outputs"]
        .as_array()
        .expect("outputs")
        .iter()
        .map(|o| o.as_str().expect("output").to_owned())
        .collect();
    Alert::new(
        setup["rule_name"].as_str().expect("rule_name"),
        setup["record"].clone(),
        outputs,
    )
}

fn bools(value: &Value) -> BTreeMap<String, bool> {
    value
        .as_object()
        .expect("a results object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bool().expect("a bool")))
        .collect()
}

async fn check(vector: &Value) {
    let id = vector["id"].as_str().expect("id");
    let dir = scratch(id);
    let alert = setup_alert(&vector["setup"]);
    let mut outputs = vector_config();
    outputs["file"] = json!({"out1": dir.join("out1.jsonl").to_str().expect("utf-8")});
    let config = OutputsConfig::from_json(&outputs.to_string()).expect("config");
    let ledger = Recording::new(&dir);
    let processor = Processor::new(config).with_ledger(ledger.clone());
    let input = &vector["input"];
    let expected = &vector["expected"];
    match vector["function"].as_str().expect("function") {
        "processor.create_dispatcher" => {
            let output = input["output"].as_str().expect("output");
            let resolved = processor.resolve(output);
            match expected["dispatcher"].as_str() {
                None => assert!(
                    matches!(resolved, Err(ResolveError::Malformed(_))),
                    "{id}: {resolved:?}"
                ),
                Some(class) => {
                    let service = DISPATCHER_CLASSES
                        .iter()
                        .find(|(c, _)| *c == class)
                        .unwrap_or_else(|| panic!("{id}: unknown dispatcher class {class}"))
                        .1;
                    match resolved {
                        Ok(target) => assert_eq!(target.service, service, "{id}"),
                        // Valid and configured; the service's output is behind a cargo feature.
                        Err(ResolveError::NotCompiled { service: s, .. }) => {
                            assert_eq!(s, service, "{id}");
                            assert!(streamalert::registry().output(service).is_none());
                        }
                        Err(other) => panic!("{id}: {other}"),
                    }
                }
            }
        }
        "processor.run" => {
            // The dispatcher fails: slack has no credentials here (or is not compiled in).
            let event = Value::Object(alert.to_item());
            let outcome = processor.dispatch_event(&event).await;
            assert_eq!(outcome.results(), bools(&expected["results"]), "{id}");
            let entry = ledger
                .get(AlertKey::of(&alert))
                .await
                .expect("ledger")
                .expect("recorded");
            let sent: Vec<&String> = entry.alert.outputs_sent.iter().collect();
            let expected_sent: Vec<&str> = expected["outputs_sent"]
                .as_array()
                .expect("outputs_sent")
                .iter()
                .map(|v| v.as_str().expect("str"))
                .collect();
            assert_eq!(sent, expected_sent, "{id}");
            assert_eq!(entry.status, AlertStatus::Open, "{id}: stays recorded");
            // Missing credentials (or an output not compiled in) are permanent: the delivery is
            // given up at once (dead), kept for `ledger replay` once the output is set up.
            for output in expected["results"].as_object().expect("results").keys() {
                assert_eq!(
                    entry.delivery(output).expect("record").state,
                    DeliveryState::Dead
                );
            }
        }
        "processor.update_table" => {
            let results = bools(&input["results"]);
            let mut alert = alert;
            if results.is_empty() {
                // Nothing was attempted: every output is already sent.
                alert.outputs_sent = alert.outputs.clone();
                let outcome = processor
                    .dispatch_event(&Value::Object(alert.to_item()))
                    .await;
                assert!(outcome.results().is_empty(), "{id}");
                assert_eq!(
                    ledger.writes().len(),
                    expected["table_calls"].as_array().expect("calls").len(),
                    "{id}: {:?}",
                    ledger.writes()
                );
            } else {
                // `outN` stand for outputs; only out1 is configured, so only it succeeds.
                alert.outputs = results.keys().map(|o| format!("file:{o}")).collect();
                let outcome = processor
                    .dispatch_event(&Value::Object(alert.to_item()))
                    .await;
                let got: BTreeMap<String, bool> = outcome
                    .results()
                    .into_iter()
                    .map(|(k, v)| (k.trim_start_matches("file:").to_owned(), v))
                    .collect();
                assert_eq!(got, results, "{id}");
                let sent_updates: Vec<String> = ledger
                    .writes()
                    .into_iter()
                    .filter(|call| call.ends_with(", Sent)"))
                    .collect();
                assert_eq!(
                    sent_updates.len(),
                    expected["table_calls"].as_array().expect("calls").len(),
                    "{id}: one update of the sent outputs"
                );
                let entry = ledger
                    .get(AlertKey::of(&alert))
                    .await
                    .expect("ledger")
                    .expect("recorded");
                let sent: BTreeSet<String> = results
                    .iter()
                    .filter(|(_, ok)| **ok)
                    .map(|(o, _)| format!("file:{o}"))
                    .collect();
                assert_eq!(entry.alert.outputs_sent, sent, "{id}");
                assert_eq!(
                    entry.status,
                    AlertStatus::Open,
                    "{id}: not deleted while outputs remain"
                );
            }
        }
        "processor.handler" => {
            let mut event = input["event"].clone();
            if event["AlertID"] == "<id>" {
                event["AlertID"] = json!(alert.alert_id);
            }
            let (outcome, logs) = capture_logs_async(processor.dispatch_event(&event)).await;
            let expected_return = bools(&expected["return"]);
            assert_eq!(outcome.results(), expected_return, "{id}");
            match expected["log"].as_str() {
                Some(template) => {
                    let EventOutcome::NotFound(key) = &outcome else {
                        panic!("{id}: {outcome:?}");
                    };
                    let line = template.replace("%s", &key.to_string());
                    assert!(logs.contains(&line), "{id}: {logs}");
                }
                None => assert!(
                    matches!(outcome, EventOutcome::Invalid(_)),
                    "{id}: {outcome:?}"
                ),
            }
            assert_eq!(
                ledger.writes(),
                Vec::<String>::new(),
                "{id}: nothing recorded"
            );
        }
        other => panic!("{id}: no check for function {other}"),
    }
}

/// The processor vectors, one shape per operation.
const SHAPES: &[Shape] = &[
    Shape {
        kind: "processor",
        functions: &["processor.create_dispatcher"],
        fields: &["setup", "input", "expected"],
        input: &["output"],
        expected: &["dispatcher"],
    },
    Shape {
        kind: "processor",
        functions: &["processor.run"],
        fields: &["setup", "input", "expected"],
        input: &[],
        expected: &["outputs_sent", "results"],
    },
    Shape {
        kind: "processor",
        functions: &["processor.update_table"],
        fields: &["setup", "input", "expected"],
        input: &["results"],
        expected: &["table_calls"],
    },
    Shape {
        kind: "processor",
        functions: &["processor.handler"],
        fields: &["setup", "input", "expected"],
        input: &["event"],
        expected: &["log", "return"],
    },
];

#[tokio::test]
async fn every_processor_vector_holds() {
    Harness::new("processor", SHAPES)
        .run_async(|vector| async move {
            check(&vector.value).await;
            Ok(())
        })
        .await;
}

/// An outcome the ledger cannot record fails the event (so Lambda retries it), and the
/// delivery stays pending: what was sent and not recorded is sent again, never lost.
#[tokio::test]
async fn an_outcome_the_ledger_cannot_record_fails_the_event() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("processor-vectors")
        .join(format!("unrecorded-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let ledger = Recording::new(&dir);
    ledger
        .refuse_outcomes
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let file = dir.join("a.jsonl");
    let config =
        OutputsConfig::from_json(&json!({"file": {"a": file}}).to_string()).expect("config");
    let processor = Processor::new(config).with_ledger(ledger.clone());
    let alert = Alert::new("rule_u", json!({"n": 1}), ["file:a"]);
    let outcome = processor
        .dispatch_event(&Value::Object(alert.to_item()))
        .await;
    let EventOutcome::Failed(error) = &outcome else {
        panic!("the event must fail: {outcome:?}");
    };
    assert_eq!(
        error.to_string(),
        "the ledger could not record the outcome of 1 deliveries (logged above)"
    );
    assert_eq!(
        std::fs::read_to_string(&file)
            .expect("sent")
            .lines()
            .count(),
        1
    );
    let entry = ledger
        .get(AlertKey::of(&alert))
        .await
        .expect("get")
        .expect("recorded");
    assert_eq!(
        entry.delivery("file:a").expect("delivery").state,
        DeliveryState::Pending
    );
}
