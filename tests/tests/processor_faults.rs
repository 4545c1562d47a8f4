//! The processor's isolation of a delivery and its bounds, in process with a SQLite ledger in a
//! scratch directory: an output that panics inside `dispatch`, one that never answers
//! (`dispatch_timeout_secs`, or a deadline), the `concurrency` bound (the high-water mark of alerts in
//! flight), and the recovery of an interrupted `file` write (an intent recorded, with and
//! without the line at the destination), and a run that records the next batch while the
//! last one's deliveries wait for a slot.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use streamalert::config::{LedgerSettings, OutputsConfig, ProcessorSettings};
use streamalert::ledger::{
    AlertKey, AlertStatus, DeliveryState, Ledger, LedgerEntry, NewAlert, SqliteLedger,
};
use streamalert::prelude::*;
use streamalert::processor::{Processor, RunReport, publication_fingerprint};
use streamalert::publisher::Chain;
use streamalert_tests::capture_logs_async;

streamalert::services!(Panicky, Hanging, Gated, Held, Abandoned);

/// Panics in every `dispatch`.
#[derive(Default)]
#[output(service = "panicky")]
pub struct Panicky;

#[streamalert::async_trait]
impl Output for Panicky {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![OutputProperty::descriptor("a name")]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        panic!("the panicky output blew up on {}", delivery.alert.rule_name)
    }
}

/// Never answers.
#[derive(Default)]
#[output(service = "hanging")]
pub struct Hanging;

#[streamalert::async_trait]
impl Output for Hanging {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![OutputProperty::descriptor("a name")]
    }

    async fn dispatch(&self, _: &Delivery<'_>) -> Result<(), DispatchError> {
        std::future::pending().await
    }
}

/// Dispatches of [`Gated`] in flight now.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// The most dispatches of [`Gated`] ever in flight at once.
static HIGH_WATER: AtomicUsize = AtomicUsize::new(0);
/// Dispatches of [`Gated`] so far.
static DISPATCHED: AtomicUsize = AtomicUsize::new(0);

/// Counts its dispatches in flight; each takes a second of (paused) time, so every alert the
/// processor lets through is in flight at once.
#[derive(Default)]
#[output(service = "gated")]
pub struct Gated;

#[streamalert::async_trait]
impl Output for Gated {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![OutputProperty::descriptor("a name")]
    }

    async fn dispatch(&self, _: &Delivery<'_>) -> Result<(), DispatchError> {
        let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
        HIGH_WATER.fetch_max(now, Ordering::SeqCst);
        DISPATCHED.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Opened by the test that uses [`Held`]: one permit per dispatch it lets finish.
static HELD: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(0);

/// [`HELD`] for the deliveries to `held:queue` (the test of a run's queue bound).
static HELD_QUEUE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(0);

/// Holds every dispatch until the test lets it finish ([`HELD`], [`HELD_QUEUE`]).
#[derive(Default)]
#[output(service = "held")]
pub struct Held;

#[streamalert::async_trait]
impl Output for Held {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![OutputProperty::descriptor("a name")]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let gate = if delivery.descriptor == "queue" {
            &HELD_QUEUE
        } else {
            &HELD
        };
        gate.acquire().await.unwrap().forget();
        Ok(())
    }
}

/// Dispatches of [`Abandoned`] started, and those whose future was dropped unfinished.
static ABANDONED: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

/// Counts a dispatch's future dropped unfinished in `ABANDONED[1]`.
struct CountsItsDrop;

impl Drop for CountsItsDrop {
    fn drop(&mut self) {
        ABANDONED[1].fetch_add(1, Ordering::SeqCst);
    }
}

/// Never answers, and counts its dispatches started and abandoned ([`ABANDONED`]).
#[derive(Default)]
#[output(service = "abandoned")]
pub struct Abandoned;

#[streamalert::async_trait]
impl Output for Abandoned {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![OutputProperty::descriptor("a name")]
    }

    async fn dispatch(&self, _: &Delivery<'_>) -> Result<(), DispatchError> {
        let _abandoned = CountsItsDrop;
        ABANDONED[0].fetch_add(1, Ordering::SeqCst);
        std::future::pending().await
    }
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("processor-faults")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The SQLite ledger of `dir`.
fn ledger(dir: &Path) -> Arc<SqliteLedger> {
    let settings = LedgerSettings {
        path: dir.join("ledger.sqlite3"),
        ..Default::default()
    };
    Arc::new(SqliteLedger::open(&settings).unwrap())
}

/// A processor for `outputs` (`outputs.json` text) recording into `ledger`.
fn processor(
    outputs: &serde_json::Value,
    settings: ProcessorSettings,
    ledger: Arc<SqliteLedger>,
) -> Processor {
    Processor::new(OutputsConfig::from_json(&outputs.to_string()).unwrap())
        .with_settings(settings)
        .with_ledger(ledger)
}

/// The lines of a file (none when it does not exist).
fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The state and last error of each delivery of `entry`.
fn deliveries(entry: &LedgerEntry) -> BTreeMap<&str, (DeliveryState, Option<&str>)> {
    entry
        .deliveries
        .iter()
        .map(|d| (d.output.as_str(), (d.state, d.last_error.as_deref())))
        .collect()
}

/// Checks what one failing delivery left behind: the run's counts, the alert open with the
/// failure recorded (`error`) and its file delivery sent, the failure logged.
async fn assert_failed_alone(
    ledger: &SqliteLedger,
    key: AlertKey,
    (report, log): (RunReport, String),
    failing: &str,
    error: &str,
    file: &Path,
) {
    assert_eq!(
        (report.alerts, report.sent, report.failed),
        (1, 1, 1),
        "{report:?}"
    );
    assert_eq!(report.ledger_errors, 0, "{report:?}");
    let entry = ledger
        .get(key)
        .await
        .unwrap()
        .expect("the alert is recorded");
    assert_eq!(entry.status, AlertStatus::Open, "{entry:?}");
    assert_eq!(
        deliveries(&entry),
        BTreeMap::from([
            ("file:a", (DeliveryState::Sent, None)),
            (failing, (DeliveryState::Failed, Some(error))),
        ])
    );
    let open = ledger.open_alerts().await.unwrap();
    assert_eq!(open.len(), 1, "the alert stays for `retry`");
    assert_eq!(lines(file).len(), 1, "the other output got the alert");
    let logged = log
        .lines()
        .find(|l| l.contains("delivery failed; it stays pending for `retry`"))
        .unwrap_or_else(|| panic!("the failure is logged: {log}"));
    assert!(logged.contains("WARN"), "{logged}");
    assert!(
        logged.contains(failing),
        "the line names the output: {logged}"
    );
    assert!(
        logged.contains(error),
        "the line gives the reason: {logged}"
    );
}

#[tokio::test]
async fn an_output_that_panics_fails_alone_and_stays_pending() {
    let dir = scratch("panic");
    let file = dir.join("a.jsonl");
    let ledger = ledger(&dir);
    let processor = processor(
        &json!({"panicky": ["p"], "file": {"a": file}}),
        ProcessorSettings::default(),
        ledger.clone(),
    );
    let alert = Alert::new("rule_p", json!({"n": 1}), ["panicky:p", "file:a"]);
    let key = AlertKey::of(&alert);
    let (report, log) = capture_logs_async(processor.process(vec![alert])).await;
    assert_failed_alone(
        &ledger,
        key,
        (report.unwrap(), log),
        "panicky:p",
        "output panicked: the panicky output blew up on rule_p",
        &file,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_delivery_past_the_dispatch_timeout_fails_alone_and_stays_pending() {
    let dir = scratch("timeout");
    let file = dir.join("a.jsonl");
    let ledger = ledger(&dir);
    let settings = ProcessorSettings {
        dispatch_timeout_secs: 7,
        ..Default::default()
    };
    let processor = processor(
        &json!({"hanging": ["h"], "file": {"a": file}}),
        settings,
        ledger.clone(),
    );
    let alert = Alert::new("rule_h", json!({"n": 1}), ["hanging:h", "file:a"]);
    let key = AlertKey::of(&alert);
    let started = tokio::time::Instant::now();
    let (report, log) = capture_logs_async(processor.process(vec![alert])).await;
    assert_eq!(
        started.elapsed().as_secs(),
        7,
        "the paused clock ran to the timeout, no further"
    );
    assert_failed_alone(
        &ledger,
        key,
        (report.unwrap(), log),
        "hanging:h",
        "timed out: no result within 7 s (dispatch_timeout_secs)",
        &file,
    )
    .await;
}

/// Under a deadline (a Lambda invocation's), a delivery ends `DEADLINE_MARGIN` before it,
/// however long `dispatch_timeout_secs` is: it fails as timed out, is recorded, and stays
/// pending; the alert's other output is delivered.
#[tokio::test(start_paused = true)]
async fn a_deadline_cuts_a_delivery_short_of_the_dispatch_timeout() {
    let dir = scratch("deadline");
    let file = dir.join("a.jsonl");
    let ledger = ledger(&dir);
    let settings = ProcessorSettings {
        dispatch_timeout_secs: 600,
        ..Default::default()
    };
    let deadline = std::time::SystemTime::now() + std::time::Duration::from_secs(65);
    let processor = processor(
        &json!({"hanging": ["h"], "file": {"a": file}}),
        settings,
        ledger.clone(),
    )
    .with_deadline(deadline);
    let alert = Alert::new("rule_d", json!({"n": 1}), ["hanging:h", "file:a"]);
    let key = AlertKey::of(&alert);
    let started = tokio::time::Instant::now();
    let (report, log) = capture_logs_async(processor.process(vec![alert])).await;
    let waited = started.elapsed().as_secs();
    assert!(
        (50..=60).contains(&waited),
        "the paused clock ran to 5 s before the deadline, not to the 600 s timeout: {waited} s"
    );
    assert_failed_alone(
        &ledger,
        key,
        (report.unwrap(), log),
        "hanging:h",
        "timed out: no result before the deadline (deliveries end 5 s before it, to record them)",
        &file,
    )
    .await;
}

/// A retry pass under a deadline less than `DEADLINE_MARGIN` away starts nothing: the alert
/// stays pending (no attempt counted) and is reported as left for the next pass.
#[tokio::test]
async fn a_retry_pass_near_its_deadline_leaves_the_alerts_for_the_next_pass() {
    let dir = scratch("deferred");
    let file = dir.join("a.jsonl");
    let ledger = ledger(&dir);
    let alert = Alert::new("rule_n", json!({"n": 1}), ["file:a"]);
    let key = AlertKey::of(&alert);
    ledger
        .record_alerts(vec![NewAlert {
            alert: alert.into(),
            intents: BTreeMap::new(),
        }])
        .await
        .unwrap();
    let processor = processor(
        &json!({"file": {"a": file}}),
        ProcessorSettings::default(),
        ledger.clone(),
    );
    let near = std::time::SystemTime::now() + std::time::Duration::from_secs(3);
    let report = processor
        .clone()
        .with_deadline(near)
        .retry_pass()
        .await
        .unwrap();
    assert_eq!((report.deferred, report.run.sent), (1, 0), "{report:?}");
    assert!(lines(&file).is_empty());
    let entry = ledger.get(key.clone()).await.unwrap().unwrap();
    assert_eq!(
        (entry.deliveries[0].state, entry.deliveries[0].attempts),
        (DeliveryState::Pending, 0)
    );

    // With time left, the next pass delivers it.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    let report = processor.with_deadline(later).retry_pass().await.unwrap();
    assert_eq!((report.deferred, report.run.sent), (0, 1), "{report:?}");
    assert_eq!(lines(&file).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn alerts_in_flight_reach_the_concurrency_setting_and_never_exceed_it() {
    const CONCURRENCY: usize = 3;
    let dir = scratch("concurrency");
    let ledger = ledger(&dir);
    let settings = ProcessorSettings {
        concurrency: CONCURRENCY,
        ..Default::default()
    };
    let processor = processor(&json!({"gated": ["g"]}), settings, ledger.clone());
    let alerts: Vec<Alert> = (0..10)
        .map(|n| Alert::new("rule_g", json!({"n": n}), ["gated:g"]))
        .collect();
    let report = processor.process(alerts).await.unwrap();
    assert_eq!(
        (report.alerts, report.sent, report.failed),
        (10, 10, 0),
        "{report:?}"
    );
    assert_eq!(DISPATCHED.load(Ordering::SeqCst), 10);
    assert_eq!(IN_FLIGHT.load(Ordering::SeqCst), 0);
    assert_eq!(
        HIGH_WATER.load(Ordering::SeqCst),
        CONCURRENCY,
        "as many alerts in flight as the setting allows, and no more"
    );
    assert!(ledger.open_alerts().await.unwrap().is_empty());
}

/// A ledger in scratch directory `name` and a processor with one slot (`concurrency: 1`) whose
/// only output is `held:<descriptor>`.
fn one_slot_to_held(name: &str, descriptor: &str) -> (Arc<SqliteLedger>, Processor) {
    let ledger = ledger(&scratch(name));
    let settings = ProcessorSettings {
        concurrency: 1,
        ..Default::default()
    };
    let processor = processor(&json!({"held": [descriptor]}), settings, ledger.clone());
    (ledger, processor)
}

#[tokio::test]
async fn the_next_batch_is_recorded_while_the_last_ones_deliveries_wait_for_a_slot() {
    let (ledger, processor) = one_slot_to_held("pipelined", "h");
    let batch = |first: u64| -> Vec<Alert> {
        (first..first + 3)
            .map(|n| Alert::new("rule_h", json!({"n": n}), ["held:h"]))
            .collect()
    };
    // A `start` that waited for its alerts' deliveries (held, one slot) would never return:
    // the timeout only turns that hang into a failure.
    let waited_for_deliveries = std::time::Duration::from_secs(30);
    let mut run = processor.start_run();
    for first in [0, 3] {
        let recorded = run.record(batch(first), None).await.unwrap();
        tokio::time::timeout(waited_for_deliveries, run.start(recorded))
            .await
            .expect("start hands the alerts over without waiting for a slot");
    }
    let so_far = run.report();
    assert_eq!((so_far.alerts, so_far.sent), (6, 0), "{so_far:?}");
    assert_eq!(ledger.open_alerts().await.unwrap().len(), 6);
    assert!(format!("{run:?}").contains("in_flight: 1"), "{run:?}");

    HELD.add_permits(6);
    let report = run.finish().await;
    assert_eq!((report.sent, report.failed), (6, 0), "{report:?}");
    assert!(ledger.open_alerts().await.unwrap().is_empty());
}

/// README: "`process` reads and records the next chunk of input meanwhile, with up to 64
/// recorded alerts waiting for a free slot".
#[tokio::test]
async fn a_run_queues_at_most_64_recorded_alerts_and_a_cancelled_start_leaves_the_rest_pending() {
    let (ledger, processor) = one_slot_to_held("queue-bound", "queue");
    let alerts = (0..200)
        .map(|n| Alert::new("rule_h", json!({"n": n}), ["held:queue"]))
        .collect();
    let mut run = processor.start_run();
    let recorded = run.record(alerts, None).await.unwrap();
    // The only slot is held, so `start` can hand over no more than the queue takes; the
    // timeout cancels it (a `start` that returned would have queued all 200).
    let start = tokio::time::timeout(std::time::Duration::from_secs(2), run.start(recorded));
    assert!(
        start.await.is_err(),
        "start queued 200 alerts behind one busy slot"
    );
    // One in the slot, one taken by the dispatcher waiting for the slot, 64 in the queue.
    let state = format!("{run:?}");
    assert!(state.contains("queued: 65, in_flight: 1"), "{state}");

    HELD_QUEUE.add_permits(200);
    let report = run.finish().await;
    assert_eq!((report.alerts, report.sent), (200, 66), "{report:?}");
    // The alerts `start` never queued stay pending in the ledger, for `retry`.
    assert_eq!(ledger.open_alerts().await.unwrap().len(), 134);
}

#[tokio::test]
async fn a_run_dropped_before_it_finished_abandons_its_deliveries() {
    let dir = scratch("dropped");
    let ledger = ledger(&dir);
    let settings = ProcessorSettings {
        dispatch_timeout_secs: 3600,
        ..Default::default()
    };
    let processor = processor(&json!({"abandoned": ["a"]}), settings, ledger.clone());
    let mut run = processor.start_run();
    let alerts = vec![Alert::new("rule_a", json!({"n": 1}), ["abandoned:a"])];
    run.submit(alerts).await.unwrap();
    // The turns and sleeps only give the tasks time to run: the counts decide.
    let wait_for = |started: usize, dropped: usize| async move {
        for _ in 0..3000 {
            let now = (
                ABANDONED[0].load(Ordering::SeqCst),
                ABANDONED[1].load(Ordering::SeqCst),
            );
            if now == (started, dropped) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("never reached {started} started, {dropped} dropped");
    };
    wait_for(1, 0).await;
    drop(run);
    wait_for(1, 1).await;
    let open = ledger.open_alerts().await.unwrap();
    assert_eq!(open.len(), 1, "the abandoned delivery stays pending");
}

/// Drops the alert's id from the publication.
#[publisher(name = "faults.without_id")]
fn without_id(_: &Alert, mut publication: Publication) -> Publication {
    publication.remove("id");
    publication
}

/// An alert of the `file` output `file:a` (through `publishers`, when given), its intent as
/// the processor records it (the publication's fingerprint) and the line the output writes.
fn file_alert(publishers: Option<serde_json::Value>) -> (Alert, NewAlert, String) {
    let mut alert = Alert::new("rule_f", json!({"n": 1}), ["file:a"]);
    alert.attempts = 1;
    if let Some(publishers) = publishers {
        alert.publishers = publishers;
    }
    let publication = Chain::for_output(&alert.publishers, "file", "a")
        .publish(&alert)
        .unwrap();
    let line = serde_json::to_string(&*publication).unwrap();
    let new = NewAlert {
        alert: alert.clone().into(),
        intents: BTreeMap::from([("file:a".to_owned(), publication_fingerprint(&publication))]),
    };
    (alert, new, line)
}

/// A `process` interrupted after recording `file`'s intent; `written`: after the line was
/// written too. Returns what `retry` then did, and the file's lines.
async fn retry_after_interruption(
    name: &str,
    written: bool,
    publishers: Option<serde_json::Value>,
) -> (RunReport, Vec<String>, String) {
    let dir = scratch(name);
    let file = dir.join("a.jsonl");
    let (alert, new, line) = file_alert(publishers);
    {
        // The first process: the alert and its intent recorded, the line (maybe) written, then
        // the process is gone before the outcome is recorded.
        let ledger = ledger(&dir);
        ledger.record_alerts(vec![new]).await.unwrap();
        if written {
            std::fs::write(&file, format!("{line}\n")).unwrap();
        }
    }
    let ledger = ledger(&dir);
    let pending = ledger.open_alerts().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert!(pending[0].delivery("file:a").unwrap().intent.is_some());
    let processor = processor(
        &json!({"file": {"a": file}}),
        ProcessorSettings::default(),
        ledger.clone(),
    );
    let pass = processor.retry_pass().await.unwrap();
    assert!(
        pass.contended.is_empty(),
        "a reconciled delivery is not claimed again: {pass:?}"
    );
    let report = pass.run;
    let entry = ledger.get(AlertKey::of(&alert)).await.unwrap().unwrap();
    assert_eq!(entry.status, AlertStatus::Complete, "{entry:?}");
    let delivery = entry.delivery("file:a").unwrap();
    assert_eq!(
        (delivery.state, delivery.intent),
        (DeliveryState::Sent, None)
    );
    assert!(ledger.open_alerts().await.unwrap().is_empty());
    (report, lines(&file), line)
}

#[tokio::test]
async fn an_interrupted_file_write_that_arrived_is_recorded_sent_and_not_written_again() {
    let (report, lines, line) = retry_after_interruption("arrived", true, None).await;
    assert_eq!(
        (report.reconciled, report.sent, report.failed),
        (1, 0, 0),
        "found at the destination: {report:?}"
    );
    assert_eq!(lines, [line], "the line is in the file once");
}

#[tokio::test]
async fn an_interrupted_file_write_that_did_not_arrive_is_written_once() {
    let (report, lines, line) = retry_after_interruption("lost", false, None).await;
    assert_eq!(
        (report.reconciled, report.sent, report.failed),
        (0, 1, 0),
        "not at the destination, so sent: {report:?}"
    );
    assert_eq!(lines, [line], "the line is in the file once");
}

#[tokio::test]
async fn an_interrupted_file_write_whose_line_does_not_name_the_alert_is_written_again() {
    // The line proves nothing about this alert (another alert's publication could be the same
    // line), so the delivery is sent again: at least once, as for outputs without a probe.
    let publishers = json!({"file:a": ["faults.without_id"]});
    let (report, lines, line) = retry_after_interruption("anonymous", true, Some(publishers)).await;
    assert!(!line.contains("\"id\""), "{line}");
    assert_eq!(
        (report.reconciled, report.sent, report.failed),
        (0, 1, 0),
        "not taken as delivered: {report:?}"
    );
    assert_eq!(lines, [line.clone(), line], "written again");
}
