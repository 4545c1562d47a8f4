//! The embedded ledger: one SQLite file in WAL mode, held by one processor at a time, with an
//! intake log in front of it for the writes of every delivery.

mod intake;
mod statements;

use super::{
    AlertKey, AlertStatus, Claim, DeliveryFilter, DeliveryRecord, DeliveryState, Fingerprint,
    HourlyDeliveries, InputCheckpoint, Ledger, LedgerCounts, LedgerEntry, LedgerError,
    LedgerStatus, NewAlert, OpenPage, Outcome, QuarantinedAlert,
};
use crate::alert::{Alert, Timestamp};
use crate::config::{LedgerSettings, Synchronous};
use intake::{AlertWrite, Batch, Completion, Entry, Intake};
use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};
use serde_json::Value;
use statements::Statements;
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

/// The schema this version writes. Version 3 added `alerts.quarantine_reason` (the
/// `quarantined` status), the `dead` delivery state and `alerts.completed` (tombstones: a
/// complete alert's item is deleted, its row and deliveries kept until `retention_days`).
/// Version 4 gave `alerts` an integer key (`id`, its rowid, in recording order) and keys
/// `alert_items` and `deliveries` by it instead of by the (random) alert id: an alert's item and
/// deliveries are written next to those of the alerts recorded just before it, not to random
/// pages (and the items need no index of their own).
const SCHEMA_VERSION: i64 = 4;

/// Indexes of tables a migration may rebuild or on columns it may add, created once the schema
/// is current.
const INDEXES: &str = "
CREATE INDEX IF NOT EXISTS alerts_open ON alerts (created) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS alerts_completed ON alerts (completed) WHERE status = 'complete';";

/// The oldest schema this version upgrades.
const OLDEST_MIGRATED: i64 = 2;

/// Upgrades in order: each takes the schema from the version before it to its version (run in
/// the transaction that opens the ledger, so an upgrade is all or nothing).
const MIGRATIONS: &[(i64, &str)] = &[
    (
        3,
        "ALTER TABLE alerts ADD COLUMN quarantine_reason TEXT; ALTER TABLE alerts ADD COLUMN completed TEXT;",
    ),
    (
        4,
        // The rowids become the `id`s (recording order kept); items and deliveries follow their
        // alert's id (an item or delivery of no alert, never written, is left behind).
        "CREATE TABLE alerts_v4 (
             id INTEGER PRIMARY KEY, alert_id TEXT NOT NULL UNIQUE, rule_name TEXT NOT NULL,
             created TEXT NOT NULL, status TEXT NOT NULL, merged_into TEXT,
             merge_enabled INTEGER NOT NULL, attempts INTEGER NOT NULL, dispatched TEXT NOT NULL,
             quarantine_reason TEXT, completed TEXT);
         INSERT INTO alerts_v4 SELECT rowid, alert_id, rule_name, created, status, merged_into,
             merge_enabled, attempts, dispatched, quarantine_reason, completed FROM alerts ORDER BY rowid;
         CREATE TABLE alert_items_v4 (id INTEGER PRIMARY KEY, item TEXT NOT NULL);
         INSERT INTO alert_items_v4 SELECT a.rowid, i.item FROM alert_items i JOIN alerts a ON a.alert_id = i.alert_id;
         CREATE TABLE deliveries_v4 (
             id INTEGER NOT NULL, output TEXT NOT NULL, state TEXT NOT NULL,
             attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, intent TEXT, updated TEXT,
             PRIMARY KEY (id, output)) WITHOUT ROWID;
         INSERT INTO deliveries_v4 SELECT a.rowid, d.output, d.state, d.attempts, d.last_error, d.intent, d.updated
             FROM deliveries d JOIN alerts a ON a.alert_id = d.alert_id;
         DROP TABLE alert_items;
         DROP TABLE deliveries;
         DROP TABLE alerts;
         ALTER TABLE alerts_v4 RENAME TO alerts;
         ALTER TABLE alert_items_v4 RENAME TO alert_items;
         ALTER TABLE deliveries_v4 RENAME TO deliveries;",
    ),
];

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alerts (
    id            INTEGER PRIMARY KEY,
    alert_id      TEXT NOT NULL UNIQUE,
    rule_name     TEXT NOT NULL,
    created       TEXT NOT NULL,
    status        TEXT NOT NULL,
    merged_into   TEXT,
    merge_enabled INTEGER NOT NULL,
    attempts      INTEGER NOT NULL,
    dispatched    TEXT NOT NULL,
    quarantine_reason TEXT,
    completed     TEXT
);
CREATE TABLE IF NOT EXISTS alert_items (
    id   INTEGER PRIMARY KEY,
    item TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id         INTEGER NOT NULL,
    output     TEXT NOT NULL,
    state      TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    intent     TEXT,
    updated    TEXT,
    PRIMARY KEY (id, output)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS input_checkpoints (
    input     TEXT PRIMARY KEY,
    file_id   TEXT NOT NULL,
    size      INTEGER NOT NULL,
    head_len  INTEGER NOT NULL,
    head_hash TEXT NOT NULL,
    offset    INTEGER NOT NULL,
    line      INTEGER NOT NULL,
    updated   TEXT NOT NULL
) WITHOUT ROWID;
";

/// The embedded default [`Ledger`]: a SQLite file (created on first use) in WAL mode.
///
/// The file is held exclusively while the ledger is open (SQLite's exclusive locking mode):
/// a second processor on the same file waits up to `lock_timeout_secs` and then fails with
/// [`LedgerError::Busy`]. The operating system releases the lock when the process ends, however
/// it ends, so a killed processor never blocks the next one. Concurrent writes run on one
/// dedicated writer thread, which commits every write queued at that moment in one transaction
/// (group commit), each write in a savepoint of its own: a failed write rolls back alone, and a
/// write is reported only once the transaction holding it is committed. Writes that come one at
/// a time (eight in a row finding no other in progress) run on the caller's thread instead, each in
/// its own transaction, which saves two hand-offs between threads per write; such a commit may
/// run a WAL checkpoint there (every ~10,000 pages written). With `synchronous = "normal"` a
/// commit survives the process being killed, with `"full"` it also survives a power loss (and
/// every write goes to the writer thread, so that no fsync holds a runtime worker).
///
/// Under `synchronous = "normal"` the two writes of every delivered alert, recording it (with
/// its input checkpoint) and recording each outcome of a delivery it recorded, do not commit a
/// transaction: they append one checksummed entry each to the *intake log* (two files beside
/// the ledger, `LEDGER-intake.0` and `.1`), durable against a killed process once the `write`
/// returns, as a WAL commit is. The writer thread applies the log to SQLite in large
/// transactions that also store how far they applied, a few milliseconds later or as soon as
/// any other write or read needs the connection (each applies the log first, so every read
/// sees every write that returned before it). Opening the ledger applies whatever a stopped
/// process left in the log; a file of the log is emptied only once its entries are applied and
/// flushed to disk by a WAL checkpoint.
///
/// ```
/// use streamalert::{config::LedgerSettings, ledger::SqliteLedger};
/// let dir = tempfile::tempdir().unwrap();
/// let settings = LedgerSettings { path: dir.path().join("sub/ledger.sqlite3"), ..Default::default() };
/// let ledger = SqliteLedger::open(&settings).unwrap();
/// assert!(ledger.entries().unwrap().is_empty());
/// assert!(settings.path.exists());
/// assert!(dir.path().join("sub/ledger.sqlite3-intake.0").exists());
/// ```
#[derive(Clone)]
pub struct SqliteLedger {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteLedger")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

/// What the clones of one [`SqliteLedger`] share.
struct Inner {
    path: PathBuf,
    /// The one connection: the writer thread takes it for each write, reads take it in the
    /// blocking thread pool. Whoever takes it applies the intake log first.
    conn: Arc<Mutex<Connection>>,
    intake: Arc<Intake>,
    /// Whether alerts and outcomes are appended to the intake log (`synchronous = "normal"`)
    /// rather than written to SQLite at once.
    logged: bool,
    /// `None` only while dropping.
    writer: Option<Writer>,
}

/// The thread that runs concurrent writes in shared transactions, and when a write may skip it.
///
/// A write handed to the thread costs two hand-offs between threads (the thread wakes up, then
/// the caller does): most of a write's time when writes come one at a time. So a write that
/// follows [`INLINE_AFTER`] writes in a row that found no other in progress runs on the
/// caller's thread, in a transaction of its own, if it still finds none after yielding once to
/// the runtime (writes joined in one task, or tasks of a one-thread runtime, meet each other
/// there); a write that finds another one in progress resets the count, so that concurrent
/// writes keep sharing the thread's transactions (group commit). Under `synchronous = "full"`
/// every write goes to the thread: its fsync per commit would hold the caller's thread (a
/// runtime worker) for milliseconds.
struct Writer {
    tasks: mpsc::Sender<Task>,
    /// Writes in progress ([`Pending`]): from their start until they end on the caller's thread,
    /// or until the writer thread has answered them (queued, or in the transaction it runs).
    pending: Arc<AtomicUsize>,
    /// Whether writes may run on the caller's thread at all.
    inline: bool,
    /// Writes in a row that found no other in progress.
    idle_streak: AtomicUsize,
    thread: JoinHandle<()>,
}

impl Writer {
    /// Whether a write (counted in `pending` already) may try to run on the caller's thread
    /// (counting it in the idle streak).
    fn may_run_here(&self) -> bool {
        if !self.inline {
            return false;
        }
        // This write is counted already: any other is another write in progress.
        if self.pending.load(Ordering::Acquire) > 1 {
            self.contended();
            return false;
        }
        self.idle_streak.fetch_add(1, Ordering::Relaxed) + 1 >= INLINE_AFTER
    }

    /// Whether a write that [may run here](Self::may_run_here) still met no other since.
    fn still_alone(&self) -> bool {
        self.pending.load(Ordering::Acquire) == 1
            && self.idle_streak.load(Ordering::Relaxed) >= INLINE_AFTER
    }

    /// A write met another one: the next writes go to the thread until the streak builds again.
    fn contended(&self) {
        self.idle_streak.store(0, Ordering::Relaxed);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(Writer { tasks, thread, .. }) = self.writer.take() {
            // Closing the queue ends the thread (once it has applied the intake log); waiting
            // for it makes the file free to reopen as soon as the ledger is dropped.
            drop(tasks);
            let _ = thread.join();
        }
    }
}

/// What the writer thread is asked to do.
enum Task {
    /// Run a write.
    Write(Box<dyn Job>),
    /// Apply what the intake log holds.
    Apply,
}

/// One write waiting for the writer thread.
trait Job: Send {
    /// Runs the write on `conn` (inside a transaction it does not own) and keeps its result;
    /// true if it succeeded.
    fn run(&mut self, conn: &Connection, path: &Path) -> bool;

    /// Answers the caller: `failure` if the transaction holding the write failed, the kept
    /// result otherwise.
    fn answer(self: Box<Self>, failure: Option<LedgerError>);
}

/// A [`Job`] that runs `work` and answers through `reply`.
struct WriteJob<T, F> {
    work: F,
    result: Option<Result<T, LedgerError>>,
    reply: oneshot::Sender<Result<T, LedgerError>>,
}

impl<T, F> Job for WriteJob<T, F>
where
    T: Send,
    F: Fn(&Connection, &Path) -> Result<T, LedgerError> + Send,
{
    fn run(&mut self, conn: &Connection, path: &Path) -> bool {
        let result = (self.work)(conn, path);
        let succeeded = result.is_ok();
        self.result = Some(result);
        succeeded
    }

    fn answer(self: Box<Self>, failure: Option<LedgerError>) {
        let result = match (failure, self.result) {
            (Some(error), _) => Err(error),
            (None, Some(result)) => result,
            (None, None) => Err(LedgerError::Worker("the write was never run".into())),
        };
        // A caller that stopped waiting does not undo its write.
        let _ = self.reply.send(result);
    }
}

/// Writes in a row that must find nothing pending before one runs on the caller's thread
/// ([`Writer`]).
const INLINE_AFTER: usize = 8;

/// How long the writer thread lets the intake log gather entries when no write waits for it
/// (while less than [`intake::GATHER_BELOW`] is queued). Each batch it applies competes for
/// the CPU with the deliveries: fewer, larger batches delay fewer of them (one at a time, the
/// 99th percentile of an alert's latency was ~1 ms with 5 ms here, ~0.3 ms with 40 ms, the
/// median and the rate unchanged); reads apply the log themselves and never wait for it.
const LINGER: Duration = Duration::from_millis(40);

/// The most jobs one transaction holds, so that a long queue still gets answers on the way.
const MAX_GROUP: usize = 256;

/// The writer thread: takes every task queued at that moment (up to [`MAX_GROUP`]), applies
/// the intake log, commits the writes together, and waits for more, until every sender is gone;
/// then applies the intake log a last time.
fn write_loop(
    conn: &Mutex<Connection>,
    intake: &Intake,
    path: &Path,
    tasks: &mpsc::Receiver<Task>,
    pending: &AtomicUsize,
) {
    while let Ok(first) = tasks.recv() {
        let mut group = take_group(first, tasks);
        if group.iter().all(|task| matches!(task, Task::Apply)) && intake.gathering() {
            // Nobody waits: let the log gather more entries for one transaction (a write that
            // comes meanwhile ends the wait; a read applies the log itself).
            group.extend(tasks.recv_timeout(LINGER));
            group.extend(tasks.try_iter().take(MAX_GROUP));
        }
        let group: Vec<Box<dyn Job>> = group
            .into_iter()
            .filter_map(|task| match task {
                Task::Write(job) => Some(job),
                Task::Apply => None,
            })
            .collect();
        let taken = group.len();
        let replies = match hold(conn, intake, path) {
            Ok(mut conn) => commit_group(&mut conn, path, group),
            Err(error) => {
                tracing::error!(%error, "the ledger's intake log is not applied yet");
                let unapplied = || Some(LedgerError::Worker(error.to_string()));
                group.into_iter().map(|job| (job, unapplied())).collect()
            }
        };
        // No longer pending, and answered, once the connection is free, so that the next write
        // of a caller that waited for this one can run on its own thread ([`Writer`]).
        pending.fetch_sub(taken, Ordering::AcqRel);
        replies
            .into_iter()
            .for_each(|(job, failure)| job.answer(failure));
    }
    // Closed: the log is applied and emptied, so that the next open has nothing to flush.
    let closed = hold(conn, intake, path).and_then(|conn| {
        if intake.holds_entries() {
            flush_to_disk(&conn, path)?;
            intake.reset()?;
        }
        Ok(())
    });
    if let Err(error) = closed {
        tracing::error!(%error, "the ledger's intake log is left to apply when it is opened next");
    }
}

/// Takes the connection and applies the intake log on it.
fn hold<'c>(
    conn: &'c Mutex<Connection>,
    intake: &Intake,
    path: &Path,
) -> Result<std::sync::MutexGuard<'c, Connection>, LedgerError> {
    let mut conn = conn.lock().map_err(|_| poisoned())?;
    apply_intake(&mut conn, path, intake)?;
    Ok(conn)
}

/// Applies what the intake log holds, in one transaction per generation; on failure it stays
/// queued (and in the log) for the next holder of the connection.
fn apply_intake(conn: &mut Connection, path: &Path, intake: &Intake) -> Result<(), LedgerError> {
    let Some(batch) = intake.take()? else {
        return Ok(());
    };
    crate::fault::reached(crate::fault::Point::IntakeApply, None);
    if let Err(error) = apply_batch(conn, path, &batch) {
        intake.put_back(batch);
        return Err(error);
    }
    intake.applied(&batch);
    if !batch.closes {
        return Ok(());
    }
    flush_to_disk(conn, path)?;
    intake.closed()?;
    // The entries of the next generation, queued behind those.
    apply_intake(conn, path, intake)
}

/// Writes what SQLite committed to the database file and flushes it (a WAL checkpoint): done
/// before the intake log drops entries SQLite applied, so that a power loss cannot take them
/// back from SQLite once the log no longer has them.
fn flush_to_disk(conn: &Connection, path: &Path) -> Result<(), LedgerError> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        .map_err(sql(path))
}

/// Writes `batch` to SQLite with how far the log is applied, in one transaction.
fn apply_batch(conn: &mut Connection, path: &Path, batch: &Batch) -> Result<(), LedgerError> {
    let completions = batch.completed_within();
    // The alerts written as tombstones, their outcomes in this batch written with them.
    let mut written_complete = HashSet::new();
    let tx = write_tx(conn, path)?;
    let statements = Statements::new(&tx);
    for entry in &batch.entries {
        match entry {
            Entry::Alerts { alerts, checkpoint } => {
                for alert in alerts {
                    let completion = completions.get(alert.alert_id.as_str());
                    if upsert_alert(&statements, path, alert, batch.log(), completion)? {
                        written_complete.insert(alert.alert_id.as_str());
                    }
                }
                if let Some(checkpoint) = checkpoint {
                    save_checkpoint(&statements, path, checkpoint)?;
                }
            }
            Entry::Outcome { alert_id, .. } if written_complete.contains(alert_id.as_str()) => {}
            // A delivery known to be recorded: nothing to report if it changed nothing.
            Entry::Outcome {
                alert_id,
                output,
                outcome,
                at,
            } => {
                apply_outcome(&statements, path, alert_id, output, outcome, at)?;
            }
        }
    }
    drop(statements);
    tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")
        .and_then(|mut s| {
            s.execute(params![
                intake::APPLIED_KEY,
                format!("{}:{}", batch.generation, batch.end)
            ])
        })
        .map_err(sql(path))?;
    tx.commit().map_err(sql(path))
}

/// A job that ran, and why its transaction failed if it did.
type Reply = (Box<dyn Job>, Option<LedgerError>);

/// `first` and the jobs queued behind it at this moment, [`MAX_GROUP`] at most.
fn take_group<T>(first: T, jobs: &mpsc::Receiver<T>) -> Vec<T> {
    let mut group = vec![first];
    group.extend(jobs.try_iter().take(MAX_GROUP - 1));
    group
}

/// Runs `group` in one transaction (group commit), each job in a savepoint of its own so that a
/// failed job rolls back only its own writes and gets only its own error; the replies of the
/// others say the transaction was committed. If the transaction itself fails, nothing it held
/// stands and each of its jobs runs again in a transaction of its own.
fn commit_group(conn: &mut Connection, path: &Path, group: Vec<Box<dyn Job>>) -> Vec<Reply> {
    if group.len() == 1 {
        return group
            .into_iter()
            .map(|job| commit_alone(conn, path, job))
            .collect();
    }
    let mut replies = Vec::with_capacity(group.len());
    let mut pending = group.into_iter();
    let mut done = Vec::with_capacity(pending.len());
    match run_group(conn, path, &mut pending, &mut done, &mut replies) {
        Ok(()) => replies.extend(done.into_iter().map(|job| (job, None))),
        Err(_) => done
            .into_iter()
            .chain(pending)
            .for_each(|job| replies.push(commit_alone(conn, path, job))),
    }
    replies
}

/// Runs the jobs of `pending` in one transaction and commits it: a job that succeeds moves to
/// `done` (its reply depends on the commit), one that fails is rolled back to its savepoint and
/// replies with its own error.
fn run_group(
    conn: &mut Connection,
    path: &Path,
    pending: &mut std::vec::IntoIter<Box<dyn Job>>,
    done: &mut Vec<Box<dyn Job>>,
    replies: &mut Vec<Reply>,
) -> rusqlite::Result<()> {
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    while !pending.as_slice().is_empty() {
        let savepoint = tx.savepoint()?;
        let Some(mut job) = pending.next() else {
            break;
        };
        if job.run(&savepoint, path) {
            done.push(job);
            savepoint.commit()?;
        } else {
            replies.push((job, None));
            // Rolls back to the savepoint and releases it.
            savepoint.finish()?;
        }
    }
    tx.commit()
}

/// Runs `job` in a transaction of its own and commits it; the reply says why not if it was not.
fn commit_alone(conn: &mut Connection, path: &Path, mut job: Box<dyn Job>) -> Reply {
    let failure = match write_tx(conn, path) {
        Err(error) => Some(error),
        Ok(tx) if job.run(&tx, path) => tx.commit().map_err(sql(path)).err(),
        // A failed write answers with its own error; dropping `tx` rolls it back.
        Ok(_) => None,
    };
    (job, failure)
}

fn poisoned() -> LedgerError {
    LedgerError::Worker("the ledger connection was poisoned".into())
}

impl SqliteLedger {
    /// Opens (or creates) the ledger file of `settings` and takes hold of it.
    pub fn open(settings: &LedgerSettings) -> Result<Self, LedgerError> {
        let path = settings.path.clone();
        let sqlite = |source| LedgerError::Sqlite {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| LedgerError::Corrupt {
                path: path.clone(),
                message: format!("cannot create its directory: {e}"),
            })?;
        }
        let mut conn = Connection::open(&path).map_err(sqlite)?;
        conn.busy_timeout(Duration::from_secs(settings.lock_timeout_secs))
            .map_err(sqlite)?;
        let synchronous = match settings.synchronous {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        };
        let busy = |error: rusqlite::Error| match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                LedgerError::Busy {
                    path: path.clone(),
                    waited_secs: settings.lock_timeout_secs,
                }
            }
            _ => sqlite(error),
        };
        // Exclusive locking before WAL: no shared-memory index, one holder at a time.
        conn.query_row("PRAGMA locking_mode = EXCLUSIVE", [], |_| Ok(()))
            .map_err(busy)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(busy)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(LedgerError::Corrupt {
                path: path.clone(),
                message: format!("cannot switch to WAL mode (journal mode is {mode})"),
            });
        }
        // A WAL checkpoint (two fsyncs) runs inside the commit that crosses the threshold and
        // every write queued meanwhile waits for it: 10,000 pages (~40 MiB of WAL) instead of
        // SQLite's 1,000 make that ten times rarer. Durability is `synchronous`'s, unchanged.
        // The page cache keeps SQLite's default size (2 MiB): with 100,000 alerts delivered 32
        // in flight, a ledger larger than any of them, 16 MiB held 15 MiB more memory for the
        // same rate; 4 MiB took ~1.5 µs per alert off the writer thread (a few per cent of the
        // rate, within the runs' noise) for 2 MiB more, which put the load bench's peak over
        // its 40 MiB target (BENCHMARKS.md, sixteenth sitting).
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {synchronous}; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 10000;"
        ))
            .map_err(sqlite)?;
        // The first write transaction takes the exclusive lock, kept until the ledger is dropped.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(busy)?;
        tx.execute_batch(SCHEMA).map_err(sqlite)?;
        let version: Option<String> = tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(sqlite)?;
        match version {
            None => {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                    [SCHEMA_VERSION.to_string()],
                )
                .map_err(sqlite)?;
            }
            Some(v) => match v.parse::<i64>() {
                Ok(v) if v == SCHEMA_VERSION => {}
                Ok(v) if (OLDEST_MIGRATED..SCHEMA_VERSION).contains(&v) => {
                    for (_, step) in MIGRATIONS.iter().filter(|(to, _)| *to > v) {
                        tx.execute_batch(step).map_err(sqlite)?;
                    }
                    tx.execute(
                        "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
                        [SCHEMA_VERSION.to_string()],
                    )
                    .map_err(sqlite)?;
                    tracing::info!(path = %path.display(), from = v, to = SCHEMA_VERSION, "ledger schema upgraded");
                }
                _ => {
                    return Err(LedgerError::Corrupt {
                        path: path.clone(),
                        message: format!(
                            "schema version {v}, this processor reads versions {OLDEST_MIGRATED} to {SCHEMA_VERSION}"
                        ),
                    });
                }
            },
        }
        tx.execute_batch(INDEXES).map_err(sqlite)?;
        let expired = remove_expired_tombstones(&tx, &path, settings.retention_days)?;
        if expired > 0 {
            tracing::info!(path = %path.display(), expired, retention_days = settings.retention_days, "removed expired tombstones");
        }
        tx.commit().map_err(busy)?;
        let intake = open_intake(&mut conn, &path)?;
        let (tasks, receiver) = mpsc::channel::<Task>();
        let conn = Arc::new(Mutex::new(conn));
        let pending = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (conn, intake) = (Arc::clone(&conn), Arc::clone(&intake));
            let (path, pending) = (path.clone(), Arc::clone(&pending));
            std::thread::Builder::new()
                .name("ledger-writer".into())
                .spawn(move || write_loop(&conn, &intake, &path, &receiver, &pending))
        }
        .map_err(|e| LedgerError::Worker(format!("cannot start the ledger writer thread: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                conn,
                intake,
                logged: settings.synchronous == Synchronous::Normal,
                writer: Some(Writer {
                    tasks,
                    pending,
                    inline: settings.synchronous == Synchronous::Normal,
                    idle_streak: AtomicUsize::new(0),
                    thread,
                }),
            }),
        })
    }

    /// The ledger file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Every recorded alert, in creation order (for inspection and tests).
    /// Quarantined alerts are left out ([`Ledger::quarantined`] lists them).
    pub fn entries(&self) -> Result<Vec<LedgerEntry>, LedgerError> {
        self.with_conn(|conn, path| load_entries(conn, path, &Filter::All).map(|l| l.entries))
    }

    fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut Connection, &Path) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let inner = &self.inner;
        let mut conn = hold(&inner.conn, &inner.intake, &inner.path)?;
        f(&mut conn, &inner.path)
    }

    /// Records `alerts` (and `checkpoint`): appended to the intake log, or written at once under
    /// `synchronous = "full"`.
    async fn record(
        &self,
        alerts: Vec<NewAlert>,
        checkpoint: Option<InputCheckpoint>,
    ) -> Result<(), LedgerError> {
        let alerts: Vec<AlertWrite> = alerts.iter().map(AlertWrite::of).collect();
        if self.inner.logged {
            // Applying the log must not fail on what it holds: what SQLite would refuse is
            // refused here.
            if let Some(checkpoint) = &checkpoint {
                checkpoint_integers(&self.inner.path, checkpoint)?;
            }
            return self.append(Entry::Alerts { alerts, checkpoint }).await;
        }
        self.write(move |conn, path| {
            let statements = Statements::new(conn);
            for alert in &alerts {
                upsert_alert(&statements, path, alert, None, None)?;
            }
            checkpoint.as_ref().map_or(Ok(()), |checkpoint| {
                save_checkpoint(&statements, path, checkpoint)
            })
        })
        .await
    }

    /// Appends `entry` to the intake log (durable when this returns) and wakes the writer
    /// thread to apply it if it is not awake for earlier ones.
    async fn append(&self, entry: Entry) -> Result<(), LedgerError> {
        if self.inner.intake.append(entry).await?
            && let Some(writer) = &self.inner.writer
        {
            // A stopped thread leaves the entry to the next holder of the connection.
            let _ = writer.tasks.send(Task::Apply);
        }
        Ok(())
    }

    /// Runs a read on the connection in the blocking thread pool.
    async fn blocking<T, F>(&self, f: F) -> Result<T, LedgerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Path) -> Result<T, LedgerError> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.with_conn(f))
            .await
            .map_err(|e| LedgerError::Worker(e.to_string()))?
    }

    /// Runs `work` as one atomic write on the writer thread and returns its result once the
    /// transaction holding it is committed.
    async fn write<T, F>(&self, work: F) -> Result<T, LedgerError>
    where
        T: Send + 'static,
        F: Fn(&Connection, &Path) -> Result<T, LedgerError> + Send + 'static,
    {
        let stopped = || LedgerError::Worker("the ledger writer thread stopped".into());
        let writer = self.inner.writer.as_ref().ok_or_else(stopped)?;
        let pending = Pending::count(&writer.pending);
        if writer.may_run_here() {
            // Counted as pending, this write is seen by any write that comes while it yields
            // (another task, or a future joined with this one in the same task), which then
            // resets the streak and goes to the thread; this one follows it there rather than
            // running alone.
            tokio::task::yield_now().await;
            if writer.still_alone()
                && let Ok(mut conn) = self.inner.conn.try_lock()
            {
                apply_intake(&mut conn, &self.inner.path, &self.inner.intake)?;
                return commit_here(&mut conn, &self.inner.path, &work);
            }
            writer.contended();
        }
        let (reply, answer) = oneshot::channel();
        let job = Box::new(WriteJob {
            work,
            result: None,
            reply,
        });
        writer.tasks.send(Task::Write(job)).map_err(|_| stopped())?;
        // The writer thread counts it out once it has answered.
        pending.handed_over();
        answer.await.map_err(|_| stopped())?
    }
}

/// A write counted in [`Writer::pending`] from its start: counted out when it ends here (or is
/// dropped), or by the writer thread once the thread has answered it.
struct Pending<'w>(Option<&'w AtomicUsize>);

impl<'w> Pending<'w> {
    fn count(pending: &'w AtomicUsize) -> Self {
        pending.fetch_add(1, Ordering::AcqRel);
        Self(Some(pending))
    }

    /// The writer thread now holds the write, and counts it out.
    fn handed_over(mut self) {
        self.0 = None;
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(pending) = self.0 {
            pending.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Opens the intake log of the ledger `path`, applies what it holds beyond what SQLite applied
/// (a process stopped before applying it), and starts its next generation.
fn open_intake(conn: &mut Connection, path: &Path) -> Result<Arc<Intake>, LedgerError> {
    let (intake, left) = Intake::open(path, applied_intake(conn, path)?)?;
    for batch in &left {
        apply_batch(conn, path, batch)?;
        tracing::info!(path = %path.display(), entries = batch.entries.len(), generation = batch.generation, "applied the intake log left by the last run");
    }
    if intake.holds_entries() {
        flush_to_disk(conn, path)?;
    }
    intake.reset()?;
    Ok(Arc::new(intake))
}

/// The generation of the intake log and the offset up to which SQLite holds its entries.
fn applied_intake(conn: &Connection, path: &Path) -> Result<Option<(u64, u64)>, LedgerError> {
    let applied: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [intake::APPLIED_KEY],
            |row| row.get(0),
        )
        .optional()
        .map_err(sql(path))?;
    applied
        .map(|value| {
            value
                .split_once(':')
                .and_then(|(generation, end)| Some((generation.parse().ok()?, end.parse().ok()?)))
                .ok_or_else(|| LedgerError::Corrupt {
                    path: path.to_owned(),
                    message: format!("unreadable {} `{value}`", intake::APPLIED_KEY),
                })
        })
        .transpose()
}

/// Runs `work` in a transaction of its own on this thread and commits it.
fn commit_here<T>(
    conn: &mut Connection,
    path: &Path,
    work: &impl Fn(&Connection, &Path) -> Result<T, LedgerError>,
) -> Result<T, LedgerError> {
    let tx = write_tx(conn, path)?;
    // A failed write answers with its own error; dropping `tx` rolls it back.
    let result = work(&tx, path)?;
    tx.commit().map_err(sql(path))?;
    Ok(result)
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> LedgerError + '_ {
    move |source| LedgerError::Sqlite {
        path: path.to_owned(),
        source,
    }
}

fn write_tx<'c>(
    conn: &'c mut Connection,
    path: &Path,
) -> Result<rusqlite::Transaction<'c>, LedgerError> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql(path))
}

#[async_trait::async_trait]
impl Ledger for SqliteLedger {
    async fn record_alerts(&self, alerts: Vec<NewAlert>) -> Result<(), LedgerError> {
        if alerts.is_empty() {
            return Ok(());
        }
        self.record(alerts, None).await
    }

    async fn record_alerts_at(
        &self,
        alerts: Vec<NewAlert>,
        checkpoint: InputCheckpoint,
    ) -> Result<(), LedgerError> {
        self.record(alerts, Some(checkpoint)).await
    }

    async fn input_checkpoint(
        &self,
        input: String,
    ) -> Result<Option<InputCheckpoint>, LedgerError> {
        self.blocking(move |conn, path| load_checkpoint(conn, path, input))
            .await
    }

    async fn begin_attempt(
        &self,
        key: AlertKey,
        dispatched: Timestamp,
        intents: BTreeMap<String, Fingerprint>,
    ) -> Result<Claim, LedgerError> {
        self.write(move |conn, path| {
            // One processor holds the file, so only an output sent since it was read (by this
            // processor) can contend; nothing is written then, as with DynamoDB.
            for output in intents.keys() {
                let sent: bool = conn
                    .prepare_cached(
                        "SELECT 1 FROM deliveries WHERE id = (SELECT id FROM alerts WHERE alert_id = ?1) AND output = ?2 AND state = 'sent'",
                    )
                    .and_then(|mut s| s.exists(params![key.alert_id, output]))
                    .map_err(sql(path))?;
                if sent {
                    return Ok(Claim::Contended {
                        output: Some(output.clone()),
                        reason: "it was sent meanwhile".to_owned(),
                    });
                }
            }
            let changed = conn
                .prepare_cached(
                    "UPDATE alerts SET attempts = MIN(attempts + 1, 4294967295), dispatched = ?2 WHERE alert_id = ?1 AND rule_name = ?3",
                )
                .and_then(|mut s| s.execute(params![key.alert_id, dispatched.to_string(), key.rule_name]))
                .map_err(sql(path))?;
            if changed == 0 {
                return Err(LedgerError::UnknownAlert(key.clone()));
            }
            set_intents(&Statements::new(conn), path, &key.alert_id, &intents)?;
            Ok(Claim::Granted)
        })
        .await
    }

    async fn record_outcome(
        &self,
        key: AlertKey,
        output: String,
        outcome: Outcome,
    ) -> Result<(), LedgerError> {
        let at = Timestamp::now().to_string();
        if self.inner.logged && self.inner.intake.take_known(&key, &output) {
            let alert_id = key.alert_id;
            return self
                .append(Entry::Outcome {
                    alert_id,
                    output,
                    outcome,
                    at,
                })
                .await;
        }
        self.write(move |conn, path| {
            match apply_outcome(
                &Statements::new(conn),
                path,
                &key.alert_id,
                &output,
                &outcome,
                &at,
            )? {
                true => Ok(()),
                false => Err(LedgerError::UnknownAlert(key.clone())),
            }
        })
        .await
    }

    async fn get(&self, key: AlertKey) -> Result<Option<LedgerEntry>, LedgerError> {
        self.blocking(move |conn, path| {
            let loaded = load_entries(conn, path, &Filter::Key(&key))?;
            if let Some(bad) = loaded.unreadable.into_iter().find(|q| q.key == key) {
                return Err(LedgerError::Corrupt {
                    path: path.to_owned(),
                    message: format!("alert {} is quarantined: {}", key.alert_id, bad.reason),
                });
            }
            Ok(loaded
                .entries
                .into_iter()
                .find(|entry| entry.alert.rule_name == key.rule_name))
        })
        .await
    }

    async fn open_alerts(&self) -> Result<Vec<LedgerEntry>, LedgerError> {
        self.blocking(|conn, path| load_entries(conn, path, &Filter::Open).map(|l| l.entries))
            .await
    }

    async fn record_merge(
        &self,
        originals: Vec<AlertKey>,
        merged: NewAlert,
    ) -> Result<(), LedgerError> {
        let merged_write = AlertWrite::of(&merged);
        self.write(move |conn, path| {
            upsert_alert(&Statements::new(conn), path, &merged_write, None, None)?;
            for key in &originals {
                let changed = conn
                    .prepare_cached(
                        "UPDATE alerts SET status = 'merged', merged_into = ?2 WHERE alert_id = ?1 AND rule_name = ?3",
                    )
                    .and_then(|mut s| {
                        s.execute(params![key.alert_id, merged.alert.alert_id, key.rule_name])
                    })
                    .map_err(sql(path))?;
                if changed == 0 {
                    return Err(LedgerError::UnknownAlert(key.clone()));
                }
            }
            Ok(())
        })
        .await
    }

    async fn counts(&self) -> Result<LedgerCounts, LedgerError> {
        self.blocking(|conn, path| count(conn, path)).await
    }

    async fn quarantined(&self) -> Result<Vec<QuarantinedAlert>, LedgerError> {
        self.blocking(|conn, path| {
            conn.prepare_cached(
                "SELECT rule_name, alert_id, COALESCE(quarantine_reason, '') FROM alerts
                 WHERE status = 'quarantined' ORDER BY created, rowid",
            )
            .and_then(|mut s| {
                s.query_map([], |row| {
                    Ok(QuarantinedAlert {
                        key: AlertKey::new(row.get::<_, String>(0)?, row.get::<_, String>(1)?),
                        reason: row.get(2)?,
                    })
                })?
                .collect()
            })
            .map_err(sql(path))
        })
        .await
    }

    async fn status(&self) -> Result<LedgerStatus, LedgerError> {
        self.blocking(|conn, path| {
            let counts = count(conn, path)?;
            let mut by_output: BTreeMap<String, BTreeMap<DeliveryState, u64>> = BTreeMap::new();
            let rows: Vec<(String, String, i64)> = conn
                .prepare_cached(
                    "SELECT d.output, d.state, COUNT(*) FROM deliveries d JOIN alerts a ON a.id = d.id
                     WHERE a.status IN ('open', 'complete') GROUP BY d.output, d.state",
                )
                .and_then(|mut s| {
                    s.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                        .collect()
                })
                .map_err(sql(path))?;
            for (output, state, n) in rows {
                let state = state.parse().map_err(|message| LedgerError::Corrupt {
                    path: path.to_owned(),
                    message,
                })?;
                by_output
                    .entry(output)
                    .or_default()
                    .insert(state, u64::try_from(n).unwrap_or_default());
            }
            let oldest: Option<String> = conn
                .query_row(
                    "SELECT MIN(a.created) FROM alerts a WHERE a.status = 'open' AND EXISTS
                         (SELECT 1 FROM deliveries d WHERE d.id = a.id AND d.state IN ('pending', 'failed'))",
                    [],
                    |row| row.get(0),
                )
                .map_err(sql(path))?;
            let oldest_unsent = oldest
                .map(|text| text.parse::<Timestamp>())
                .transpose()
                .map_err(|e| LedgerError::Corrupt {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?;
            Ok(LedgerStatus {
                counts,
                by_output,
                oldest_unsent,
            })
        })
        .await
    }

    async fn list(&self, filter: DeliveryFilter) -> Result<Vec<LedgerEntry>, LedgerError> {
        self.blocking(move |conn, path| {
            load_entries(conn, path, &Filter::Matching(&filter)).map(|l| l.entries)
        })
        .await
    }

    async fn find(&self, alert_id: String) -> Result<Option<AlertKey>, LedgerError> {
        self.blocking(move |conn, path| {
            conn.prepare_cached("SELECT rule_name FROM alerts WHERE alert_id = ?1")
                .and_then(|mut s| {
                    s.query_row([&alert_id], |row| row.get::<_, String>(0))
                        .optional()
                })
                .map(|rule| rule.map(|rule| AlertKey::new(rule, alert_id.clone())))
                .map_err(sql(path))
        })
        .await
    }

    async fn replay(
        &self,
        keys: Vec<AlertKey>,
        output: Option<String>,
    ) -> Result<u64, LedgerError> {
        self.write(move |conn, path| {
            let now = Timestamp::now().to_string();
            let mut changed = 0;
            for key in &keys {
                let status: Option<String> = conn
                    .prepare_cached("SELECT status FROM alerts WHERE alert_id = ?1 AND rule_name = ?2")
                    .and_then(|mut s| {
                        s.query_row(params![key.alert_id, key.rule_name], |row| row.get(0))
                            .optional()
                    })
                    .map_err(sql(path))?;
                let Some(status) = status else {
                    return Err(LedgerError::UnknownAlert(key.clone()));
                };
                if status == "quarantined" {
                    conn.prepare_cached(
                        "UPDATE alerts SET status = 'open', quarantine_reason = NULL WHERE alert_id = ?1",
                    )
                    .and_then(|mut s| s.execute([&key.alert_id]))
                    .map_err(sql(path))?;
                    changed += 1;
                }
                changed += conn
                    .prepare_cached(
                        "UPDATE deliveries SET state = 'pending', attempts = 0, last_error = NULL, intent = NULL, updated = ?3
                         WHERE id = (SELECT id FROM alerts WHERE alert_id = ?1) AND state IN ('failed', 'dead') AND (?2 IS NULL OR output = ?2)",
                    )
                    .and_then(|mut s| s.execute(params![key.alert_id, output, now]))
                    .map_err(sql(path))? as u64;
                refresh_status(&Statements::new(conn), path, &key.alert_id)?;
            }
            Ok(changed)
        })
        .await
    }

    async fn prune(&self, before: Timestamp) -> Result<u64, LedgerError> {
        // The deliveries known to the intake log may be deleted here: outcomes for them are
        // written directly from now on, which finds out.
        self.inner.intake.forget_known();
        self.write(move |conn, path| {
            let ids: Vec<String> = conn
                .prepare_cached(
                    "SELECT a.alert_id FROM alerts a WHERE a.status IN ('complete', 'merged')
                     AND COALESCE(a.completed, (SELECT MAX(d.updated) FROM deliveries d WHERE d.id = a.id), a.created) < ?1",
                )
                .and_then(|mut s| {
                    s.query_map([before.to_string()], |row| row.get(0))?
                        .collect()
                })
                .map_err(sql(path))?;
            for id in &ids {
                for delete in [
                    "DELETE FROM deliveries WHERE id = (SELECT id FROM alerts WHERE alert_id = ?1)",
                    "DELETE FROM alert_items WHERE id = (SELECT id FROM alerts WHERE alert_id = ?1)",
                    "DELETE FROM alerts WHERE alert_id = ?1",
                ] {
                    conn.prepare_cached(delete)
                        .and_then(|mut s| s.execute([id]))
                        .map_err(sql(path))?;
                }
            }
            Ok(ids.len() as u64)
        })
        .await
    }

    async fn open_alerts_page(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> Result<OpenPage, LedgerError> {
        let after = after
            .map(|cursor| {
                cursor
                    .split_once('\n')
                    .map(|(created, id)| (created.to_owned(), id.to_owned()))
                    .ok_or_else(|| LedgerError::Worker(format!("invalid page cursor `{cursor}`")))
            })
            .transpose()?;
        let limit = limit.max(1);
        self.blocking(move |conn, path| {
            let loaded = load_entries(conn, path, &Filter::OpenPage { after, limit })?;
            let next = loaded
                .last
                .filter(|_| loaded.rows == limit)
                .map(|(created, id)| format!("{created}\n{id}"));
            Ok(OpenPage {
                entries: loaded.entries,
                next,
            })
        })
        .await
    }

    async fn activity(&self, since: Timestamp) -> Result<Vec<HourlyDeliveries>, LedgerError> {
        self.blocking(move |conn, path| {
            // Timestamps are stored as fixed-width text: the first 13 characters are the hour.
            let rows: Vec<(String, String, i64)> = conn
                .prepare_cached(
                    "SELECT substr(COALESCE(d.updated, a.created), 1, 13) AS hour, d.state, COUNT(*)
                     FROM deliveries d JOIN alerts a ON a.id = d.id
                     WHERE a.status IN ('open', 'complete') AND COALESCE(d.updated, a.created) >= ?1
                     GROUP BY hour, d.state ORDER BY hour",
                )
                .and_then(|mut s| {
                    s.query_map([since.to_string()], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })?
                    .collect()
                })
                .map_err(sql(path))?;
            let corrupt = |message: String| LedgerError::Corrupt {
                path: path.to_owned(),
                message,
            };
            rows.into_iter()
                .map(|(hour, state, count)| {
                    let start: Timestamp = format!("{hour}:00:00.000000Z")
                        .parse()
                        .map_err(|e| corrupt(format!("{e}")))?;
                    Ok(HourlyDeliveries {
                        hour: start.unix_seconds(),
                        state: state.parse().map_err(corrupt)?,
                        count: u64::try_from(count).unwrap_or_default(),
                    })
                })
                .collect()
        })
        .await
    }
}

/// How many alerts and deliveries are in each state (deliveries of merged and quarantined
/// alerts left out).
fn count(conn: &Connection, path: &Path) -> Result<LedgerCounts, LedgerError> {
    let mut counts = LedgerCounts::default();
    let alerts = grouped_counts(
        conn,
        path,
        "SELECT status, COUNT(*) FROM alerts GROUP BY status",
    )?;
    for (status, n) in alerts {
        match status.as_str() {
            "open" => counts.open_alerts = n,
            "complete" => counts.complete_alerts = n,
            "quarantined" => counts.quarantined_alerts = n,
            _ => counts.merged_alerts += n,
        }
    }
    let deliveries = grouped_counts(
        conn,
        path,
        "SELECT d.state, COUNT(*) FROM deliveries d JOIN alerts a ON a.id = d.id
         WHERE a.status IN ('open', 'complete') GROUP BY d.state",
    )?;
    for (state, n) in deliveries {
        match state.as_str() {
            "sent" => counts.sent = n,
            "failed" => counts.failed = n,
            "dead" => counts.dead = n,
            _ => counts.pending += n,
        }
    }
    Ok(counts)
}

/// The `(key, count)` rows of a `SELECT key, COUNT(*) … GROUP BY key` query.
fn grouped_counts(
    conn: &Connection,
    path: &Path,
    query: &str,
) -> Result<Vec<(String, u64)>, LedgerError> {
    conn.prepare_cached(query)
        .and_then(|mut statement| {
            statement
                .query_map([], |row| {
                    let n: i64 = row.get(1)?;
                    Ok((row.get(0)?, u64::try_from(n).unwrap_or_default()))
                })?
                .collect()
        })
        .map_err(sql(path))
}

/// Inserts a new alert or folds what `new` says into the recorded one. A new alert the same
/// transaction completes (`completion`, its outcomes skipped by the caller) is written as the
/// tombstone those outcomes would leave: complete, its outputs sent, no item. An item the
/// intake log holds is read back from `log`, the file of the log that holds it, only when it is
/// written. Returns whether it was a tombstone.
fn upsert_alert(
    conn: &Statements<'_>,
    path: &Path,
    alert: &AlertWrite,
    log: Option<&File>,
    completion: Option<&Completion<'_>>,
) -> Result<bool, LedgerError> {
    let completed_at = completion.map(|completion| completion.completed_at);
    let inserted = conn
        .prepare_cached(
            "INSERT INTO alerts (alert_id, rule_name, created, status, merged_into, merge_enabled, attempts, dispatched, completed)
             VALUES (?1, ?2, ?3, IIF(?7 IS NULL, 'open', 'complete'), NULL, ?4, ?5, ?6, ?7)
             ON CONFLICT (alert_id) DO NOTHING",
        )
        .and_then(|mut s| {
            s.execute(params![
                alert.alert_id,
                alert.rule_name,
                alert.created,
                alert.merge_enabled,
                alert.attempts,
                alert.dispatched,
                completed_at,
            ])
        })
        .map_err(sql(path))?
        > 0;
    let tombstone = completion.filter(|_| inserted);
    if !inserted {
        conn.prepare_cached("UPDATE alerts SET attempts = ?2, dispatched = ?3 WHERE alert_id = ?1")
            .and_then(|mut s| s.execute(params![alert.alert_id, alert.attempts, alert.dispatched]))
            .map_err(sql(path))?;
    }
    // Its `id`, found once for the statements below.
    let id: i64 = if inserted {
        conn.last_insert_rowid()
    } else {
        conn.prepare_cached("SELECT id FROM alerts WHERE alert_id = ?1")
            .and_then(|mut s| s.query_row([&alert.alert_id], |row| row.get(0)))
            .map_err(sql(path))?
    };
    // The item, large and written once, lives apart (under its alert's `id`) so that state
    // updates stay small. A new alert's item replaces whatever an edited file left under its id
    // (the last alert's id is given again once it is pruned); a recorded item is kept (a
    // tombstone gets its item back, and loses it again below if it stays complete). A
    // tombstone written at once has none.
    if tombstone.is_some() {
        conn.prepare_cached(DELETE_ITEM)
            .and_then(|mut s| s.execute([id]))
            .map_err(sql(path))?;
    } else {
        let insert_item = if inserted {
            "INSERT OR REPLACE INTO alert_items (id, item) VALUES (?1, ?2)"
        } else {
            "INSERT OR IGNORE INTO alert_items (id, item) VALUES (?1, ?2)"
        };
        let item = alert.item.read(log).map_err(|error| LedgerError::Corrupt {
            path: intake::log_path(path),
            message: format!(
                "cannot read the item of alert {} back from the intake log: {error}",
                alert.alert_id
            ),
        })?;
        conn.prepare_cached(insert_item)
            .and_then(|mut s| s.execute(params![id, item]))
            .map_err(sql(path))?;
    }
    for output in &alert.sent {
        conn.prepare_cached(
            "INSERT INTO deliveries (id, output, state, attempts, updated) VALUES (?1, ?2, 'sent', 0, ?3)
             ON CONFLICT (id, output) DO UPDATE SET state = 'sent', last_error = NULL, intent = NULL",
        )
        .and_then(|mut s| s.execute(params![id, output, alert.at]))
        .map_err(sql(path))?;
    }
    for output in &alert.remaining {
        if let Some(completion) = tombstone {
            // As a pending delivery then its `Sent` outcome leave it.
            let sent_at = completion.sent_at.get(output.as_str());
            conn.prepare_cached(
                "INSERT INTO deliveries (id, output, state, attempts, updated) VALUES (?1, ?2, 'sent', 1, ?3)
                 ON CONFLICT (id, output) DO UPDATE SET state = 'sent', attempts = MIN(deliveries.attempts + 1, 4294967295),
                     last_error = NULL, intent = NULL, updated = excluded.updated WHERE deliveries.state != 'sent'",
            )
            .and_then(|mut s| s.execute(params![id, output, sent_at]))
            .map_err(sql(path))?;
            continue;
        }
        // A delivery recorded before keeps its state; its intent is replaced, as below.
        let intent = alert.intents.get(output).map(ToString::to_string);
        conn.prepare_cached(
            "INSERT INTO deliveries (id, output, state, attempts, intent) VALUES (?1, ?2, 'pending', 0, ?3)
             ON CONFLICT (id, output) DO UPDATE SET intent = excluded.intent
                 WHERE excluded.intent IS NOT NULL AND deliveries.state != 'sent'",
        )
        .and_then(|mut s| s.execute(params![id, output, intent]))
        .map_err(sql(path))?;
    }
    let others: BTreeMap<String, Fingerprint> = alert
        .intents
        .iter()
        .filter(|(output, _)| !alert.remaining.contains(*output))
        .map(|(output, fingerprint)| (output.clone(), *fingerprint))
        .collect();
    set_intents(conn, path, &alert.alert_id, &others)?;
    // A new alert with something to send (or a merge to wait for) is open, as inserted (or
    // the tombstone it was written as).
    if inserted && (alert.merge_enabled || !alert.remaining.is_empty()) {
        return Ok(tombstone.is_some());
    }
    refresh_status(conn, path, &alert.alert_id)?;
    Ok(false)
}

/// Records the outcome of one delivery at `at` (completing its alert when it was the last one
/// to send); false if that delivery is not recorded.
fn apply_outcome(
    conn: &Statements<'_>,
    path: &Path,
    alert_id: &str,
    output: &str,
    outcome: &Outcome,
    at: &str,
) -> Result<bool, LedgerError> {
    // The row's `id`, looked up once: every statement below goes by it, not by the random
    // alert id's index again.
    let id: Option<i64> = conn
        .prepare_cached("SELECT id FROM alerts WHERE alert_id = ?1")
        .and_then(|mut s| s.query_row([alert_id], |row| row.get(0)).optional())
        .map_err(sql(path))?;
    let Some(id) = id else {
        return Ok(false);
    };
    let changed = match outcome {
        Outcome::Sent => conn
            .prepare_cached(
                "UPDATE deliveries SET state = 'sent', attempts = MIN(attempts + 1, 4294967295), last_error = NULL, intent = NULL, updated = ?3
                 WHERE id = ?1 AND output = ?2 AND state != 'sent'",
            )
            .and_then(|mut s| s.execute(params![id, output, at])),
        Outcome::Failed(error) | Outcome::Dead(error) => conn
            .prepare_cached(
                "UPDATE deliveries SET state = ?5, attempts = MIN(attempts + 1, 4294967295), last_error = ?4, intent = NULL, updated = ?3
                 WHERE id = ?1 AND output = ?2 AND state != 'sent'",
            )
            .and_then(|mut s| {
                let state = if matches!(outcome, Outcome::Dead(_)) {
                    DeliveryState::Dead
                } else {
                    DeliveryState::Failed
                };
                s.execute(params![id, output, at, error, state.as_str()])
            }),
    }
    .map_err(sql(path))?;
    if changed == 0 {
        // Either already sent (nothing to change) or not recorded at all.
        return conn
            .prepare_cached("SELECT 1 FROM deliveries WHERE id = ?1 AND output = ?2")
            .and_then(|mut s| s.exists(params![id, output]))
            .map_err(sql(path));
    }
    if *outcome == Outcome::Sent {
        complete_if_done(conn, path, id, at)?;
    }
    Ok(true)
}

/// Records (or replaces) the checkpoint of its input.
fn save_checkpoint(
    conn: &Statements<'_>,
    path: &Path,
    checkpoint: &InputCheckpoint,
) -> Result<(), LedgerError> {
    let [size, head_len, offset, line] = checkpoint_integers(path, checkpoint)?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO input_checkpoints (input, file_id, size, head_len, head_hash, offset, line, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            checkpoint.input,
            checkpoint.file_id,
            size,
            head_len,
            checkpoint.head_hash.to_string(),
            offset,
            line,
            Timestamp::now().to_string(),
        ])
    })
    .map_err(sql(path))?;
    Ok(())
}

/// The size, head length, offset and line of `checkpoint` as SQLite stores them, or why it
/// cannot.
fn checkpoint_integers(path: &Path, checkpoint: &InputCheckpoint) -> Result<[i64; 4], LedgerError> {
    let integer = |value: u64| {
        i64::try_from(value).map_err(|_| LedgerError::Corrupt {
            path: path.to_owned(),
            message: format!(
                "input checkpoint of {}: {value} is out of range",
                checkpoint.input
            ),
        })
    };
    Ok([
        integer(checkpoint.size)?,
        integer(checkpoint.head_len)?,
        integer(checkpoint.offset)?,
        integer(checkpoint.line)?,
    ])
}

/// The checkpoint recorded for `input`, if any.
fn load_checkpoint(
    conn: &Connection,
    path: &Path,
    input: String,
) -> Result<Option<InputCheckpoint>, LedgerError> {
    let row: Option<(String, i64, i64, String, i64, i64)> = conn
        .prepare_cached(
            "SELECT file_id, size, head_len, head_hash, offset, line FROM input_checkpoints WHERE input = ?1",
        )
        .and_then(|mut s| {
            s.query_row([&input], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?))
            })
            .optional()
        })
        .map_err(sql(path))?;
    let Some((file_id, size, head_len, head_hash, offset, line)) = row else {
        return Ok(None);
    };
    let corrupt = |message: String| LedgerError::Corrupt {
        path: path.to_owned(),
        message: format!("input checkpoint of {input}: {message}"),
    };
    let count = |value: i64| u64::try_from(value).map_err(|e| corrupt(format!("{value}: {e}")));
    Ok(Some(InputCheckpoint {
        file_id,
        size: count(size)?,
        head_len: count(head_len)?,
        head_hash: head_hash.parse().map_err(corrupt)?,
        offset: count(offset)?,
        line: count(line)?,
        input,
    }))
}

fn set_intents(
    conn: &Statements<'_>,
    path: &Path,
    alert_id: &str,
    intents: &BTreeMap<String, Fingerprint>,
) -> Result<(), LedgerError> {
    for (output, fingerprint) in intents {
        conn.prepare_cached(
            "UPDATE deliveries SET intent = ?3 WHERE id = (SELECT id FROM alerts WHERE alert_id = ?1) AND output = ?2 AND state != 'sent'",
        )
        .and_then(|mut s| s.execute(params![alert_id, output, fingerprint.to_string()]))
        .map_err(sql(path))?;
    }
    Ok(())
}

/// Deletes the item of the alert whose row is `?1` (the row stays a tombstone until it is
/// removed).
const DELETE_ITEM: &str = "DELETE FROM alert_items WHERE id = ?1";

/// Marks an open alert complete once nothing is left to send (and it does not wait for a
/// merge), reducing it to its tombstone; writes nothing otherwise.
fn complete_if_done(
    conn: &Statements<'_>,
    path: &Path,
    id: i64,
    at: &str,
) -> Result<(), LedgerError> {
    let completed = conn
        .prepare_cached(
            "UPDATE alerts SET status = 'complete', completed = COALESCE(completed, ?2)
             WHERE id = ?1 AND status = 'open' AND merge_enabled = 0 AND NOT EXISTS
                 (SELECT 1 FROM deliveries d WHERE d.id = alerts.id AND d.state != 'sent')",
        )
        .and_then(|mut s| s.execute(params![id, at]))
        .map_err(sql(path))?;
    if completed > 0 {
        conn.prepare_cached(DELETE_ITEM)
            .and_then(|mut s| s.execute([id]))
            .map_err(sql(path))?;
    }
    Ok(())
}

/// Reduces a complete alert to its tombstone (spec `outputs.md` Q3): its item (the record) is
/// deleted, its row (key, rule, times) and its sent deliveries stay, so that a re-delivered
/// event is still recognised, until `retention_days` after its completion.
fn tombstone_if_complete(
    conn: &Statements<'_>,
    path: &Path,
    alert_id: &str,
) -> Result<(), LedgerError> {
    let now = Timestamp::now().to_string();
    conn.prepare_cached(
        "UPDATE alerts SET completed = ?2 WHERE alert_id = ?1 AND status = 'complete' AND completed IS NULL",
    )
    .and_then(|mut s| s.execute(params![alert_id, now]))
    .map_err(sql(path))?;
    conn.prepare_cached(
        "DELETE FROM alert_items WHERE id = (SELECT id FROM alerts WHERE alert_id = ?1 AND status = 'complete')",
    )
    .and_then(|mut s| s.execute([alert_id]))
    .map_err(sql(path))?;
    Ok(())
}

/// Deletes the tombstones completed more than `retention_days` ago; returns how many.
fn remove_expired_tombstones(
    conn: &Connection,
    path: &Path,
    retention_days: u64,
) -> Result<usize, LedgerError> {
    let cutoff = chrono::TimeDelta::try_days(i64::try_from(retention_days).unwrap_or(i64::MAX))
        .and_then(|days| chrono::Utc::now().naive_utc().checked_sub_signed(days))
        .map_or(Timestamp::EPOCH, Timestamp::from)
        .to_string();
    for table in ["deliveries", "alert_items"] {
        conn.prepare_cached(&format!(
            "DELETE FROM {table} WHERE id IN
                 (SELECT id FROM alerts WHERE status = 'complete' AND completed < ?1)"
        ))
        .and_then(|mut s| s.execute([&cutoff]))
        .map_err(sql(path))?;
    }
    conn.prepare_cached("DELETE FROM alerts WHERE status = 'complete' AND completed < ?1")
        .and_then(|mut s| s.execute([&cutoff]))
        .map_err(sql(path))
}

/// Open while something is unsent or the alert waits to be merged; complete otherwise.
fn refresh_status(conn: &Statements<'_>, path: &Path, alert_id: &str) -> Result<(), LedgerError> {
    conn.prepare_cached(
        "UPDATE alerts SET status = CASE
             WHEN merge_enabled = 0 AND NOT EXISTS
                 (SELECT 1 FROM deliveries d WHERE d.id = alerts.id AND d.state != 'sent')
             THEN 'complete' ELSE 'open' END
         WHERE alert_id = ?1 AND status NOT IN ('merged', 'quarantined') AND status != CASE
             WHEN merge_enabled = 0 AND NOT EXISTS
                 (SELECT 1 FROM deliveries d WHERE d.id = alerts.id AND d.state != 'sent')
             THEN 'complete' ELSE 'open' END",
    )
    .and_then(|mut s| s.execute([alert_id]))
    .map_err(sql(path))?;
    tombstone_if_complete(conn, path, alert_id)
}

/// One alert row: id, rule, item (none for a tombstone), status, merged into, attempts,
/// dispatched, quarantine reason, created.
type AlertRow = (
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    i64,
    String,
    Option<String>,
    String,
);
type DeliveryRow = (
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Which alerts [`load_entries`] reads.
enum Filter<'a> {
    /// Every alert but the quarantined ones.
    All,
    /// The alerts a retry pass handles: open, with something to send or waiting to be merged.
    Open,
    /// The alert with this key, quarantined or not.
    Key(&'a AlertKey),
    /// The alerts (not merged) with a delivery this filter selects.
    Matching(&'a DeliveryFilter),
    /// At most `limit` of the `Open` alerts after (created, alert id), in that order.
    OpenPage {
        after: Option<(String, String)>,
        limit: usize,
    },
}

/// What [`load_entries`] read: the alerts, and those whose item cannot be read (quarantined
/// now or before).
struct Loaded {
    entries: Vec<LedgerEntry>,
    unreadable: Vec<QuarantinedAlert>,
    /// The (created, alert id) of the last row read, unreadable or not.
    last: Option<(String, String)>,
    /// How many rows were read.
    rows: usize,
}

/// The condition of a retry pass's alerts: open, with something to send or waiting to be
/// merged.
const OPEN: &str = "a.status = 'open' AND (a.merge_enabled = 1 OR EXISTS
    (SELECT 1 FROM deliveries d WHERE d.id = a.id AND d.state IN ('pending', 'failed')))";

/// A count stored by SQLite as a u32 (saturating: an older version could store more).
fn saturate(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// Reads the alerts `filter` selects. An alert whose stored item cannot be read back is moved
/// to the `quarantined` status with the reason (logged with its id and rule) instead of failing
/// the read, so it never blocks the others.
fn load_entries(
    conn: &Connection,
    path: &Path,
    filter: &Filter<'_>,
) -> Result<Loaded, LedgerError> {
    let corrupt = |message: String| LedgerError::Corrupt {
        path: path.to_owned(),
        message,
    };
    let mut order = "ORDER BY a.created, a.rowid".to_owned();
    let (condition, params): (String, Vec<Option<String>>) = match filter {
        Filter::All => ("a.status != 'quarantined'".to_owned(), Vec::new()),
        Filter::Open => (OPEN.to_owned(), Vec::new()),
        Filter::Key(key) => ("a.alert_id = ?1".to_owned(), vec![Some(key.alert_id.clone())]),
        Filter::Matching(selected) => (
            "a.status IN ('open', 'complete') AND EXISTS (SELECT 1 FROM deliveries d WHERE d.id = a.id
                AND (?1 IS NULL OR d.state = ?1) AND (?2 IS NULL OR d.output = ?2))"
                .to_owned(),
            vec![
                selected.state.map(|s| s.as_str().to_owned()),
                selected.output.clone(),
            ],
        ),
        Filter::OpenPage { after, limit } => {
            order = format!("ORDER BY a.created, a.alert_id LIMIT {limit}");
            let (created, id) = after.clone().unzip();
            (
                format!("{OPEN} AND (?1 IS NULL OR (a.created, a.alert_id) > (?1, ?2))"),
                vec![created, id],
            )
        }
    };
    let rows: Vec<AlertRow> = conn
        .prepare_cached(&format!(
            "SELECT a.alert_id, a.rule_name, i.item, a.status, a.merged_into, a.attempts, a.dispatched, a.quarantine_reason, a.created
             FROM alerts a LEFT JOIN alert_items i ON i.id = a.id WHERE {condition} {order}"
        ))
        .and_then(|mut s| {
            s.query_map(rusqlite::params_from_iter(&params), |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                    row.get(7)?,
                    row.get(8)?,
                ))
            })?
            .collect()
        })
        .map_err(sql(path))?;
    let found: Vec<DeliveryRow> = conn
        .prepare_cached(&format!(
            "SELECT x.alert_id, d.output, d.state, d.attempts, d.last_error, d.intent, d.updated
             FROM deliveries d JOIN alerts x ON x.id = d.id
             WHERE d.id IN (SELECT a.id FROM alerts a WHERE {condition} {order}) ORDER BY d.id, d.output"
        ))
        .and_then(|mut s| {
            s.query_map(rusqlite::params_from_iter(&params), |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                ))
            })?
            .collect()
        })
        .map_err(sql(path))?;
    let mut deliveries: BTreeMap<String, Vec<DeliveryRecord>> = BTreeMap::new();
    for (alert_id, output, state, attempts, last_error, intent, updated) in found {
        let record = DeliveryRecord {
            state: state.parse().map_err(corrupt)?,
            intent: intent
                .map(|text| text.parse::<Fingerprint>())
                .transpose()
                .map_err(corrupt)?,
            updated: updated
                .map(|text| text.parse::<Timestamp>())
                .transpose()
                .map_err(|e| corrupt(e.to_string()))?,
            output,
            attempts: saturate(attempts),
            last_error,
        };
        deliveries.entry(alert_id).or_default().push(record);
    }
    let mut loaded = Loaded {
        entries: Vec::with_capacity(rows.len()),
        unreadable: Vec::new(),
        last: rows.last().map(|row| (row.8.clone(), row.0.clone())),
        rows: rows.len(),
    };
    for (alert_id, rule_name, item, status, merged_into, attempts, dispatched, reason, created) in
        rows
    {
        let key = AlertKey::new(rule_name, alert_id);
        if status == "quarantined" {
            loaded.unreadable.push(QuarantinedAlert {
                key,
                reason: reason.unwrap_or_default(),
            });
            continue;
        }
        let records = deliveries.remove(&key.alert_id).unwrap_or_default();
        let read = match item {
            Some(item) => read_entry(&item, &status, merged_into, attempts, &dispatched, records),
            // A tombstone (merged afterwards, it stays one).
            None if status == "complete" || status == "merged" => {
                let status = match merged_into {
                    Some(into) => AlertStatus::Merged { into },
                    None => AlertStatus::Complete,
                };
                tombstone_entry(&key, status, &created, attempts, &dispatched, records)
            }
            None => Err("its stored item is missing".to_owned()),
        };
        match read {
            Ok(entry) => loaded.entries.push(entry),
            Err(reason) => {
                quarantine(conn, path, &key, &reason)?;
                loaded.unreadable.push(QuarantinedAlert { key, reason });
            }
        }
    }
    Ok(loaded)
}

/// Rebuilds one alert from its row; the reason when it cannot be read back.
fn read_entry(
    item: &str,
    status: &str,
    merged_into: Option<String>,
    attempts: i64,
    dispatched: &str,
    records: Vec<DeliveryRecord>,
) -> Result<LedgerEntry, String> {
    let item = crate::json::read(item).map_err(|e| format!("stored item is not JSON: {e}"))?;
    let mut alert = Alert::from_item(&item).map_err(|e| e.to_string())?;
    alert.outputs_sent = records
        .iter()
        .filter(|d| d.state == DeliveryState::Sent)
        .map(|d| d.output.clone())
        .collect();
    alert.attempts = saturate(attempts);
    alert.dispatched = dispatched
        .parse()
        .map_err(|e| format!("`dispatched`: {e}"))?;
    let status = match (status, merged_into) {
        ("open", _) => AlertStatus::Open,
        ("complete", _) => AlertStatus::Complete,
        ("merged", Some(into)) => AlertStatus::Merged { into },
        (other, _) => return Err(format!("unknown status `{other}`")),
    };
    Ok(LedgerEntry {
        alert,
        status,
        deliveries: records,
    })
}

/// The entry of a tombstone: the key, times and deliveries of a complete alert whose record is
/// gone (`Record` is null; its outputs are the ones it sent).
fn tombstone_entry(
    key: &AlertKey,
    status: AlertStatus,
    created: &str,
    attempts: i64,
    dispatched: &str,
    records: Vec<DeliveryRecord>,
) -> Result<LedgerEntry, String> {
    let sent = records.iter().map(|d| d.output.clone());
    let mut alert = Alert::new(key.rule_name.clone(), Value::Null, sent);
    alert.alert_id = key.alert_id.clone();
    alert.outputs_sent = alert.outputs.clone();
    alert.attempts = saturate(attempts);
    alert.created = created.parse().map_err(|e| format!("`created`: {e}"))?;
    alert.dispatched = dispatched
        .parse()
        .map_err(|e| format!("`dispatched`: {e}"))?;
    Ok(LedgerEntry {
        alert,
        status,
        deliveries: records,
    })
}

/// Sets an unreadable alert aside: status `quarantined` with the reason. Runs on the connection
/// the caller holds, outside any transaction (the writer thread holds it only inside one).
fn quarantine(
    conn: &Connection,
    path: &Path,
    key: &AlertKey,
    reason: &str,
) -> Result<(), LedgerError> {
    tracing::error!(
        alert_id = %key.alert_id,
        rule = %key.rule_name,
        %reason,
        "the ledger cannot read this alert back; quarantined (it is skipped, the others go on)"
    );
    conn.prepare_cached(
        "UPDATE alerts SET status = 'quarantined', quarantine_reason = ?2 WHERE alert_id = ?1",
    )
    .and_then(|mut s| s.execute(params![key.alert_id, reason]))
    .map_err(sql(path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The name of the thread that runs a write of `ledger`.
    async fn writing_thread(ledger: &SqliteLedger) -> String {
        ledger
            .write(|_, _| Ok(std::thread::current().name().unwrap_or("?").to_owned()))
            .await
            .unwrap()
    }

    fn ledger_in(dir: &Path, synchronous: Synchronous) -> SqliteLedger {
        SqliteLedger::open(&LedgerSettings {
            path: dir.join("ledger.sqlite3"),
            synchronous,
            ..Default::default()
        })
        .unwrap()
    }

    /// The name of the thread that runs a write of `ledger`, written from a runtime of this
    /// thread.
    fn writing_thread_here(ledger: &SqliteLedger) -> String {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(writing_thread(ledger))
    }

    #[test]
    fn writes_one_at_a_time_run_here_after_a_streak_and_a_contended_one_resets_it() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger_in(dir.path(), Synchronous::Normal);
        let here = std::thread::current().name().unwrap().to_owned();
        let threads: Vec<_> = (0..INLINE_AFTER + 2)
            .map(|_| writing_thread_here(&ledger))
            .collect();
        let (before, after) = threads.split_at(INLINE_AFTER - 1);
        assert!(before.iter().all(|t| t == "ledger-writer"), "{threads:?}");
        assert!(after.iter().all(|t| *t == here), "{threads:?}");

        // A read holds the connection: the next write meets it and goes to the writer thread.
        let (held, release) = (std::sync::Barrier::new(2), std::sync::Barrier::new(2));
        let contended = std::thread::scope(|scope| {
            scope.spawn(|| {
                ledger
                    .with_conn(|_, _| {
                        held.wait();
                        release.wait();
                        Ok(())
                    })
                    .unwrap();
            });
            held.wait();
            let write = scope.spawn(|| writing_thread_here(&ledger));
            // The write found the connection taken once its streak is reset.
            let writer = ledger.inner.writer.as_ref().unwrap();
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while writer.idle_streak.load(Ordering::Relaxed) > 0 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the write never met the read"
                );
                std::thread::yield_now();
            }
            release.wait();
            write.join().unwrap()
        });
        assert_eq!(contended, "ledger-writer");
        // And the writes after it too, until a new streak builds.
        assert_eq!(writing_thread_here(&ledger), "ledger-writer");
    }

    /// Writes joined in one task run one after another if each may run here: after a streak,
    /// the first yields, the others see it in progress, and all of them share the thread's
    /// transactions instead of committing one by one.
    #[test]
    fn writes_joined_in_one_task_after_a_streak_go_to_the_writer_thread_together() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger_in(dir.path(), Synchronous::Normal);
        let here = std::thread::current().name().unwrap().to_owned();
        for _ in 0..INLINE_AFTER {
            writing_thread_here(&ledger);
        }
        assert_eq!(
            writing_thread_here(&ledger),
            here,
            "a write alone runs here"
        );
        let joined = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(futures_util::future::join_all(
                (0..4).map(|_| writing_thread(&ledger)),
            ));
        assert!(joined.iter().all(|t| t == "ledger-writer"), "{joined:?}");
        assert_eq!(
            writing_thread_here(&ledger),
            "ledger-writer",
            "the streak starts again"
        );
    }

    #[tokio::test]
    async fn under_synchronous_full_every_write_goes_to_the_writer_thread() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger_in(dir.path(), Synchronous::Full);
        for _ in 0..INLINE_AFTER + 2 {
            assert_eq!(writing_thread(&ledger).await, "ledger-writer");
        }
    }

    fn new_alert(outputs: &[&str]) -> NewAlert {
        let alert = Alert::new("rule", serde_json::json!({"n": 1}), outputs.iter().copied());
        NewAlert {
            alert: alert.into(),
            intents: BTreeMap::new(),
        }
    }

    /// Appends `entries` to the intake log of the closed ledger in `dir`, as a process stopped
    /// before applying them leaves it.
    async fn append_unapplied(dir: &Path, entries: Vec<Entry>) {
        let path = dir.join("ledger.sqlite3");
        let applied = applied_intake(&Connection::open(&path).unwrap(), &path).unwrap();
        let (intake, left) = Intake::open(&path, applied).unwrap();
        assert!(left.is_empty(), "the ledger applied its log on close");
        intake.reset().unwrap();
        for entry in entries {
            intake.append(entry).await.unwrap();
        }
    }

    fn sent(at: &str, alert: &NewAlert, output: &str) -> Entry {
        Entry::Outcome {
            alert_id: alert.alert.alert_id.clone(),
            output: output.into(),
            outcome: Outcome::Sent,
            at: at.into(),
        }
    }

    #[tokio::test]
    async fn an_alert_recorded_again_is_updated_under_its_own_id_and_its_status_follows() {
        for synchronous in [Synchronous::Normal, Synchronous::Full] {
            let dir = tempfile::tempdir().unwrap();
            let ledger = ledger_in(dir.path(), synchronous);
            let first = new_alert(&["file:a"]);
            let key = AlertKey::of(&first.alert);
            ledger.record_alerts(vec![first.clone()]).await.unwrap();
            ledger
                .record_outcome(key.clone(), "file:a".into(), Outcome::Sent)
                .await
                .unwrap();
            // Another alert recorded after it: the last row inserted is not the first one's.
            let other = new_alert(&["file:b"]);
            let other_key = AlertKey::of(&other.alert);
            ledger.record_alerts(vec![other]).await.unwrap();
            let mut again = Alert::clone(&first.alert);
            again.outputs.insert("file:c".into());
            again.outputs_sent.insert("file:a".into());
            again.attempts = 5;
            let again = NewAlert {
                alert: again.into(),
                intents: BTreeMap::new(),
            };
            ledger.record_alerts(vec![again]).await.unwrap();

            let entry = ledger.get(key).await.unwrap().unwrap();
            assert_eq!(
                entry.status,
                AlertStatus::Open,
                "{synchronous:?}: file:c to send"
            );
            assert_eq!(entry.alert.attempts, 5, "{synchronous:?}");
            let states: Vec<_> = entry
                .deliveries
                .iter()
                .map(|d| (d.output.as_str(), d.state))
                .collect();
            assert_eq!(
                states,
                [
                    ("file:a", DeliveryState::Sent),
                    ("file:c", DeliveryState::Pending)
                ],
                "{synchronous:?}"
            );
            let other = ledger.get(other_key).await.unwrap().unwrap();
            let outputs: Vec<_> = other.deliveries.iter().map(|d| d.output.as_str()).collect();
            assert_eq!(
                outputs,
                ["file:b"],
                "{synchronous:?}: nothing written under its id"
            );
        }
    }

    #[tokio::test]
    async fn a_new_alert_whose_outputs_are_all_sent_is_recorded_complete() {
        for synchronous in [Synchronous::Normal, Synchronous::Full] {
            let dir = tempfile::tempdir().unwrap();
            let ledger = ledger_in(dir.path(), synchronous);
            let mut alert = Alert::new("rule", serde_json::json!({"n": 1}), ["file:a"]);
            alert.outputs_sent.insert("file:a".into());
            let key = AlertKey::of(&alert);
            let new = NewAlert {
                alert: alert.into(),
                intents: BTreeMap::new(),
            };
            ledger.record_alerts(vec![new]).await.unwrap();
            let entry = ledger.get(key).await.unwrap().unwrap();
            assert_eq!(entry.status, AlertStatus::Complete, "{synchronous:?}");
            assert_eq!(
                entry.deliveries[0].state,
                DeliveryState::Sent,
                "{synchronous:?}"
            );
        }
    }

    #[tokio::test]
    async fn what_the_intake_log_holds_unapplied_is_applied_once_when_the_ledger_opens_again() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = (new_alert(&["file:a", "file:b"]), new_alert(&["file:c"]));
        let (one, two) = (AlertKey::of(&first.alert), AlertKey::of(&second.alert));
        let ledger = ledger_in(dir.path(), Synchronous::Normal);
        ledger.record_alerts(vec![first.clone()]).await.unwrap();
        let failed = Outcome::Failed("500".into());
        ledger
            .record_outcome(one.clone(), "file:a".into(), failed)
            .await
            .unwrap();
        drop(ledger);
        let at = "2026-12-06T03:00:00.000000Z";
        append_unapplied(
            dir.path(),
            vec![
                sent(at, &first, "file:a"),
                sent(at, &first, "file:b"),
                Entry::Alerts {
                    alerts: vec![AlertWrite::of(&second)],
                    checkpoint: None,
                },
            ],
        )
        .await;
        for _ in 0..2 {
            let ledger = ledger_in(dir.path(), Synchronous::Normal);
            let entry = ledger.get(one.clone()).await.unwrap().unwrap();
            assert_eq!(entry.status, AlertStatus::Complete);
            let a = entry.delivery("file:a").unwrap();
            assert_eq!((a.state, a.attempts), (DeliveryState::Sent, 2), "{a:?}");
            assert_eq!(
                a.updated,
                Some(at.parse().unwrap()),
                "the outcome's own time"
            );
            let pending = ledger.get(two.clone()).await.unwrap().unwrap();
            assert_eq!(
                pending.delivery("file:c").unwrap().state,
                DeliveryState::Pending
            );
            assert_eq!(ledger.counts().await.unwrap().open_alerts, 1);
        }
    }

    /// A file of the log longer than 4 KiB (in the unit tests) hands over to the other one,
    /// which it empties, once every entry of the other one is applied and on disk: every
    /// entry stays in one of the two files until then, none is applied twice, and the files
    /// stay short.
    #[tokio::test]
    async fn a_long_log_file_hands_over_to_the_other_and_nothing_is_applied_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        let ledger = ledger_in(dir.path(), Synchronous::Normal);
        let generation = |file: &PathBuf| {
            let bytes = std::fs::read(file).unwrap();
            bytes.get(8..16).map_or(0, |generation| {
                u64::from_le_bytes(generation.try_into().unwrap())
            })
        };
        let mut longest = 0;
        for n in 0..100 {
            let alert = new_alert(&["file:a"]);
            let key = AlertKey::of(&alert.alert);
            ledger.record_alerts(vec![alert]).await.unwrap();
            let failed = Outcome::Failed("500".into());
            ledger
                .record_outcome(key, "file:a".into(), failed)
                .await
                .unwrap();
            // A read applies the log first.
            assert_eq!(ledger.counts().await.unwrap().failed, n + 1);
            for file in intake::log_files(&path) {
                longest = longest.max(std::fs::metadata(file).unwrap().len());
            }
        }
        let generations = intake::log_files(&path).map(|file| generation(&file));
        assert!(generations.iter().max() > Some(&10), "{generations:?}");
        assert!(
            (4 << 10..16 << 10).contains(&longest),
            "a file of {longest} bytes hands over past 4 KiB"
        );
        let attempts = |ledger: &SqliteLedger| -> Vec<u32> {
            let entries = ledger.entries().unwrap();
            entries.iter().map(|e| e.deliveries[0].attempts).collect()
        };
        assert_eq!(attempts(&ledger), [1; 100]);
        drop(ledger);
        // Closed: everything applied and flushed, both files emptied (one holds a header).
        let lengths = intake::log_files(&path).map(|file| std::fs::metadata(file).unwrap().len());
        assert_eq!(lengths.iter().sum::<u64>(), 16, "{lengths:?}");
        assert_eq!(
            attempts(&ledger_in(dir.path(), Synchronous::Normal)),
            [1; 100]
        );
    }

    /// More deliveries recorded without an outcome than the log remembers (64 in the unit
    /// tests): it forgets them, and their outcomes, written directly, land all the same.
    #[tokio::test]
    async fn outcomes_of_deliveries_the_log_forgot_are_written_directly() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger_in(dir.path(), Synchronous::Normal);
        let alerts: Vec<NewAlert> = (0..100).map(|_| new_alert(&["file:a", "file:b"])).collect();
        for alert in &alerts {
            ledger.record_alerts(vec![alert.clone()]).await.unwrap();
        }
        for alert in &alerts {
            for output in ["file:a", "file:b"] {
                let key = AlertKey::of(&alert.alert);
                ledger
                    .record_outcome(key, output.into(), Outcome::Sent)
                    .await
                    .unwrap();
            }
        }
        let counts = ledger.counts().await.unwrap();
        assert_eq!((counts.complete_alerts, counts.sent), (100, 200));
    }

    /// Nothing reads: the writer thread, woken by the appends, applies them on its own (after
    /// letting more gather for a few tens of milliseconds).
    #[tokio::test]
    async fn the_writer_thread_applies_what_is_appended_without_being_asked() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger_in(dir.path(), Synchronous::Normal);
        for _ in 0..3 {
            ledger
                .record_alerts(vec![new_alert(&["file:a"])])
                .await
                .unwrap();
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while ledger.inner.intake.queued() > 0 {
                assert!(std::time::Instant::now() < deadline, "never applied");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }

    /// An entry SQLite refuses to apply (here a trigger refuses its alert) fails the next
    /// operation that applies the log, with SQLite's error, and stays queued: once SQLite takes
    /// it, it is applied, after what came before it and before what came after.
    #[tokio::test]
    async fn an_entry_that_cannot_be_applied_fails_the_next_operation_and_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger_in(dir.path(), Synchronous::Normal);
        let raw = || ledger.inner.conn.lock().unwrap();
        raw()
            .execute_batch(
                "CREATE TEMP TRIGGER refuse BEFORE INSERT ON alerts WHEN NEW.rule_name = 'refused'
                 BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END;",
            )
            .unwrap();
        let before = new_alert(&["file:a"]);
        let refused = NewAlert {
            alert: Alert::new("refused", serde_json::json!({}), ["file:a"]).into(),
            intents: BTreeMap::new(),
        };
        let after = new_alert(&["file:a"]);
        for alert in [&before, &refused, &after] {
            ledger.record_alerts(vec![alert.clone()]).await.unwrap();
        }
        for _ in 0..2 {
            let error = ledger.counts().await.unwrap_err().to_string();
            assert!(error.contains("refused by a trigger"), "{error}");
        }
        raw().execute_batch("DROP TRIGGER temp.refuse").unwrap();
        let ids: Vec<String> = ledger
            .entries()
            .unwrap()
            .into_iter()
            .map(|entry| entry.alert.alert_id)
            .collect();
        let expected = [&before, &refused, &after].map(|new| new.alert.alert_id.clone());
        assert_eq!(ids, expected);
    }

    /// An appended alert's item stays in the log until it is applied: if the log's file loses
    /// it meanwhile, applying it fails with an error that names the log and the alert, and
    /// the entry stays queued rather than being written without its item.
    #[test]
    fn an_item_the_log_no_longer_holds_fails_the_apply_naming_the_alert() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger_in(dir.path(), Synchronous::Normal);
        let alert = new_alert(&["file:a"]);
        {
            // Held, the connection keeps the writer thread from applying the entry.
            let _held = ledger.inner.conn.lock().unwrap();
            runtime
                .block_on(ledger.record_alerts(vec![alert.clone()]))
                .unwrap();
            for file in intake::log_files(ledger.path()) {
                let file = std::fs::OpenOptions::new().write(true).open(file).unwrap();
                if file.metadata().unwrap().len() > 16 {
                    file.set_len(16).unwrap();
                }
            }
        }
        let expected = format!(
            "cannot read the item of alert {} back from the intake log",
            alert.alert.alert_id
        );
        for _ in 0..2 {
            let error = runtime.block_on(ledger.counts()).unwrap_err().to_string();
            assert!(error.contains(&expected), "{error}");
            assert!(error.contains("ledger.sqlite3-intake"), "{error}");
        }
    }

    /// Applied as one batch, a run of entries leaves every table as applying them one batch
    /// each does (where no alert is recorded and completed within a batch): alerts completed,
    /// left open, merging, recorded twice, failed and given up, with outputs sent before and
    /// intents.
    #[test]
    fn one_batch_leaves_the_tables_as_one_batch_per_entry_does() {
        let record = |outputs: &[&str], edit: &dyn Fn(&mut Alert)| {
            let mut new = new_alert(outputs);
            edit(Arc::make_mut(&mut new.alert));
            new.intents = [("file:a".to_owned(), Fingerprint(7))].into();
            AlertWrite::of(&new)
        };
        let done = record(&["file:a"], &|_| {});
        let half = record(&["file:a", "file:b"], &|_| {});
        let merging = record(&["file:a"], &|alert| {
            alert.merge_by_keys = vec!["n".into()];
            alert.merge_window_mins = 5;
        });
        let sent_before = record(&["file:a", "file:b"], &|alert| {
            alert.outputs_sent.insert("file:b".into());
        });
        let dead = record(&["file:a"], &|_| {});
        let mut again = done.clone();
        again.alert_id = "recorded-twice".into();
        let mut twice = again.clone();
        twice.attempts += 1;
        let outcome = |alert: &AlertWrite, output: &str, outcome: Outcome, n: u8| Entry::Outcome {
            alert_id: alert.alert_id.clone(),
            output: output.into(),
            outcome,
            at: format!("2026-12-06T06:00:0{n}.000000Z"),
        };
        let alerts = |alerts: Vec<AlertWrite>| Entry::Alerts {
            alerts,
            checkpoint: None,
        };
        let entries = vec![
            alerts(vec![done.clone(), half.clone(), merging.clone()]),
            alerts(vec![sent_before.clone(), dead.clone(), again.clone()]),
            outcome(&done, "file:a", Outcome::Sent, 1),
            outcome(&half, "file:a", Outcome::Sent, 2),
            outcome(&half, "file:b", Outcome::Failed("500".into()), 3),
            outcome(&merging, "file:a", Outcome::Sent, 4),
            outcome(&sent_before, "file:a", Outcome::Sent, 5),
            outcome(&dead, "file:a", Outcome::Dead("403".into()), 6),
            alerts(vec![twice.clone()]),
            outcome(&again, "file:a", Outcome::Sent, 7),
        ];
        let tables_after = |batches: Vec<Vec<Entry>>| {
            let dir = tempfile::tempdir().unwrap();
            let ledger = ledger_in(dir.path(), Synchronous::Full);
            let path = ledger.inner.path.clone();
            let mut conn = ledger.inner.conn.lock().unwrap();
            for entries in batches {
                apply_batch(&mut conn, &path, &Batch::of_entries(entries)).unwrap();
            }
            ["alerts", "deliveries", "alert_items"].map(|table| {
                let mut rows = conn
                    .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
                    .unwrap();
                let columns = rows.column_count();
                rows.query_map([], |row| {
                    (0..columns)
                        .map(|i| row.get_ref(i).map(|value| format!("{value:?}")))
                        .collect::<Result<Vec<_>, _>>()
                })
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
            })
        };
        let one_each = tables_after(entries.iter().map(|entry| vec![entry.clone()]).collect());
        let together = tables_after(vec![entries]);
        assert_eq!(one_each[0].len(), 6, "every alert has its row");
        assert_eq!(together, one_each);
    }

    /// An alert recorded and completed by the same applied batch ends as a tombstone without
    /// its item ever being written; one that stays open has its item.
    #[tokio::test]
    #[expect(
        clippy::await_holding_lock,
        reason = "the connection is held on purpose: the appends awaited meanwhile never take it"
    )]
    async fn an_alert_completed_within_one_applied_batch_never_has_its_item_written() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger_in(dir.path(), Synchronous::Normal);
        let raw = || ledger.inner.conn.lock().unwrap();
        raw()
            .execute_batch(
                "CREATE TEMP TABLE written (alert_id TEXT);
                 CREATE TEMP TRIGGER count_items AFTER INSERT ON main.alert_items BEGIN
                     INSERT INTO written SELECT alert_id FROM main.alerts WHERE id = NEW.id;
                 END;",
            )
            .unwrap();
        let done = new_alert(&["file:a"]);
        let open = new_alert(&["file:a", "file:b"]);
        {
            // Held, the connection keeps the writer thread from applying before both are in.
            let _held = raw();
            ledger
                .record_alerts(vec![done.clone(), open.clone()])
                .await
                .unwrap();
            for alert in [&done, &open] {
                let key = AlertKey::of(&alert.alert);
                ledger
                    .record_outcome(key, "file:a".into(), Outcome::Sent)
                    .await
                    .unwrap();
            }
        }
        let counts = ledger.counts().await.unwrap();
        assert_eq!((counts.complete_alerts, counts.open_alerts), (1, 1));
        assert_eq!((counts.sent, counts.pending), (2, 1));
        let written: Vec<String> = raw()
            .prepare("SELECT alert_id FROM written")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(written, std::slice::from_ref(&open.alert.alert_id));
        let items: i64 = raw()
            .query_row("SELECT COUNT(*) FROM alert_items", [], |row| row.get(0))
            .unwrap();
        assert_eq!(items, 1, "the open alert keeps its item");
    }

    /// `prune` may delete an alert whose delivery the log still knows (recorded through it, with
    /// no outcome): the log forgets what it knows, and the outcome then finds the alert gone.
    #[tokio::test]
    async fn after_a_prune_an_outcome_the_log_knew_of_reports_an_unknown_alert() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = ledger_in(dir.path(), Synchronous::Normal);
        let alert = new_alert(&["file:a"]);
        let key = AlertKey::of(&alert.alert);
        ledger.record_alerts(vec![alert.clone()]).await.unwrap();
        // Recorded again with the output sent (as a retry of the event would): complete,
        // without an outcome the log would have taken.
        let mut sent = (*alert.alert).clone();
        sent.outputs_sent.insert("file:a".into());
        let sent = NewAlert {
            alert: sent.into(),
            intents: BTreeMap::new(),
        };
        ledger.record_alerts(vec![sent]).await.unwrap();
        let tomorrow = chrono::Utc::now().naive_utc() + chrono::TimeDelta::days(1);
        assert_eq!(ledger.prune(Timestamp::from(tomorrow)).await.unwrap(), 1);
        let error = ledger
            .record_outcome(key.clone(), "file:a".into(), Outcome::Sent)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, LedgerError::UnknownAlert(k) if *k == key),
            "{error}"
        );
    }

    #[test]
    fn a_file_that_is_not_an_intake_log_or_of_another_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(ledger_in(dir.path(), Synchronous::Normal));
        let path = dir.path().join("ledger.sqlite3");
        let [_, second] = intake::log_files(&path);
        std::fs::write(second, b"SQLite format 3\0 and more").unwrap();
        let settings = LedgerSettings {
            path,
            ..Default::default()
        };
        let error = SqliteLedger::open(&settings).unwrap_err().to_string();
        assert!(
            error.contains("ledger.sqlite3-intake.1: not an intake log"),
            "{error}"
        );
        let [first, second] = intake::log_files(&settings.path);
        std::fs::write(second, []).unwrap();
        std::fs::write(first, b"SAINTAK9\x01\0\0\0\0\0\0\0").unwrap();
        let error = SqliteLedger::open(&settings).unwrap_err().to_string();
        assert!(
            error.contains("ledger.sqlite3-intake.0: an intake log of another format (`SAINTAK9`)"),
            "{error}"
        );
    }

    /// The entries both files of the intake log of the ledger `path` hold.
    fn logged(path: &Path) -> Vec<Entry> {
        let read = |file| {
            let bytes = std::fs::read(file).unwrap();
            let entries = bytes.get(16..).map(|_| intake::read_entries(&bytes, 16));
            entries.map_or(Vec::new(), |read| read.unwrap().0)
        };
        intake::log_files(path).into_iter().flat_map(read).collect()
    }

    /// Under `normal` an alert and the outcomes of its deliveries are appended to the intake
    /// log; an outcome for a delivery the log does not know (recorded by an earlier run) is
    /// written directly, which tells an unknown alert apart. Under `full` nothing is logged.
    #[tokio::test]
    async fn alerts_and_their_outcomes_go_through_the_intake_log_only_under_normal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        let logged = || logged(&path);
        let alert = new_alert(&["file:a", "file:b"]);
        let key = AlertKey::of(&alert.alert);
        let ledger = ledger_in(dir.path(), Synchronous::Normal);
        ledger.record_alerts(vec![alert.clone()]).await.unwrap();
        ledger
            .record_outcome(key.clone(), "file:a".into(), Outcome::Sent)
            .await
            .unwrap();
        let kinds: Vec<bool> = logged()
            .iter()
            .map(|entry| matches!(entry, Entry::Outcome { .. }))
            .collect();
        assert_eq!(kinds, [false, true]);
        let unknown = AlertKey::new("rule", "never-recorded");
        let error = ledger
            .record_outcome(unknown.clone(), "file:a".into(), Outcome::Sent)
            .await
            .unwrap_err();
        assert!(matches!(error, LedgerError::UnknownAlert(k) if k == unknown));
        drop(ledger);

        // A new run knows nothing of the alert: its outcome is written directly.
        let ledger = ledger_in(dir.path(), Synchronous::Normal);
        ledger
            .record_outcome(key.clone(), "file:b".into(), Outcome::Sent)
            .await
            .unwrap();
        assert!(logged().is_empty(), "{:?}", logged());
        let entry = ledger.get(key).await.unwrap().unwrap();
        assert_eq!(entry.status, AlertStatus::Complete);
        drop(ledger);

        let ledger = ledger_in(dir.path(), Synchronous::Full);
        let other = new_alert(&["file:a"]);
        ledger.record_alerts(vec![other.clone()]).await.unwrap();
        ledger
            .record_outcome(AlertKey::of(&other.alert), "file:a".into(), Outcome::Sent)
            .await
            .unwrap();
        assert!(logged().is_empty(), "{:?}", logged());
        assert_eq!(ledger.counts().await.unwrap().complete_alerts, 2);
    }

    #[test]
    fn a_group_takes_what_is_queued_up_to_max_group() {
        let (send, jobs) = mpsc::channel();
        (0..MAX_GROUP + 44).for_each(|n| send.send(n).unwrap());
        let first = jobs.recv().unwrap();
        let group = take_group(first, &jobs);
        assert_eq!(group, (0..MAX_GROUP).collect::<Vec<_>>());
        let next = take_group(jobs.recv().unwrap(), &jobs);
        assert_eq!(next.len(), 44, "the rest, in the next group");
        assert!(jobs.try_recv().is_err());
    }

    #[tokio::test]
    async fn activity_counts_deliveries_in_the_hour_of_their_last_update_by_state() {
        let dir = tempfile::tempdir().unwrap();
        let settings = LedgerSettings {
            path: dir.path().join("ledger.sqlite3"),
            ..Default::default()
        };
        let ledger = SqliteLedger::open(&settings).unwrap();
        let alert = Alert::new(
            "r",
            serde_json::json!({}),
            ["file:a", "slack:b", "stdout:c"],
        );
        let key = AlertKey::of(&alert);
        let new = NewAlert {
            alert: alert.into(),
            intents: BTreeMap::new(),
        };
        ledger.record_alerts(vec![new]).await.unwrap();
        ledger
            .record_outcome(key.clone(), "file:a".into(), Outcome::Sent)
            .await
            .unwrap();
        ledger
            .record_outcome(key.clone(), "slack:b".into(), Outcome::Failed("x".into()))
            .await
            .unwrap();
        let entry = ledger.get(key).await.unwrap().unwrap();
        let mut want = BTreeMap::new();
        for d in &entry.deliveries {
            let at = d.updated.unwrap_or(entry.alert.created);
            *want
                .entry((HourlyDeliveries::hour_of(at), d.state))
                .or_insert(0) += 1;
        }
        let got: BTreeMap<_, _> = ledger
            .activity(Timestamp::EPOCH)
            .await
            .unwrap()
            .into_iter()
            .map(|h| ((h.hour, h.state), h.count))
            .collect();
        assert_eq!(got, want);
        assert_eq!(got.values().sum::<u64>(), 3);
        let states: Vec<DeliveryState> = got.keys().map(|(_, state)| *state).collect();
        for state in [
            DeliveryState::Sent,
            DeliveryState::Pending,
            DeliveryState::Failed,
        ] {
            assert!(states.contains(&state), "{state} in {got:?}");
        }
        let later = Timestamp::now().plus_minutes(60);
        assert_eq!(ledger.activity(later).await.unwrap(), Vec::new());
    }

    #[test]
    fn counts_tell_every_state_apart() {
        let dir = tempfile::tempdir().unwrap();
        let settings = LedgerSettings {
            path: dir.path().join("ledger.sqlite3"),
            ..Default::default()
        };
        let ledger = SqliteLedger::open(&settings).unwrap();
        let alert = |n: u32, outputs: &[&str]| {
            let alert = Alert::new(
                "rule",
                serde_json::json!({ "n": n }),
                outputs.iter().copied(),
            );
            NewAlert {
                alert: alert.into(),
                intents: BTreeMap::new(),
            }
        };
        let news = vec![
            alert(1, &["file:sent"]),
            alert(2, &["file:failed", "file:dead", "file:pending"]),
            alert(3, &["file:a"]),
            alert(4, &["file:a"]),
            alert(5, &["file:a"]),
        ];
        let keys: Vec<AlertKey> = news.iter().map(|new| AlertKey::of(&new.alert)).collect();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            ledger.record_alerts(news).await.unwrap();
            let outcomes = [
                (0, "file:sent", Outcome::Sent),
                (1, "file:failed", Outcome::Failed("500".into())),
                (1, "file:dead", Outcome::Dead("403".into())),
            ];
            for (i, output, outcome) in outcomes {
                let key = keys[i].clone();
                ledger
                    .record_outcome(key, output.into(), outcome)
                    .await
                    .unwrap();
            }
            let merged = alert(6, &["file:a"]);
            ledger
                .record_merge(keys[2..].to_vec(), merged)
                .await
                .unwrap();
            let counts = ledger.counts().await.unwrap();
            let expected = LedgerCounts {
                open_alerts: 2,
                complete_alerts: 1,
                merged_alerts: 3,
                pending: 2,
                sent: 1,
                failed: 1,
                dead: 1,
                quarantined_alerts: 0,
            };
            assert_eq!(counts, expected);
        });
    }

    #[test]
    fn an_open_alert_whose_item_is_missing_is_quarantined() {
        let dir = tempfile::tempdir().unwrap();
        let settings = LedgerSettings {
            path: dir.path().join("ledger.sqlite3"),
            ..Default::default()
        };
        let ledger = SqliteLedger::open(&settings).unwrap();
        let alert = Alert::new("rule", serde_json::json!({"n": 1}), ["file:a"]);
        let key = AlertKey::of(&alert);
        let new = NewAlert {
            alert: alert.into(),
            intents: BTreeMap::new(),
        };
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(ledger.record_alerts(vec![new])).unwrap();
        ledger
            .with_conn(|conn, path| {
                conn.execute("DELETE FROM alert_items", [])
                    .map_err(sql(path))
            })
            .unwrap();
        assert!(runtime.block_on(ledger.open_alerts()).unwrap().is_empty());
        let quarantined = runtime.block_on(ledger.quarantined()).unwrap();
        let expected = QuarantinedAlert {
            key,
            reason: "its stored item is missing".to_owned(),
        };
        assert_eq!(quarantined, [expected]);
    }

    #[test]
    fn debug_shows_the_path_and_no_connection() {
        let dir = tempfile::tempdir().unwrap();
        let settings = LedgerSettings {
            path: dir.path().join("ledger.sqlite3"),
            ..Default::default()
        };
        let shown = format!("{:?}", SqliteLedger::open(&settings).unwrap());
        assert!(shown.starts_with("SqliteLedger { path: "), "{shown}");
        assert!(
            shown.contains("ledger.sqlite3") && shown.ends_with(", .. }"),
            "{shown}"
        );
    }
}
