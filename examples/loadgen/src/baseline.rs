//! Running StreamAlert's per-alert Python baseline (`data/streamalert_baseline.py`, see
//! `/work/shared/bench/README.md` of the project) as a child process.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where the baseline is and which Python runs it.
#[derive(Debug, Clone)]
pub(crate) struct Baseline {
    /// The Python interpreter (a venv's, with `requests` installed).
    pub(crate) python: PathBuf,
    /// `streamalert_baseline.py`.
    pub(crate) script: PathBuf,
    /// The alert record (`record.json`).
    pub(crate) record: PathBuf,
}

impl Baseline {
    /// The baseline's command line for `args`.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.python);
        command
            .arg(&self.script)
            .arg("--record")
            .arg(&self.record)
            .args(args);
        command
    }

    /// Runs the baseline with `args` and returns the JSON line it prints.
    pub(crate) fn run(&self, args: &[&str]) -> Result<Value, String> {
        let output = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.python.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "the baseline failed ({}): {} {}",
                output.status,
                stdout.trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let line = stdout.lines().last().unwrap_or_default();
        serde_json::from_str(line).map_err(|e| format!("unexpected baseline output {line:?}: {e}"))
    }

    /// Alerts per second of a dispatch run of `count` alerts to `url`.
    pub(crate) fn dispatch(&self, service: &str, url: &str, count: usize) -> Result<f64, String> {
        let count = count.to_string();
        let result = self.run(&["--service", service, "--url", url, "--count", &count])?;
        result["alerts_per_s"]
            .as_f64()
            .ok_or_else(|| format!("no alerts_per_s in {result}"))
    }

    /// `python --version` and the `requests` version, e.g. `("3.12.3", "2.32.5")`.
    pub(crate) fn versions(&self) -> Result<(String, String), String> {
        let output = Command::new(&self.python)
            .args([
                "-c",
                "import sys, requests; print(sys.version.split()[0], requests.__version__)",
            ])
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.python.display()))?;
        let text = String::from_utf8_lossy(&output.stdout);
        match text.split_whitespace().collect::<Vec<_>>()[..] {
            [python, requests] if output.status.success() => {
                Ok((python.to_owned(), requests.to_owned()))
            }
            _ => Err(format!(
                "cannot import requests with {}: {}",
                self.python.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            )),
        }
    }
}

/// The default location of a file shipped in `examples/loadgen/data`.
pub(crate) fn data_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}
