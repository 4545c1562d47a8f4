//! The alert processor: alerts in, publications delivered, every outcome recorded.
//!
//! For each alert the processor records it in the [ledger](crate::ledger) with one record per
//! output to deliver, then sends its outputs concurrently; across alerts at most
//! `concurrency` alerts are in flight (a semaphore). Each output's publication is composed by
//! its publisher chain and sent by its [`Output`]. A delivery that fails, panics or times out
//! fails alone: it is recorded as failed with the reason and stays for [`Processor::retry`];
//! the alert's other outputs and the other alerts carry on. A sent output is recorded the
//! moment it succeeds and never sent again.
//!
//! [`Processor::retry`] is also StreamAlert's alert merger: alerts of merging rules whose
//! required outputs are done are grouped ([`merge_groups`]) once their window has passed, and
//! each group is delivered as one merged alert.
//!
//! Every alert is handled in a `tracing` span `alert` (fields `alert_id`, `rule`) and every
//! delivery in a span `delivery` (field `output`).

mod event;
pub mod metrics;
mod probe;
mod run;

pub use event::EventOutcome;
pub use metrics::OutputMetrics;
pub use probe::{DeliveryProbe, FileProbe, ProbeTarget, publication_fingerprint};
pub use run::{Recorded, Run};

use crate::alert::{Alert, REQUIRED_OUTPUT, Timestamp, merge_groups};
use crate::config::{OutputsConfig, ProcessorSettings};
use crate::ledger::{
    AlertKey, Claim, DeliveryRecord, Fingerprint, InputCheckpoint, Ledger, LedgerEntry,
    LedgerError, NewAlert, Outcome, QuarantinedAlert,
};
use crate::output::pacing::{self, Pacing};
use crate::output::{
    CredentialProvider, Credentials, Delivery, DispatchError, ErrorKind, NoCredentials, Output,
    OutputRef, OutputRefError,
};
use crate::publisher::{Chain, Publication};
use futures_util::FutureExt as _;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};
use tokio::sync::Semaphore;
use tracing::Instrument as _;

/// The result of delivering one alert without a ledger: each attempted output with its outcome.
pub type DeliveryReport = BTreeMap<String, Result<(), DispatchError>>;

/// How many open alerts a retry pass reads at once: its memory holds one page (and the
/// alerts of merging rules waiting to be grouped), however many alerts the ledger holds.
pub const RETRY_PAGE: usize = 1000;

/// The record key the processor removes from a record before publishing it (StreamAlert's
/// alert processor does the same).
pub use crate::json::NORMALIZATION_KEY;

/// Under a deadline ([`Processor::with_deadline`]), deliveries end this long before it: the
/// time kept to record their outcomes and answer.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// Under a deadline ([`Processor::with_deadline`]), the ledger's claims hold this long after
/// it: more than the clocks of two hosts differ, so another processor never takes over work
/// that may still be running.
pub const LEASE_MARGIN: Duration = Duration::from_secs(2);

/// Delivers alerts to the outputs configured in `outputs.json` and records every outcome.
///
/// ```
/// use streamalert::{Alert, config::OutputsConfig, processor::Processor};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let processor = Processor::new(OutputsConfig::from_json(r#"{"stdout": ["console"]}"#).unwrap());
/// let alert = Alert::new("demo", serde_json::json!({"user": "root"}), ["stdout:console", "slack:missing"]);
/// let report = processor.deliver(&alert).await;
/// assert!(report["stdout:console"].is_ok());
/// assert!(report["slack:missing"].is_err());
/// # });
/// ```
#[derive(Clone)]
pub struct Processor {
    config: Arc<OutputsConfig>,
    settings: Arc<ProcessorSettings>,
    credentials: Arc<dyn CredentialProvider>,
    probes: Arc<BTreeMap<String, Arc<dyn DeliveryProbe>>>,
    ledger: Option<Arc<dyn Ledger>>,
    permits: Arc<Semaphore>,
    deadline: Option<SystemTime>,
    pacing: Arc<Pacing>,
}

impl fmt::Debug for Processor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Processor")
            .field("config", &self.config)
            .field("settings", &self.settings)
            .field("probes", &self.probes.keys().collect::<Vec<_>>())
            .field("ledger", &self.ledger.is_some())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// Why the processor could not run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessorError {
    /// The operation needs a ledger and the processor has none.
    #[error("this operation needs a ledger (Processor::with_ledger)")]
    NoLedger,
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Deliveries were made (or failed) but the ledger could not record their outcome.
    #[error("the ledger could not record the outcome of {0} deliveries (logged above)")]
    Unrecorded(u64),
}

/// Why an output string cannot be delivered to.
///
/// ```
/// use streamalert::{config::OutputsConfig, processor::{Processor, ResolveError}};
/// let processor = Processor::new(OutputsConfig::from_json(r#"{"stdout": ["console"]}"#).unwrap());
/// assert!(matches!(processor.resolve("helloworld"), Err(ResolveError::Malformed(_))));
/// assert!(matches!(processor.resolve("stdout:other"), Err(ResolveError::NotConfigured(_))));
/// assert_eq!(processor.resolve("stdout:console").unwrap().service, "stdout");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// Not `service:descriptor` ([`OutputRef`]'s grammar).
    #[error(transparent)]
    Malformed(#[from] OutputRefError),
    /// Not in `outputs.json`.
    #[error("the output `{0}` does not exist in outputs.json")]
    NotConfigured(String),
    /// No output of this service is compiled into the binary.
    #[error(
        "no output is registered for service `{service}` of `{output}` (is its cargo feature enabled?)"
    )]
    NotCompiled {
        /// The full output.
        output: String,
        /// Its service.
        service: String,
    },
}

impl From<ResolveError> for DispatchError {
    fn from(error: ResolveError) -> Self {
        DispatchError::new(ErrorKind::Config, error.to_string())
    }
}

/// A configured output instance, ready to receive deliveries.
#[derive(Clone)]
#[non_exhaustive]
pub struct Target {
    /// `service:descriptor`.
    pub output: String,
    /// The service, e.g. `file`.
    pub service: String,
    /// The descriptor, e.g. `alerts`.
    pub descriptor: String,
    /// The descriptor's `outputs.json` setting, for map-style services.
    pub setting: Option<String>,
    /// The process's instance of the service's output.
    pub instance: &'static dyn Output,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("output", &self.output)
            .field("setting", &self.setting)
            .finish_non_exhaustive()
    }
}

/// What one run (a `process` input, a `retry` pass, a `dispatch`) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Alerts handled (new, retried or merged).
    pub alerts: u64,
    /// Deliveries sent.
    pub sent: u64,
    /// Deliveries that failed (they stay pending for `retry`, unless given up).
    pub failed: u64,
    /// Of the failed deliveries, those given up (`dead`): a permanent error, or the last of
    /// `max_attempts`.
    pub dead: u64,
    /// Interrupted deliveries found at their destination and recorded as sent without sending.
    pub reconciled: u64,
    /// Alerts merged into merged alerts.
    pub merged: u64,
    /// Outcomes the ledger could not record.
    pub ledger_errors: u64,
    /// What the deliveries to each output (`service:descriptor`) did.
    pub outputs: BTreeMap<String, OutputMetrics>,
}

/// What a [`Processor::retry_pass`] did: the run's counts, the alerts it left alone because
/// another processor was delivering them (their deliveries stay pending for a later pass), and
/// the alerts the ledger holds quarantined (their item cannot be read back).
///
/// ```
/// use streamalert::{ledger::AlertKey, processor::RetryReport};
/// let report = RetryReport { contended: vec![AlertKey::new("root_login", "79192344")], ..Default::default() };
/// assert_eq!(report.run.sent, 0);
/// assert_eq!(report.contended[0].rule_name, "root_login");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetryReport {
    /// The deliveries of the pass.
    pub run: RunReport,
    /// The alerts skipped because their claim was contended ([`Claim::Contended`]).
    pub contended: Vec<AlertKey>,
    /// The alerts not started because the pass's deadline was near
    /// ([`Processor::with_deadline`]): they stay pending for the next pass.
    pub deferred: u64,
    /// Every quarantined alert of the ledger (skipped by this pass and every other).
    pub quarantined: Vec<QuarantinedAlert>,
}

#[derive(Debug, Default)]
struct Counters {
    alerts: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
    dead: AtomicU64,
    reconciled: AtomicU64,
    merged: AtomicU64,
    ledger_errors: AtomicU64,
    outputs: std::sync::Mutex<BTreeMap<String, OutputMetrics>>,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn report(&self) -> RunReport {
        RunReport {
            alerts: self.alerts.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dead: self.dead.load(Ordering::Relaxed),
            reconciled: self.reconciled.load(Ordering::Relaxed),
            merged: self.merged.load(Ordering::Relaxed),
            ledger_errors: self.ledger_errors.load(Ordering::Relaxed),
            outputs: self
                .outputs
                .lock()
                .map(|outputs| outputs.clone())
                .unwrap_or_default(),
        }
    }

    /// Counts an attempt at `output` in its metrics.
    fn attempted(&self, output: &str, latency: std::time::Duration, sent: bool, retried: bool) {
        self.with_output(output, |m| m.attempted(latency, sent, retried));
    }

    /// Counts a given-up delivery of `output` in its metrics.
    fn given_up(&self, output: &str) {
        self.with_output(output, |m| m.dead += 1);
    }

    /// Updates the metrics of `output` (allocating its name only the first time).
    fn with_output(&self, output: &str, update: impl FnOnce(&mut OutputMetrics)) {
        let Ok(mut outputs) = self.outputs.lock() else {
            return;
        };
        match outputs.get_mut(output) {
            Some(metrics) => update(metrics),
            None => update(outputs.entry(output.to_owned()).or_default()),
        }
    }
}

/// The intent recorded for a delivery to an output without a probe: the fingerprint of no
/// bytes. Such a delivery, found interrupted, is sent again whatever it sent, so its
/// publication is not serialized to be fingerprinted.
///
/// ```
/// use streamalert::{ledger::Fingerprint, processor::UNPROBED_INTENT};
/// assert_eq!(UNPROBED_INTENT, Fingerprint::of(b""));
/// ```
pub const UNPROBED_INTENT: Fingerprint = Fingerprint(0xcbf2_9ce4_8422_2325);

/// An alert with each of its outputs to deliver planned: a publication or an error.
struct Prepared {
    alert: Arc<Alert>,
    key: AlertKey,
    deliveries: Vec<Planned>,
    /// Output → attempts the ledger counted before this one (absent: none).
    attempts: BTreeMap<String, u32>,
}

enum Planned {
    Ready {
        target: Target,
        publication: Publication,
        fingerprint: Fingerprint,
        /// The publication names the alert's id, so finding it at the destination proves that
        /// this alert's delivery arrived (not another alert's identical publication).
        identifies_alert: bool,
    },
    /// The output is malformed, not configured or not compiled in; an output that is not
    /// configured is logged at every attempt, as StreamAlert does.
    Unresolved { output: String, error: ResolveError },
    Failed {
        output: String,
        error: DispatchError,
    },
}

impl Planned {
    fn output(&self) -> &str {
        match self {
            Self::Ready { target, .. } => &target.output,
            Self::Unresolved { output, .. } | Self::Failed { output, .. } => output,
        }
    }
}

/// An output to send to, with what it resolves to.
type Resolved = (String, Result<Target, ResolveError>);

/// The intents of sending to `outputs` when none of them has a probe, so that none needs its
/// publication: [`UNPROBED_INTENT`] for each output that resolves (one that does not is never
/// attempted). `None` when one of them has a probe.
fn unprobed_intents(
    outputs: &[Resolved],
    probes: &BTreeMap<String, Arc<dyn DeliveryProbe>>,
) -> Option<BTreeMap<String, Fingerprint>> {
    let mut intents = BTreeMap::new();
    for target in outputs
        .iter()
        .filter_map(|(_, target)| target.as_ref().ok())
    {
        if probes.contains_key(&target.service) {
            return None;
        }
        intents.insert(target.output.clone(), UNPROBED_INTENT);
    }
    Some(intents)
}

impl Prepared {
    fn intents(&self) -> BTreeMap<String, Fingerprint> {
        self.deliveries
            .iter()
            .filter_map(|planned| match planned {
                Planned::Ready {
                    target,
                    fingerprint,
                    ..
                } => Some((target.output.clone(), *fingerprint)),
                Planned::Unresolved { .. } | Planned::Failed { .. } => None,
            })
            .collect()
    }
}

impl Processor {
    /// A processor for the outputs of `config`, with default settings, no ledger, no
    /// credentials and the `file` output's probe.
    pub fn new(config: OutputsConfig) -> Self {
        let settings = ProcessorSettings::default();
        let mut probes: BTreeMap<String, Arc<dyn DeliveryProbe>> = BTreeMap::new();
        probes.insert("file".into(), Arc::new(FileProbe));
        Self {
            config: Arc::new(config),
            pacing: Arc::new(Pacing::new(settings.rate_limits.clone())),
            permits: Arc::new(Semaphore::new(settings.concurrency)),
            settings: Arc::new(settings),
            credentials: Arc::new(NoCredentials),
            probes: Arc::new(probes),
            ledger: None,
            deadline: None,
        }
    }

    /// The same processor with these settings (concurrency, timeouts, rate limits).
    pub fn with_settings(self, settings: ProcessorSettings) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            pacing: Arc::new(Pacing::new(settings.rate_limits.clone())),
            settings: Arc::new(settings),
            ..self
        }
    }

    /// The same processor recording into `ledger`.
    pub fn with_ledger(self, ledger: Arc<dyn Ledger>) -> Self {
        Self {
            ledger: Some(leased(ledger, self.deadline)),
            ..self
        }
    }

    /// The same processor for work that must be over by `deadline` (a Lambda invocation's).
    /// Each delivery ends [`DEADLINE_MARGIN`] before it at the latest (its dispatch timeout,
    /// and so its HTTP retries, cut short: the attempt fails as timed out and is recorded), a
    /// retry pass starts nothing after that point (what is left stays pending for the next
    /// pass), and the ledger's claims hold until [`LEASE_MARGIN`] after it
    /// ([`Ledger::leased_until`]; the DynamoDB ledger's leases): if the work is killed, another
    /// processor takes its alerts over once their claims expire, and never while it may still
    /// be running.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use streamalert::{config::OutputsConfig, processor::Processor};
    /// let processor = Processor::new(OutputsConfig::from_json(r#"{"stdout": ["console"]}"#).unwrap());
    /// let invocation = processor.clone().with_deadline(SystemTime::now() + Duration::from_secs(60));
    /// assert!(invocation.deadline().is_some() && processor.deadline().is_none());
    /// ```
    pub fn with_deadline(self, deadline: SystemTime) -> Self {
        Self {
            ledger: self.ledger.map(|ledger| leased(ledger, Some(deadline))),
            deadline: Some(deadline),
            ..self
        }
    }

    /// The deadline of [`with_deadline`](Processor::with_deadline), if any.
    pub fn deadline(&self) -> Option<SystemTime> {
        self.deadline
    }

    /// The time deliveries may still take under the deadline (up to [`DEADLINE_MARGIN`] before
    /// it; zero once past); `None` without a deadline.
    fn time_left(&self) -> Option<Duration> {
        self.deadline.map(|deadline| {
            deadline
                .checked_sub(DEADLINE_MARGIN)
                .and_then(|end| end.duration_since(SystemTime::now()).ok())
                .unwrap_or_default()
        })
    }

    /// True when the deadline leaves no time for another delivery.
    fn out_of_time(&self) -> bool {
        self.time_left().is_some_and(|left| left.is_zero())
    }

    /// The same processor taking secrets from `credentials`.
    pub fn with_credentials(self, credentials: Arc<dyn CredentialProvider>) -> Self {
        Self {
            credentials,
            ..self
        }
    }

    /// The same processor asking `probe` about interrupted deliveries to `service`.
    pub fn with_probe(self, service: &str, probe: Arc<dyn DeliveryProbe>) -> Self {
        let mut probes = (*self.probes).clone();
        probes.insert(service.to_owned(), probe);
        Self {
            probes: Arc::new(probes),
            ..self
        }
    }

    /// The outputs configuration.
    pub fn config(&self) -> &OutputsConfig {
        &self.config
    }

    /// The settings.
    pub fn settings(&self) -> &ProcessorSettings {
        &self.settings
    }

    /// The ledger, if any.
    pub fn ledger(&self) -> Option<&Arc<dyn Ledger>> {
        self.ledger.as_ref()
    }

    /// The credential provider.
    pub fn credentials(&self) -> &Arc<dyn CredentialProvider> {
        &self.credentials
    }

    /// The configured instance behind `service:descriptor` (StreamAlert's `create_dispatcher`).
    pub fn resolve(&self, output: &str) -> Result<Target, ResolveError> {
        let OutputRef {
            service,
            descriptor,
        } = OutputRef::parse(output)?;
        let setting = self
            .config
            .setting(service, descriptor)
            .map_err(|_| ResolveError::NotConfigured(output.to_owned()))?;
        let instance =
            crate::output::instance(service).ok_or_else(|| ResolveError::NotCompiled {
                output: output.to_owned(),
                service: service.to_owned(),
            })?;
        Ok(Target {
            output: output.to_owned(),
            service: service.to_owned(),
            descriptor: descriptor.to_owned(),
            setting: setting.map(str::to_owned),
            instance,
        })
    }

    /// Delivers every remaining output of `alert` concurrently, without recording anything.
    pub async fn deliver(&self, alert: &Alert) -> DeliveryReport {
        let prepared = self.prepare(Arc::new(alert.clone()), alert.remaining_outputs());
        let alert = &prepared.alert;
        let deliveries = prepared.deliveries.iter().map(|planned| async move {
            (
                planned.output().to_owned(),
                self.attempt(alert, planned).await,
            )
        });
        futures_util::future::join_all(deliveries)
            .await
            .into_iter()
            .collect()
    }

    /// Delivers `alert` to one `service:descriptor`, without recording anything.
    pub async fn deliver_output(&self, alert: &Alert, output: &str) -> Result<(), DispatchError> {
        let prepared = self.prepare(Arc::new(alert.clone()), [output.to_owned()]);
        match prepared.deliveries.first() {
            Some(planned) => self.attempt(&prepared.alert, planned).await,
            None => Err(DispatchError::new(ErrorKind::Config, "nothing to deliver")),
        }
    }

    /// Starts a run: submit alerts to it, then [`Run::finish`] waits for their deliveries.
    pub fn start_run(&self) -> Run {
        Run::new(self.clone(), run::QUEUE)
    }

    /// Records new alerts and delivers them (the whole of `process` for a batch of alerts).
    /// A single alert is delivered in the calling task; a batch goes through a [`Run`].
    pub async fn process(&self, alerts: Vec<Alert>) -> Result<RunReport, ProcessorError> {
        let mut run = self.start_run();
        if alerts.len() == 1 {
            let recorded = run.record(alerts, None).await?;
            run.deliver_here(recorded).await;
        } else {
            run.submit(alerts).await?;
        }
        Ok(run.finish().await)
    }

    /// One pass over the ledger: checks interrupted deliveries at their destination, sends
    /// every output not yet sent, then merges the alerts of merging rules whose window has
    /// passed and delivers the merged alerts. [`retry_pass`](Processor::retry_pass) also says
    /// which alerts were left to another processor.
    pub async fn retry(&self) -> Result<RunReport, ProcessorError> {
        self.retry_pass().await.map(|report| report.run)
    }

    /// [`retry`](Processor::retry), reporting the alerts it skipped. An alert whose claim is
    /// contended (another processor is delivering it, [`Claim::Contended`]) is skipped and
    /// logged with its id and rule; an alert whose attempt the ledger cannot record is skipped
    /// and counted in `ledger_errors`. Either way its deliveries stay pending and the other
    /// alerts go on. Fails only when the ledger cannot be read at all, or a merge cannot be
    /// recorded.
    pub async fn retry_pass(&self) -> Result<RetryReport, ProcessorError> {
        let ledger = self.ledger.clone().ok_or(ProcessorError::NoLedger)?;
        let now = Timestamp::now();
        // A claimed alert is leased: claim one ahead of the deliveries, not a queue's worth.
        let mut run = Run::new(self.clone(), 1);
        let mut candidates: BTreeMap<String, Vec<Alert>> = BTreeMap::new();
        let mut skipped = RetryReport::default();
        // One page of open alerts in memory at a time; merge candidates (alerts of merging
        // rules with nothing left to send) are kept across pages to be grouped.
        let mut after = None;
        loop {
            let page = ledger.open_alerts_page(after.take(), RETRY_PAGE).await?;
            self.retry_page(
                &ledger,
                page.entries,
                now,
                &mut run,
                &mut candidates,
                &mut skipped,
            )
            .await;
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }

        for (rule, alerts) in candidates {
            for group in merge_groups(&alerts, now) {
                if self.out_of_time() {
                    skipped.deferred += group.len() as u64;
                    continue;
                }
                let Some(mut merged) = Alert::merge(group.iter().map(|&i| &alerts[i])) else {
                    continue;
                };
                merged.attempts = 1;
                merged.dispatched = now;
                let originals: Vec<AlertKey> =
                    group.iter().map(|&i| AlertKey::of(&alerts[i])).collect();
                tracing::info!(
                    rule = %rule,
                    merged = %merged.alert_id,
                    alerts = originals.len(),
                    "merging alerts"
                );
                let merged = Arc::new(merged);
                let prepared = self.prepare(Arc::clone(&merged), merged.remaining_outputs());
                let intents = prepared.intents();
                ledger
                    .record_merge(
                        originals.clone(),
                        NewAlert {
                            alert: merged,
                            intents,
                        },
                    )
                    .await?;
                Counters::add(&run.counters.merged, originals.len() as u64);
                Counters::add(&run.counters.alerts, 1);
                run.spawn(prepared).await;
            }
        }
        let run = run.finish().await;
        let quarantined = ledger.quarantined().await?;
        for alert in &quarantined {
            tracing::error!(
                alert_id = %alert.key.alert_id,
                rule = %alert.key.rule_name,
                reason = %alert.reason,
                "quarantined: the ledger cannot read this alert back; it is not retried"
            );
        }
        Ok(RetryReport {
            run,
            quarantined,
            ..skipped
        })
    }

    /// Retries one page of open alerts: checks their interrupted deliveries at the destination,
    /// then claims and starts the deliveries of each (none once out of time: `deferred`);
    /// keeps the merge candidates, and notes in `skipped` the alerts left alone.
    async fn retry_page(
        &self,
        ledger: &Arc<dyn Ledger>,
        open: Vec<LedgerEntry>,
        now: Timestamp,
        run: &mut Run,
        candidates: &mut BTreeMap<String, Vec<Alert>>,
        skipped: &mut RetryReport,
    ) {
        // Each alert to send with its delivery records (the alert itself moves into its plan).
        let mut pending: Vec<(Vec<DeliveryRecord>, Prepared)> = Vec::new();
        for entry in open {
            let to_send = entry.to_retry();
            if to_send.is_empty() {
                if entry.alert.merge_enabled() {
                    candidates
                        .entry(entry.alert.rule_name.clone())
                        .or_default()
                        .push(entry.alert);
                }
                continue;
            }
            let LedgerEntry {
                alert, deliveries, ..
            } = entry;
            let mut prepared = self.prepare(Arc::new(alert), to_send);
            prepared.attempts = deliveries
                .iter()
                .map(|d| (d.output.clone(), d.attempts))
                .collect();
            pending.push((deliveries, prepared));
        }

        self.reconcile(ledger, &mut pending, &run.counters).await;

        for (_, prepared) in pending {
            if prepared.deliveries.is_empty() {
                continue;
            }
            if self.out_of_time() {
                skipped.deferred += 1;
                continue;
            }
            let key = prepared.key.clone();
            match ledger
                .begin_attempt(key.clone(), now, prepared.intents())
                .await
            {
                Ok(Claim::Granted) => {
                    Counters::add(&run.counters.alerts, 1);
                    run.spawn(prepared).await;
                }
                Ok(Claim::Contended { output, reason }) => {
                    warn_contended(
                        &key,
                        output.as_deref(),
                        &reason,
                        "skipped, its deliveries stay pending",
                    );
                    skipped.contended.push(key);
                }
                Err(error) => {
                    Counters::add(&run.counters.ledger_errors, 1);
                    tracing::error!(
                        alert_id = %key.alert_id,
                        rule = %key.rule_name,
                        %error,
                        "cannot record a delivery pass of this alert; skipped, its deliveries stay pending"
                    );
                }
            }
        }
    }

    /// Plans the deliveries of `alert` to `outputs`: resolves each output and runs its publisher
    /// chain on the alert without its normalization record (StreamAlert's alert processor
    /// removes it too). The key is removed in place when `alert` is the caller's alone (a
    /// recorded alert the ledger let go of), else from a copy; an alert without one is shared
    /// as it is.
    fn prepare(&self, alert: Arc<Alert>, outputs: impl IntoIterator<Item = String>) -> Prepared {
        let outputs = outputs.into_iter().map(|output| self.resolved(output));
        self.prepare_resolved(alert, outputs)
    }

    /// [`prepare`](Self::prepare) with each output already resolved.
    fn prepare_resolved(
        &self,
        alert: Arc<Alert>,
        outputs: impl IntoIterator<Item = Resolved>,
    ) -> Prepared {
        let alert = if alert.record.get(NORMALIZATION_KEY).is_some() {
            let mut alert = Arc::unwrap_or_clone(alert);
            if let Some(record) = Arc::make_mut(&mut alert.record).as_object_mut() {
                record.shift_remove(NORMALIZATION_KEY);
            }
            Arc::new(alert)
        } else {
            alert
        };
        let deliveries = outputs
            .into_iter()
            .map(|(output, target)| self.plan(&alert, output, target))
            .collect();
        Prepared {
            key: AlertKey::of(&alert),
            alert,
            deliveries,
            attempts: BTreeMap::new(),
        }
    }

    /// Records `alerts` (each with the outputs to send) in the ledger, with `checkpoint` when
    /// given, in one write, and plans their deliveries. An alert is planned before it is
    /// recorded when one of its outputs has a probe (its intent is its publication's
    /// fingerprint), else after: the ledger has let go of it by then, so preparing it edits it
    /// in place instead of copying its record.
    async fn record_and_plan(
        &self,
        alerts: Vec<(Alert, BTreeSet<String>)>,
        checkpoint: Option<InputCheckpoint>,
    ) -> Result<Vec<Prepared>, LedgerError> {
        enum Plan {
            Prepared(Prepared),
            AfterRecording(Arc<Alert>, Vec<Resolved>),
        }
        let mut plans = Vec::with_capacity(alerts.len());
        let mut records = Vec::with_capacity(alerts.len());
        for (alert, to_send) in alerts {
            let alert = Arc::new(alert);
            let outputs: Vec<Resolved> = to_send
                .into_iter()
                .map(|output| self.resolved(output))
                .collect();
            let (intents, plan) = match unprobed_intents(&outputs, &self.probes) {
                Some(intents) => (intents, Plan::AfterRecording(Arc::clone(&alert), outputs)),
                None => {
                    let prepared = self.prepare_resolved(Arc::clone(&alert), outputs);
                    (prepared.intents(), Plan::Prepared(prepared))
                }
            };
            records.push(NewAlert { intents, alert });
            plans.push(plan);
        }
        match (&self.ledger, checkpoint) {
            (Some(ledger), Some(checkpoint)) => {
                ledger.record_alerts_at(records, checkpoint).await?
            }
            (Some(ledger), None) => ledger.record_alerts(records).await?,
            (None, _) => drop(records),
        }
        let plans = plans.into_iter().map(|plan| match plan {
            Plan::Prepared(prepared) => prepared,
            Plan::AfterRecording(alert, outputs) => self.prepare_resolved(alert, outputs),
        });
        Ok(plans.collect())
    }

    /// `output` with what it resolves to.
    fn resolved(&self, output: String) -> Resolved {
        let target = self.resolve(&output);
        (output, target)
    }

    fn plan(&self, alert: &Alert, output: String, target: Result<Target, ResolveError>) -> Planned {
        let target = match target {
            Ok(target) => target,
            Err(error) => return Planned::Unresolved { output, error },
        };
        let publication =
            match Chain::for_output(&alert.publishers, &target.service, &target.descriptor)
                .publish(alert)
            {
                Ok(publication) => publication,
                Err(e) => {
                    let error = DispatchError::new(ErrorKind::Publish, e.to_string());
                    return Planned::Failed { output, error };
                }
            };
        // Only a destination that can be asked (a probe: the `file` output) is looked up by
        // the publication's bytes; for the others only the intent's presence matters.
        let (fingerprint, identifies_alert) = if self.probes.contains_key(&target.service) {
            let bytes = serde_json::to_vec(&publication).unwrap_or_default();
            let identifies_alert =
                memchr_str(&bytes, alert.alert_id.as_bytes()) && !alert.alert_id.is_empty();
            (Fingerprint::of(&bytes), identifies_alert)
        } else {
            (UNPROBED_INTENT, false)
        };
        Planned::Ready {
            target,
            fingerprint,
            publication,
            identifies_alert,
        }
    }

    /// Sends one planned delivery: credentials, then, within the dispatch timeout, a token of
    /// the destination's [pace](crate::output::pacing) and the output's dispatch, with panics
    /// caught. Logs StreamAlert's ERROR lines for an output that is not configured
    /// and for credentials that no store has, once per attempt.
    async fn attempt(&self, alert: &Alert, planned: &Planned) -> Result<(), DispatchError> {
        let (target, publication) = match planned {
            Planned::Unresolved { output, error } => {
                if let ResolveError::NotConfigured(_) = error {
                    tracing::error!("The output '{output}' does not exist!");
                }
                return Err(error.clone().into());
            }
            Planned::Failed { error, .. } => return Err(error.clone()),
            Planned::Ready {
                target,
                publication,
                ..
            } => (target, publication),
        };
        let credentials = self.credentials_of(target).await?;
        let delivery = Delivery::new(alert, &target.descriptor, publication)
            .with_credentials(&credentials)
            .with_setting(target.setting.as_deref())
            .with_synchronous(self.settings.ledger.synchronous);
        let configured = self.settings.dispatch_timeout();
        let (timeout, cut) = match self.time_left() {
            Some(left) if left < configured => (left, true),
            _ => (configured, false),
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let bucket = self.pacing.bucket(&target.service, &target.output);
        let paced = async {
            let grant = bucket
                .acquire(deadline)
                .await
                .map_err(|paced| paced.into_error(&target.output))?;
            let dispatch = AssertUnwindSafe(target.instance.dispatch(&delivery)).catch_unwind();
            match pacing::scope(Arc::clone(&bucket), grant, deadline, dispatch).await {
                Err(panic) => Err(DispatchError::new(
                    ErrorKind::Panicked,
                    crate::text::panic_message(&*panic),
                )),
                Ok(result) => result,
            }
        };
        match tokio::time::timeout_at(deadline, paced).await {
            Err(_) if cut => Err(DispatchError::new(
                ErrorKind::Timeout,
                format!(
                    "no result before the deadline (deliveries end {} s before it, to record them)",
                    DEADLINE_MARGIN.as_secs()
                ),
            )),
            Err(_) => Err(DispatchError::new(
                ErrorKind::Timeout,
                format!(
                    "no result within {} s (dispatch_timeout_secs)",
                    self.settings.dispatch_timeout_secs
                ),
            )),
            Ok(result) => result,
        }
    }

    /// The stored credentials of `target` (none: empty). Nothing stored for an output with
    /// secret properties, or a store failure, is logged as StreamAlert logs it.
    async fn credentials_of(&self, target: &Target) -> Result<Credentials, DispatchError> {
        let found = self
            .credentials
            .credentials(&target.service, &target.descriptor)
            .await;
        let failed = || {
            format!(
                "All drivers failed to retrieve credentials for [{}.{}]",
                target.service, target.descriptor
            )
        };
        match found {
            Ok(Some(credentials)) => Ok(credentials),
            Ok(None) => {
                if target.instance.properties().iter().any(|p| p.secret) {
                    tracing::error!("{}", failed());
                }
                Ok(Credentials::default())
            }
            Err(error) => {
                tracing::error!(%error, "{}", failed());
                Err(DispatchError::new(
                    ErrorKind::Credentials,
                    error.to_string(),
                ))
            }
        }
    }

    /// Delivers one prepared alert's outputs concurrently and records each outcome.
    async fn deliver_prepared(
        &self,
        prepared: Prepared,
        counters: &Counters,
    ) -> BTreeMap<String, bool> {
        let Prepared {
            alert,
            key,
            deliveries,
            attempts,
        } = prepared;
        let span = tracing::info_span!("alert", alert_id = %key.alert_id, rule = %key.rule_name);
        let alert = &alert;
        let key = &key;
        let attempts = &attempts;
        async move {
            let deliveries = deliveries.iter().map(|planned| {
                let output = planned.output();
                let span = tracing::info_span!("delivery", output = %output);
                async move {
                    let started = std::time::Instant::now();
                    let result = self.attempt(alert, planned).await;
                    let latency = started.elapsed();
                    if result.is_ok() {
                        let service = OutputRef::parse(output).ok().map(|o| o.service);
                        crate::fault::reached(crate::fault::Point::AfterSent, service);
                    }
                    let before = attempts.get(output).copied().unwrap_or(0);
                    counters.attempted(output, latency, result.is_ok(), before > 0);
                    self.record(key, output, before, &result, counters).await;
                    (output.to_owned(), result.is_ok())
                }
                .instrument(span)
            });
            futures_util::future::join_all(deliveries)
                .await
                .into_iter()
                .collect()
        }
        .instrument(span)
        .await
    }

    /// Records the outcome of one attempt at `output`, the ledger having counted `before`
    /// attempts: a failure is given up (`dead`) when it is permanent or the last of the
    /// service's `max_attempts` (never for want of a token, [`ErrorKind::Paced`]).
    async fn record(
        &self,
        key: &AlertKey,
        output: &str,
        before: u32,
        result: &Result<(), DispatchError>,
        counters: &Counters,
    ) {
        let outcome = match result {
            Ok(()) => {
                Counters::add(&counters.sent, 1);
                tracing::debug!("delivered");
                Outcome::Sent
            }
            Err(error) => {
                Counters::add(&counters.failed, 1);
                let service = OutputRef::parse(output).map_or(output, |o| o.service);
                let max_attempts = self.settings.max_attempts_for(service);
                let attempts = before.saturating_add(1);
                if error.is_permanent() {
                    Counters::add(&counters.dead, 1);
                    counters.given_up(output);
                    tracing::error!(%error, "delivery failed permanently; given up (dead), `ledger replay` sends it again");
                    Outcome::Dead(error.to_string())
                } else if attempts >= max_attempts && error.kind() != ErrorKind::Paced {
                    Counters::add(&counters.dead, 1);
                    counters.given_up(output);
                    tracing::error!(%error, attempts, "delivery failed {max_attempts} times (max_attempts); given up (dead), `ledger replay` sends it again");
                    Outcome::Dead(error.to_string())
                } else {
                    tracing::warn!(%error, attempts, "delivery failed; it stays pending for `retry`");
                    Outcome::Failed(error.to_string())
                }
            }
        };
        let Some(ledger) = &self.ledger else {
            return;
        };
        if let Err(error) = ledger
            .record_outcome(key.clone(), output.to_owned(), outcome)
            .await
        {
            Counters::add(&counters.ledger_errors, 1);
            tracing::error!(%error, "cannot record the delivery in the ledger");
        }
    }

    /// Finds interrupted deliveries (an intent left in the ledger) that arrived anyway, records
    /// them as sent and drops them from the plan.
    async fn reconcile(
        &self,
        ledger: &Arc<dyn Ledger>,
        pending: &mut [(Vec<DeliveryRecord>, Prepared)],
        counters: &Counters,
    ) {
        // output -> fingerprint -> (index in `pending`)
        let mut doubts: BTreeMap<String, HashMap<Fingerprint, Vec<usize>>> = BTreeMap::new();
        let mut unprobed: BTreeMap<String, usize> = BTreeMap::new();
        for (index, (deliveries, prepared)) in pending.iter().enumerate() {
            for planned in &prepared.deliveries {
                let Planned::Ready {
                    target,
                    identifies_alert,
                    ..
                } = planned
                else {
                    continue;
                };
                let recorded = deliveries.iter().find(|d| d.output == target.output);
                let Some(intent) = recorded.and_then(|d| d.intent) else {
                    continue;
                };
                // The intent is the fingerprint of the bytes the interrupted attempt sent, which
                // is what the destination holds: the publication made again from the ledger's
                // copy of the alert may differ in form (`1.50` read back as `1.5`).
                if *identifies_alert && self.probes.contains_key(&target.service) {
                    doubts
                        .entry(target.output.clone())
                        .or_default()
                        .entry(intent)
                        .or_default()
                        .push(index);
                } else {
                    *unprobed.entry(target.output.clone()).or_default() += 1;
                }
            }
        }
        for (output, count) in unprobed {
            tracing::warn!(
                output = %output,
                count,
                "deliveries interrupted by the end of an earlier run cannot be checked at their destination; sending them again"
            );
        }
        for (output, by_fingerprint) in doubts {
            // Only resolved (so well-formed) outputs have doubts.
            let Ok(parsed) = OutputRef::parse(&output) else {
                continue;
            };
            let Some(probe) = self.probes.get(parsed.service) else {
                continue;
            };
            let setting = self
                .config
                .setting(parsed.service, parsed.descriptor)
                .ok()
                .flatten();
            let wanted: BTreeSet<Fingerprint> = by_fingerprint.keys().copied().collect();
            let found = match probe
                .delivered(ProbeTarget::new(&output, setting), &wanted)
                .await
            {
                Ok(found) => found,
                Err(error) => {
                    tracing::warn!(output = %output, %error, "cannot check interrupted deliveries; sending them again");
                    continue;
                }
            };
            for fingerprint in found {
                // A fingerprint shared by several alerts proves nothing about each of them.
                let Some([index]) = by_fingerprint.get(&fingerprint).map(Vec::as_slice) else {
                    continue;
                };
                let (_, prepared) = &mut pending[*index];
                let key = prepared.key.clone();
                match ledger
                    .record_outcome(key.clone(), output.clone(), Outcome::Sent)
                    .await
                {
                    Ok(()) => {
                        Counters::add(&counters.reconciled, 1);
                        tracing::info!(alert_id = %key.alert_id, output = %output, "an interrupted delivery had arrived; recorded as sent");
                        prepared.deliveries.retain(|p| p.output() != output);
                    }
                    Err(error) => {
                        Counters::add(&counters.ledger_errors, 1);
                        tracing::error!(%error, "cannot record the delivery in the ledger");
                    }
                }
            }
        }
    }
}

/// `ledger` for work under `deadline`: its claims held until [`LEASE_MARGIN`] after it.
fn leased(ledger: Arc<dyn Ledger>, deadline: Option<SystemTime>) -> Arc<dyn Ledger> {
    match deadline {
        Some(deadline) => ledger
            .leased_until(deadline.checked_add(LEASE_MARGIN).unwrap_or(deadline))
            .unwrap_or(ledger),
        None => ledger,
    }
}

/// Logs that another processor holds `key`'s alert (`output`, when the ledger knows which),
/// and what this processor does about it.
fn warn_contended(key: &AlertKey, output: Option<&str>, reason: &str, consequence: &str) {
    tracing::warn!(
        alert_id = %key.alert_id,
        rule = %key.rule_name,
        output = output.unwrap_or("(not known)"),
        %reason,
        "another processor is delivering this alert; {consequence}"
    );
}

/// True when `needle` occurs in `haystack`.
fn memchr_str(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Adds StreamAlert's required output to a local configuration, and says which outputs every
/// alert must get.
///
/// StreamAlert always sends every alert to `aws-firehose:alerts` (the delivery stream named
/// `<prefix>_streamalert_alert_delivery`, with the prefix from `STREAMALERT_PREFIX`). Here:
/// with a prefix, that output is configured (overwriting an `alerts` entry, as StreamAlert does)
/// and required; without one, it is required only when `outputs.json` configures it; otherwise
/// no output is required, so a local configuration with only `file` and `stdout` works.
///
/// ```
/// use streamalert::{config::OutputsConfig, processor::required_outputs};
/// let mut local = OutputsConfig::from_json(r#"{"file": {"alerts": "a.jsonl"}}"#).unwrap();
/// assert!(required_outputs(&mut local, None).is_empty());
///
/// let mut deployed = local.clone();
/// assert_eq!(required_outputs(&mut deployed, Some("acme")), ["aws-firehose:alerts"]);
/// assert_eq!(deployed.setting("aws-firehose", "alerts").unwrap(), Some("acme_streamalert_alert_delivery"));
/// ```
pub fn required_outputs(config: &mut OutputsConfig, prefix: Option<&str>) -> Vec<String> {
    let Ok(required) = OutputRef::parse(REQUIRED_OUTPUT) else {
        return Vec::new();
    };
    if let Some(prefix) = prefix.filter(|p| !p.is_empty()) {
        config.insert(
            required.service,
            required.descriptor,
            Some(format!("{prefix}_streamalert_alert_delivery")),
        );
    }
    if config.contains(REQUIRED_OUTPUT) {
        vec![REQUIRED_OUTPUT.to_owned()]
    } else {
        Vec::new()
    }
}
