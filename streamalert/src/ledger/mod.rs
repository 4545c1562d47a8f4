//! The delivery ledger: which alerts exist and, for each of their outputs, whether it was sent.
//!
//! Every alert the processor handles is recorded before anything is sent, with one row per
//! output to deliver: `pending`, `sent`, `failed` with the last error and the attempt count, or
//! `dead`: given up after a permanent error or `max_attempts` (a dead letter, kept with its last
//! error until `ledger replay` makes it pending again).
//! An output is marked `sent` the moment its delivery succeeds, in its own transaction, and a
//! sent output is never sent again (StreamAlert's `OutputsSent`, kept as a union across passes:
//! `outputs.md` Decision Q3). An alert is complete when all its outputs are sent (and, for a
//! merging rule, once it has been merged).
//!
//! An alert whose stored item cannot be read back is *quarantined* with the reason (see
//! [`QuarantinedAlert`]): retry passes skip it, so it never blocks another alert.
//!
//! Before an attempt the processor records an *intent*: for an output whose destination can be
//! asked (the `file` output), the [`Fingerprint`] of the publication it is about to send; for
//! the others a constant ([`UNPROBED_INTENT`](crate::processor::UNPROBED_INTENT)). An intent
//! that is still there when the next run starts means the process stopped during that
//! delivery; the processor then asks the output's destination, where it can, whether the
//! publication arrived, and sends it only if not (elsewhere it sends it again).
//!
//! `process` records, with the alerts of each chunk of an input file, how far it read that file
//! (an [`InputCheckpoint`]), so that running it again on the file resumes there.
//!
//! [`Ledger`] is the interface; [`SqliteLedger`] is the embedded default (one SQLite file in
//! WAL mode). The operations map onto StreamAlert's DynamoDB alerts table (key `RuleName` +
//! `AlertID`, `ADD OutputsSent`), so a DynamoDB ledger can implement the same trait.

mod checkpoint;
#[cfg(feature = "aws")]
pub mod dynamodb;
mod sqlite;

pub use checkpoint::{HEAD_BYTES, InputCheckpoint};

#[cfg(feature = "aws")]
pub use dynamodb::DynamoDbLedger;
pub use sqlite::SqliteLedger;

use crate::alert::{Alert, Timestamp};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// The key of an alert: StreamAlert's alerts-table key (`RuleName`, `AlertID`).
///
/// ```
/// use streamalert::{Alert, ledger::AlertKey};
/// let alert = Alert::new("root_login", serde_json::json!({}), ["file:alerts"]);
/// let key = AlertKey::of(&alert);
/// assert_eq!(key.rule_name, "root_login");
/// assert_eq!(key.to_string(), format!(r#"{{"RuleName": "root_login", "AlertID": "{}"}}"#, alert.alert_id));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AlertKey {
    /// The rule that raised the alert (the table's partition key).
    pub rule_name: String,
    /// The alert's id (the table's sort key).
    pub alert_id: String,
}

impl AlertKey {
    /// A key from its parts.
    pub fn new(rule_name: impl Into<String>, alert_id: impl Into<String>) -> Self {
        Self {
            rule_name: rule_name.into(),
            alert_id: alert_id.into(),
        }
    }

    /// The key of `alert`.
    pub fn of(alert: &Alert) -> Self {
        Self::new(alert.rule_name.clone(), alert.alert_id.clone())
    }
}

impl fmt::Display for AlertKey {
    /// The key as StreamAlert logs it: `{"RuleName": …, "AlertID": …}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            r#"{{"RuleName": {}, "AlertID": {}}}"#,
            serde_json::Value::from(self.rule_name.as_str()),
            serde_json::Value::from(self.alert_id.as_str())
        )
    }
}

/// The state of one output of one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeliveryState {
    /// Not attempted yet (or an attempt was interrupted).
    Pending,
    /// Delivered; never sent again.
    Sent,
    /// The last attempt failed; `retry` sends it again.
    Failed,
    /// Given up: a permanent error (the service refused it, the output is not configured) or
    /// `max_attempts` failed attempts. `retry` skips it; `ledger replay` makes it pending again.
    Dead,
}

impl DeliveryState {
    /// The state's name as stored: `pending`, `sent`, `failed` or `dead`.
    ///
    /// ```
    /// use streamalert::ledger::DeliveryState;
    /// assert_eq!(DeliveryState::Sent.as_str(), "sent");
    /// assert_eq!("failed".parse::<DeliveryState>(), Ok(DeliveryState::Failed));
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Dead => "dead",
        }
    }
}

impl std::str::FromStr for DeliveryState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(Self::Pending),
            "sent" => Ok(Self::Sent),
            "failed" => Ok(Self::Failed),
            "dead" => Ok(Self::Dead),
            other => Err(format!("unknown delivery state `{other}`")),
        }
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One output of one alert, as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// `service:descriptor`.
    pub output: String,
    /// Where the delivery stands.
    pub state: DeliveryState,
    /// Completed attempts (successful or not).
    pub attempts: u32,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// The fingerprint of an attempt that started and never finished (the process stopped).
    pub intent: Option<Fingerprint>,
    /// When the state last changed.
    pub updated: Option<Timestamp>,
}

/// Where an alert stands as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertStatus {
    /// Some output is still to send, or the alert waits to be merged.
    Open,
    /// Every output is sent.
    Complete,
    /// Merged into the alert with this id, which is delivered instead.
    Merged {
        /// The merged alert's id.
        into: String,
    },
}

/// An alert with its delivery records.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    /// The alert; its `outputs_sent` are the outputs recorded as sent, its `attempts` and
    /// `dispatched` the ledger's.
    pub alert: Alert,
    /// Open, complete or merged.
    pub status: AlertStatus,
    /// One record per output to deliver, sorted by output.
    pub deliveries: Vec<DeliveryRecord>,
}

impl LedgerEntry {
    /// The delivery records not yet sent (dead ones included).
    pub fn unsent(&self) -> impl Iterator<Item = &DeliveryRecord> {
        self.deliveries
            .iter()
            .filter(|d| d.state != DeliveryState::Sent)
    }

    /// The outputs a retry pass sends: the alert's remaining outputs except dead ones.
    ///
    /// ```
    /// use streamalert::{Alert, ledger::{AlertStatus, DeliveryRecord, DeliveryState, LedgerEntry}};
    /// let alert = Alert::new("r", serde_json::json!({}), ["file:a", "slack:b"]);
    /// let record = |output: &str, state| DeliveryRecord {
    ///     output: output.into(), state, attempts: 1, last_error: None, intent: None, updated: None,
    /// };
    /// let entry = LedgerEntry {
    ///     alert,
    ///     status: AlertStatus::Open,
    ///     deliveries: vec![record("file:a", DeliveryState::Failed), record("slack:b", DeliveryState::Dead)],
    /// };
    /// assert_eq!(entry.to_retry().into_iter().collect::<Vec<_>>(), ["file:a"]);
    /// ```
    pub fn to_retry(&self) -> std::collections::BTreeSet<String> {
        let mut outputs = self.alert.remaining_outputs();
        for dead in self
            .deliveries
            .iter()
            .filter(|d| d.state == DeliveryState::Dead)
        {
            outputs.remove(&dead.output);
        }
        outputs
    }

    /// The record of `output`.
    pub fn delivery(&self, output: &str) -> Option<&DeliveryRecord> {
        self.deliveries.iter().find(|d| d.output == output)
    }
}

/// An alert to record, with the fingerprints of the publications about to be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    /// The alert (shared with the deliveries about to send it). Its remaining outputs become
    /// `pending`, its `outputs_sent` become `sent`.
    pub alert: Arc<Alert>,
    /// Output → fingerprint of the publication an attempt is about to send.
    pub intents: BTreeMap<String, Fingerprint>,
}

/// The result of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered.
    Sent,
    /// Not delivered, with the reason; `retry` tries again.
    Failed(String),
    /// Not delivered and given up (a permanent error, or the last of `max_attempts`), with the
    /// reason: the delivery becomes [`DeliveryState::Dead`].
    Dead(String),
}

/// The ledger's answer to [`Ledger::begin_attempt`]: may this processor send the alert's
/// outputs now?
///
/// ```
/// use streamalert::ledger::Claim;
/// let contended = Claim::Contended {
///     output: Some("aws-firehose:alerts".into()),
///     reason: "another processor is sending it".into(),
/// };
/// assert!(Claim::Granted.is_granted());
/// assert!(!contended.is_granted());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a contended alert must not be sent"]
pub enum Claim {
    /// The attempt is recorded and its outputs are this processor's to send.
    Granted,
    /// Another processor is sending (or has just sent) one of the outputs: nothing was
    /// recorded, nothing of this alert may be sent now; its deliveries stay pending for a
    /// later pass.
    Contended {
        /// The output held by another processor, when the ledger knows which.
        output: Option<String>,
        /// Why the claim was refused.
        reason: String,
    },
}

impl Claim {
    /// True when the outputs may be sent.
    pub fn is_granted(&self) -> bool {
        matches!(self, Self::Granted)
    }
}

/// How many alerts and deliveries are in each state (merged alerts and their deliveries are
/// not counted as deliveries).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerCounts {
    /// Alerts with something left to do.
    pub open_alerts: u64,
    /// Alerts with every output sent.
    pub complete_alerts: u64,
    /// Alerts merged into another.
    pub merged_alerts: u64,
    /// Deliveries not attempted yet.
    pub pending: u64,
    /// Deliveries sent.
    pub sent: u64,
    /// Deliveries whose last attempt failed.
    pub failed: u64,
    /// Deliveries given up (dead letters).
    pub dead: u64,
    /// Alerts whose stored item cannot be read back.
    pub quarantined_alerts: u64,
}

impl LedgerCounts {
    /// Deliveries still to send: pending and failed (not dead).
    pub fn unsent(&self) -> u64 {
        self.pending + self.failed
    }
}

/// The ledger could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// Another processor holds the ledger and did not release it in time.
    #[error(
        "the ledger {path} is in use by another processor (waited {waited_secs} s; raise ledger.lock_timeout_secs in processor.json to wait longer)"
    )]
    Busy {
        /// The ledger file.
        path: PathBuf,
        /// How long this process waited.
        waited_secs: u64,
    },
    /// The database failed.
    #[error("ledger {path}: {source}")]
    Sqlite {
        /// The ledger file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The ledger holds something this version cannot read.
    #[error("ledger {path}: {message}")]
    Corrupt {
        /// The ledger file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An operation named an alert that is not in the ledger.
    #[error("alert {0} is not in the ledger")]
    UnknownAlert(AlertKey),
    /// The ledger's worker failed (a panic while holding the database).
    #[error("ledger worker failed: {0}")]
    Worker(String),
    /// [`Ledger::record_alerts`] met an alert already recorded whose outputs another processor
    /// is sending (or has just sent): nothing was recorded for it, and nothing of it may be sent
    /// by this processor now.
    #[error(
        "alert {key}: not claiming {}: {reason}; another processor is delivering it",
        .output.as_deref().unwrap_or("its outputs")
    )]
    Contended {
        /// The alert.
        key: AlertKey,
        /// The output held by another processor, when the ledger knows which.
        output: Option<String>,
        /// Why the claim was refused.
        reason: String,
    },
}

/// Where alerts and their per-output delivery state are kept.
///
/// Each method is one atomic change (but see
/// [`record_alerts_at`](Ledger::record_alerts_at) on DynamoDB). Implementations must make [`record_outcome`] with
/// [`Outcome::Sent`] durable before returning (the processor relies on it to never resend), and
/// must never turn a `sent` output back into anything else.
///
/// ```
/// use streamalert::ledger::{AlertKey, Ledger, NewAlert, Outcome, SqliteLedger};
/// use streamalert::{Alert, config::LedgerSettings};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let settings = LedgerSettings { path: dir.path().join("ledger.sqlite3"), ..Default::default() };
/// let ledger = SqliteLedger::open(&settings).unwrap();
///
/// let alert = Alert::new("r", serde_json::json!({}), ["file:a", "stdout:b"]);
/// let key = AlertKey::of(&alert);
/// ledger.record_alerts(vec![NewAlert { alert: alert.into(), intents: Default::default() }]).await.unwrap();
/// ledger.record_outcome(key.clone(), "file:a".into(), Outcome::Sent).await.unwrap();
/// ledger.record_outcome(key.clone(), "stdout:b".into(), Outcome::Failed("closed".into())).await.unwrap();
///
/// let entry = ledger.get(key).await.unwrap().unwrap();
/// assert_eq!(entry.alert.outputs_sent.iter().collect::<Vec<_>>(), ["file:a"]);
/// assert_eq!(entry.delivery("stdout:b").unwrap().last_error.as_deref(), Some("closed"));
/// # });
/// ```
///
/// [`record_outcome`]: Ledger::record_outcome
#[async_trait::async_trait]
pub trait Ledger: Send + Sync + 'static {
    /// Records alerts. A new alert gets a `pending` record per remaining output and a `sent`
    /// record per output in its `outputs_sent`. For an alert already recorded, outputs in its
    /// `outputs_sent` become `sent` (the union: nothing sent is forgotten), missing records are
    /// added and `attempts`/`dispatched` are updated. `intents` are stored on unsent records.
    /// Recording an existing alert claims its intents as [`begin_attempt`](Ledger::begin_attempt)
    /// does; when another processor holds one, the answer is [`LedgerError::Contended`].
    async fn record_alerts(&self, alerts: Vec<NewAlert>) -> Result<(), LedgerError>;

    /// Records alerts as [`record_alerts`](Ledger::record_alerts) does and, with them, how far
    /// their input was read (replacing the input's previous checkpoint), so that a rerun
    /// resumes after the records whose alerts are recorded. With no alerts only the checkpoint
    /// is recorded. The checkpoint must never stand without its alerts: SQLite records both in
    /// one transaction; DynamoDB writes the checkpoint once every alert is written (a crash in
    /// between leaves the previous checkpoint: those records are read, and alerted, again).
    async fn record_alerts_at(
        &self,
        alerts: Vec<NewAlert>,
        checkpoint: InputCheckpoint,
    ) -> Result<(), LedgerError>;

    /// The checkpoint recorded for `input` (an input file's canonical path), if any.
    async fn input_checkpoint(&self, input: String)
    -> Result<Option<InputCheckpoint>, LedgerError>;

    /// Starts a new delivery pass of a recorded alert: `attempts + 1`, `dispatched`, and the
    /// intents of the outputs about to be sent, all or nothing. [`Claim::Contended`] (nothing
    /// recorded) when one of those outputs was sent since it was read, or another processor
    /// holds it; an error only when the ledger cannot be read or written.
    async fn begin_attempt(
        &self,
        key: AlertKey,
        dispatched: Timestamp,
        intents: BTreeMap<String, Fingerprint>,
    ) -> Result<Claim, LedgerError>;

    /// Records the outcome of one delivery and clears its intent. A `sent` record stays sent.
    async fn record_outcome(
        &self,
        key: AlertKey,
        output: String,
        outcome: Outcome,
    ) -> Result<(), LedgerError>;

    /// The alert with this key, if recorded.
    async fn get(&self, key: AlertKey) -> Result<Option<LedgerEntry>, LedgerError>;

    /// Every open alert (something to send, or waiting to be merged), oldest first.
    async fn open_alerts(&self) -> Result<Vec<LedgerEntry>, LedgerError>;

    /// Records a merge at once: the merged alert (as [`record_alerts`](Ledger::record_alerts))
    /// and the originals marked as merged into it.
    async fn record_merge(
        &self,
        originals: Vec<AlertKey>,
        merged: NewAlert,
    ) -> Result<(), LedgerError>;

    /// How many alerts and deliveries are in each state.
    async fn counts(&self) -> Result<LedgerCounts, LedgerError>;

    /// The alerts set aside because their stored item cannot be read back, with the reason.
    /// A retry pass that meets such an alert quarantines it and goes on with the others.
    async fn quarantined(&self) -> Result<Vec<QuarantinedAlert>, LedgerError>;

    /// The counts, per output too, and the age of the oldest delivery still to send.
    async fn status(&self) -> Result<LedgerStatus, LedgerError>;

    /// The alerts (merged ones left out) with at least one delivery that `filter` selects,
    /// oldest first, each with all its deliveries.
    async fn list(&self, filter: DeliveryFilter) -> Result<Vec<LedgerEntry>, LedgerError>;

    /// The key of the alert with this id, if recorded (quarantined alerts included).
    async fn find(&self, alert_id: String) -> Result<Option<AlertKey>, LedgerError>;

    /// Makes the failed and dead deliveries of these alerts (only `output`'s, when given)
    /// pending again with no attempts counted, and a quarantined alert open again (the next
    /// pass reads it again). Sent deliveries never change. Returns how many deliveries and
    /// quarantined alerts changed; [`LedgerError::UnknownAlert`] (nothing changed) when a key is
    /// not recorded.
    async fn replay(&self, keys: Vec<AlertKey>, output: Option<String>)
    -> Result<u64, LedgerError>;

    /// Deletes the complete and merged alerts whose last delivery (or creation, without any)
    /// is older than `before`; open and quarantined alerts are never deleted. Returns how many
    /// alerts were deleted.
    async fn prune(&self, before: Timestamp) -> Result<u64, LedgerError>;

    /// At most `limit` of the alerts [`open_alerts`](Ledger::open_alerts) returns, after the
    /// page whose [`OpenPage::next`] is `after` (`None`: from the start), so that a retry pass
    /// holds one page in memory at a time. An alert that changes while the pages are read may
    /// be returned in none of them (the next pass gets it) but never in two.
    async fn open_alerts_page(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> Result<OpenPage, LedgerError>;

    /// This ledger for work that cannot run past `until` (a Lambda invocation's deadline), when
    /// its claims are leases: each claim it takes holds until `until` rather than for a fixed
    /// lease, so that another processor takes the work over once (and not before) it can no
    /// longer be running. `None` (the default) for a ledger whose claims are not leases (SQLite:
    /// the processor holding the ledger's lock holds its claims).
    ///
    /// ```
    /// use streamalert::{config::LedgerSettings, ledger::{Ledger, SqliteLedger}};
    /// let dir = tempfile::tempdir().unwrap();
    /// let settings = LedgerSettings { path: dir.path().join("ledger.sqlite3"), ..Default::default() };
    /// let ledger = SqliteLedger::open(&settings).unwrap();
    /// assert!(ledger.leased_until(std::time::SystemTime::now()).is_none());
    /// ```
    fn leased_until(&self, until: std::time::SystemTime) -> Option<std::sync::Arc<dyn Ledger>> {
        let _ = until;
        None
    }

    /// Per hour and state, how many deliveries (of alerts not merged) were last updated in that
    /// hour (a delivery never attempted counts at its alert's creation), from `since` on,
    /// oldest hour first: what the console's chart shows. The default reads every alert with
    /// [`list`](Ledger::list) (DynamoDB: a scan); SQLite counts in SQL.
    async fn activity(&self, since: Timestamp) -> Result<Vec<HourlyDeliveries>, LedgerError> {
        let mut hours: BTreeMap<(i64, DeliveryState), u64> = BTreeMap::new();
        for entry in self.list(DeliveryFilter::default()).await? {
            for delivery in &entry.deliveries {
                let at = delivery.updated.unwrap_or(entry.alert.created);
                if at >= since {
                    *hours
                        .entry((HourlyDeliveries::hour_of(at), delivery.state))
                        .or_default() += 1;
                }
            }
        }
        Ok(hours
            .into_iter()
            .map(|((hour, state), count)| HourlyDeliveries { hour, state, count })
            .collect())
    }
}

/// How many deliveries in one state were last updated in one hour ([`Ledger::activity`]).
///
/// ```
/// use streamalert::ledger::HourlyDeliveries;
/// let at = "2026-12-05T02:59:59.999999Z".parse().unwrap();
/// assert_eq!(HourlyDeliveries::hour_of(at) % 3600, 0);
/// assert_eq!(HourlyDeliveries::hour_of(at), 1_796_436_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourlyDeliveries {
    /// The hour's start, in seconds since the Unix epoch.
    pub hour: i64,
    /// The deliveries' state now.
    pub state: DeliveryState,
    /// How many.
    pub count: u64,
}

impl HourlyDeliveries {
    /// The start of the hour holding `at`, in seconds since the Unix epoch.
    pub fn hour_of(at: Timestamp) -> i64 {
        at.unix_seconds().div_euclid(3600) * 3600
    }
}

/// One page of open alerts ([`Ledger::open_alerts_page`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpenPage {
    /// The page's alerts.
    pub entries: Vec<LedgerEntry>,
    /// Where the next page starts (an opaque cursor); `None` after the last page.
    pub next: Option<String>,
}

/// An alert whose stored item cannot be read back (e.g. written by a version or a program
/// that stored something this one cannot parse), set aside so that it never blocks another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedAlert {
    /// The alert's key.
    pub key: AlertKey,
    /// Why its item cannot be read.
    pub reason: String,
}

/// Which deliveries [`Ledger::list`] selects; the default selects every delivery.
///
/// ```
/// use streamalert::ledger::{DeliveryFilter, DeliveryState};
/// let dead_slack = DeliveryFilter { state: Some(DeliveryState::Dead), output: Some("slack:ops".into()) };
/// assert!(dead_slack.selects("slack:ops", DeliveryState::Dead));
/// assert!(!dead_slack.selects("slack:ops", DeliveryState::Failed));
/// assert!(DeliveryFilter::default().selects("file:a", DeliveryState::Sent));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    /// Only deliveries in this state.
    pub state: Option<DeliveryState>,
    /// Only deliveries to this `service:descriptor`.
    pub output: Option<String>,
}

impl DeliveryFilter {
    /// True when a delivery to `output` in `state` is selected.
    pub fn selects(&self, output: &str, state: DeliveryState) -> bool {
        self.state.is_none_or(|s| s == state) && self.output.as_deref().is_none_or(|o| o == output)
    }
}

/// The ledger's state at a glance ([`Ledger::status`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerStatus {
    /// Alerts and deliveries by state.
    pub counts: LedgerCounts,
    /// Per output (`service:descriptor`), deliveries by state (merged alerts left out).
    pub by_output: BTreeMap<String, BTreeMap<DeliveryState, u64>>,
    /// The creation time of the oldest alert with a pending or failed delivery.
    pub oldest_unsent: Option<Timestamp>,
}

/// A 64-bit fingerprint (FNV-1a) of the bytes a delivery sends; stable across builds and
/// versions, shown as 16 hex digits.
///
/// ```
/// use streamalert::ledger::Fingerprint;
/// let fp = Fingerprint::of(b"{\"id\":1}");
/// assert_eq!(fp, Fingerprint::of(b"{\"id\":1}"));
/// assert_ne!(fp, Fingerprint::of(b"{\"id\":2}"));
/// assert_eq!(fp.to_string().parse::<Fingerprint>(), Ok(fp));
/// assert_eq!(Fingerprint::of(b"").to_string(), "cbf29ce484222325");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub u64);

impl Fingerprint {
    /// The fingerprint of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        Self(bytes.iter().fold(OFFSET, |hash, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(PRIME)
        }))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl std::str::FromStr for Fingerprint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        u64::from_str_radix(s, 16)
            .map(Self)
            .map_err(|e| format!("invalid fingerprint `{s}`: {e}"))
    }
}
