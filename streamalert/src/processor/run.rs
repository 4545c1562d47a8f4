//! A run: alerts recorded in the ledger, then delivered with at most `concurrency` alerts in
//! flight.
//!
//! Recording and delivering overlap. [`Run::start`] hands recorded alerts to the run's
//! dispatcher, a task of its own that starts each delivery as soon as a slot is free, and
//! returns once they are queued; meanwhile the caller reads and records the next batch. The
//! queue is bounded, so memory holds at most `concurrency` alerts in flight plus the queue.

use super::{Counters, Prepared, Processor, RunReport};
use crate::alert::{Alert, Timestamp};
use crate::ledger::{InputCheckpoint, LedgerError};
use futures_util::FutureExt as _;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinHandle, JoinSet};

/// How many recorded alerts a run queues for its dispatcher: enough for the deliveries to go
/// on while the next input chunk (128 lines) is read and recorded (~5 ms at ~8,000 alerts/s),
/// few enough that queued alerts, each holding its record and publications, stay a small part
/// of the memory (each halving of this queue and of the chunk saved ~10 MiB in `loadgen load`).
pub(super) const QUEUE: usize = 64;

/// Alerts submitted for delivery, in flight until [`Run::finish`].
pub struct Run {
    processor: Processor,
    pub(super) counters: Arc<Counters>,
    queue_len: usize,
    dispatcher: Option<Dispatcher>,
    /// Alerts queued for the dispatcher and not started yet.
    queued: Arc<AtomicUsize>,
    /// Alerts whose deliveries are under way.
    in_flight: Arc<AtomicUsize>,
}

/// The run's dispatcher task and the sending end of its queue.
struct Dispatcher {
    queue: mpsc::Sender<Prepared>,
    task: JoinHandle<()>,
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("queued", &self.queued.load(Ordering::Relaxed))
            .field("in_flight", &self.in_flight.load(Ordering::Relaxed))
            .field("report", &self.counters.report())
            .finish()
    }
}

impl Run {
    /// A run of `processor` whose dispatcher queues up to `queue_len` alerts.
    pub(super) fn new(processor: Processor, queue_len: usize) -> Self {
        Self {
            processor,
            counters: Arc::new(Counters::default()),
            queue_len: queue_len.max(1),
            dispatcher: None,
            queued: Arc::new(AtomicUsize::new(0)),
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Records new alerts in the ledger (one transaction for the batch), then starts their
    /// deliveries. Waits while the run's queue is full.
    pub async fn submit(&mut self, alerts: Vec<Alert>) -> Result<(), LedgerError> {
        let recorded = self.record(alerts, None).await?;
        self.start(recorded).await;
        Ok(())
    }

    /// Records new alerts in the ledger (one transaction for the batch) with, when given, how
    /// far their input was read ([`Ledger::record_alerts_at`](crate::ledger::Ledger::record_alerts_at):
    /// recorded even with no alerts); [`start`](Run::start) then delivers them. Alerts recorded
    /// and never started stay pending in the ledger for `retry`.
    pub async fn record(
        &mut self,
        alerts: Vec<Alert>,
        checkpoint: Option<InputCheckpoint>,
    ) -> Result<Recorded, LedgerError> {
        if alerts.is_empty() && checkpoint.is_none() {
            return Ok(Recorded(Vec::new()));
        }
        let now = Timestamp::now();
        let alerts = alerts.into_iter().map(|mut alert| {
            let to_send = alert.remaining_outputs();
            if !to_send.is_empty() {
                alert.attempts = alert.attempts.saturating_add(1);
                alert.dispatched = now;
            }
            (alert, to_send)
        });
        let batch = self
            .processor
            .record_and_plan(alerts.collect(), checkpoint)
            .await?;
        crate::fault::reached(crate::fault::Point::AfterRecord, None);
        Counters::add(&self.counters.alerts, batch.len() as u64);
        Ok(Recorded(batch))
    }

    /// Hands recorded alerts to the run's dispatcher, which starts each delivery when fewer
    /// than `concurrency` alerts are in flight; waits only while the run's queue is full.
    /// Cancelling it leaves the alerts not queued yet pending in the ledger.
    pub async fn start(&mut self, recorded: Recorded) {
        for prepared in recorded.0 {
            if !prepared.deliveries.is_empty() {
                self.spawn(prepared).await;
            }
        }
    }

    /// Delivers recorded alerts in this task, one after another, each taking a slot of the
    /// processor's `concurrency` as the dispatcher does: for an alert alone, which needs no
    /// task to hand it to.
    ///
    /// A panic outside the delivery's own guard is counted and logged as a failed delivery
    /// task is, and the alert stays pending.
    pub(super) async fn deliver_here(&mut self, recorded: Recorded) {
        for prepared in recorded.0 {
            // The semaphore is never closed; were it ever, the delivery goes without a permit.
            let _permit = self.processor.permits.acquire().await.ok();
            let delivery = self.processor.deliver_prepared(prepared, &self.counters);
            if let Err(panic) = std::panic::AssertUnwindSafe(delivery).catch_unwind().await {
                let message = crate::text::panic_message(&*panic);
                task_failed(&self.counters, &format!("the delivery panicked: {message}"));
            }
        }
    }

    /// What the run did so far (deliveries still in flight are not counted yet).
    pub fn report(&self) -> RunReport {
        self.counters.report()
    }

    /// Queues one alert for the dispatcher (started on first use).
    pub(super) async fn spawn(&mut self, prepared: Prepared) {
        let dispatcher = self.dispatcher.get_or_insert_with(|| {
            let (queue, waiting) = mpsc::channel(self.queue_len);
            let task = tokio::spawn(dispatch(
                self.processor.clone(),
                self.counters.clone(),
                waiting,
                self.queued.clone(),
                self.in_flight.clone(),
            ));
            Dispatcher { queue, task }
        });
        // Counted once a place in the queue is reserved, so that a `start` cancelled while it
        // waits for one does not leave an alert counted that was never queued.
        match dispatcher.queue.reserve().await {
            Ok(place) => {
                self.queued.fetch_add(1, Ordering::Relaxed);
                place.send(prepared);
            }
            Err(_) => {
                // Only a dispatcher that panicked stops receiving; the alert stays pending.
                Counters::add(&self.counters.ledger_errors, 1);
                tracing::error!(
                    alert_id = %prepared.key.alert_id,
                    rule = %prepared.key.rule_name,
                    "the run's dispatcher stopped; the alert's deliveries stay pending"
                );
            }
        }
    }

    /// Waits for every delivery of the run and reports.
    pub async fn finish(mut self) -> RunReport {
        if let Some(Dispatcher { queue, task }) = self.dispatcher.take() {
            drop(queue);
            note(&self.counters, task.await);
        }
        self.counters.report()
    }

    /// Waits for the deliveries of the run until `stop` completes, then abandons those still
    /// queued or under way: they stay pending in the ledger (with their intent, so `retry`
    /// checks them at their destination where it can). Reports, with how many alerts were
    /// abandoned.
    ///
    /// ```
    /// use streamalert::{config::OutputsConfig, processor::Processor};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let processor = Processor::new(OutputsConfig::from_json("{}").unwrap());
    /// let run = processor.start_run();
    /// let (report, abandoned) = run.finish_until(std::future::pending()).await;
    /// assert_eq!((report.sent, abandoned), (0, 0));
    /// # });
    /// ```
    pub async fn finish_until(
        mut self,
        stop: impl std::future::Future<Output = ()>,
    ) -> (RunReport, usize) {
        let Some(Dispatcher { queue, mut task }) = self.dispatcher.take() else {
            return (self.counters.report(), 0);
        };
        drop(queue);
        let abandoned = tokio::select! {
            biased;
            done = &mut task => {
                note(&self.counters, done);
                0
            }
            () = stop => {
                let abandoned = self.queued.load(Ordering::Relaxed)
                    + self.in_flight.load(Ordering::Relaxed);
                // Dropping the dispatcher's task set aborts the deliveries under way.
                task.abort();
                let _ = task.await;
                abandoned
            }
        };
        (self.counters.report(), abandoned)
    }
}

impl Drop for Run {
    /// A run dropped before it finished abandons its deliveries, as [`Run::finish_until`] does.
    fn drop(&mut self) {
        if let Some(dispatcher) = self.dispatcher.take() {
            dispatcher.task.abort();
        }
    }
}

/// The dispatcher: starts each queued alert's deliveries once a slot is free, then waits for
/// them all when the queue closes.
async fn dispatch(
    processor: Processor,
    counters: Arc<Counters>,
    mut waiting: mpsc::Receiver<Prepared>,
    queued: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
) {
    let mut tasks = JoinSet::new();
    while let Some(prepared) = waiting.recv().await {
        while let Some(done) = tasks.try_join_next() {
            note(&counters, done);
        }
        // The semaphore is never closed; were it ever, the delivery goes without a permit.
        let permit = processor.permits.clone().acquire_owned().await.ok();
        queued.fetch_sub(1, Ordering::Relaxed);
        in_flight.fetch_add(1, Ordering::Relaxed);
        let (processor, counters, in_flight) =
            (processor.clone(), counters.clone(), in_flight.clone());
        tasks.spawn(async move {
            processor.deliver_prepared(prepared, &counters).await;
            in_flight.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    while let Some(done) = tasks.join_next().await {
        note(&counters, done);
    }
}

/// Counts and logs a delivery task that failed (a panic outside the delivery's own guard).
fn note(counters: &Counters, done: Result<(), JoinError>) {
    if let Err(error) = done {
        task_failed(counters, &error);
    }
}

fn task_failed(counters: &Counters, error: &dyn fmt::Display) {
    Counters::add(&counters.ledger_errors, 1);
    tracing::error!(%error, "a delivery task failed");
}

/// Alerts recorded by [`Run::record`], waiting for [`Run::start`].
pub struct Recorded(Vec<Prepared>);

impl fmt::Debug for Recorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorded")
            .field("alerts", &self.0.len())
            .finish()
    }
}
