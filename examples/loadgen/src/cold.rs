//! Cold start: from `exec` of a processor to its first delivery, and its peak RSS at that
//! moment.
//!
//! * streamalert-rs: the quickstart binary runs `process --input - --config <its conf>` in an
//!   working directory of its own; one record (the root
//!   console login of `examples/quickstart/data/records.jsonl`) is written to its standard
//!   input, which stays open. Measured twice per directory: a first start, which creates the
//!   SQLite ledger, and a restart, which opens the existing one. The clock stops when its `stdout:console` output prints the
//!   alert; the process is still running then, and its `VmHWM` is read from `/proc`.
//! * The baseline: `python -u` runs `streamalert_baseline.py --count 1 --warmup 0` against the
//!   sink (interpreter start, imports, one alert sent to Slack); the clock stops when its result
//!   line arrives, printed right after the alert is sent; a wrapper then prints the process's
//!   own `VmHWM`.

use crate::baseline::Baseline;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One measured start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Start {
    /// `exec` to the first delivery.
    pub(crate) elapsed: Duration,
    /// Peak resident set size at that moment, in KiB.
    pub(crate) peak_rss_kib: u64,
}

/// Runs the baseline's script as `__main__`, then prints this process's `VmHWM` line.
const PYTHON_WRAPPER: &str = r#"
import runpy, sys
script = sys.argv[1]
sys.argv = sys.argv[1:]
try:
    runpy.run_path(script, run_name='__main__')
except SystemExit as exit:
    if exit.code:
        raise
with open('/proc/self/status') as status:
    print(next(line for line in status if line.startswith('VmHWM')).strip())
"#;

/// Starts `quickstart` once (see the module docs).
/// `workdir` is its working directory: the ledger is created there on the first start and
/// opened on the next.
pub(crate) fn quickstart(
    binary: &Path,
    config: &Path,
    record_line: &str,
    workdir: &Path,
) -> Result<Start, String> {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args(["process", "--input", "-", "--config"])
        .arg(config)
        .current_dir(workdir)
        .env("RUST_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let measured = first_line(&mut child, record_line, started);
    let measured = measured.and_then(|elapsed| {
        let peak_rss_kib = vm_hwm_kib(&format!("/proc/{}/status", child.id()))?;
        Ok(Start {
            elapsed,
            peak_rss_kib,
        })
    });
    drop(child.stdin.take());
    let status = child
        .wait()
        .map_err(|e| format!("cannot wait for quickstart: {e}"))?;
    let start = measured?;
    if !status.success() {
        return Err(format!("quickstart exited with {status}"));
    }
    Ok(start)
}

/// Writes the record, keeps standard input open and waits for the first output line.
fn first_line(
    child: &mut std::process::Child,
    record_line: &str,
    started: Instant,
) -> Result<Duration, String> {
    let stdin = child.stdin.as_mut().ok_or("no stdin")?;
    stdin
        .write_all(format!("{record_line}\n").as_bytes())
        .and_then(|()| stdin.flush())
        .map_err(|e| format!("cannot write the record: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("cannot read quickstart's output: {e}"))?;
    let elapsed = started.elapsed();
    if line.trim().is_empty() {
        return Err("quickstart delivered nothing".into());
    }
    Ok(elapsed)
}

/// The machine's floor for any start: spawn to exit of `/bin/true`, measured like the others.
pub(crate) fn floor() -> Result<Duration, String> {
    let started = Instant::now();
    let status = Command::new("/bin/true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run /bin/true: {e}"))?;
    let elapsed = started.elapsed();
    if !status.success() {
        return Err(format!("/bin/true exited with {status}"));
    }
    Ok(elapsed)
}

/// Starts the baseline once against the Slack `url` (see the module docs).
pub(crate) fn baseline(baseline: &Baseline, url: &str) -> Result<Start, String> {
    let started = Instant::now();
    let mut child = Command::new(&baseline.python)
        .args(["-u", "-c", PYTHON_WRAPPER])
        .arg(&baseline.script)
        .arg("--record")
        .arg(&baseline.record)
        .args([
            "--service",
            "slack",
            "--url",
            url,
            "--count",
            "1",
            "--warmup",
            "0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", baseline.python.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let result = lines.next().transpose();
    let elapsed = started.elapsed();
    let hwm = lines.next().transpose();
    let output = child
        .wait_with_output()
        .map_err(|e| format!("cannot wait for the baseline: {e}"))?;
    let (Ok(Some(result)), Ok(Some(hwm))) = (result, hwm) else {
        return Err(format!(
            "the baseline printed no result ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    };
    if !output.status.success() || !result.contains("alerts_per_s") {
        return Err(format!("the baseline failed ({}): {result}", output.status));
    }
    Ok(Start {
        elapsed,
        peak_rss_kib: parse_kib(&hwm).ok_or_else(|| format!("unexpected line {hwm:?}"))?,
    })
}

/// The `VmHWM` (peak RSS) of a `/proc/<pid>/status` file, in KiB.
pub(crate) fn vm_hwm_kib(status_file: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string(status_file)
        .map_err(|e| format!("cannot read {status_file}: {e}"))?;
    status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .and_then(parse_kib)
        .ok_or_else(|| format!("no VmHWM in {status_file}"))
}

/// `VmHWM:    1234 kB` → 1234.
fn parse_kib(line: &str) -> Option<u64> {
    line.strip_prefix("VmHWM:")?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;

    #[test]
    fn reads_the_peak_rss_of_a_status_file() {
        assert_eq!(parse_kib("VmHWM:\t   10812 kB"), Some(10812));
        assert_eq!(parse_kib("VmRSS:\t   10812 kB"), None);
        assert!(vm_hwm_kib("/proc/self/status").unwrap() > 0);
    }
}
