//! The DynamoDB ledger and the Lambda mode, against a moto server (`scripts/moto-server.sh`,
//! endpoint in `STREAMALERT_TEST_AWS_ENDPOINT`): StreamAlert's alerts-table layout, per-output
//! success recorded with `ADD OutputsSent`, two processors on one alert, a throttled update,
//! a batch partial failure, and the Lambda handler on sample events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aws_support;

use aws_support::{local_aws, moto_endpoint, unique};
mod hook_support;
mod processor_support;

use hook_support::Hook;

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use streamalert::alert::Timestamp;
use streamalert::aws::sdk::dynamodb;
use streamalert::aws::sdk::dynamodb::types::AttributeValue;
use streamalert::aws::sdk::lambda_runtime::{Context, LambdaEvent};
use streamalert::aws::{Aws, BatchLimits, BatchSink, Batcher};
use streamalert::config::OutputsConfig;
use streamalert::ledger::{
    AlertKey, Claim, DeliveryFilter, DeliveryState, DynamoDbLedger, Fingerprint, InputCheckpoint,
    Ledger, LedgerError, NewAlert, Outcome,
};
use streamalert::output::{Delivery, DispatchError, ErrorKind};
use streamalert::processor::{EventOutcome, Processor};
use streamalert::{Alert, Output, OutputProperty};
use streamalert_tests::capture_logs_async;

// ------------------------------------------------------------------------------------------
// A batching output of this test binary: rejects the records listed in REJECT.

static REJECT: Mutex<Vec<String>> = Mutex::new(Vec::new());
static BATCHES: Mutex<Vec<Vec<String>>> = Mutex::new(Vec::new());

struct RejectingSink;

#[streamalert::async_trait]
impl BatchSink for RejectingSink {
    type Record = String;
    fn limits(&self) -> BatchLimits {
        BatchLimits {
            max_records: 100,
            max_bytes: 1 << 20,
        }
    }
    async fn send(&self, _: &str, records: &[String]) -> Vec<Result<(), DispatchError>> {
        BATCHES.lock().unwrap().push(records.to_vec());
        let reject = REJECT.lock().unwrap().clone();
        records
            .iter()
            .map(|r| {
                if reject.contains(r) {
                    Err(DispatchError::new(
                        ErrorKind::Unavailable,
                        "rejected in the batch",
                    ))
                } else {
                    Ok(())
                }
            })
            .collect()
    }
}

/// Sends the record's `name` through a [`Batcher`].
#[streamalert::output(service = "batch-probe")]
pub struct BatchProbe(Batcher<RejectingSink>);

impl Default for BatchProbe {
    fn default() -> Self {
        Self(Batcher::new(Arc::new(RejectingSink)))
    }
}

#[streamalert::async_trait]
impl Output for BatchProbe {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![OutputProperty::descriptor("a name")]
    }
    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let record = delivery.alert.record["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.0.submit(delivery.descriptor, record, 1).await
    }
}

streamalert::services!(BatchProbe, Hook);

// ------------------------------------------------------------------------------------------
// Helpers

struct Setup {
    aws: Aws,
    table: String,
}

async fn setup(test: &str) -> Option<Setup> {
    let endpoint = moto_endpoint(test)?;
    let aws = local_aws(&endpoint).await;
    let table = unique("alerts");
    DynamoDbLedger::new(&aws, &table)
        .create_table()
        .await
        .unwrap();
    Some(Setup { aws, table })
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(name));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn processor(config: &str, ledger: DynamoDbLedger) -> Processor {
    Processor::new(OutputsConfig::from_json(config).unwrap()).with_ledger(Arc::new(ledger))
}

async fn raw_item(
    setup: &Setup,
    key: &AlertKey,
) -> std::collections::HashMap<String, AttributeValue> {
    setup
        .aws
        .dynamodb()
        .get_item()
        .table_name(&setup.table)
        .key("RuleName", AttributeValue::S(key.rule_name.clone()))
        .key("AlertID", AttributeValue::S(key.alert_id.clone()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap()
}

fn string_set(value: Option<&AttributeValue>) -> Vec<String> {
    let mut items = match value {
        Some(AttributeValue::Ss(items)) => items.clone(),
        None => Vec::new(),
        other => panic!("not a string set: {other:?}"),
    };
    items.sort();
    items
}

// ------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn items_use_streamalerts_alerts_table_layout_and_add_outputs_sent() {
    let Some(setup) =
        setup("items_use_streamalerts_alerts_table_layout_and_add_outputs_sent").await
    else {
        return;
    };
    let ledger = DynamoDbLedger::new(&setup.aws, &setup.table);
    let mut alert = Alert::new(
        "root_login",
        json!({"user": "root", "n": 1.5}),
        ["file:a", "slack:b", "aws-firehose:alerts"],
    );
    alert.log_source = Some("osquery:differential".into());
    let key = AlertKey::of(&alert);
    ledger
        .record_alerts(vec![NewAlert {
            alert: alert.clone().into(),
            intents: BTreeMap::new(),
        }])
        .await
        .unwrap();

    let item = raw_item(&setup, &key).await;
    assert!(matches!(&item["RuleName"], AttributeValue::S(s) if s == "root_login"));
    assert!(matches!(&item["AlertID"], AttributeValue::S(s) if *s == alert.alert_id));
    assert!(matches!(&item["Record"], AttributeValue::S(s) if s == r#"{"user":"root","n":1.5}"#));
    assert!(matches!(&item["Attempts"], AttributeValue::N(n) if n == "0"));
    assert!(matches!(&item["Created"], AttributeValue::S(s) if *s == alert.created.to_string()));
    assert!(matches!(&item["LogSource"], AttributeValue::S(s) if s == "osquery:differential"));
    assert!(matches!(&item["Cluster"], AttributeValue::Null(true)));
    assert!(matches!(&item["Staged"], AttributeValue::Bool(false)));
    assert_eq!(
        string_set(item.get("Outputs")),
        ["aws-firehose:alerts", "file:a", "slack:b"]
    );
    assert!(!item.contains_key("OutputsSent"), "no empty set is written");
    // StreamAlert's processor can read the item as it is.
    let json: serde_json::Map<String, Value> = item
        .iter()
        .filter(|(k, _)| k.as_str() != "Deliveries")
        .map(|(k, v)| (k.clone(), streamalert::ledger::dynamodb::from_attribute(v)))
        .collect();
    assert_eq!(
        Alert::from_item(&Value::Object(json)).unwrap().record,
        alert.record
    );

    // Another processor records an output directly (as StreamAlert's would, with ADD).
    setup
        .aws
        .dynamodb()
        .update_item()
        .table_name(&setup.table)
        .key("RuleName", AttributeValue::S(key.rule_name.clone()))
        .key("AlertID", AttributeValue::S(key.alert_id.clone()))
        .update_expression("ADD OutputsSent :o")
        .expression_attribute_values(":o", AttributeValue::Ss(vec!["slack:b".into()]))
        .send()
        .await
        .unwrap();
    ledger
        .record_outcome(key.clone(), "file:a".into(), Outcome::Sent)
        .await
        .unwrap();
    ledger
        .record_outcome(
            key.clone(),
            "aws-firehose:alerts".into(),
            Outcome::Failed("throttled".into()),
        )
        .await
        .unwrap();
    let item = raw_item(&setup, &key).await;
    assert_eq!(
        string_set(item.get("OutputsSent")),
        ["file:a", "slack:b"],
        "a union, never an overwrite"
    );

    let entry = ledger.get(key.clone()).await.unwrap().unwrap();
    let states: Vec<(&str, DeliveryState)> = entry
        .deliveries
        .iter()
        .map(|d| (d.output.as_str(), d.state))
        .collect();
    assert_eq!(
        states,
        [
            ("aws-firehose:alerts", DeliveryState::Failed),
            ("file:a", DeliveryState::Sent),
            ("slack:b", DeliveryState::Sent)
        ]
    );
    assert_eq!(
        entry
            .delivery("aws-firehose:alerts")
            .unwrap()
            .last_error
            .as_deref(),
        Some("throttled")
    );
    assert_eq!(ledger.open_alerts().await.unwrap().len(), 1);
    // A sent output stays sent.
    ledger
        .record_outcome(key.clone(), "file:a".into(), Outcome::Failed("late".into()))
        .await
        .unwrap();
    ledger
        .record_outcome(key.clone(), "aws-firehose:alerts".into(), Outcome::Sent)
        .await
        .unwrap();
    let entry = ledger.get(key.clone()).await.unwrap().unwrap();
    assert!(
        entry
            .deliveries
            .iter()
            .all(|d| d.state == DeliveryState::Sent)
    );
    assert_eq!(entry.status, streamalert::ledger::AlertStatus::Complete);
    assert!(ledger.open_alerts().await.unwrap().is_empty());
    let counts = ledger.counts().await.unwrap();
    assert_eq!(
        (counts.complete_alerts, counts.sent, counts.unsent()),
        (1, 3, 0)
    );
    let missing = AlertKey::new("root_login", "no-such-id");
    assert!(
        ledger
            .record_outcome(missing, "file:a".into(), Outcome::Sent)
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processors_on_one_alert_deliver_each_output_once() {
    let Some(setup) = setup("two_processors_on_one_alert_deliver_each_output_once").await else {
        return;
    };
    let dir = temp_dir("two-processors");
    let config = json!({"file": {"a": dir.join("a.jsonl"), "b": dir.join("b.jsonl")}}).to_string();
    for round in 0..5 {
        let alert = Alert::new(
            format!("rule{round}"),
            json!({"round": round}),
            ["file:a", "file:b"],
        );
        let event = Value::Object(alert.to_item());
        let one = processor(&config, DynamoDbLedger::new(&setup.aws, &setup.table));
        let two = processor(&config, DynamoDbLedger::new(&setup.aws, &setup.table));
        let (first, second) = tokio::join!(one.dispatch_event(&event), two.dispatch_event(&event));
        let delivered: usize = [&first, &second]
            .iter()
            .map(|o| o.results().values().filter(|ok| **ok).count())
            .sum();
        assert_eq!(delivered, 2, "round {round}: {first:?} / {second:?}");
        for outcome in [&first, &second] {
            assert!(
                matches!(
                    outcome,
                    EventOutcome::Dispatched(_) | EventOutcome::Contended(_)
                ),
                "{outcome:?}"
            );
        }
        // A retried invocation (StreamAlert's merger, or Lambda's own retry) sends nothing.
        let again = processor(&config, DynamoDbLedger::new(&setup.aws, &setup.table));
        let retried = again.dispatch_event(&event).await;
        assert!(
            matches!(&retried, EventOutcome::Dispatched(r) if r.is_empty()),
            "{retried:?}"
        );
    }
    for file in ["a.jsonl", "b.jsonl"] {
        let written = lines(&dir.join(file));
        assert_eq!(
            written.len(),
            5,
            "{file}: one line per alert, never two: {written:?}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn an_event_whose_alert_another_processor_holds_is_left_to_it() {
    let Some(setup) = setup("an_event_whose_alert_another_processor_holds_is_left_to_it").await
    else {
        return;
    };
    let dir = temp_dir("held-event");
    let output = dir.join("a.jsonl");
    let config = json!({"file": {"a": output}}).to_string();
    let processor = processor(&config, DynamoDbLedger::new(&setup.aws, &setup.table));
    let alert = Alert::new("held_rule", json!({"n": 1}), ["file:a"]);
    let key = AlertKey::of(&alert);
    let event = Value::Object(alert.to_item());

    // Another processor recorded the alert and is sending its output.
    let other = DynamoDbLedger::new(&setup.aws, &setup.table);
    other
        .record_alerts(vec![NewAlert {
            alert: alert.clone().into(),
            intents: BTreeMap::new(),
        }])
        .await
        .unwrap();
    let intents = BTreeMap::from([("file:a".to_owned(), Fingerprint::of(b"the other's"))]);
    let claim = other
        .begin_attempt(key.clone(), Timestamp::now(), intents)
        .await
        .unwrap();
    assert_eq!(claim, Claim::Granted);

    let (outcome, logs) = capture_logs_async(processor.dispatch_event(&event)).await;
    assert!(
        matches!(&outcome, EventOutcome::Contended(k) if *k == key),
        "{outcome:?}"
    );
    assert!(outcome.results().is_empty());
    let logged = logs
        .lines()
        .find(|line| line.contains("another processor is delivering this alert"))
        .unwrap_or_else(|| panic!("the event is logged as left to the other: {logs}"));
    assert!(
        logged.contains(&key.alert_id) && logged.contains("file:a"),
        "{logged}"
    );
    // The Lambda does not answer as if done: the invocation fails (Lambda retries it, or the
    // scheduled pass delivers the alert), naming the alert.
    let error = streamalert::lambda::handle(
        &processor,
        LambdaEvent::new(event.clone(), Context::default()),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        error.contains(&key.alert_id) && error.contains("another processor holds its outputs"),
        "{error}"
    );
    assert!(lines(&output).is_empty(), "nothing sent by this processor");
    let entry = processor
        .ledger()
        .unwrap()
        .get(key.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        entry.delivery("file:a").unwrap().state,
        DeliveryState::Pending
    );

    // The other's attempt fails, which releases its claim: the next event delivers it, once.
    other
        .record_outcome(
            key.clone(),
            "file:a".into(),
            Outcome::Failed("reset".into()),
        )
        .await
        .unwrap();
    let outcome = processor.dispatch_event(&event).await;
    assert_eq!(
        outcome.results(),
        BTreeMap::from([("file:a".to_owned(), true)]),
        "{outcome:?}"
    );
    assert_eq!(
        delivered_ids(&output),
        std::slice::from_ref(&alert.alert_id)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The alert ids written to a `file` output, one per line.
fn delivered_ids(path: &std::path::Path) -> Vec<String> {
    let mut ids: Vec<String> = lines(path)
        .iter()
        .map(|line| {
            let publication: Value = serde_json::from_str(line).unwrap();
            publication["id"].as_str().unwrap().to_owned()
        })
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn retry_skips_an_alert_another_processor_holds_and_delivers_the_others() {
    let Some(setup) =
        setup("retry_skips_an_alert_another_processor_holds_and_delivers_the_others").await
    else {
        return;
    };
    let dir = temp_dir("contended");
    let output = dir.join("a.jsonl");
    let config = json!({"file": {"a": output}}).to_string();
    let ours = DynamoDbLedger::new(&setup.aws, &setup.table);
    let processor = processor(&config, ours.clone());
    let alerts: Vec<Alert> = (0..3)
        .map(|n| Alert::new(format!("rule{n}"), json!({"n": n}), ["file:a"]))
        .collect();
    let new = |alert: &Alert| NewAlert {
        alert: alert.clone().into(),
        intents: BTreeMap::new(),
    };
    ours.record_alerts(alerts.iter().map(new).collect())
        .await
        .unwrap();

    // Another processor claims the second alert's output and is still sending it.
    let other = DynamoDbLedger::new(&setup.aws, &setup.table);
    let held = AlertKey::of(&alerts[1]);
    let intents = BTreeMap::from([("file:a".to_owned(), Fingerprint::of(b"the other's"))]);
    let claim = other
        .begin_attempt(held.clone(), Timestamp::now(), intents.clone())
        .await
        .unwrap();
    assert_eq!(claim, Claim::Granted);
    let refused = ours
        .begin_attempt(held.clone(), Timestamp::now(), intents)
        .await
        .unwrap();
    assert!(
        matches!(&refused, Claim::Contended { output: Some(o), .. } if o == "file:a"),
        "{refused:?}"
    );

    let (report, logs) = capture_logs_async(processor.retry_pass()).await;
    let report = report.unwrap();
    assert_eq!(report.contended, std::slice::from_ref(&held));
    assert_eq!(
        (report.run.alerts, report.run.sent, report.run.failed),
        (2, 2, 0),
        "{report:?}"
    );
    assert_eq!(report.run.ledger_errors, 0, "contention is no ledger error");
    let mut others = vec![alerts[0].alert_id.clone(), alerts[2].alert_id.clone()];
    others.sort();
    assert_eq!(delivered_ids(&output), others);
    let skipped = logs
        .lines()
        .find(|line| line.contains("another processor is delivering this alert"))
        .unwrap_or_else(|| panic!("the skip is logged: {logs}"));
    assert!(
        skipped.contains(&held.alert_id) && skipped.contains("rule1"),
        "{skipped}"
    );
    let entry = ours.get(held.clone()).await.unwrap().unwrap();
    assert_eq!(
        entry.delivery("file:a").unwrap().state,
        DeliveryState::Pending
    );

    // The other processor's attempt fails, which releases its claim: the next pass delivers
    // the alert, and only it.
    other
        .record_outcome(
            held.clone(),
            "file:a".into(),
            Outcome::Failed("reset".into()),
        )
        .await
        .unwrap();
    let report = processor.retry_pass().await.unwrap();
    assert!(report.contended.is_empty(), "{report:?}");
    assert_eq!((report.run.alerts, report.run.sent), (1, 1), "{report:?}");
    let mut all: Vec<String> = alerts.iter().map(|a| a.alert_id.clone()).collect();
    all.sort();
    assert_eq!(delivered_ids(&output), all, "each alert once");
    assert!(ours.open_alerts().await.unwrap().is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

/// Turns the first `remaining` `ADD OutputsSent` updates into a DynamoDB throttling error: the
/// request is sent to a table that does not exist (so DynamoDB never applies it) and the answer
/// is replaced by `ProvisionedThroughputExceededException`.
#[derive(Debug)]
struct ThrottleSentUpdates {
    remaining: AtomicUsize,
    in_flight: AtomicUsize,
    throttled: AtomicUsize,
}

impl dynamodb::config::Intercept for ThrottleSentUpdates {
    fn name(&self) -> &'static str {
        "ThrottleSentUpdates"
    }

    fn modify_before_transmit(
        &self,
        context: &mut dynamodb::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _: &dynamodb::config::RuntimeComponents,
        _: &mut dynamodb::config::ConfigBag,
    ) -> Result<(), dynamodb::error::BoxError> {
        let request = context.request_mut();
        let body: Option<Value> = request
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok());
        let Some(mut body) = body else {
            return Ok(());
        };
        let is_sent_update = body["UpdateExpression"]
            .as_str()
            .is_some_and(|e| e.contains("ADD OutputsSent"));
        if is_sent_update
            && self
                .remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            body["TableName"] = json!("throttle-decoy-no-such-table");
            let text = body.to_string();
            request
                .headers_mut()
                .insert("content-length", text.len().to_string());
            *request.body_mut() = From::from(text);
            self.in_flight.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut dynamodb::config::interceptors::BeforeDeserializationInterceptorContextMut<
            '_,
        >,
        _: &dynamodb::config::RuntimeComponents,
        _: &mut dynamodb::config::ConfigBag,
    ) -> Result<(), dynamodb::error::BoxError> {
        let rejected = context.response().status().as_u16() == 400;
        if rejected
            && self
                .in_flight
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            self.throttled.fetch_add(1, Ordering::SeqCst);
            let response = context.response_mut();
            *response.body_mut() = From::from(
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#
                    .to_owned(),
            );
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_throttled_update_leaves_the_delivery_pending_and_retry_sends_it() {
    let Some(setup) =
        setup("a_throttled_update_leaves_the_delivery_pending_and_retry_sends_it").await
    else {
        return;
    };
    let throttle = Arc::new(ThrottleSentUpdates {
        remaining: AtomicUsize::new(1),
        in_flight: AtomicUsize::new(0),
        throttled: AtomicUsize::new(0),
    });
    let client = dynamodb::Client::from_conf(
        dynamodb::config::Builder::from(setup.aws.sdk_config())
            .interceptor(SharedThrottle(throttle.clone()))
            .build(),
    );
    let ledger = DynamoDbLedger::with_client(client, &setup.table);
    let dir = temp_dir("throttled");
    let config = json!({"file": {"a": dir.join("a.jsonl")}}).to_string();
    let processor = processor(&config, ledger.clone());

    let alert = Alert::new("r", json!({"k": 1}), ["file:a"]);
    let key = AlertKey::of(&alert);
    let report = processor.process(vec![alert]).await.unwrap();
    assert_eq!(
        throttle.throttled.load(Ordering::SeqCst),
        1,
        "the sent-update was throttled"
    );
    assert_eq!((report.sent, report.ledger_errors), (1, 1), "{report:?}");
    let entry = ledger.get(key.clone()).await.unwrap().unwrap();
    let delivery = entry.delivery("file:a").unwrap();
    assert_eq!(
        delivery.state,
        DeliveryState::Pending,
        "not recorded as sent"
    );
    assert!(
        delivery.intent.is_some(),
        "the interrupted attempt is known"
    );
    assert_eq!(ledger.open_alerts().await.unwrap().len(), 1);

    // The next pass finds it at its destination (the file output's probe) and records it;
    // nothing is written twice.
    let report = processor.retry().await.unwrap();
    assert_eq!(
        (report.reconciled, report.sent, report.ledger_errors),
        (1, 0, 0),
        "{report:?}"
    );
    assert_eq!(lines(&dir.join("a.jsonl")).len(), 1);
    let entry = ledger.get(key).await.unwrap().unwrap();
    assert_eq!(entry.delivery("file:a").unwrap().state, DeliveryState::Sent);
    assert!(ledger.open_alerts().await.unwrap().is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

/// `Intercept` for a shared instance (so the test can read its counters).
#[derive(Debug)]
struct SharedThrottle(Arc<ThrottleSentUpdates>);

impl dynamodb::config::Intercept for SharedThrottle {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn modify_before_transmit(
        &self,
        context: &mut dynamodb::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        components: &dynamodb::config::RuntimeComponents,
        bag: &mut dynamodb::config::ConfigBag,
    ) -> Result<(), dynamodb::error::BoxError> {
        self.0.modify_before_transmit(context, components, bag)
    }
    fn modify_before_deserialization(
        &self,
        context: &mut dynamodb::config::interceptors::BeforeDeserializationInterceptorContextMut<
            '_,
        >,
        components: &dynamodb::config::RuntimeComponents,
        bag: &mut dynamodb::config::ConfigBag,
    ) -> Result<(), dynamodb::error::BoxError> {
        self.0
            .modify_before_deserialization(context, components, bag)
    }
}

#[tokio::test]
async fn batch_partial_failure_leaves_only_the_rejected_record_pending() {
    let Some(setup) = setup("batch_partial_failure_leaves_only_the_rejected_record_pending").await
    else {
        return;
    };
    let ledger = DynamoDbLedger::new(&setup.aws, &setup.table);
    let processor = processor(r#"{"batch-probe": ["q"]}"#, ledger.clone());
    let marker = unique("x");
    let names: Vec<String> = (0..3).map(|i| format!("{marker}-{i}")).collect();
    *REJECT.lock().unwrap() = vec![names[1].clone()];
    let alerts: Vec<Alert> = names
        .iter()
        .map(|n| Alert::new("batched", json!({"name": n}), ["batch-probe:q"]))
        .collect();
    let keys: Vec<AlertKey> = alerts.iter().map(AlertKey::of).collect();
    let report = processor.process(alerts).await.unwrap();
    assert_eq!((report.sent, report.failed), (2, 1), "{report:?}");
    let ours = |batch: &Vec<String>| batch.iter().any(|r| r.starts_with(&marker));
    let batches: Vec<Vec<String>> = BATCHES
        .lock()
        .unwrap()
        .iter()
        .filter(|b| ours(b))
        .cloned()
        .collect();
    assert_eq!(
        batches.iter().map(Vec::len).sum::<usize>(),
        3,
        "each record sent once: {batches:?}"
    );
    assert!(
        batches.len() < 3,
        "the run's deliveries shared calls: {batches:?}"
    );
    let states = |entries: Vec<streamalert::ledger::LedgerEntry>| -> Vec<DeliveryState> {
        entries.iter().map(|e| e.deliveries[0].state).collect()
    };
    let mut entries = Vec::new();
    for key in &keys {
        entries.push(ledger.get(key.clone()).await.unwrap().unwrap());
    }
    assert_eq!(
        states(entries),
        [
            DeliveryState::Sent,
            DeliveryState::Failed,
            DeliveryState::Sent
        ]
    );

    // The retry sends only the rejected record.
    REJECT.lock().unwrap().clear();
    let report = processor.retry().await.unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    let resent: Vec<String> = BATCHES
        .lock()
        .unwrap()
        .iter()
        .filter(|b| ours(b))
        .skip(batches.len())
        .flatten()
        .cloned()
        .collect();
    assert_eq!(resent, [names[1].clone()]);
    for key in &keys {
        let entry = ledger.get(key.clone()).await.unwrap().unwrap();
        assert_eq!(entry.deliveries[0].state, DeliveryState::Sent);
    }
}

#[tokio::test]
async fn lambda_handler_delivers_sample_events_and_returns_the_result_map() {
    let Some(setup) =
        setup("lambda_handler_delivers_sample_events_and_returns_the_result_map").await
    else {
        return;
    };
    let dir = temp_dir("lambda");
    // `blocked` cannot be written (its directory is a file): a failure that is retried.
    std::fs::write(dir.join("blocker"), "a file").unwrap();
    let config = json!({
        "file": {"a": dir.join("a.jsonl"), "blocked": dir.join("blocker/b.jsonl")},
        "stdout": ["console"]
    })
    .to_string();
    let ledger = DynamoDbLedger::new(&setup.aws, &setup.table);
    let processor = processor(&config, ledger.clone());
    let invoke = |payload: Value| {
        let processor = &processor;
        async move {
            streamalert::lambda::handle(processor, LambdaEvent::new(payload, Context::default()))
                .await
        }
    };

    // StreamAlert's sample event shape: a full alerts-table item.
    let alert = Alert::new(
        "lambda_rule",
        json!({"user": "root"}),
        ["file:a", "file:blocked"],
    );
    let event = Value::Object(alert.to_item());
    let reply = invoke(event.clone()).await.unwrap();
    assert_eq!(reply, json!({"file:a": true, "file:blocked": false}));
    let written = lines(&dir.join("a.jsonl"));
    assert_eq!(written.len(), 1);
    assert!(written[0].contains(&alert.alert_id));

    // The key form reads the alert from the table; only the failed output is tried again.
    let key_event = json!({"AlertID": alert.alert_id, "RuleName": alert.rule_name});
    assert_eq!(
        invoke(key_event).await.unwrap(),
        json!({"file:blocked": false})
    );
    assert_eq!(
        lines(&dir.join("a.jsonl")).len(),
        1,
        "file:a is not sent again"
    );

    // Unknown key, invalid event: {} (StreamAlert's return).
    assert_eq!(
        invoke(json!({"AlertID": "nope", "RuleName": "nope"}))
            .await
            .unwrap(),
        json!({})
    );
    assert_eq!(
        invoke(json!({"Record": "Nonsense"})).await.unwrap(),
        json!({})
    );

    // A batch: one result map per event, in order.
    let a = Alert::new("lambda_rule", json!({"n": 1}), ["stdout:console"]);
    let b = Alert::new("lambda_rule", json!({"n": 2}), ["file:a"]);
    let reply = invoke(json!([
        Value::Object(a.to_item()),
        Value::Object(b.to_item())
    ]))
    .await
    .unwrap();
    assert_eq!(reply, json!([{"stdout:console": true}, {"file:a": true}]));
    assert_eq!(lines(&dir.join("a.jsonl")).len(), 2);
    let entry = ledger.get(AlertKey::of(&b)).await.unwrap().unwrap();
    assert_eq!(entry.status, streamalert::ledger::AlertStatus::Complete);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A scheduled invocation (EventBridge `Scheduled Event`) runs one retry-and-merge pass over
/// the alerts table: what was pending is delivered, once; in the invocation's last 5 s it is
/// left for the next pass.
#[tokio::test]
async fn a_scheduled_invocation_delivers_what_the_table_holds_pending() {
    let Some(setup) = setup("a_scheduled_invocation_delivers_what_the_table_holds_pending").await
    else {
        return;
    };
    let dir = temp_dir("scheduled");
    let config = json!({"file": {"a": dir.join("a.jsonl")}}).to_string();
    let ledger = DynamoDbLedger::new(&setup.aws, &setup.table);
    let alert = Alert::new("scheduled_rule", json!({"user": "root"}), ["file:a"]);
    ledger
        .record_alerts(vec![NewAlert {
            alert: alert.clone().into(),
            intents: BTreeMap::new(),
        }])
        .await
        .unwrap();
    let processor = processor(&config, ledger.clone());
    let scheduled = json!({
        "version": "0", "id": "53dc4d37", "detail-type": "Scheduled Event",
        "source": "aws.events", "time": "2026-12-05T00:00:00Z", "resources": [], "detail": {}
    });
    // An invocation 3 s from its deadline is within the last 5 s: it starts nothing.
    let mut near = Context::default();
    near.deadline = epoch_ms(std::time::SystemTime::now() + std::time::Duration::from_secs(3));
    let reply = streamalert::lambda::handle(&processor, LambdaEvent::new(scheduled.clone(), near))
        .await
        .unwrap();
    assert_eq!(
        (
            &reply["retry"]["sent"],
            &reply["retry"]["left_for_the_next_pass"]
        ),
        (&json!(0), &json!(1)),
        "{reply}"
    );
    assert!(lines(&dir.join("a.jsonl")).is_empty());

    let invoke = || {
        streamalert::lambda::handle(
            &processor,
            LambdaEvent::new(scheduled.clone(), Context::default()),
        )
    };
    let reply = invoke().await.unwrap();
    assert_eq!(reply["retry"]["sent"], 1, "{reply}");
    assert_eq!(reply["retry"]["failed"], 0, "{reply}");
    let written = lines(&dir.join("a.jsonl"));
    assert_eq!(written.len(), 1);
    assert!(written[0].contains(&alert.alert_id));
    let entry = ledger.get(AlertKey::of(&alert)).await.unwrap().unwrap();
    assert_eq!(entry.status, streamalert::ledger::AlertStatus::Complete);

    let again = invoke().await.unwrap();
    assert_eq!(again["retry"]["sent"], 0, "{again}");
    assert_eq!(lines(&dir.join("a.jsonl")).len(), 1, "delivered once");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Milliseconds since the epoch, as the Runtime API gives an invocation's deadline.
fn epoch_ms(time: std::time::SystemTime) -> u64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .try_into()
        .unwrap()
}

/// How many requests the mock endpoint received (answered or not).
async fn received(server: &wiremock::MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

/// Lambda kills an invocation at its deadline while its delivery waits on an endpoint that
/// never answers. Its lease in the table, derived from the invocation's deadline, keeps
/// Lambda's retry of the event (answered with an error, not `{}`) and a scheduled pass off
/// the alert while it could still be running; once the lease ends, the scheduled pass
/// delivers the output, and no pass sends it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invocation_killed_mid_delivery_is_finished_once_by_the_scheduled_pass() {
    let test = "an_invocation_killed_mid_delivery_is_finished_once_by_the_scheduled_pass";
    let Some(setup) = setup(test).await else {
        return;
    };
    use wiremock::matchers::path;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    // The first request is never answered while the test runs; the next one is, once.
    Mock::given(path("/hook"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(3600)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let config = json!({"hook": {"a": format!("{}/hook", server.uri())}}).to_string();
    let alert = Alert::new("killed_rule", json!({"n": 1}), ["hook:a"]);
    let key = AlertKey::of(&alert);
    let event = Value::Object(alert.to_item());
    let invocation = |deadline: std::time::SystemTime| {
        let mut context = Context::default();
        context.deadline = epoch_ms(deadline);
        context
    };

    // The invocation Lambda kills: an execution environment of its own (its own ledger
    // owner), 10 s to its deadline, so its delivery may run for 5 s.
    let deadline = std::time::SystemTime::now() + std::time::Duration::from_secs(10);
    let dying = processor(&config, DynamoDbLedger::new(&setup.aws, &setup.table));
    let running = tokio::spawn({
        let event = LambdaEvent::new(event.clone(), invocation(deadline));
        async move { streamalert::lambda::handle(&dying, event).await }
    });
    while received(&server).await == 0 {
        assert!(
            !running.is_finished(),
            "the invocation ended before its request reached the endpoint: {:?}",
            running.await
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    running.abort();
    assert!(running.await.unwrap_err().is_cancelled());
    let item = raw_item(&setup, &key).await;
    let AttributeValue::M(deliveries) = &item["Deliveries"] else {
        panic!("{item:?}")
    };
    let AttributeValue::M(record) = &deliveries["hook:a"] else {
        panic!("{deliveries:?}")
    };
    let lease_until = epoch_ms(deadline + streamalert::processor::LEASE_MARGIN);
    assert_eq!(
        record["LeaseUntil"],
        AttributeValue::N(lease_until.to_string()),
        "the lease ends just after the invocation's deadline: {record:?}"
    );

    // Lambda retries the event in a new environment: not answered as done.
    let fresh = processor(&config, DynamoDbLedger::new(&setup.aws, &setup.table));
    let later = || std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    let retried =
        streamalert::lambda::handle(&fresh, LambdaEvent::new(event.clone(), invocation(later())))
            .await;
    let error = retried.unwrap_err().to_string();
    assert!(
        error.contains("another processor holds its outputs"),
        "{error}"
    );
    // A scheduled pass while the lease runs leaves the alert alone.
    let scheduled = json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    let pass = || {
        streamalert::lambda::handle(
            &fresh,
            LambdaEvent::new(scheduled.clone(), invocation(later())),
        )
    };
    let early = pass().await.unwrap();
    assert_eq!(
        (
            &early["retry"]["sent"],
            &early["retry"]["left_to_another_processor"]
        ),
        (&json!(0), &json!(1)),
        "{early}"
    );
    assert_eq!(
        received(&server).await,
        1,
        "nothing sent while the lease runs"
    );

    // Once the lease has ended, the scheduled pass delivers the output; the next sends nothing.
    let wait = std::time::UNIX_EPOCH + std::time::Duration::from_millis(lease_until + 100);
    if let Ok(left) = wait.duration_since(std::time::SystemTime::now()) {
        tokio::time::sleep(left).await;
    }
    let due = pass().await.unwrap();
    assert_eq!(due["retry"]["sent"], 1, "{due}");
    let again = pass().await.unwrap();
    assert_eq!(again["retry"]["sent"], 0, "{again}");
    assert_eq!(
        received(&server).await,
        2,
        "the killed invocation's request and the pass's, no other"
    );
    server.verify().await;
    let entry = fresh.ledger().unwrap().get(key).await.unwrap().unwrap();
    assert_eq!(entry.status, streamalert::ledger::AlertStatus::Complete);
}

// ------------------------------------------------------------------------------------------
// The same calls on the SQLite ledger and the DynamoDB ledger give the same answers.

/// What a ledger shows of one alert, without times (which differ between two runs).
fn view(entry: &streamalert::ledger::LedgerEntry) -> Value {
    let deliveries: Vec<Value> = entry
        .deliveries
        .iter()
        .map(|d| {
            json!([
                d.output,
                d.state.as_str(),
                d.attempts,
                d.last_error,
                d.intent.map(|f| f.to_string())
            ])
        })
        .collect();
    json!({
        "id": entry.alert.alert_id,
        "status": format!("{:?}", entry.status),
        "attempts": entry.alert.attempts,
        "sent": entry.alert.outputs_sent,
        "deliveries": deliveries,
    })
}

/// One call of a [`Ledger`] method, by alert index into the scenario's alerts.
enum Step {
    Record(usize, &'static [&'static str], &'static [&'static str]),
    Begin(usize, &'static [&'static str]),
    Outcome(usize, &'static str, Option<&'static str>),
    Merge(&'static [usize], usize),
    /// A delivery given up, with its reason.
    Dead(usize, &'static str, &'static str),
    /// `replay` of these alerts (only this output's deliveries, when given).
    Replay(&'static [usize], Option<&'static str>),
    /// `prune` with a cutoff in the past (`false`: nothing is that old) or in the future.
    Prune(bool),
    /// `find` of an alert's id.
    Find(usize),
}

/// Runs `steps` on `ledger` and returns, after each, the result of the call, every alert
/// (`get`), the open alerts and the counts.
async fn run_steps(ledger: &dyn Ledger, alerts: &[Alert], steps: &[Step]) -> Vec<Value> {
    let fingerprint = Fingerprint::of(b"publication");
    let intents = |outputs: &[&str]| -> BTreeMap<String, Fingerprint> {
        outputs
            .iter()
            .map(|o| ((*o).to_owned(), fingerprint))
            .collect()
    };
    let mut views = Vec::new();
    for step in steps {
        let result = match step {
            Step::Record(i, sent, claimed) => {
                let mut alert = alerts[*i].clone();
                alert.outputs_sent = sent.iter().map(|o| (*o).to_owned()).collect();
                alert.attempts += 1;
                ledger
                    .record_alerts(vec![NewAlert {
                        alert: alert.into(),
                        intents: intents(claimed),
                    }])
                    .await
                    .map(|()| "ok".to_owned())
            }
            Step::Begin(i, claimed) => ledger
                .begin_attempt(
                    AlertKey::of(&alerts[*i]),
                    Timestamp::now(),
                    intents(claimed),
                )
                .await
                .map(|claim| format!("{claim:?}")),
            Step::Outcome(i, output, error) => {
                let outcome = error.map_or(Outcome::Sent, |e| Outcome::Failed(e.to_owned()));
                ledger
                    .record_outcome(AlertKey::of(&alerts[*i]), (*output).to_owned(), outcome)
                    .await
                    .map(|()| "ok".to_owned())
            }
            Step::Dead(i, output, reason) => ledger
                .record_outcome(
                    AlertKey::of(&alerts[*i]),
                    (*output).to_owned(),
                    Outcome::Dead((*reason).to_owned()),
                )
                .await
                .map(|()| "ok".to_owned()),
            Step::Replay(indices, output) => ledger
                .replay(
                    indices.iter().map(|i| AlertKey::of(&alerts[*i])).collect(),
                    output.map(str::to_owned),
                )
                .await
                .map(|n| format!("replayed {n}")),
            Step::Prune(future) => {
                let cutoff = if *future {
                    Timestamp::now().plus_minutes(60)
                } else {
                    Timestamp::EPOCH
                };
                ledger.prune(cutoff).await.map(|n| format!("pruned {n}"))
            }
            Step::Find(i) => ledger
                .find(alerts[*i].alert_id.clone())
                .await
                .map(|key| format!("{key:?}")),
            Step::Merge(originals, merged) => ledger
                .record_merge(
                    originals
                        .iter()
                        .map(|i| AlertKey::of(&alerts[*i]))
                        .collect(),
                    NewAlert {
                        alert: alerts[*merged].clone().into(),
                        intents: BTreeMap::new(),
                    },
                )
                .await
                .map(|()| "ok".to_owned()),
        };
        let mut got = Vec::new();
        for alert in alerts {
            let entry = ledger.get(AlertKey::of(alert)).await.unwrap();
            got.push(entry.as_ref().map_or(Value::Null, view));
        }
        let open: Vec<String> = ledger
            .open_alerts()
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.alert.alert_id)
            .collect();
        let status = ledger.status().await.unwrap();
        let dead: Vec<String> = ledger
            .list(DeliveryFilter {
                state: Some(DeliveryState::Dead),
                output: None,
            })
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.alert.alert_id)
            .collect();
        // Per state, the deliveries `activity` counts (the hours differ between the runs).
        let mut activity: BTreeMap<String, u64> = BTreeMap::new();
        for hour in ledger.activity(Timestamp::EPOCH).await.unwrap() {
            *activity.entry(hour.state.to_string()).or_default() += hour.count;
        }
        views.push(json!({
            "activity": activity,
            "result": result.map_err(|e| format!("{e:?}").split([' ', '(']).next().unwrap().to_owned()),
            "alerts": got,
            "open": open,
            "counts": format!("{:?}", ledger.counts().await.unwrap()),
            "status": format!("{:?} {:?}", status.counts, status.by_output),
            "oldest_unsent": status.oldest_unsent.map(|t| t.to_string()),
            "dead": dead,
        }));
    }
    views
}

#[tokio::test]
async fn the_dynamodb_ledger_answers_as_the_sqlite_ledger_does() {
    let Some(setup) = setup("the_dynamodb_ledger_answers_as_the_sqlite_ledger_does").await else {
        return;
    };
    let dir = temp_dir("ledger-compare");
    let settings = streamalert::config::LedgerSettings {
        path: dir.join("ledger.sqlite3"),
        ..Default::default()
    };
    let sqlite = streamalert::ledger::SqliteLedger::open(&settings).unwrap();
    let dynamodb = DynamoDbLedger::new(&setup.aws, &setup.table);

    // Created one after the other, so both ledgers list them in the same order.
    let mut alerts = Vec::new();
    for (rule, outputs) in [
        ("r1", &["file:a", "slack:b", "stdout:c"][..]),
        ("r2", &["file:a", "slack:b"][..]),
        ("r3", &["file:a"][..]),
        ("r4", &["slack:b", "stdout:c"][..]),
    ] {
        alerts.push(Alert::new(
            rule,
            json!({"rule": rule}),
            outputs.iter().copied(),
        ));
        while Timestamp::now() <= alerts.last().unwrap().created {
            tokio::task::yield_now().await;
        }
    }
    let unknown = Alert::new("r0", json!({}), ["file:a"]);
    alerts.push(unknown);
    alerts.push(Alert::new("r5", json!({}), ["file:a"]));
    // Never recorded.
    alerts.push(Alert::new("r6", json!({}), ["file:a"]));

    use Step::*;
    let steps = [
        Record(0, &[], &["file:a", "slack:b"]),
        Record(1, &["file:a"], &[]),
        Record(2, &[], &[]),
        // The same alerts again: with outputs sent, with and without intents.
        Record(0, &[], &[]),
        Record(0, &["stdout:c"], &["file:a"]),
        Record(1, &["file:a"], &["slack:b"]),
        Begin(0, &["file:a", "slack:b"]),
        Outcome(0, "file:a", None),
        Outcome(0, "file:a", None),
        Outcome(0, "slack:b", Some("closed")),
        Outcome(0, "slack:b", Some("closed again")),
        Outcome(0, "file:a", Some("late failure")),
        Begin(0, &["file:a"]),
        Begin(0, &["slack:b"]),
        Outcome(0, "slack:b", None),
        Outcome(1, "slack:b", None),
        // Unknown alerts and outputs.
        Outcome(4, "file:a", None),
        Outcome(4, "file:a", Some("x")),
        Outcome(2, "slack:b", Some("x")),
        Outcome(2, "slack:b", None),
        Begin(2, &["slack:b"]),
        Begin(4, &[]),
        // Merges.
        Merge(&[2], 3),
        Outcome(3, "slack:b", None),
        Outcome(3, "stdout:c", None),
        Record(2, &["file:a"], &[]),
        // A merge naming an unknown original records nothing; one naming an original twice
        // marks it once.
        Merge(&[1, 4], 5),
        Merge(&[1, 1], 5),
        // Dead letters, replay, find and prune.
        Record(4, &[], &[]),
        Dead(4, "file:a", "HTTP 400"),
        Dead(0, "file:a", "already sent: no change"),
        Outcome(4, "file:a", Some("after death")),
        Replay(&[4], Some("slack:b")),
        Replay(&[4, 0], None),
        Dead(4, "file:a", "HTTP 404"),
        Replay(&[4, 6], None),
        Find(4),
        Find(6),
        Prune(false),
        Prune(true),
    ];
    let expected = run_steps(&sqlite, &alerts, &steps).await;
    let got = run_steps(&dynamodb, &alerts, &steps).await;
    for (i, (want, got)) in expected.iter().zip(&got).enumerate() {
        assert_eq!(
            got,
            want,
            "after step {i}: {}",
            serde_json::to_string_pretty(got).unwrap()
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn input_checkpoints_follow_their_alerts_and_stay_out_of_the_alerts() {
    let Some(setup) =
        setup("input_checkpoints_follow_their_alerts_and_stay_out_of_the_alerts").await
    else {
        return;
    };
    let ledger = DynamoDbLedger::new(&setup.aws, &setup.table);
    let checkpoint = |offset: u64| InputCheckpoint {
        input: "/data/records.jsonl".into(),
        file_id: "2049:131".into(),
        size: 5000,
        head_len: 1024,
        head_hash: Fingerprint::of(b"head"),
        offset,
        line: offset / 100,
    };
    assert_eq!(
        ledger
            .input_checkpoint("/data/records.jsonl".into())
            .await
            .unwrap(),
        None
    );
    let alert = Alert::new("r", json!({"n": 1}), ["file:a"]);
    ledger
        .record_alerts_at(
            vec![NewAlert {
                alert: alert.clone().into(),
                intents: BTreeMap::new(),
            }],
            checkpoint(1200),
        )
        .await
        .unwrap();
    assert!(ledger.get(AlertKey::of(&alert)).await.unwrap().is_some());
    ledger
        .record_alerts_at(Vec::new(), checkpoint(3400))
        .await
        .unwrap();
    assert_eq!(
        ledger
            .input_checkpoint("/data/records.jsonl".into())
            .await
            .unwrap(),
        Some(checkpoint(3400))
    );
    // The checkpoint item is not an alert: the open alerts and the counts ignore it.
    let open = ledger.open_alerts().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].alert.alert_id, alert.alert_id);
    let counts = ledger.counts().await.unwrap();
    assert_eq!((counts.open_alerts, counts.pending), (1, 1));

    // The checkpoint is written only once every alert is: an alert that cannot be recorded
    // (another processor holds its output) leaves the previous checkpoint.
    let claimed = Alert::new("r", json!({"n": 2}), ["file:a"]);
    let intents = BTreeMap::from([("file:a".to_owned(), Fingerprint::of(b"p"))]);
    let new = NewAlert {
        alert: claimed.into(),
        intents,
    };
    ledger.record_alerts(vec![new.clone()]).await.unwrap();
    let other = DynamoDbLedger::new(&setup.aws, &setup.table);
    let error = other
        .record_alerts_at(vec![new], checkpoint(9000))
        .await
        .unwrap_err();
    assert!(matches!(error, LedgerError::Contended { .. }), "{error}");
    assert_eq!(
        other
            .input_checkpoint("/data/records.jsonl".into())
            .await
            .unwrap(),
        Some(checkpoint(3400))
    );
}

/// An item the ledger cannot read back (a torn `Record`) is quarantined with the reason; one
/// that StreamAlert's Python wrote with `NaN` and `Infinity` and `Attempts` past u32::MAX reads;
/// the open alerts, counts and `get` say so, and `replay` gives the quarantined one another
/// chance (quarantined again while still unreadable).
#[tokio::test]
async fn an_unreadable_item_is_quarantined_and_the_others_go_on() {
    let Some(setup) = setup("an_unreadable_item_is_quarantined_and_the_others_go_on").await else {
        return;
    };
    let ledger = DynamoDbLedger::new(&setup.aws, &setup.table);
    let python = Alert::new("python_rule", json!({}), ["file:a"]);
    let torn = Alert::new("torn_rule", json!({}), ["file:a"]);
    for (alert, record, attempts) in [
        (&python, "{\"x\":NaN,\"y\":Infinity}", "4294967296"),
        (&torn, "{\"x\":", "1"),
    ] {
        ledger
            .record_alerts(vec![NewAlert {
                alert: alert.clone().into(),
                intents: BTreeMap::new(),
            }])
            .await
            .unwrap();
        setup
            .aws
            .dynamodb()
            .update_item()
            .table_name(&setup.table)
            .key("RuleName", AttributeValue::S(alert.rule_name.clone()))
            .key("AlertID", AttributeValue::S(alert.alert_id.clone()))
            .update_expression("SET #r = :r, Attempts = :a")
            .expression_attribute_names("#r", "Record")
            .expression_attribute_values(":r", AttributeValue::S(record.to_owned()))
            .expression_attribute_values(":a", AttributeValue::N(attempts.to_owned()))
            .send()
            .await
            .unwrap();
    }
    let open = ledger.open_alerts().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].alert.alert_id, python.alert_id);
    assert_eq!(open[0].alert.attempts, u32::MAX);
    assert_eq!(
        streamalert::json::PythonJson::DEFAULT.dump(&open[0].alert.record),
        r#"{"x": NaN, "y": Infinity}"#
    );
    let quarantined = ledger.quarantined().await.unwrap();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].key, AlertKey::of(&torn));
    assert!(
        quarantined[0].reason.contains("`Record` is not valid JSON"),
        "{}",
        quarantined[0].reason
    );
    assert!(
        raw_item(&setup, &AlertKey::of(&torn))
            .await
            .contains_key("Quarantined")
    );
    let counts = ledger.counts().await.unwrap();
    assert_eq!((counts.quarantined_alerts, counts.open_alerts), (1, 1));
    let error = ledger.get(AlertKey::of(&torn)).await.unwrap_err();
    assert!(error.to_string().contains("is quarantined"), "{error}");
    assert_eq!(
        ledger.find(torn.alert_id.clone()).await.unwrap(),
        Some(AlertKey::of(&torn))
    );

    assert_eq!(
        ledger
            .replay(vec![AlertKey::of(&torn)], None)
            .await
            .unwrap(),
        1
    );
    assert!(
        !raw_item(&setup, &AlertKey::of(&torn))
            .await
            .contains_key("Quarantined")
    );
    assert_eq!(ledger.open_alerts().await.unwrap().len(), 1);
    assert_eq!(ledger.quarantined().await.unwrap().len(), 1);
}

#[test]
fn cli_child() {
    if !processor_support::child_main() {
        // In the test process: the registrations this file relies on exist.
        assert!(streamalert::registry().output("batch-probe").is_some());
    }
}

/// Records an alert of `table_rule` whose `file:a` was sent and whose `slack:b` is dead
/// (`HTTP 400`); returns it with its key.
async fn sent_and_dead(ledger: &DynamoDbLedger) -> (Alert, AlertKey) {
    let alert = Alert::new("table_rule", json!({"n": 1}), ["file:a", "slack:b"]);
    let key = AlertKey::of(&alert);
    let new = NewAlert {
        alert: alert.clone().into(),
        intents: BTreeMap::new(),
    };
    ledger.record_alerts(vec![new]).await.unwrap();
    let outcomes = [
        ("file:a", Outcome::Sent),
        ("slack:b", Outcome::Dead("HTTP 400".into())),
    ];
    for (output, outcome) in outcomes {
        ledger
            .record_outcome(key.clone(), output.into(), outcome)
            .await
            .unwrap();
    }
    (alert, key)
}

/// The environment that points a child processor's AWS SDK at moto's `endpoint`.
fn moto_env(endpoint: &str) -> [(&'static str, &str); 4] {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
    ]
}

/// `ledger --alerts-table` runs the command on a DynamoDB alerts table (this test binary as
/// the processor, the AWS SDK pointed at moto by the environment).
#[tokio::test]
async fn the_ledger_command_works_on_a_dynamodb_alerts_table() {
    let Some(setup) = setup("the_ledger_command_works_on_a_dynamodb_alerts_table").await else {
        return;
    };
    let ledger = DynamoDbLedger::new(&setup.aws, &setup.table);
    let (alert, key) = sent_and_dead(&ledger).await;
    let endpoint = moto_endpoint("the_ledger_command_works_on_a_dynamodb_alerts_table").unwrap();
    let env = moto_env(&endpoint);
    let dir = temp_dir("ledger-command-table");
    let run = |args: &[&str]| {
        let mut all = vec!["ledger", "--alerts-table", setup.table.as_str()];
        all.extend(args);
        let out = processor_support::run_cli_with_env(&dir, &all, &env);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["status"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("deliveries: pending 0, failed 0, dead 1, sent 1"),
        "{out}"
    );
    let (code, out, err) = run(&["show", &alert.alert_id]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("  slack:b: dead, attempts 1"), "{out}");
    assert!(out.contains("last error: HTTP 400"), "{out}");
    let (code, _, err) = run(&["show", "no-such-alert"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains(&format!(
            "alert no-such-alert is not in the ledger (table {})",
            setup.table
        )),
        "{err}"
    );
    let (code, out, err) = run(&["replay", "--dead"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("replayed 1 deliveries"), "{out}");
    let entry = ledger.get(key).await.unwrap().unwrap();
    assert_eq!(
        entry.delivery("slack:b").unwrap().state,
        DeliveryState::Pending
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// `console --alerts-table` serves a DynamoDB alerts table: the overview's counts and an
/// alert's page (this test binary as the processor, the AWS SDK pointed at moto).
#[tokio::test]
async fn the_console_serves_a_dynamodb_alerts_table() {
    use std::io::{BufRead as _, Read as _, Write as _};
    let Some(setup) = setup("the_console_serves_a_dynamodb_alerts_table").await else {
        return;
    };
    let ledger = DynamoDbLedger::new(&setup.aws, &setup.table);
    let (alert, _) = sent_and_dead(&ledger).await;
    let endpoint = moto_endpoint("the_console_serves_a_dynamodb_alerts_table").unwrap();
    let dir = temp_dir("console-table");
    let args = [
        "processor",
        "console",
        "--listen",
        "127.0.0.1:0",
        "--alerts-table",
        setup.table.as_str(),
    ];
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            processor_support::CHILD_TEST,
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(
            "STREAMALERT_TEST_CHILD_ARGS",
            serde_json::to_string(&args).unwrap(),
        )
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .envs(moto_env(&endpoint))
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut lines = stderr.lines().map_while(Result::ok);
    let started = lines
        .by_ref()
        .find(|line| line.contains("console: http://"))
        .expect("the console starts");
    // Keep reading its log, so that its writes never meet a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let at = started.find("http://").unwrap() + "http://".len();
    let address = started[at..].split('/').next().unwrap().to_owned();
    let get = |path: &str| {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    let overview = get("/");
    assert!(overview.starts_with("HTTP/1.1 200"), "{overview}");
    assert!(
        overview.contains("data-total=\"dead\"><b>1</b>"),
        "{overview}"
    );
    assert!(
        overview.contains("data-total=\"sent\"><b>1</b>"),
        "{overview}"
    );
    // The chart counts both (in one hour's bar, or two across an hour's end).
    assert!(overview.contains(": sent 1, "), "{overview}");
    assert!(overview.contains(", dead 1</title>"), "{overview}");
    let page = get(&format!("/alerts/{}", alert.alert_id));
    assert!(page.contains("data-row=\"slack:b dead\""), "{page}");
    assert!(page.contains("HTTP 400"), "{page}");
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

/// A complete alert becomes a tombstone: no `Record` or `Context`, `Completed` and the TTL
/// attribute `ExpiresAt` (completion plus the retention) set, the table's TTL enabled on it; it
/// is still recognised (an event delivered again sends nothing) and retry passes skip it.
#[tokio::test]
async fn a_complete_alert_becomes_a_tombstone_that_dynamodb_expires() {
    let Some(setup) = setup("a_complete_alert_becomes_a_tombstone_that_dynamodb_expires").await
    else {
        return;
    };
    let ttl = setup
        .aws
        .dynamodb()
        .describe_time_to_live()
        .table_name(&setup.table)
        .send()
        .await
        .unwrap();
    let spec = ttl.time_to_live_description().unwrap();
    assert_eq!(spec.attribute_name(), Some("ExpiresAt"));
    assert_eq!(
        spec.time_to_live_status(),
        Some(&dynamodb::types::TimeToLiveStatus::Enabled)
    );

    let dir = temp_dir("tombstone");
    let ledger = DynamoDbLedger::new(&setup.aws, &setup.table)
        .with_retention(std::time::Duration::from_secs(3600));
    std::fs::write(dir.join("blocker"), "a file").unwrap();
    let config =
        json!({"file": {"a": dir.join("a.jsonl"), "blocked": dir.join("blocker/b.jsonl")}})
            .to_string();
    let processor = processor(&config, ledger.clone());
    let mut alert = Alert::new("tomb_rule", json!({"user": "root"}), ["file:a"]);
    alert.context.insert("k".into(), json!("v"));
    let key = AlertKey::of(&alert);
    let before = Timestamp::now().unix_seconds();
    let report = processor.process(vec![alert.clone()]).await.unwrap();
    assert_eq!(report.sent, 1);

    let item = raw_item(&setup, &key).await;
    assert!(
        !item.contains_key("Record") && !item.contains_key("Context"),
        "{item:?}"
    );
    assert!(matches!(item.get("Completed"), Some(AttributeValue::S(_))));
    let expires: i64 = match item.get("ExpiresAt") {
        Some(AttributeValue::N(n)) => n.parse().unwrap(),
        other => panic!("ExpiresAt: {other:?}"),
    };
    assert!(
        (before + 3600..=Timestamp::now().unix_seconds() + 3600).contains(&expires),
        "{expires}"
    );
    assert_eq!(string_set(item.get("OutputsSent")), ["file:a"]);

    let entry = ledger.get(key.clone()).await.unwrap().unwrap();
    assert_eq!(entry.status, streamalert::ledger::AlertStatus::Complete);
    assert_eq!(*entry.alert.record, Value::Null);
    assert!(ledger.open_alerts().await.unwrap().is_empty());
    let outcome = processor
        .dispatch_event(&Value::Object(alert.to_item()))
        .await;
    assert!(outcome.results().is_empty(), "{outcome:?}");
    assert_eq!(lines(&dir.join("a.jsonl")).len(), 1, "delivered once");

    // The same alert with an output it has not been sent to (failing here): an alert again,
    // record restored, retried by the next pass.
    alert.outputs.insert("file:blocked".into());
    let outcome = processor
        .dispatch_event(&Value::Object(alert.to_item()))
        .await;
    assert_eq!(
        outcome.results(),
        [("file:blocked".to_owned(), false)].into()
    );
    let item = raw_item(&setup, &key).await;
    assert!(
        item.contains_key("Record") && !item.contains_key("Completed"),
        "{item:?}"
    );
    let open = ledger.open_alerts().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].alert.record, alert.record);
    std::fs::remove_dir_all(dir).unwrap();
}

/// `open_alerts_page` on DynamoDB: pages of at most `limit` scanned items, each open alert in
/// exactly one page, tombstones and dead-only alerts in none.
#[tokio::test]
async fn open_alerts_come_in_pages_on_dynamodb() {
    let Some(setup) = setup("open_alerts_come_in_pages_on_dynamodb").await else {
        return;
    };
    let ledger = DynamoDbLedger::new(&setup.aws, &setup.table);
    let alerts: Vec<Alert> = (0..7)
        .map(|i| Alert::new("paged", json!({"i": i}), ["file:a"]))
        .collect();
    ledger
        .record_alerts(
            alerts
                .iter()
                .map(|alert| NewAlert {
                    alert: alert.clone().into(),
                    intents: BTreeMap::new(),
                })
                .collect(),
        )
        .await
        .unwrap();
    let outcome = |i: usize, outcome: Outcome| {
        ledger.record_outcome(AlertKey::of(&alerts[i]), "file:a".into(), outcome)
    };
    outcome(1, Outcome::Sent).await.unwrap();
    outcome(4, Outcome::Dead("no".into())).await.unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = ledger.open_alerts_page(after.take(), 2).await.unwrap();
        assert!(page.entries.len() <= 2);
        seen.extend(page.entries.into_iter().map(|e| e.alert.alert_id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    seen.sort();
    let mut expected: Vec<String> = [0, 2, 3, 5, 6]
        .iter()
        .map(|&i| alerts[i].alert_id.clone())
        .collect();
    expected.sort();
    assert_eq!(seen, expected);
}
