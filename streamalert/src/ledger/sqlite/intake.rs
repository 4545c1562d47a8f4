//! The intake log in front of the SQLite ledger: the two writes of every delivered alert
//! (recording it, recording each outcome) are appended to a file, one `write` each, and applied
//! to SQLite later by whoever holds the connection next, many in one transaction.
//!
//! An entry is durable once its `write` has returned: it is in the operating system's cache,
//! which a killed process cannot take back (the durability of SQLite's WAL under
//! `synchronous = "normal"`). The log is two files, each a header (what it is, and its
//! generation) followed by checksummed entries; entries are appended to one of them while the
//! other one waits to be reused. SQLite's `meta` table holds, in the same transaction as the
//! entries it applied, the generation and the offset they end at.
//!
//! Once the current file is longer than [`SWITCH_AFTER`] and every entry of the other one is
//! applied and flushed to disk by a WAL checkpoint, the other one is emptied and takes the next
//! generation; appends never wait for SQLite. Opening the ledger applies, oldest generation
//! first, what each file holds beyond what SQLite applied (a torn last entry, whose `write`
//! never returned, is dropped), flushes it to disk and empties both files, as closing it does.
//! A generation is never reused, so a crash between emptying a file and writing its header
//! loses nothing and applies nothing twice.

use super::super::{AlertKey, Fingerprint, InputCheckpoint, LedgerError, NewAlert, Outcome};
use crate::alert::Timestamp;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::ops::Range;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The first bytes of the file: what it is (8 bytes), then its generation (`u64`, little
/// endian).
const MAGIC: &[u8; 8] = b"SAINTAK1";
const HEADER_LEN: u64 = 16;
/// Bytes before each entry: its length (`u64`) and the CRC-32 of its bytes (`u32`).
const FRAME_LEN: usize = 12;
/// A file longer than this hands over to the other one (in the unit tests after a few
/// entries, so that every ledger test also goes through switches).
const SWITCH_AFTER: u64 = if cfg!(test) { 4 << 10 } else { 16 << 20 };
/// Bytes of entries appended and not yet applied before an append waits for the applier.
const BACKLOG_BYTES: usize = 8 << 20;
/// Bytes queued below which the applier may wait for more to gather ([`Intake::gathering`]).
pub(super) const GATHER_BELOW: usize = 1 << 20;
/// Deliveries remembered as recorded through the log (for [`Intake::take_known`]; a few in
/// the unit tests, so that they go past it).
const KNOWN_MAX: usize = if cfg!(test) { 64 } else { 1 << 16 };

/// The `meta` key of the applied generation and offset, stored as `GENERATION:OFFSET`.
pub(super) const APPLIED_KEY: &str = "intake_applied";

/// The log's name in errors: the ledger's, followed by `-intake`.
pub(super) fn log_path(ledger: &Path) -> PathBuf {
    let mut name = ledger.file_name().unwrap_or_default().to_owned();
    name.push("-intake");
    ledger.with_file_name(name)
}

/// The two files beside the ledger that hold its intake log: `LEDGER-intake.0` and `.1`.
pub(super) fn log_files(ledger: &Path) -> [PathBuf; 2] {
    ["0", "1"].map(|n| {
        let mut name = log_path(ledger).into_os_string();
        name.push(".");
        name.push(n);
        PathBuf::from(name)
    })
}

/// One write the log holds.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Entry {
    /// [`Ledger::record_alerts`](super::super::Ledger::record_alerts), or
    /// [`record_alerts_at`](super::super::Ledger::record_alerts_at) with its checkpoint.
    Alerts {
        alerts: Vec<AlertWrite>,
        checkpoint: Option<InputCheckpoint>,
    },
    /// [`Ledger::record_outcome`](super::super::Ledger::record_outcome) of a delivery known to
    /// be recorded, at `at`.
    Outcome {
        alert_id: String,
        output: String,
        outcome: Outcome,
        at: String,
    },
}

/// What recording one alert writes: its row, its item and its deliveries.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct AlertWrite {
    pub(super) alert_id: String,
    pub(super) rule_name: String,
    pub(super) created: String,
    pub(super) merge_enabled: bool,
    pub(super) attempts: u32,
    pub(super) dispatched: String,
    /// The alert as StreamAlert's alerts table stores it, as JSON.
    pub(super) item: Item,
    pub(super) sent: BTreeSet<String>,
    pub(super) remaining: BTreeSet<String>,
    pub(super) intents: BTreeMap<String, Fingerprint>,
    /// When it is recorded.
    pub(super) at: String,
}

impl AlertWrite {
    /// What recording `new` now writes.
    pub(super) fn of(new: &NewAlert) -> Self {
        let alert = &new.alert;
        Self {
            alert_id: alert.alert_id.clone(),
            rule_name: alert.rule_name.clone(),
            created: alert.created.to_string(),
            merge_enabled: alert.merge_enabled(),
            attempts: alert.attempts,
            dispatched: alert.dispatched.to_string(),
            item: Item::Text(alert.ledger_item_json()),
            sent: alert.outputs_sent.clone(),
            remaining: alert.remaining_outputs(),
            intents: new.intents.clone(),
            at: Timestamp::now().to_string(),
        }
    }
}

/// An alert's item, as JSON: in memory, or in the log once its entry is appended.
///
/// Most alerts delivered through the log are complete by the time it is applied and are
/// written as tombstones, which keep no item; so an appended entry does not hold its items in
/// memory while it waits to be applied (a few MiB at high rates), and the applier reads back
/// only the items it writes.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Item {
    /// The item's text: not appended yet, or read from the log when the ledger opens.
    Text(String),
    /// Appended: the `len` bytes at `offset` of the log's file that holds the entry.
    Logged { offset: u64, len: usize },
}

impl Item {
    /// The item's text: its own, or read from `log`, the file of the log that holds it.
    pub(super) fn read(&self, log: Option<&File>) -> std::io::Result<Cow<'_, str>> {
        let (offset, len) = match self {
            Self::Text(text) => return Ok(Cow::Borrowed(text)),
            Self::Logged { offset, len } => (*offset, *len),
        };
        let log = log.ok_or_else(|| {
            std::io::Error::other("the item was appended to the log, and no file of it is at hand")
        })?;
        let mut bytes = vec![0; len];
        log.read_exact_at(&mut bytes, offset)?;
        String::from_utf8(bytes)
            .map(Cow::Owned)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }
}

/// The log of one open ledger: appended to by callers, applied by whoever holds the
/// connection.
pub(super) struct Intake {
    path: PathBuf,
    state: Mutex<State>,
    /// Bytes that may still be appended before the applier catches up.
    backlog: tokio::sync::Semaphore,
    /// Whether the applier has been woken for what is queued.
    woken: AtomicBool,
}

struct State {
    /// The two files; entries are appended to `files[current]`. Shared with the batches taken
    /// from them, which read their items back.
    files: [Arc<File>; 2],
    current: usize,
    /// The generation of the current file, and its length.
    generation: u64,
    len: u64,
    /// Whether every entry of the other file is applied and on disk in SQLite, so that it may
    /// be emptied to take the next generation.
    other_free: bool,
    /// Appended and not applied, oldest first.
    queue: Vec<Queued>,
    /// Deliveries (alert id, output) recorded through the log and given no outcome yet: an
    /// outcome for one of them needs no look-up to know it is recorded.
    known: HashSet<(String, String)>,
    /// Why the log can no longer be appended to, after a write that failed half-way could not
    /// be undone.
    broken: Option<String>,
}

/// An entry appended and not applied: its generation, where it ends, and the backlog bytes it
/// holds.
struct Queued {
    entry: Entry,
    generation: u64,
    end: u64,
    bytes: usize,
}

/// Entries of one generation taken from the queue to be applied, up to `end`.
pub(super) struct Batch {
    pub(super) entries: Vec<Entry>,
    pub(super) generation: u64,
    pub(super) end: u64,
    /// Whether they are the last entries of their generation (the log moved on to the next
    /// one): once they are applied and on disk, their file may be emptied.
    pub(super) closes: bool,
    queued: Vec<(u64, usize)>,
    /// The file that holds the entries, for the items they no longer hold (none for entries
    /// read when the ledger opens, which hold theirs).
    log: Option<Arc<File>>,
}

impl Batch {
    fn of(queued: Vec<Queued>, closes: bool, log: Option<Arc<File>>) -> Self {
        let last = queued.last();
        let (generation, end) = last.map_or((0, 0), |q| (q.generation, q.end));
        let (entries, queued) = queued
            .into_iter()
            .map(|q| (q.entry, (q.end, q.bytes)))
            .unzip();
        Self {
            entries,
            generation,
            end,
            closes,
            queued,
            log,
        }
    }

    /// The file of the log that holds these entries, from which their items are read back
    /// ([`Item::read`]).
    pub(super) fn log(&self) -> Option<&File> {
        self.log.as_deref()
    }

    /// `entries` as one batch (of generation 0), for tests that apply entries themselves.
    #[cfg(test)]
    pub(super) fn of_entries(entries: Vec<Entry>) -> Self {
        let queued = entries.into_iter().map(|entry| Queued {
            entry,
            generation: 0,
            end: 0,
            bytes: 0,
        });
        Self::of(queued.collect(), false, None)
    }

    /// The alerts recorded once in this batch that its own outcomes complete: merging off,
    /// and, after the recording, exactly one `Sent` for each output left to send and no other
    /// outcome. Applied in one transaction, such an alert is written as the tombstone it ends
    /// as, its outcomes with it.
    pub(super) fn completed_within(&self) -> HashMap<&str, Completion<'_>> {
        // Per alert recorded in the batch: its write (none once recorded twice, whose writes
        // are left as they are) and the outcomes that follow it.
        type Outcomes<'a> = Vec<(&'a str, &'a Outcome, &'a str)>;
        let mut recorded: HashMap<&str, (Option<&AlertWrite>, Outcomes<'_>)> = HashMap::new();
        for entry in &self.entries {
            match entry {
                Entry::Alerts { alerts, .. } => {
                    for alert in alerts {
                        recorded
                            .entry(&alert.alert_id)
                            .and_modify(|(once, _)| *once = None)
                            .or_insert((Some(alert), Vec::new()));
                    }
                }
                Entry::Outcome {
                    alert_id,
                    output,
                    outcome,
                    at,
                } => {
                    if let Some((_, outcomes)) = recorded.get_mut(alert_id.as_str()) {
                        outcomes.push((output, outcome, at));
                    }
                }
            }
        }
        recorded
            .into_iter()
            .filter_map(|(id, (once, outcomes))| Some((id, completion(once?, &outcomes)?)))
            .collect()
    }
}

/// The completion of `alert` by `outcomes`, the outcomes that follow its recording in a batch:
/// exactly one `Sent` for each output left to send, merging off.
fn completion<'a>(
    alert: &AlertWrite,
    outcomes: &[(&'a str, &'a Outcome, &'a str)],
) -> Option<Completion<'a>> {
    if alert.merge_enabled || outcomes.len() != alert.remaining.len() {
        return None;
    }
    let mut sent_at = BTreeMap::new();
    for &(output, outcome, at) in outcomes {
        let once = sent_at.insert(output, at).is_none();
        if *outcome != Outcome::Sent || !alert.remaining.contains(output) || !once {
            return None;
        }
    }
    let &(_, _, completed_at) = outcomes.last()?;
    Some(Completion {
        sent_at,
        completed_at,
    })
}

/// How an alert recorded in a batch is completed by the batch's own outcomes
/// ([`Batch::completed_within`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Completion<'a> {
    /// When each output left to send was sent.
    pub(super) sent_at: BTreeMap<&'a str, &'a str>,
    /// When the last of them was: the alert's completion.
    pub(super) completed_at: &'a str,
}

impl Intake {
    /// Opens the log beside `ledger` after SQLite applied everything up to `applied`
    /// (generation, offset); returns it with the entries it holds beyond that, oldest
    /// generation first, which the caller applies (up to the last batch's end) before
    /// anything else, and then calls [`reset`](Self::reset).
    pub(super) fn open(
        ledger: &Path,
        applied: Option<(u64, u64)>,
    ) -> Result<(Self, Vec<Batch>), LedgerError> {
        let path = log_path(ledger);
        let (applied_generation, applied_end) = applied.unwrap_or((0, 0));
        let [first, second] =
            log_files(ledger).map(|file| open_file(&file, applied_generation, applied_end));
        let ((first, first_left), (second, second_left)) = (first?, second?);
        let mut found: Vec<Batch> = first_left.into_iter().chain(second_left).collect();
        found.sort_by_key(|batch| batch.generation);
        if let [older, newer] = found.as_slice()
            && older.generation == newer.generation
        {
            return Err(LedgerError::Corrupt {
                path,
                message: format!("both files hold generation {}", older.generation),
            });
        }
        let generation = found
            .iter()
            .map(|batch| batch.generation)
            .fold(applied_generation, u64::max);
        let intake = Self {
            path,
            state: Mutex::new(State {
                files: [Arc::new(first), Arc::new(second)],
                current: 0,
                generation,
                len: 0,
                other_free: false,
                queue: Vec::new(),
                known: HashSet::new(),
                broken: None,
            }),
            backlog: tokio::sync::Semaphore::new(BACKLOG_BYTES),
            woken: AtomicBool::new(false),
        };
        let left = found
            .into_iter()
            .filter(|batch| !batch.entries.is_empty())
            .collect();
        Ok((intake, left))
    }

    /// Appends `entry` (durable once this returns) and queues it to be applied; true if the
    /// applier must be woken for it.
    pub(super) async fn append(&self, mut entry: Entry) -> Result<bool, LedgerError> {
        let Framed { bytes, items } = frame(&entry).ok_or_else(|| {
            LedgerError::Worker("an entry to append no longer holds its items".into())
        })?;
        let permits = u32::try_from(bytes.len().min(BACKLOG_BYTES)).unwrap_or(u32::MAX);
        self.backlog
            .acquire_many(permits)
            .await
            .map_err(|_| LedgerError::Worker("the intake log is closed".into()))?
            .forget();
        let mut state = self.lock()?;
        let start = state.len;
        if let Err(error) = state.write(&bytes) {
            drop(state);
            self.backlog.add_permits(permits as usize);
            return Err(self.failed(&error));
        }
        if let Entry::Alerts { alerts, .. } = &mut entry {
            // The log holds the items now: the applier reads back the few it writes.
            for (alert, at) in alerts.iter_mut().zip(items) {
                alert.item = Item::Logged {
                    offset: start + at.start as u64,
                    len: at.len(),
                };
            }
            let deliveries = alerts.iter().flat_map(|alert| {
                alert
                    .remaining
                    .iter()
                    .map(|output| (alert.alert_id.clone(), output.clone()))
            });
            for delivery in deliveries {
                if state.known.len() >= KNOWN_MAX {
                    // Deliveries recorded and never given an outcome (abandoned runs) would
                    // fill it for good: forget them all, their outcomes are written directly.
                    state.known.clear();
                }
                state.known.insert(delivery);
            }
        }
        let (generation, end) = (state.generation, state.len);
        state.queue.push(Queued {
            entry,
            generation,
            end,
            bytes: permits as usize,
        });
        drop(state);
        Ok(!self.woken.swap(true, Ordering::AcqRel))
    }

    /// Whether few enough bytes are queued that the applier may let more gather before it
    /// applies them (when it is behind, waiting would only hold up the appends).
    pub(super) fn gathering(&self) -> bool {
        BACKLOG_BYTES - self.backlog.available_permits() < GATHER_BELOW
    }

    /// How many entries are appended and not applied.
    #[cfg(test)]
    pub(super) fn queued(&self) -> usize {
        self.lock().map_or(0, |state| state.queue.len())
    }

    /// Whether the delivery of `output` of `key` was recorded through the log and has no
    /// outcome yet; forgets it (its outcome is about to be appended). An outcome for a delivery
    /// not known here is written directly (after the log is applied), which finds out whether
    /// it is recorded at all.
    pub(super) fn take_known(&self, key: &AlertKey, output: &str) -> bool {
        self.lock().is_ok_and(|mut state| {
            state
                .known
                .remove(&(key.alert_id.clone(), output.to_owned()))
        })
    }

    /// Forgets every known delivery (a write that deletes deliveries is about to run).
    pub(super) fn forget_known(&self) {
        if let Ok(mut state) = self.lock() {
            state.known.clear();
        }
    }

    /// Takes the oldest generation's queued entries, to be applied; `None` when nothing is
    /// queued. Once the current file is long and the other one free, appends move on to the
    /// other one (the next generation) here, so the log never grows past two files.
    pub(super) fn take(&self) -> Result<Option<Batch>, LedgerError> {
        self.woken.store(false, Ordering::Release);
        let mut state = self.lock()?;
        let Some(oldest) = state.queue.first().map(|q| q.generation) else {
            return Ok(None);
        };
        if state.len > SWITCH_AFTER
            && state.other_free
            && let Err(error) = state.switch()
        {
            // The current file goes on growing until a switch succeeds.
            tracing::warn!(path = %self.path.display(), %error, "the intake log cannot hand over to its other file");
        }
        let same = state.queue.partition_point(|q| q.generation == oldest);
        let taken: Vec<Queued> = state.queue.drain(..same).collect();
        // The log holds two generations at most: the current file's and the one before.
        let closes = oldest < state.generation;
        let file = if closes {
            1 - state.current
        } else {
            state.current
        };
        let log = Some(state.files[file].clone());
        Ok(Some(Batch::of(taken, closes, log)))
    }

    /// `batch` was applied and committed: its bytes may be appended again.
    pub(super) fn applied(&self, batch: &Batch) {
        let bytes = batch.queued.iter().map(|(_, bytes)| bytes).sum();
        self.backlog.add_permits(bytes);
    }

    /// The generation `batch` closed is applied and on disk in SQLite: its file may take the
    /// next generation.
    pub(super) fn closed(&self) -> Result<(), LedgerError> {
        self.lock()?.other_free = true;
        Ok(())
    }

    /// `batch` could not be applied: it goes back in front of the queue, to be applied by the
    /// next holder of the connection.
    pub(super) fn put_back(&self, batch: Batch) {
        if let Ok(mut state) = self.lock() {
            let generation = batch.generation;
            let queued = batch.entries.into_iter().zip(batch.queued);
            let back = queued.map(|(entry, (end, bytes))| Queued {
                entry,
                generation,
                end,
                bytes,
            });
            state.queue.splice(..0, back);
        }
    }

    /// Whether the log holds entries (applied or not) that [`reset`](Self::reset) would drop.
    pub(super) fn holds_entries(&self) -> bool {
        self.lock().is_ok_and(|state| {
            state.files.iter().any(|file| {
                file.metadata()
                    .is_ok_and(|metadata| metadata.len() > HEADER_LEN)
            })
        })
    }

    /// Empties both files and starts the next generation in one of them: everything the log
    /// held is applied and on disk in SQLite.
    pub(super) fn reset(&self) -> Result<(), LedgerError> {
        let mut state = self.lock()?;
        let current = state.current;
        state.files[current]
            .set_len(0)
            .map_err(|error| self.failed(&error))?;
        state.other_free = true;
        state.switch().map_err(|error| self.failed(&error))?;
        // The file just left is empty.
        state.other_free = true;
        Ok(())
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, LedgerError> {
        self.state
            .lock()
            .map_err(|_| LedgerError::Worker("the intake log's lock was poisoned".into()))
    }

    fn failed(&self, error: &std::io::Error) -> LedgerError {
        LedgerError::Corrupt {
            path: self.path.clone(),
            message: format!("cannot write the intake log: {error}"),
        }
    }
}

impl State {
    /// Appends `bytes` to the current file, or leaves it as it was (or marks the log broken
    /// if it cannot).
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(reason) = &self.broken {
            return Err(std::io::Error::other(reason.clone()));
        }
        let mut file: &File = &self.files[self.current];
        if let Err(error) = file.write_all(bytes) {
            // A torn entry would hide every entry after it from a replay: cut it off.
            if let Err(undo) = file.set_len(self.len) {
                self.broken = Some(format!("{error}, then could not cut it off: {undo}"));
            }
            return Err(error);
        }
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Empties the other (free) file and makes it the current one, with the next generation.
    fn switch(&mut self) -> std::io::Result<()> {
        crate::fault::reached(crate::fault::Point::IntakeSwitch, None);
        let next = 1 - self.current;
        self.files[next].set_len(0)?;
        let generation = self.generation + 1;
        let mut header = MAGIC.to_vec();
        header.extend_from_slice(&generation.to_le_bytes());
        let previous = (self.current, self.len);
        (self.current, self.len) = (next, 0);
        if let Err(error) = self.write(&header) {
            (self.current, self.len) = previous;
            return Err(error);
        }
        self.generation = generation;
        self.other_free = false;
        Ok(())
    }
}

/// Opens (or creates) one file of the log; returns it with the entries it holds that SQLite
/// has not applied (`applied_*`), if it has a header.
fn open_file(
    path: &Path,
    applied_generation: u64,
    applied_end: u64,
) -> Result<(File, Option<Batch>), LedgerError> {
    let corrupt = |message: String| LedgerError::Corrupt {
        path: path.to_owned(),
        message,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| corrupt(format!("cannot open the intake log: {e}")))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| corrupt(format!("cannot read the intake log: {e}")))?;
    // No header: created, or emptied by a switch that stopped there. A header of zeros: its
    // page never reached the disk before a power loss, nor did any entry after it.
    let header = bytes.get(..HEADER_LEN as usize);
    if header.is_some_and(|header| header.iter().all(|byte| *byte == 0)) {
        tracing::warn!(path = %path.display(), "the intake log's header is zeros: read as empty");
    }
    let Some(header) = header.filter(|header| header.iter().any(|byte| *byte != 0)) else {
        return Ok((file, None));
    };
    if &header[..8] != MAGIC {
        let message = if header.starts_with(&MAGIC[..7]) {
            format!(
                "an intake log of another format (`{}`): open the ledger with the version of \
                 streamalert that wrote it, which applies the log and empties it",
                String::from_utf8_lossy(&header[..8])
            )
        } else {
            "not an intake log (unknown header)".into()
        };
        return Err(corrupt(message));
    }
    let generation = u64::from_le_bytes(header[8..].try_into().unwrap_or_default());
    let start = match generation.cmp(&applied_generation) {
        // Applied and on disk before its file was given back.
        std::cmp::Ordering::Less => bytes.len() as u64,
        std::cmp::Ordering::Equal => applied_end.max(HEADER_LEN),
        std::cmp::Ordering::Greater => HEADER_LEN,
    };
    let (entries, end) = read_entries(&bytes, start).map_err(corrupt)?;
    if end < bytes.len() as u64 {
        tracing::warn!(
            path = %path.display(),
            dropped = bytes.len() as u64 - end,
            "the intake log ends with an incomplete entry (its write never returned): dropped"
        );
    }
    let batch = Batch {
        entries,
        generation,
        end,
        closes: false,
        queued: Vec::new(),
        log: None,
    };
    Ok((file, Some(batch)))
}

/// The entries of `bytes` from `start` on, and the offset just after the last whole one.
pub(super) fn read_entries(bytes: &[u8], start: u64) -> Result<(Vec<Entry>, u64), String> {
    let mut entries = Vec::new();
    let mut at = usize::try_from(start)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    while let Some(frame) = bytes.get(at..at + FRAME_LEN) {
        let len = u64::from_le_bytes(frame[..8].try_into().unwrap_or_default());
        let crc = u32::from_le_bytes(frame[8..].try_into().unwrap_or_default());
        let body_start = at + FRAME_LEN;
        let Some(body) = usize::try_from(len)
            .ok()
            .and_then(|len| bytes.get(body_start..body_start.checked_add(len)?))
        else {
            break;
        };
        if crc32fast::hash(body) != crc {
            break;
        }
        let entry = Decoder(body).entry().ok_or_else(|| {
            format!("the intake log's entry at byte {at} is checksummed but unreadable")
        })?;
        entries.push(entry);
        at = body_start + body.len();
    }
    Ok((entries, at as u64))
}

/// An entry framed as the log stores it (length, CRC-32, bytes), and where each of its
/// alerts' items is in those bytes.
struct Framed {
    bytes: Vec<u8>,
    items: Vec<Range<usize>>,
}

/// `entry` framed as the log stores it; `None` if its items are no longer in memory (an entry
/// taken from the queue, which is never appended again).
fn frame(entry: &Entry) -> Option<Framed> {
    // Room for the fields around each item, so that the buffer is not regrown as it fills.
    let room = match entry {
        Entry::Alerts { alerts, .. } => alerts
            .iter()
            .map(|alert| match &alert.item {
                Item::Text(text) => text.len() + 512,
                Item::Logged { .. } => 0,
            })
            .sum(),
        Entry::Outcome { .. } => 256,
    };
    let mut bytes = Vec::with_capacity(FRAME_LEN + room);
    bytes.resize(FRAME_LEN, 0);
    let mut encoder = Encoder {
        bytes,
        items: Vec::new(),
    };
    encoder.entry(entry)?;
    let Encoder { mut bytes, items } = encoder;
    let len = (bytes.len() - FRAME_LEN) as u64;
    let crc = crc32fast::hash(&bytes[FRAME_LEN..]);
    bytes[..8].copy_from_slice(&len.to_le_bytes());
    bytes[8..FRAME_LEN].copy_from_slice(&crc.to_le_bytes());
    Some(Framed { bytes, items })
}

const ALERTS: u8 = 1;
const OUTCOME: u8 = 2;
const SENT: u8 = 0;
const FAILED: u8 = 1;
const DEAD: u8 = 2;

/// Writes an entry's fields: integers little endian, strings and lists after their length.
struct Encoder {
    bytes: Vec<u8>,
    /// Where each alert's item is in `bytes`, in order.
    items: Vec<Range<usize>>,
}

impl Encoder {
    fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    fn str(&mut self, value: &str) {
        self.u64(value.len() as u64);
        self.bytes.extend_from_slice(value.as_bytes());
    }

    fn strs<'s>(&mut self, values: impl ExactSizeIterator<Item = &'s String>) {
        self.u64(values.len() as u64);
        values.for_each(|value| self.str(value));
    }

    fn entry(&mut self, entry: &Entry) -> Option<()> {
        match entry {
            Entry::Alerts { alerts, checkpoint } => {
                self.bytes.push(ALERTS);
                self.u64(alerts.len() as u64);
                alerts.iter().try_for_each(|alert| self.alert(alert))?;
                self.bytes.push(u8::from(checkpoint.is_some()));
                if let Some(checkpoint) = checkpoint {
                    self.str(&checkpoint.input);
                    self.str(&checkpoint.file_id);
                    for value in [
                        checkpoint.size,
                        checkpoint.head_len,
                        checkpoint.head_hash.0,
                        checkpoint.offset,
                        checkpoint.line,
                    ] {
                        self.u64(value);
                    }
                }
            }
            Entry::Outcome {
                alert_id,
                output,
                outcome,
                at,
            } => {
                self.bytes.push(OUTCOME);
                self.str(alert_id);
                self.str(output);
                self.str(at);
                match outcome {
                    Outcome::Sent => self.bytes.push(SENT),
                    Outcome::Failed(error) => {
                        self.bytes.push(FAILED);
                        self.str(error);
                    }
                    Outcome::Dead(error) => {
                        self.bytes.push(DEAD);
                        self.str(error);
                    }
                }
            }
        }
        Some(())
    }

    fn alert(&mut self, alert: &AlertWrite) -> Option<()> {
        let Item::Text(item) = &alert.item else {
            return None;
        };
        for field in [
            &alert.alert_id,
            &alert.rule_name,
            &alert.created,
            &alert.dispatched,
        ] {
            self.str(field);
        }
        self.u64(item.len() as u64);
        let at = self.bytes.len();
        self.bytes.extend_from_slice(item.as_bytes());
        self.items.push(at..self.bytes.len());
        self.str(&alert.at);
        self.bytes.push(u8::from(alert.merge_enabled));
        self.u64(u64::from(alert.attempts));
        self.strs(alert.sent.iter());
        self.strs(alert.remaining.iter());
        self.u64(alert.intents.len() as u64);
        for (output, fingerprint) in &alert.intents {
            self.str(output);
            self.u64(fingerprint.0);
        }
        Some(())
    }
}

/// Reads what [`Encoder`] wrote; `None` where the bytes end early or hold something else.
struct Decoder<'b>(&'b [u8]);

impl Decoder<'_> {
    fn bytes(&mut self, len: usize) -> Option<&[u8]> {
        let (taken, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        Some(taken)
    }

    fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }

    fn u64(&mut self) -> Option<u64> {
        self.bytes(8)?.try_into().ok().map(u64::from_le_bytes)
    }

    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.u64()?).ok()
    }

    fn str(&mut self) -> Option<String> {
        let len = self.len()?;
        String::from_utf8(self.bytes(len)?.to_vec()).ok()
    }

    fn strs(&mut self) -> Option<BTreeSet<String>> {
        (0..self.len()?).map(|_| self.str()).collect()
    }

    fn entry(&mut self) -> Option<Entry> {
        let entry = match self.u8()? {
            ALERTS => {
                let alerts = (0..self.len()?)
                    .map(|_| self.alert())
                    .collect::<Option<_>>()?;
                let checkpoint = match self.u8()? {
                    0 => None,
                    _ => Some(InputCheckpoint {
                        input: self.str()?,
                        file_id: self.str()?,
                        size: self.u64()?,
                        head_len: self.u64()?,
                        head_hash: Fingerprint(self.u64()?),
                        offset: self.u64()?,
                        line: self.u64()?,
                    }),
                };
                Entry::Alerts { alerts, checkpoint }
            }
            OUTCOME => {
                let (alert_id, output, at) = (self.str()?, self.str()?, self.str()?);
                let outcome = match self.u8()? {
                    SENT => Outcome::Sent,
                    FAILED => Outcome::Failed(self.str()?),
                    DEAD => Outcome::Dead(self.str()?),
                    _ => return None,
                };
                Entry::Outcome {
                    alert_id,
                    output,
                    outcome,
                    at,
                }
            }
            _ => return None,
        };
        self.0.is_empty().then_some(entry)
    }

    fn alert(&mut self) -> Option<AlertWrite> {
        let (alert_id, rule_name, created) = (self.str()?, self.str()?, self.str()?);
        let (dispatched, item, at) = (self.str()?, Item::Text(self.str()?), self.str()?);
        let merge_enabled = self.u8()? != 0;
        let attempts = u32::try_from(self.u64()?).ok()?;
        let (sent, remaining) = (self.strs()?, self.strs()?);
        let intents = (0..self.len()?)
            .map(|_| Some((self.str()?, Fingerprint(self.u64()?))))
            .collect::<Option<_>>()?;
        Some(AlertWrite {
            alert_id,
            rule_name,
            created,
            merge_enabled,
            attempts,
            dispatched,
            item,
            sent,
            remaining,
            intents,
            at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alerts_entry() -> Entry {
        let alert = AlertWrite {
            alert_id: "id-1".into(),
            rule_name: "rule".into(),
            created: "2026-12-06T02:00:00.000000Z".into(),
            merge_enabled: true,
            attempts: 3,
            dispatched: "2026-12-06T02:00:01.000000Z".into(),
            item: Item::Text(r#"{"Record": "ünïcode"}"#.into()),
            sent: ["file:a".to_owned()].into(),
            remaining: ["slack:b".to_owned(), "webhook:c".to_owned()].into(),
            intents: [("webhook:c".to_owned(), Fingerprint(u64::MAX))].into(),
            at: "2026-12-06T02:00:02.000000Z".into(),
        };
        let second = AlertWrite {
            alert_id: "id-2".into(),
            merge_enabled: false,
            intents: BTreeMap::new(),
            ..alert.clone()
        };
        Entry::Alerts {
            alerts: vec![alert, second],
            checkpoint: Some(InputCheckpoint {
                input: "/in.jsonl".into(),
                file_id: "1:2".into(),
                size: 10,
                head_len: 9,
                head_hash: Fingerprint(7),
                offset: 8,
                line: 1,
            }),
        }
    }

    fn outcome(outcome: Outcome) -> Entry {
        outcome_of("id-1", "slack:b", outcome)
    }

    fn outcome_of(alert_id: &str, output: &str, outcome: Outcome) -> Entry {
        Entry::Outcome {
            alert_id: alert_id.into(),
            output: output.into(),
            outcome,
            at: "2026-12-06T02:00:03.000000Z".into(),
        }
    }

    fn entries() -> Vec<Entry> {
        let unframed = Entry::Alerts {
            alerts: Vec::new(),
            checkpoint: None,
        };
        vec![
            alerts_entry(),
            unframed,
            outcome(Outcome::Sent),
            outcome(Outcome::Failed("500".into())),
            outcome(Outcome::Dead("403".into())),
        ]
    }

    /// The bytes of `entry` framed.
    fn framed(entry: &Entry) -> Vec<u8> {
        frame(entry).unwrap().bytes
    }

    fn log(entries: &[Entry]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&1u64.to_le_bytes());
        entries.iter().for_each(|entry| bytes.extend(framed(entry)));
        bytes
    }

    fn sent(alert_id: &str, output: &str) -> Entry {
        outcome_of(alert_id, output, Outcome::Sent)
    }

    /// `id-2` (merging off, `slack:b` and `webhook:c` to send) completes when each is sent
    /// once after it is recorded, and nothing else happens to it; `id-1` merges and never
    /// completes within a batch.
    #[test]
    fn an_alert_completes_within_a_batch_only_if_its_outputs_left_are_sent_once_after_it() {
        let completed = |entries: Vec<Entry>| {
            let batch = Batch::of_entries(entries);
            let mut ids: Vec<String> = batch
                .completed_within()
                .into_keys()
                .map(str::to_owned)
                .collect();
            ids.sort();
            ids
        };
        let sent_at = |output: &str, at: &str| Entry::Outcome {
            alert_id: "id-2".into(),
            output: output.into(),
            outcome: Outcome::Sent,
            at: at.into(),
        };
        let entries = vec![
            alerts_entry(),
            sent_at("webhook:c", "2026-12-06T02:00:05.000000Z"),
            sent("id-1", "slack:b"),
            sent_at("slack:b", "2026-12-06T02:00:04.000000Z"),
            sent("id-1", "webhook:c"),
        ];
        let batch = Batch::of_entries(entries);
        let completions = batch.completed_within();
        let expected = Completion {
            sent_at: [
                ("slack:b", "2026-12-06T02:00:04.000000Z"),
                ("webhook:c", "2026-12-06T02:00:05.000000Z"),
            ]
            .into(),
            completed_at: "2026-12-06T02:00:04.000000Z",
        };
        assert_eq!(completions.len(), 1);
        assert_eq!(
            completions.get("id-2"),
            Some(&expected),
            "the last outcome completes it"
        );

        let both = || vec![sent("id-2", "slack:b"), sent("id-2", "webhook:c")];
        let one_left = vec![alerts_entry(), sent("id-2", "slack:b")];
        assert!(completed(one_left).is_empty());
        let failed = vec![
            alerts_entry(),
            sent("id-2", "slack:b"),
            outcome_of("id-2", "webhook:c", Outcome::Failed("500".into())),
        ];
        assert!(completed(failed).is_empty());
        let mut failed_then_sent = vec![
            alerts_entry(),
            outcome_of("id-2", "webhook:c", Outcome::Failed("500".into())),
        ];
        failed_then_sent.extend(both());
        assert!(completed(failed_then_sent).is_empty(), "attempted twice");
        let other_output = vec![
            alerts_entry(),
            sent("id-2", "slack:b"),
            sent("id-2", "file:a"),
        ];
        assert!(
            completed(other_output).is_empty(),
            "an output not left to send"
        );
        let mut sent_twice = vec![alerts_entry(), sent("id-2", "slack:b")];
        sent_twice.extend(both());
        assert!(completed(sent_twice).is_empty(), "an output sent twice");
        let mut sent_before = both();
        sent_before.push(alerts_entry());
        assert!(
            completed(sent_before).is_empty(),
            "outcomes of an earlier recording"
        );
        let mut twice = vec![alerts_entry(), alerts_entry()];
        twice.extend(both());
        assert!(completed(twice).is_empty(), "recorded twice");
        let mut complete = vec![alerts_entry()];
        complete.extend(both());
        assert_eq!(completed(complete), ["id-2"]);
    }

    #[test]
    fn every_entry_reads_back_as_it_was_written() {
        let written = entries();
        let bytes = log(&written);
        let (read, end) = read_entries(&bytes, HEADER_LEN).unwrap();
        assert_eq!(read, written);
        assert_eq!(end, bytes.len() as u64);
        // From the end of the first entry on: the others.
        let first = HEADER_LEN + framed(&written[0]).len() as u64;
        assert_eq!(read_entries(&bytes, first).unwrap().0, written[1..]);
    }

    #[test]
    fn a_torn_or_damaged_entry_ends_the_log_before_it() {
        let written = entries();
        let bytes = log(&written);
        let last = bytes.len() - framed(&written[4]).len();
        for cut in [bytes.len() - 1, last + FRAME_LEN, last + 3] {
            let (read, end) = read_entries(&bytes[..cut], HEADER_LEN).unwrap();
            assert_eq!(read, written[..4], "cut at {cut}");
            assert_eq!(end, last as u64);
        }
        let mut damaged = bytes.clone();
        damaged[last + FRAME_LEN + 2] ^= 1;
        assert_eq!(read_entries(&damaged, HEADER_LEN).unwrap().0, written[..4]);
    }

    #[test]
    fn a_checksummed_entry_that_cannot_be_read_is_an_error_not_an_end() {
        let mut body = vec![9u8];
        body.extend_from_slice(b"unknown");
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&1u64.to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        bytes.extend_from_slice(&body);
        let error = read_entries(&bytes, HEADER_LEN).unwrap_err();
        assert!(error.contains("at byte 16"), "{error}");
        // Trailing bytes after a whole entry are not read as part of it either.
        let mut longer = framed(&outcome(Outcome::Sent))[FRAME_LEN..].to_vec();
        longer.push(0);
        assert_eq!(Decoder(&longer).entry(), None);
    }

    /// What opening a log of generation 5 holding [`entries`] returns, after SQLite applied
    /// up to `applied`.
    fn left_after(applied: Option<(u64, u64)>) -> Result<Vec<Entry>, String> {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.sqlite3");
        let mut bytes = log(&entries());
        bytes[8..16].copy_from_slice(&5u64.to_le_bytes());
        let [_, second] = log_files(&ledger);
        std::fs::write(second, bytes).unwrap();
        let (_, left) = Intake::open(&ledger, applied).map_err(|e| e.to_string())?;
        Ok(left.into_iter().flat_map(|batch| batch.entries).collect())
    }

    #[test]
    fn opening_returns_what_sqlite_has_not_applied_of_the_same_or_a_newer_generation() {
        let all = entries();
        let first_end = HEADER_LEN + framed(&all[0]).len() as u64;
        assert_eq!(left_after(None).unwrap(), all);
        assert_eq!(left_after(Some((4, 999))).unwrap(), all);
        assert_eq!(left_after(Some((5, first_end))).unwrap(), all[1..]);
        assert_eq!(left_after(Some((5, 1 << 20))).unwrap(), []);
        assert_eq!(left_after(Some((6, HEADER_LEN))).unwrap(), []);
    }

    #[test]
    fn the_older_file_is_applied_first_and_two_files_of_one_generation_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.sqlite3");
        let all = entries();
        let [first, second] = log_files(&ledger);
        let mut newer = log(&all[2..]);
        newer[8..16].copy_from_slice(&8u64.to_le_bytes());
        std::fs::write(&first, &newer).unwrap();
        let mut older = log(&all[..2]);
        older[8..16].copy_from_slice(&7u64.to_le_bytes());
        std::fs::write(&second, &older).unwrap();
        let (_, left) = Intake::open(&ledger, Some((6, 0))).unwrap();
        let read: Vec<(u64, Vec<Entry>)> = left
            .into_iter()
            .map(|batch| (batch.generation, batch.entries))
            .collect();
        assert_eq!(read, [(7, all[..2].to_vec()), (8, all[2..].to_vec())]);

        std::fs::write(&second, &newer).unwrap();
        let error = Intake::open(&ledger, None).err().unwrap().to_string();
        assert!(error.contains("both files hold generation 8"), "{error}");
    }

    #[test]
    fn a_header_of_zeros_is_an_empty_log() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("ledger.sqlite3");
        let mut bytes = vec![0; HEADER_LEN as usize];
        bytes.extend(framed(&outcome(Outcome::Sent)));
        let [first, second] = log_files(&ledger);
        std::fs::write(&first, bytes).unwrap();
        let (intake, left) = Intake::open(&ledger, Some((3, 100))).unwrap();
        assert!(left.is_empty());
        intake.reset().unwrap();
        assert_eq!(std::fs::read(first).unwrap(), b"", "emptied");
        let bytes = std::fs::read(second).unwrap();
        assert_eq!(bytes[..8], *MAGIC);
        assert_eq!(
            bytes[8..],
            4u64.to_le_bytes(),
            "the generation after SQLite's"
        );
    }

    /// Once appended, an entry's items are no longer held in memory: the batch taken from the
    /// queue reads each one back from the log, byte for byte, in whichever of the two files
    /// holds its generation; the entry itself cannot be framed again.
    #[tokio::test]
    async fn appended_items_are_read_back_from_the_file_that_holds_them() {
        let dir = tempfile::tempdir().unwrap();
        let (intake, _) = Intake::open(&dir.path().join("ledger.sqlite3"), None).unwrap();
        intake.reset().unwrap();
        let written = alerts_entry();
        let Entry::Alerts { alerts: texts, .. } = &written else {
            unreachable!()
        };
        // Enough entries to hand over to the other file (after 4 KiB in tests) in between;
        // each batch is read as the applier reads it, before its file may be reused.
        let mut generations = BTreeSet::new();
        for _ in 0..3 {
            while intake.lock().unwrap().len <= SWITCH_AFTER {
                intake.append(written.clone()).await.unwrap();
            }
            let batch = intake.take().unwrap().unwrap();
            generations.insert(batch.generation);
            for entry in &batch.entries {
                let Entry::Alerts { alerts, .. } = entry else {
                    unreachable!()
                };
                for (alert, text) in alerts.iter().zip(texts) {
                    assert!(
                        matches!(alert.item, Item::Logged { .. }),
                        "{:?}",
                        alert.item
                    );
                    let read = alert.item.read(batch.log()).unwrap();
                    assert_eq!(read, text.item.read(None).unwrap());
                }
                assert!(frame(entry).is_none());
            }
            intake.applied(&batch);
            intake.closed().unwrap();
        }
        assert_eq!(generations.len(), 3, "{generations:?}");
    }

    #[test]
    fn the_log_lives_beside_the_ledger() {
        let ledger = Path::new("/var/lib/sa/ledger.sqlite3");
        assert_eq!(
            log_files(ledger),
            [
                "/var/lib/sa/ledger.sqlite3-intake.0",
                "/var/lib/sa/ledger.sqlite3-intake.1"
            ]
            .map(PathBuf::from)
        );
    }
}
