//! Memory of `retry` over a large ledger (issue #12, "Bounded retry").
//!
//! For each count, a temporary directory gets a configuration (`processor.json` with the
//! ledger's path, `outputs.json` with one `file:alerts` output) and a SQLite ledger filled
//! through the library with that many pending alerts, each for `file:alerts` only. Then the
//! real `quickstart retry --config <dir>` delivers them, and its peak RSS, wall time and the
//! lines of the file output (one per delivered alert) are read. A count of 0 (an empty ledger)
//! is the fixed floor of the binary.
//!
//! The peak RSS is `getrusage(RUSAGE_CHILDREN)` after waiting for the process. That figure is
//! the largest of all the children waited for so far, so each `retry` runs under a `loadgen
//! peak-rss` process of its own ([`peak_rss`]), whose only child it is.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;
use streamalert::Alert;
use streamalert::config::LedgerSettings;
use streamalert::ledger::{Ledger as _, NewAlert, SqliteLedger};

/// The only output of the alerts.
const OUTPUT: &str = "file:alerts";

/// Alerts per `record_alerts` call (one transaction each) while filling the ledger.
const FILL_BATCH: usize = 5_000;

/// What one `retry` took.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Measured {
    /// The pending alerts in the ledger.
    pub(crate) count: usize,
    /// The peak resident set size of `retry`, in KiB.
    pub(crate) peak_rss_kib: u64,
    /// Its wall time.
    pub(crate) seconds: f64,
    /// The lines of the file output after it.
    pub(crate) delivered: u64,
}

impl Measured {
    /// The JSON object of these figures.
    pub(crate) fn to_json(self) -> Value {
        json!({
            "count": self.count,
            "peak_rss_kib": self.peak_rss_kib,
            "seconds": self.seconds,
            "delivered": self.delivered,
        })
    }
}

/// Fills a ledger with `count` pending alerts of `record` and runs `quickstart retry` on it.
pub(crate) fn measure(quickstart: &Path, count: usize, record: &Value) -> Result<Measured, String> {
    let temp = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
    let dir = temp.path();
    let ledger = dir.join("ledger.sqlite3");
    let alerts = dir.join("alerts.jsonl");
    write_json(
        &dir.join("processor.json"),
        &json!({ "ledger": { "path": ledger } }),
    )?;
    write_json(
        &dir.join("outputs.json"),
        &json!({ "file": { "alerts": alerts } }),
    )?;
    let filled = Instant::now();
    fill(&ledger, count, record)?;
    eprintln!(
        "{count} pending alerts recorded in {:.1} s",
        filled.elapsed().as_secs_f64()
    );

    let log = dir.join("retry.log");
    let output = Command::new(
        std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?,
    )
    .arg("peak-rss")
    .arg(quickstart)
    .arg("retry")
    .arg("--config")
    .arg(dir)
    .current_dir(dir)
    .stdin(Stdio::null())
    .stderr(File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?)
    .output()
    .map_err(|e| format!("cannot run peak-rss: {e}"))?;
    if !output.status.success() {
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        return Err(format!(
            "quickstart retry over {count} alerts failed ({}): {}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    let figures: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("unexpected peak-rss output: {e}"))?;
    let field = |name: &str| {
        figures[name]
            .as_f64()
            .ok_or_else(|| format!("no {name} in the peak-rss output {figures}"))
    };
    Ok(Measured {
        count,
        peak_rss_kib: field("peak_rss_kib")? as u64,
        seconds: field("seconds")?,
        // An empty ledger leaves no file.
        delivered: if alerts.exists() {
            count_lines(&alerts)?
        } else {
            0
        },
    })
}

/// Records `count` pending alerts of `record`, for [`OUTPUT`] only, in a new ledger at `path`.
fn fill(path: &Path, count: usize, record: &Value) -> Result<(), String> {
    let settings = LedgerSettings {
        path: path.to_owned(),
        ..LedgerSettings::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    runtime.block_on(async {
        // Dropped at the end of the block: it holds the file exclusively.
        let ledger = SqliteLedger::open(&settings).map_err(|e| e.to_string())?;
        let mut left = count;
        while left > 0 {
            let batch = left.min(FILL_BATCH);
            left -= batch;
            let alerts = (0..batch)
                .map(|_| NewAlert {
                    alert: Alert::new(crate::load::RULE_NAME, record.clone(), [OUTPUT]).into(),
                    intents: BTreeMap::new(),
                })
                .collect();
            ledger
                .record_alerts(alerts)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// The hidden `peak-rss` command: runs `program` with `args` (standard output discarded,
/// standard error inherited) and returns its peak RSS and wall time; an error when it fails.
pub(crate) fn peak_rss(program: &Path, args: &[OsString]) -> Result<Value, String> {
    let started = Instant::now();
    let status = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("{} exited with {status}", program.display()));
    }
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map_err(|e| format!("getrusage: {e}"))?;
    // Linux reports `ru_maxrss` in KiB.
    Ok(json!({ "peak_rss_kib": usage.max_rss(), "seconds": seconds }))
}

fn write_json(path: &Path, value: &Value) -> Result<(), String> {
    std::fs::write(path, value.to_string())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The newline characters of the file at `path`.
fn count_lines(path: &Path) -> Result<u64, String> {
    let mut file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut buffer = vec![0; 1 << 16];
    let mut lines = 0;
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if read == 0 {
            return Ok(lines);
        }
        lines += buffer[..read].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;

    #[test]
    fn fills_a_ledger_with_pending_alerts_for_the_file_output() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        fill(&path, FILL_BATCH + 3, &json!({"a": 1})).unwrap();
        let ledger = SqliteLedger::open(&LedgerSettings {
            path,
            ..LedgerSettings::default()
        })
        .unwrap();
        let counts = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(ledger.counts())
            .unwrap();
        assert_eq!(counts.unsent(), (FILL_BATCH + 3) as u64);
        let entries = ledger.entries().unwrap();
        assert_eq!(entries.len(), FILL_BATCH + 3);
        assert_eq!(
            entries[0].to_retry().into_iter().collect::<Vec<_>>(),
            [OUTPUT]
        );
    }

    #[test]
    fn counts_lines_and_measures_a_child() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lines");
        std::fs::write(&path, "a\nb\n\n").unwrap();
        assert_eq!(count_lines(&path).unwrap(), 3);
        let figures = peak_rss(Path::new("/bin/true"), &[]).unwrap();
        assert!(figures["peak_rss_kib"].as_u64().unwrap() > 0);
        assert!(peak_rss(Path::new("/bin/false"), &[]).is_err());
    }
}
