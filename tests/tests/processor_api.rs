//! The processor as a library: an alert and its intents are in the ledger before any output
//! is called; delivering without a ledger (`deliver`, `deliver_output`); the credentials and
//! probes it is given are the ones it uses; its accessors and `Debug`; StreamAlert's ERROR
//! lines for an output that is not configured and for credentials that no store has; a run's
//! report while it records; a delivery task that panics; StreamAlert's required output.
//! (Mutants of each of these survived the other processor tests.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use streamalert::config::{LedgerSettings, OutputsConfig, ProcessorSettings};
use streamalert::ledger::{AlertKey, DeliveryState, Fingerprint, Ledger, NewAlert, SqliteLedger};
use streamalert::output::{CredentialError, CredentialProvider, Credentials, ErrorKind};
use streamalert::prelude::*;
use streamalert::processor::{
    DeliveryProbe, ProbeTarget, Processor, UNPROBED_INTENT, publication_fingerprint,
    required_outputs,
};
use streamalert::publisher::Chain;
use streamalert_tests::capture_logs_async;

streamalert::services!(Witness, Vault, Mirror);

/// The ledger [`Witness`] reads during its dispatch.
static LEDGER: OnceLock<Arc<SqliteLedger>> = OnceLock::new();
/// What [`Witness`] found in the ledger about its own delivery: state and intent.
static WITNESSED: Mutex<Vec<(DeliveryState, Option<Fingerprint>)>> = Mutex::new(Vec::new());

/// Looks itself up in [`LEDGER`] while it is being delivered.
#[derive(Default)]
#[output(service = "witness")]
pub struct Witness;

#[streamalert::async_trait]
impl Output for Witness {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![OutputProperty::descriptor("a name")]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let ledger = LEDGER.get().expect("the test set the ledger");
        let entry = ledger
            .get(AlertKey::of(delivery.alert))
            .await
            .unwrap()
            .expect("the alert is recorded before its outputs are called");
        let record = entry
            .delivery(&format!("witness:{}", delivery.descriptor))
            .expect("its delivery is recorded");
        WITNESSED
            .lock()
            .unwrap()
            .push((record.state, record.intent));
        Ok(())
    }
}

/// Needs the secret `token`, and fails with the one it got unless it is `open sesame`.
#[derive(Default)]
#[output(service = "vault")]
pub struct Vault;

#[streamalert::async_trait]
impl Output for Vault {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor("a name"),
            OutputProperty::new("token", "the token").masked().secret(),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        match delivery.credentials.require("token")? {
            "open sesame" => Ok(()),
            _ => Err(DispatchError::new(ErrorKind::Rejected, "wrong token")),
        }
    }
}

/// The ledger [`Mirror`] reads during its dispatch.
static MIRROR_LEDGER: Mutex<Option<Arc<SqliteLedger>>> = Mutex::new(None);
/// What [`Mirror`] saw in one call.
#[derive(Debug, Clone, PartialEq)]
struct Mirrored {
    /// The record of the alert it was given, and that record's address.
    record: serde_json::Value,
    record_at: usize,
    /// The publication's record.
    published: serde_json::Value,
    /// The record [`MIRROR_LEDGER`] holds for the alert.
    recorded: serde_json::Value,
}

/// Every call of [`Mirror`].
static MIRRORED: Mutex<Vec<Mirrored>> = Mutex::new(Vec::new());

/// Keeps the records its deliveries are given, and the one recorded, in [`MIRRORED`].
#[derive(Default)]
#[output(service = "mirror")]
pub struct Mirror;

#[streamalert::async_trait]
impl Output for Mirror {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![OutputProperty::descriptor("a name")]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let ledger = MIRROR_LEDGER
            .lock()
            .unwrap()
            .clone()
            .expect("the test set it");
        let entry = ledger.get(AlertKey::of(delivery.alert)).await.unwrap();
        let recorded = entry.expect("the alert is recorded before its outputs are called");
        let published = delivery.publication.get("record").cloned();
        MIRRORED.lock().unwrap().push(Mirrored {
            record: (*delivery.alert.record).clone(),
            record_at: Arc::as_ptr(&delivery.alert.record) as usize,
            published: published.unwrap_or_default(),
            recorded: (*recorded.alert.record).clone(),
        });
        Ok(())
    }
}

/// Gives `vault:v` its token.
struct Keys;

#[streamalert::async_trait]
impl CredentialProvider for Keys {
    async fn credentials(
        &self,
        service: &str,
        descriptor: &str,
    ) -> Result<Option<Credentials>, CredentialError> {
        Ok((service, descriptor)
            .eq(&("vault", "v"))
            .then(|| Credentials::from_iter([("token", "open sesame")])))
    }
}

/// Finds every publication it is asked about.
struct FindsEverything;

#[streamalert::async_trait]
impl DeliveryProbe for FindsEverything {
    async fn delivered(
        &self,
        _: ProbeTarget<'_>,
        fingerprints: &BTreeSet<Fingerprint>,
    ) -> Result<BTreeSet<Fingerprint>, String> {
        Ok(fingerprints.clone())
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("processor-api")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sqlite(dir: &std::path::Path) -> Arc<SqliteLedger> {
    let settings = LedgerSettings {
        path: dir.join("ledger.sqlite3"),
        ..Default::default()
    };
    Arc::new(SqliteLedger::open(&settings).unwrap())
}

fn config(outputs: serde_json::Value) -> OutputsConfig {
    OutputsConfig::from_json(&outputs.to_string()).unwrap()
}

/// The fingerprint the processor records for `alert`'s publication to `service:descriptor`.
fn fingerprint(alert: &Alert, service: &str, descriptor: &str) -> Fingerprint {
    let publication = Chain::for_output(&alert.publishers, service, descriptor)
        .publish(alert)
        .unwrap();
    publication_fingerprint(&publication)
}

#[tokio::test]
async fn an_alert_and_its_intent_are_recorded_before_its_output_is_called() {
    let dir = scratch("witness");
    let ledger = sqlite(&dir);
    assert!(LEDGER.set(ledger.clone()).is_ok(), "set once");
    let processor = Processor::new(config(json!({"witness": ["w"]}))).with_ledger(ledger.clone());
    let alert = Alert::new("rule_w", json!({"n": 1}), ["witness:w"]);
    let report = processor.process(vec![alert.clone()]).await.unwrap();
    assert_eq!((report.sent, report.failed), (1, 0), "{report:?}");
    assert_eq!(
        *WITNESSED.lock().unwrap(),
        [(DeliveryState::Pending, Some(UNPROBED_INTENT))],
        "during the call: pending, with an intent (an output without a probe: the constant one)"
    );
    assert_ne!(UNPROBED_INTENT, fingerprint(&alert, "witness", "w"));
    let entry = ledger.get(AlertKey::of(&alert)).await.unwrap().unwrap();
    let record = entry.delivery("witness:w").unwrap();
    assert_eq!((record.state, record.intent), (DeliveryState::Sent, None));
}

#[tokio::test]
async fn deliver_and_deliver_output_send_without_a_ledger() {
    let dir = scratch("deliver");
    let file = dir.join("a.jsonl");
    let processor = Processor::new(config(json!({"file": {"a": file}, "vault": ["v"]})));
    let alert = Alert::new(
        "rule_d",
        json!({"n": 1}),
        ["file:a", "vault:v", "file:missing"],
    );
    let report = processor.deliver(&alert).await;
    let outcomes: BTreeMap<&str, Option<ErrorKind>> = report
        .iter()
        .map(|(output, result)| (output.as_str(), result.as_ref().err().map(|e| e.kind())))
        .collect();
    assert_eq!(
        outcomes,
        BTreeMap::from([
            ("file:a", None),
            ("file:missing", Some(ErrorKind::Config)),
            ("vault:v", Some(ErrorKind::Credentials)),
        ])
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 1);

    let error = processor
        .deliver_output(&alert, "vault:v")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Credentials, "{error}");
    processor.deliver_output(&alert, "file:a").await.unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 2);
}

#[tokio::test]
async fn the_credentials_given_are_the_ones_outputs_get() {
    let processor =
        Processor::new(config(json!({"vault": ["v"]}))).with_credentials(Arc::new(Keys));
    let alert = Alert::new("rule_v", json!({"n": 1}), ["vault:v"]);
    processor.deliver_output(&alert, "vault:v").await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_output_that_is_not_http_is_paced_by_its_rate_limit_too() {
    let settings = ProcessorSettings::from_json(
        r#"{"dispatch_timeout_secs": 3, "rate_limits": {"vault:v": {"per_second": 0.5, "burst": 2}}}"#,
    )
    .unwrap();
    let processor = Processor::new(config(json!({"vault": ["v"]})))
        .with_settings(settings)
        .with_credentials(Arc::new(Keys));
    let alert = Alert::new("rule_v", json!({"n": 1}), ["vault:v"]);
    let started = tokio::time::Instant::now();
    let mut at = Vec::new();
    for _ in 0..4 {
        processor.deliver_output(&alert, "vault:v").await.unwrap();
        at.push(started.elapsed().as_secs());
    }
    // Two at once, then one every 2 s.
    assert_eq!(at, [0, 0, 2, 4]);
    // Two more at once, each with 3 s: the first gets the token of 6 s; the second's would come
    // at 8 s, after its deadline (7 s): refused at once, retryable.
    let (first, second) = tokio::join!(
        processor.deliver_output(&alert, "vault:v"),
        processor.deliver_output(&alert, "vault:v")
    );
    first.unwrap();
    let error = second.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Paced);
    assert!(error.is_retryable() && !error.is_permanent(), "{error}");
    assert_eq!(
        error.message(),
        "vault:v: paced: the next send to this destination is in 4000 ms, after this delivery's deadline; it stays pending"
    );
    assert_eq!(started.elapsed().as_secs(), 6);
}

#[tokio::test]
async fn a_probe_given_for_a_service_is_asked_about_its_interrupted_deliveries() {
    let dir = scratch("probe");
    let ledger = sqlite(&dir);
    let alert = Alert::new("rule_p", json!({"n": 1}), ["vault:v"]);
    ledger
        .record_alerts(vec![NewAlert {
            alert: alert.clone().into(),
            intents: BTreeMap::from([("vault:v".to_owned(), fingerprint(&alert, "vault", "v"))]),
        }])
        .await
        .unwrap();
    // No credentials: sending it would fail. The probe finds it delivered, so it is not sent.
    let processor = Processor::new(config(json!({"vault": ["v"]})))
        .with_ledger(ledger.clone())
        .with_probe("vault", Arc::new(FindsEverything));
    let report = processor.retry().await.unwrap();
    assert_eq!(
        (report.reconciled, report.sent, report.failed),
        (1, 0, 0),
        "{report:?}"
    );
    assert!(ledger.open_alerts().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_normalization_is_recorded_and_never_published_whether_planned_before_or_after_recording()
 {
    let record = json!({"n": 1, "streamalert_normalization": {"ip": ["10.0.0.1"]}, "z": 2});
    let without = json!({"n": 1, "z": 2});
    // Without a probe the deliveries are planned once the alert is recorded, and the alert,
    // then the run's alone, is edited in place; with one, before (the fingerprint is recorded
    // with it), from a copy.
    for (name, probed) in [("unprobed", false), ("probed", true)] {
        let dir = scratch(&format!("normalization-{name}"));
        let ledger = sqlite(&dir);
        let mut processor =
            Processor::new(config(json!({"mirror": ["m"]}))).with_ledger(ledger.clone());
        if probed {
            processor = processor.with_probe("mirror", Arc::new(FindsEverything));
        }
        let alerts: Vec<Alert> = (0..2)
            .map(|_| Alert::new("rule_m", record.clone(), ["mirror:m"]))
            .collect();
        let mut given: Vec<usize> = alerts
            .iter()
            .map(|alert| Arc::as_ptr(&alert.record) as usize)
            .collect();
        MIRRORED.lock().unwrap().clear();
        *MIRROR_LEDGER.lock().unwrap() = Some(ledger);
        let report = processor.process(alerts).await.unwrap();
        assert_eq!((report.sent, report.failed), (2, 0), "{name}: {report:?}");
        let mut mirrored = MIRRORED.lock().unwrap().clone();
        let mut delivered: Vec<usize> = mirrored.iter().map(|m| m.record_at).collect();
        given.sort();
        delivered.sort();
        assert_eq!(
            given == delivered,
            !probed,
            "{name}: the records delivered are the ones given, edited in place, unless probed"
        );
        for m in &mut mirrored {
            m.record_at = 0;
        }
        let seen = Mirrored {
            record: without.clone(),
            record_at: 0,
            published: without.clone(),
            recorded: record.clone(),
        };
        assert_eq!(
            mirrored,
            [seen.clone(), seen],
            "{name}: the output's alert and publication have no normalization, the ledger's has"
        );
    }
}

#[test]
fn the_accessors_and_debug_show_the_processor_as_configured() {
    let dir = scratch("accessors");
    let settings = ProcessorSettings {
        concurrency: 3,
        dispatch_timeout_secs: 9,
        ..Default::default()
    };
    let processor = Processor::new(config(json!({"file": {"a": "out/a.jsonl"}})))
        .with_settings(settings.clone())
        .with_ledger(sqlite(&dir));
    assert_eq!(processor.settings(), &settings);
    assert_eq!(
        processor.config(),
        &config(json!({"file": {"a": "out/a.jsonl"}}))
    );
    assert!(processor.ledger().is_some());
    let shown = format!("{processor:?}");
    for part in [
        "Processor {",
        "out/a.jsonl",
        "concurrency: 3",
        "ledger: true",
        "\"file\"",
    ] {
        assert!(shown.contains(part), "{part} in {shown}");
    }
    let target = processor.resolve("file:a").unwrap();
    let shown = format!("{target:?}");
    for part in ["Target {", "\"file:a\"", "Some(\"out/a.jsonl\")"] {
        assert!(shown.contains(part), "{part} in {shown}");
    }
}

/// Every store is down.
struct StoreDown;

#[streamalert::async_trait]
impl CredentialProvider for StoreDown {
    async fn credentials(&self, _: &str, _: &str) -> Result<Option<Credentials>, CredentialError> {
        Err(CredentialError::new("the store is unreachable"))
    }
}

/// The ERROR lines of `logs` that contain `text`.
fn errors_with<'a>(logs: &'a str, text: &str) -> Vec<&'a str> {
    logs.lines()
        .filter(|line| line.contains(" ERROR ") && line.contains(text))
        .collect()
}

#[tokio::test]
async fn an_unconfigured_output_and_missing_credentials_log_streamalerts_lines_once_per_attempt() {
    let dir = scratch("log-lines");
    let processor = Processor::new(config(
        json!({"file": {"a": dir.join("a.jsonl")}, "vault": ["v"]}),
    ));
    let alert = Alert::new(
        "rule_l",
        json!({"n": 1}),
        ["file:a", "vault:v", "slack:nowhere"],
    );
    let (report, logs) = capture_logs_async(processor.deliver(&alert)).await;
    assert!(report["file:a"].is_ok(), "{report:?}");
    assert!(report["vault:v"].is_err() && report["slack:nowhere"].is_err());
    assert_eq!(
        errors_with(&logs, "The output 'slack:nowhere' does not exist!").len(),
        1,
        "{logs}"
    );
    assert_eq!(
        errors_with(
            &logs,
            "All drivers failed to retrieve credentials for [vault.v]"
        )
        .len(),
        1,
        "{logs}"
    );
    // `file` has no secret properties: having none stored is no failure.
    assert_eq!(errors_with(&logs, "All drivers failed").len(), 1, "{logs}");

    // A second attempt, through a run (its deliveries are tasks), logs them again, once each.
    let (report, logs) = capture_logs_async(processor.process(vec![alert])).await;
    assert_eq!(report.unwrap().failed, 2);
    assert_eq!(errors_with(&logs, "does not exist!").len(), 1, "{logs}");
    assert_eq!(errors_with(&logs, "All drivers failed").len(), 1, "{logs}");
}

#[tokio::test]
async fn credentials_that_are_found_or_a_store_that_fails_log_as_streamalert_does() {
    let alert = Alert::new("rule_c", json!({"n": 1}), ["vault:v"]);
    let found = Processor::new(config(json!({"vault": ["v"]}))).with_credentials(Arc::new(Keys));
    let (result, logs) = capture_logs_async(found.deliver_output(&alert, "vault:v")).await;
    result.unwrap();
    assert!(
        errors_with(&logs, "All drivers failed").is_empty(),
        "{logs}"
    );

    let down =
        Processor::new(config(json!({"vault": ["v"]}))).with_credentials(Arc::new(StoreDown));
    let (result, logs) = capture_logs_async(down.deliver_output(&alert, "vault:v")).await;
    assert_eq!(result.unwrap_err().kind(), ErrorKind::Credentials);
    let lines = errors_with(
        &logs,
        "All drivers failed to retrieve credentials for [vault.v]",
    );
    assert_eq!(lines.len(), 1, "{logs}");
    assert!(
        lines[0].contains("the store is unreachable"),
        "{}",
        lines[0]
    );
}

#[tokio::test]
async fn a_run_reports_what_it_recorded_before_delivering_it() {
    let dir = scratch("run");
    let file = dir.join("a.jsonl");
    let processor = Processor::new(config(json!({"file": {"a": file}}))).with_ledger(sqlite(&dir));
    let mut run = processor.start_run();
    let alerts = (0..2).map(|n| Alert::new("rule_r", json!({ "n": n }), ["file:a"]));
    let recorded = run.record(alerts.collect(), None).await.unwrap();
    assert_eq!(format!("{recorded:?}"), "Recorded { alerts: 2 }");
    let so_far = run.report();
    assert_eq!((so_far.alerts, so_far.sent), (2, 0), "{so_far:?}");
    run.start(recorded).await;
    let report = run.finish().await;
    assert_eq!((report.alerts, report.sent), (2, 2), "{report:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 2);
}

/// A credential provider with a bug: it panics.
struct Panics;

#[streamalert::async_trait]
impl CredentialProvider for Panics {
    async fn credentials(&self, _: &str, _: &str) -> Result<Option<Credentials>, CredentialError> {
        panic!("the provider's bug")
    }
}

#[tokio::test]
async fn a_delivery_task_that_panics_is_counted_and_logged_and_its_alert_stays_pending() {
    let dir = scratch("task-panics");
    let ledger = sqlite(&dir);
    let processor = Processor::new(config(json!({"vault": ["v"]})))
        .with_credentials(Arc::new(Panics))
        .with_ledger(ledger.clone());
    let alert = Alert::new("rule_t", json!({"n": 1}), ["vault:v"]);
    let (report, logs) = capture_logs_async(processor.process(vec![alert.clone()])).await;
    let report = report.unwrap();
    assert_eq!(
        (report.sent, report.failed, report.ledger_errors),
        (0, 0, 1),
        "{report:?}"
    );
    assert_eq!(
        errors_with(&logs, "a delivery task failed").len(),
        1,
        "{logs}"
    );
    let entry = ledger.get(AlertKey::of(&alert)).await.unwrap().unwrap();
    assert_eq!(
        entry.delivery("vault:v").unwrap().state,
        DeliveryState::Pending
    );
}

#[test]
fn streamalerts_required_output_is_configured_with_a_prefix_and_required_when_configured() {
    let local = config(json!({"file": {"a": "a.jsonl"}}));
    for prefix in [None, Some("")] {
        let mut unchanged = local.clone();
        assert!(
            required_outputs(&mut unchanged, prefix).is_empty(),
            "{prefix:?}"
        );
        assert_eq!(
            unchanged, local,
            "no prefix: the configuration is left alone"
        );
    }

    let mut deployed = config(json!({"aws-firehose": {"alerts": "theirs"}}));
    assert_eq!(
        required_outputs(&mut deployed, Some("acme")),
        ["aws-firehose:alerts"]
    );
    assert_eq!(
        deployed.setting("aws-firehose", "alerts").unwrap(),
        Some("acme_streamalert_alert_delivery"),
        "the prefix's stream replaces a configured one, as in StreamAlert"
    );

    let mut configured = config(json!({"aws-firehose": {"alerts": "mine"}}));
    assert_eq!(
        required_outputs(&mut configured, None),
        ["aws-firehose:alerts"],
        "configured without a prefix: still required"
    );
    assert_eq!(
        configured.setting("aws-firehose", "alerts").unwrap(),
        Some("mine")
    );
}

#[tokio::test]
async fn a_runs_report_has_each_outputs_metrics_and_counts_a_retried_delivery() {
    let dir = scratch("metrics");
    let ledger = sqlite(&dir);
    // `blocker` is a file, so `blocker/b.jsonl` cannot be written until it is a directory.
    std::fs::write(dir.join("blocker"), "a file").unwrap();
    let outputs = config(json!({
        "file": {"a": dir.join("a.jsonl"), "b": dir.join("blocker/b.jsonl")},
        "vault": ["v"],
    }));
    let alert = Alert::new("rule_m", json!({"n": 1}), ["file:a", "file:b", "vault:v"]);
    let processor = Processor::new(outputs).with_ledger(ledger);
    let first = processor.process(vec![alert]).await.unwrap();
    let (a, b, vault) = (
        first.outputs["file:a"],
        first.outputs["file:b"],
        first.outputs["vault:v"],
    );
    assert_eq!((a.sent, a.failed, a.dead, a.retried), (1, 0, 0, 0));
    assert_eq!((b.sent, b.failed, b.dead), (0, 1, 0), "pending for retry");
    assert_eq!(
        (vault.failed, vault.dead),
        (1, 1),
        "no credentials: given up"
    );
    assert!(a.latency_max > std::time::Duration::ZERO);
    std::fs::remove_file(dir.join("blocker")).unwrap();
    std::fs::create_dir(dir.join("blocker")).unwrap();
    let second = processor.retry().await.unwrap();
    assert_eq!(
        second.outputs.len(),
        1,
        "only file:b was pending: {second:?}"
    );
    let b = second.outputs["file:b"];
    assert_eq!((b.sent, b.failed, b.retried), (1, 0, 1));
}
