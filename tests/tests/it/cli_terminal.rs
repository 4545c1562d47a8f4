//! The command line on a terminal: while standard error is a terminal, `process` shows a
//! progress spinner with running counts (README, "Logs and exit status"). Driven through a
//! pseudo-terminal with the test-only processor binary `creds-output` (no rules).

use rexpect::session::spawn_command;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_creds-output");
/// A guard against a hung child, not a timing assertion: every expectation normally matches
/// in milliseconds.
const GUARD_MS: u64 = 60_000;

#[test]
fn process_shows_running_counts_on_a_terminal_then_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    std::fs::write(dir.path().join("conf/outputs.json"), "{}").unwrap();
    let mut command = Command::new(BIN);
    command
        .current_dir(dir.path())
        .args(["process", "--input", "-", "--config", "conf"]);
    let mut terminal = spawn_command(command, Some(GUARD_MS)).unwrap();
    // Standard input is the terminal too: each line is read as it is typed, so the counts
    // are shown while the input is still open.
    for n in 1..=2 {
        terminal
            .send_line(&format!(
                r#"{{"log_type": "test:event", "record": {{"n": {n}}}}}"#
            ))
            .unwrap();
        terminal
            .exp_string(&format!("records {n}, alerts 0, sent 0, failed 0"))
            .unwrap();
    }
    terminal.send_control('d').unwrap();
    terminal
        .exp_string("records: 2, malformed: 0, alerts: 0, deliveries sent: 0")
        .unwrap();
    terminal.exp_eof().unwrap();
}
