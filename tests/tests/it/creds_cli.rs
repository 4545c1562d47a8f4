//! The `output` command as a user runs it: the test-only binary `creds-output` (a processor
//! binary's command line, `streamalert::cli::run`) driven through a pseudo-terminal, and run
//! with the local store's key in an environment variable.

use rexpect::session::{PtySession, spawn_command};
use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
use secrecy::ExposeSecret;
use std::path::Path;
use std::process::Command;
use streamalert::creds::{CredentialStore, LocalStore};

const BIN: &str = env!("CARGO_BIN_EXE_creds-output");
const KEY_ENV: &str = "STREAMALERT_CREDENTIALS_KEY";
/// The secret part of the webhook URL typed at the masked prompt.
const SECRET: &str = "xoxb-pty-5ecre7-c0ffee";
/// A guard against a hung child, not a timing assertion: every expectation normally matches
/// in milliseconds.
const GUARD_MS: u64 = 60_000;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A terminal session with the whole transcript kept.
struct Terminal {
    session: PtySession,
    transcript: String,
}

impl Terminal {
    fn spawn(dir: &Path, args: &[&str]) -> Self {
        let mut command = Command::new(BIN);
        // Every log line at TRACE goes to the terminal too: none may show a secret.
        command
            .current_dir(dir)
            .args(args)
            .env_remove(KEY_ENV)
            .env("RUST_LOG", "trace");
        Self {
            session: spawn_command(command, Some(GUARD_MS)).unwrap(),
            transcript: String::new(),
        }
    }

    /// Waits for `text` on the terminal.
    fn expect(&mut self, text: &str) {
        let before = self
            .session
            .exp_string(text)
            .unwrap_or_else(|e| panic!("waiting for {text:?}: {e}\nso far:\n{}", self.transcript));
        self.transcript.push_str(&before);
        self.transcript.push_str(text);
    }

    fn echo(&self) -> bool {
        let master = self.session.process().get_file_handle().unwrap();
        tcgetattr(&master)
            .unwrap()
            .local_modes
            .contains(LocalModes::ECHO)
    }

    /// Turns the terminal's echo on, as a user's terminal has it (rexpect starts the child with
    /// echo off, which would make "not shown" vacuous).
    fn echo_on(&self) {
        let master = self.session.process().get_file_handle().unwrap();
        let mut modes = tcgetattr(&master).unwrap();
        modes.local_modes |= LocalModes::ECHO;
        tcsetattr(&master, OptionalActions::Now, &modes).unwrap();
        assert!(self.echo());
    }

    /// Waits until the program has switched echo off for a masked prompt (it does so right
    /// after showing the prompt; typing earlier would be echoed by the terminal itself).
    fn wait_for_no_echo(&self) {
        for _ in 0..GUARD_MS {
            if !self.echo() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        panic!("echo was never switched off at the masked prompt");
    }

    fn type_line(&mut self, line: &str) {
        self.session.send_line(line).unwrap();
    }

    /// Waits for the end; the transcript and whether the program exited with status 0.
    fn finish(mut self) -> (String, bool) {
        let rest = self.session.exp_eof().unwrap();
        self.transcript.push_str(&rest);
        // nix's `WaitStatus`, which rexpect does not re-export: `Exited(Pid(n), code)`.
        let status = format!("{:?}", self.session.process_mut().wait().unwrap());
        let success = status.starts_with("Exited(") && status.ends_with(", 0)");
        (self.transcript, success)
    }
}

const DESCRIPTOR_PROMPT: &str = "Please supply a short and unique descriptor for this Slack integration (ie: channel, group, etc): ";
const URL_PROMPT: &str = "Please supply the full Slack webhook url, including the secret: ";

#[tokio::test(flavor = "multi_thread")]
async fn interactive_set_slack_never_shows_the_webhook_url() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    let url = format!("https://hooks.slack.com/services/T0/B0/{SECRET}");
    let spaced = format!("https://hooks.slack.com/services/T0/B0/{SECRET} oops");

    let mut terminal = Terminal::spawn(dir.path(), &["output", "set", "slack", "--config", "conf"]);
    terminal.expect(DESCRIPTOR_PROMPT);
    terminal.echo_on();
    terminal.type_line("sec ops");
    terminal.expect("The supplied input should not contain any of the following: ' ', ':'");
    terminal.expect(DESCRIPTOR_PROMPT);
    terminal.type_line("secops");
    terminal.expect(URL_PROMPT);
    terminal.wait_for_no_echo();
    terminal.type_line(&spaced);
    terminal.expect("The supplied input should not contain any of the following: ' '");
    terminal.expect(URL_PROMPT);
    terminal.wait_for_no_echo();
    terminal.type_line(&url);
    terminal.expect("Successfully saved 'secops' output configuration for service 'slack'");
    let (transcript, success) = terminal.finish();

    assert!(success, "{transcript}");
    // Echo was on for plain answers: the descriptors typed are on the screen...
    assert!(
        transcript.contains(&format!("{DESCRIPTOR_PROMPT}sec ops")),
        "{transcript}"
    );
    assert!(
        transcript.contains(&format!("{DESCRIPTOR_PROMPT}secops")),
        "{transcript}"
    );
    // The logs are on the terminal as well (the key file's creation, at INFO)...
    assert!(
        transcript.contains("created the credential key file (mode 0600)"),
        "{transcript}"
    );
    // ...and nothing of the masked answers is.
    assert!(
        !transcript.contains(SECRET),
        "the secret was shown:\n{transcript}"
    );
    assert!(
        !transcript.contains("hooks.slack.com"),
        "the URL was shown:\n{transcript}"
    );

    // Stored, sealed, readable with the key file the command created.
    let outputs = std::fs::read_to_string(dir.path().join("conf/outputs.json")).unwrap();
    assert_eq!(outputs, "{\n  \"slack\": [\n    \"secops\"\n  ]\n}");
    let creds = dir.path().join("streamalert-credentials");
    let sealed = std::fs::read(creds.join("slack/secops.sealed")).unwrap();
    assert!(!contains(&sealed, SECRET.as_bytes()));
    let store = LocalStore::new(&creds, creds.join("key")).with_key_env("STREAMALERT_TEST_UNSET");
    let stored = store.load("slack", "secops").await.unwrap().unwrap();
    assert_eq!(stored.expose_secret(), format!(r#"{{"url": "{url}"}}"#));

    // `get` on the same terminal shows the name only.
    let mut terminal = Terminal::spawn(
        dir.path(),
        &["output", "get", "slack:secops", "--config", "conf"],
    );
    terminal.expect("url: ********");
    let (transcript, success) = terminal.finish();
    assert!(success, "{transcript}");
    assert!(!transcript.contains(SECRET), "{transcript}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_can_come_from_the_environment_and_a_bad_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    let key = "5a".repeat(32);
    let batch = dir.path().join("batch.json");
    std::fs::write(
        &batch,
        r#"{"pagerduty-v2": [{"descriptor": "oncall", "routing_key": "r0ut1ng-k3y"}]}"#,
    )
    .unwrap();
    let run = |key: &str| {
        Command::new(BIN)
            .current_dir(dir.path())
            .args(["output", "set-from-file"])
            .arg(&batch)
            .args(["--config", "conf"])
            .env(KEY_ENV, key)
            .output()
            .unwrap()
    };

    let bad = run("not-a-key");
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains(
            "error: the credential key in the environment variable STREAMALERT_CREDENTIALS_KEY is \
             invalid: expected 64 hexadecimal digits (32 bytes)\n"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not-a-key"),
        "the rejected key is not repeated: {stderr}"
    );
    assert!(
        !dir.path().join("conf/outputs.json").exists(),
        "nothing written"
    );

    let good = run(&key);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    let creds = dir.path().join("streamalert-credentials");
    assert!(
        !creds.join("key").exists(),
        "no key file when the key is in the environment"
    );
    // The same key in a key file opens what the command sealed.
    let key_file = dir.path().join("copied.key");
    std::fs::write(&key_file, &key).unwrap();
    std::fs::set_permissions(
        &key_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let store = LocalStore::new(&creds, &key_file).with_key_env("STREAMALERT_TEST_UNSET");
    let stored = store.load("pagerduty-v2", "oncall").await.unwrap().unwrap();
    assert_eq!(stored.expose_secret(), r#"{"routing_key": "r0ut1ng-k3y"}"#);
}

/// `output set-from-file` in `dir` with the key file of the local store (no key in the
/// environment); its standard error.
fn set_from_file_with_key_file(dir: &Path) -> String {
    std::fs::create_dir_all(dir.join("conf")).unwrap();
    std::fs::write(
        dir.join("batch.json"),
        r#"{"pagerduty-v2": [{"descriptor": "oncall", "routing_key": "r0ut1ng-k3y"}]}"#,
    )
    .unwrap();
    let run = Command::new(BIN)
        .current_dir(dir)
        .args([
            "output",
            "set-from-file",
            "batch.json",
            "--update",
            "--config",
            "conf",
        ])
        .env_remove(KEY_ENV)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{stderr}");
    assert!(dir.join("streamalert-credentials/key").is_file());
    stderr
}

#[test]
fn output_set_warns_when_git_would_commit_the_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    };
    let warning = "warning: the credential key file streamalert-credentials/key is inside a git \
                   work tree that does not ignore it";

    // Outside a work tree: nothing to warn about.
    let stderr = set_from_file_with_key_file(dir.path());
    assert!(!stderr.contains("warning"), "{stderr}");

    git(&["init", "-q"]);
    let stderr = set_from_file_with_key_file(dir.path());
    assert!(stderr.contains(warning), "{stderr}");

    std::fs::write(dir.path().join(".gitignore"), "streamalert-credentials/\n").unwrap();
    let stderr = set_from_file_with_key_file(dir.path());
    assert!(!stderr.contains("warning"), "{stderr}");
}

/// Log lines of `output set-from-file` on a terminal (the key file's creation is logged), with
/// `NO_COLOR` set to `no_color` or unset.
fn logs_on_a_terminal(no_color: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    std::fs::write(
        dir.path().join("batch.json"),
        r#"{"pagerduty-v2": [{"descriptor": "oncall", "routing_key": "r0ut1ng-k3y"}]}"#,
    )
    .unwrap();
    let mut command = Command::new(BIN);
    command
        .current_dir(dir.path())
        .args(["output", "set-from-file", "batch.json", "--config", "conf"])
        .env_remove(KEY_ENV)
        .env("RUST_LOG", "info");
    match no_color {
        Some(value) => command.env("NO_COLOR", value),
        None => command.env_remove("NO_COLOR"),
    };
    let mut session = spawn_command(command, Some(GUARD_MS)).unwrap();
    let transcript = session.exp_eof().unwrap();
    assert!(
        transcript.contains("created the credential key file"),
        "{transcript}"
    );
    transcript
}

#[test]
fn no_color_turns_off_the_colors_of_logs_on_a_terminal() {
    assert!(logs_on_a_terminal(None).contains('\x1b'), "colored");
    assert!(
        logs_on_a_terminal(Some("")).contains('\x1b'),
        "empty: unset"
    );
    let plain = logs_on_a_terminal(Some("1"));
    assert!(!plain.contains('\x1b'), "{plain:?}");
}
