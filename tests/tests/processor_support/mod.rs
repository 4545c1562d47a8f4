//! Shared by the processor tests: run this test binary as a processor binary (its own rules
//! and outputs, the real command line) in a child process, and scratch directories.
#![allow(dead_code, unreachable_pub)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};

/// Set in a child: the command line (a JSON list) it runs instead of the tests.
const CHILD_ARGS: &str = "STREAMALERT_TEST_CHILD_ARGS";

/// The name of the test function that calls [`child_main`] in every file using this module.
pub const CHILD_TEST: &str = "cli_child";

/// In a child process: runs the command line from the environment and exits with its status.
/// Returns `false` in the test process itself.
pub fn child_main() -> bool {
    let Ok(args) = std::env::var(CHILD_ARGS) else {
        return false;
    };
    let args: Vec<String> = serde_json::from_str(&args).expect("child args are a JSON list");
    let code = streamalert::cli::run_from(args);
    let status = if code == ExitCode::SUCCESS {
        0
    } else if code == ExitCode::from(2) {
        2
    } else {
        1
    };
    std::process::exit(status)
}

/// Runs `processor <args>` (this test binary as the processor) in `workdir`.
pub fn run_cli(workdir: &Path, args: &[&str]) -> Output {
    run_cli_with_stdin(workdir, args, None)
}

/// Runs `processor <args>` in `workdir` with `stdin` as standard input.
pub fn run_cli_with_stdin(workdir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    run_cli_full(workdir, args, stdin, &[])
}

/// Runs `processor <args>` in `workdir` with these environment variables set.
pub fn run_cli_with_env(workdir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    run_cli_full(workdir, args, None, env)
}

fn run_cli_full(
    workdir: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    env: &[(&str, &str)],
) -> Output {
    let mut all = vec!["processor".to_owned()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let mut command = Command::new(std::env::current_exe().expect("test binary path"));
    command
        .args([
            CHILD_TEST,
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(CHILD_ARGS, serde_json::to_string(&all).expect("args"))
        .env("RUST_LOG", "info")
        .env_remove("STREAMALERT_PREFIX")
        .envs(env.iter().copied())
        .current_dir(workdir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("the test binary starts");
    {
        use std::io::Write as _;
        let mut pipe = child.stdin.take().expect("stdin pipe");
        if let Some(bytes) = stdin {
            pipe.write_all(bytes).expect("write stdin");
        }
    }
    child.wait_with_output().expect("the child finishes")
}

/// The exit code of a finished child.
pub fn code(output: &Output) -> Option<i32> {
    output.status.code()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The JSON lines of standard output (the test harness's own lines are skipped).
pub fn stdout_json(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// A fresh, empty directory for one test, under cargo's scratch directory for tests.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("processor-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Writes `conf/outputs.json` (and `conf/processor.json` when given) under `dir`.
pub fn write_config(dir: &Path, outputs: &Value, processor: Option<&Value>) -> PathBuf {
    let conf = dir.join("conf");
    std::fs::create_dir_all(&conf).expect("conf dir");
    std::fs::write(conf.join("outputs.json"), outputs.to_string()).expect("outputs.json");
    if let Some(processor) = processor {
        std::fs::write(conf.join("processor.json"), processor.to_string()).expect("processor.json");
    }
    conf
}

/// The JSON lines of a file.
pub fn json_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// One input line for `process`.
pub fn record_line(log_type: &str, record: &Value) -> String {
    serde_json::json!({"log_type": log_type, "record": record}).to_string()
}

/// Reads the ledger file (the processor that wrote it has exited).
pub fn ledger_entries(path: &Path) -> Vec<streamalert::ledger::LedgerEntry> {
    let settings = streamalert::config::LedgerSettings {
        path: path.to_owned(),
        ..Default::default()
    };
    streamalert::ledger::SqliteLedger::open(&settings)
        .expect("ledger opens")
        .entries()
        .expect("ledger reads")
}
