//! Runs the quickstart binary as a user would, on the bundled sample and on broken input, and
//! as the README's Lambda package through a fake of the Lambda Runtime API (`lambda_runtime`).

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use streamalert::config::LedgerSettings;
use streamalert::ledger::{AlertStatus, DeliveryState, LedgerEntry, SqliteLedger};

#[path = "../../../tests/tests/aws_support/mod.rs"]
mod aws_support;
// The `lambda` command through a fake of the Lambda Runtime API, in this test binary (each
// test binary links the AWS SDK).
#[path = "end_to_end/lambda_runtime.rs"]
mod lambda_runtime;

fn example_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `quickstart process` in `workdir` (where the `file` output's relative path lands).
fn process(workdir: &Path, input: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .current_dir(workdir)
        .arg("process")
        .arg("--input")
        .arg(input)
        .arg("--config")
        .arg(example_dir().join("conf"))
        .output()
        .expect("the quickstart binary runs")
}

/// Runs the quickstart binary with `args` in `workdir`.
fn quickstart(workdir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .current_dir(workdir)
        .args(args)
        .output()
        .expect("the quickstart binary runs")
}

/// Every alert of the ledger the quickstart configuration names (relative to `workdir`).
fn ledger(workdir: &Path) -> Vec<LedgerEntry> {
    let settings = LedgerSettings {
        path: workdir.join("target/quickstart/ledger.sqlite3"),
        ..Default::default()
    };
    SqliteLedger::open(&settings)
        .expect("the ledger opens")
        .entries()
        .expect("the ledger reads")
}

/// The alert ids in the `file` output, each with how many lines carry it.
fn file_output_ids(workdir: &Path) -> BTreeMap<String, usize> {
    let text =
        std::fs::read_to_string(workdir.join("target/quickstart/alerts.jsonl")).unwrap_or_default();
    let mut counts = BTreeMap::new();
    for alert in json_lines(&text) {
        *counts
            .entry(alert["id"].as_str().expect("id").to_owned())
            .or_default() += 1;
    }
    counts
}

/// A configuration directory in `workdir`: the example's `outputs.json` and `settings` as
/// `processor.json`.
fn conf_with(workdir: &Path, settings: &Value) -> PathBuf {
    let conf = workdir.join("conf");
    std::fs::create_dir_all(&conf).expect("conf dir");
    std::fs::copy(
        example_dir().join("conf/outputs.json"),
        conf.join("outputs.json"),
    )
    .expect("outputs.json copied");
    std::fs::write(conf.join("processor.json"), settings.to_string()).expect("processor.json");
    conf
}

/// Waits for `child` to end; a liveness bound, not a timing claim: a process still running
/// after `limit` is killed and the test fails with `hung` and the `stderr` file's text.
fn wait_or_fail(
    child: &mut std::process::Child,
    limit: std::time::Duration,
    hung: &str,
    stderr: &Path,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("the child's status") {
            return status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().expect("SIGKILL");
            panic!(
                "{hung}: {}",
                std::fs::read_to_string(stderr).unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

#[test]
fn sample_records_raise_the_expected_alerts_in_both_outputs() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let run = process(workdir.path(), &example_dir().join("data/records.jsonl"));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "quickstart failed: {stderr}");
    assert!(
        stderr.contains(
            "records: 9, malformed: 0, alerts: 4, deliveries sent: 8, failed: 0, pending: 0"
        ),
        "summary line: {stderr}"
    );

    let file = std::fs::read_to_string(workdir.path().join("target/quickstart/alerts.jsonl"))
        .expect("file output written");
    let entries = ledger(workdir.path());
    let created: BTreeMap<String, String> = entries
        .iter()
        .map(|e| (e.alert.alert_id.clone(), e.alert.created.to_string()))
        .collect();
    // The exact alerts, with each alert's id and creation time checked against the ledger and
    // then masked (they are random and clock-based).
    let mut alerts: Vec<String> = json_lines(&file)
        .into_iter()
        .map(|mut alert| {
            let id = alert["id"].as_str().expect("id").to_owned();
            assert_eq!(
                alert["created"].as_str(),
                created.get(&id).map(String::as_str),
                "alert {id} is in the ledger with the same creation time"
            );
            alert["id"] = json!("<id>");
            alert["created"] = json!("<created>");
            alert.to_string()
        })
        .collect();
    alerts.sort();
    let expected = std::fs::read_to_string(example_dir().join("tests/expected_alerts.jsonl"))
        .expect("fixture");
    let mut expected: Vec<String> = json_lines(&expected).iter().map(Value::to_string).collect();
    expected.sort();
    assert_eq!(
        alerts, expected,
        "the file output holds exactly the expected alerts"
    );
    assert!(
        !file.contains("streamalert_normalization"),
        "the processor removes the normalization record before publishing"
    );

    assert_eq!(entries.len(), 4, "every alert is in the ledger");
    for entry in &entries {
        assert_eq!(entry.status, AlertStatus::Complete, "{entry:?}");
        let outputs: Vec<(&str, DeliveryState, u32)> = entry
            .deliveries
            .iter()
            .map(|d| (d.output.as_str(), d.state, d.attempts))
            .collect();
        assert_eq!(
            outputs,
            [
                ("file:alerts", DeliveryState::Sent, 1),
                ("stdout:console", DeliveryState::Sent, 1)
            ]
        );
        assert!(
            entry
                .deliveries
                .iter()
                .all(|d| d.intent.is_none() && d.last_error.is_none())
        );
    }
    let mut rules: Vec<&str> = entries.iter().map(|e| e.alert.rule_name.as_str()).collect();
    rules.sort_unstable();
    assert_eq!(
        rules,
        [
            "cloudtrail_root_account_usage",
            "guard_duty_finding",
            "osquery_root_login",
            "osquery_root_login"
        ]
    );

    let console = json_lines(&String::from_utf8_lossy(&run.stdout));
    assert_eq!(console.len(), 4, "one console line per alert");
    let root = console
        .iter()
        .find(|a| a["headline"] == "cloudtrail_root_account_usage")
        .expect("root alert on stdout");
    assert!(
        root.get("publishers").is_none(),
        "drop_internal_fields ran after headline on stdout"
    );
    let finding = console
        .iter()
        .find(|a| a["rule_name"] == "guard_duty_finding")
        .expect("GuardDuty alert");
    assert_eq!(
        finding["headline"], "guard_duty_finding (severity 5)",
        "the rule's context reached the publisher"
    );
}

#[test]
fn malformed_lines_are_reported_by_number_and_the_rest_is_processed() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let sample = std::fs::read_to_string(example_dir().join("data/records.jsonl")).expect("sample");
    let first = sample.lines().next().expect("a sample line");
    let input = workdir.path().join("input.jsonl");
    std::fs::write(
        &input,
        format!("{first}\nnot json\n{{\"record\": {{}}}}\n{first}\n"),
    )
    .expect("write input");

    let run = process(workdir.path(), &input);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "malformed input must fail the run");
    assert!(stderr.contains("input.jsonl:2: not valid JSON"), "{stderr}");
    assert!(
        stderr.contains("input.jsonl:3: missing string field `log_type`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("records: 2, malformed: 2, alerts: 2, deliveries sent: 4"),
        "{stderr}"
    );
}

/// A line longer than `max_record_bytes` (default 1 MiB) is skipped like a malformed one, though
/// it is a record that would raise an alert.
#[test]
fn a_line_over_max_record_bytes_is_reported_by_number_skipped_and_the_rest_processed() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let sample = std::fs::read_to_string(example_dir().join("data/records.jsonl")).expect("sample");
    let first = sample.lines().next().expect("a sample line");
    let mut padded: Value = serde_json::from_str(first).expect("JSON");
    padded["record"]["padding"] = json!("x".repeat(1 << 20));
    let padded = padded.to_string();
    let input = workdir.path().join("input.jsonl");
    std::fs::write(&input, format!("{first}\n{padded}\n{first}\n")).expect("write input");

    let run = process(workdir.path(), &input);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    let error = format!(
        "input.jsonl:2: the line is {} bytes long, more than max_record_bytes (1048576, \
         processor.json); skipped",
        padded.len()
    );
    assert!(stderr.contains(&error), "{error} in {stderr}");
    assert!(
        stderr.contains("records: 2, malformed: 1, alerts: 2, deliveries sent: 4"),
        "{stderr}"
    );
    let consumed = format!(
        "{} bytes, 3 lines consumed",
        first.len() * 2 + padded.len() + 3
    );
    assert!(stderr.contains(&consumed), "{consumed} in {stderr}");
    assert_eq!(ledger(workdir.path()).len(), 2);
}

#[test]
fn list_shows_the_registered_rules_with_their_source() {
    let run = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .args(["list", "rules"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success());
    for rule in [
        "cloudtrail_root_account_usage",
        "guard_duty_finding",
        "osquery_root_login",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(rule) && l.contains("src/main.rs:")),
            "{rule} in {stdout}"
        );
    }
}

#[test]
fn with_aws_the_quickstart_is_the_binary_at_scale_with_the_aws_outputs_and_the_lambda_command() {
    // `cargo test --workspace` builds streamalert with `aws` for every member (the tests crate
    // asks for it); alone, run this with `cargo test -p quickstart --features aws`.
    let run = quickstart(&example_dir(), &["list", "outputs"]);
    assert!(run.status.success());
    let stdout = String::from_utf8_lossy(&run.stdout);
    let services: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.split('\t').next())
        .collect();
    for service in [
        "aws-cloudwatch-log",
        "aws-firehose",
        "aws-lambda",
        "aws-lambda-v2",
        "aws-s3",
        "aws-ses",
        "aws-sns",
        "aws-sqs",
    ] {
        assert!(
            services.contains(&service),
            "{service} in {stdout} (built without the aws feature?)"
        );
    }
    let run = quickstart(&example_dir(), &["lambda", "--help"]);
    assert!(run.status.success());
    let help = String::from_utf8_lossy(&run.stdout);
    assert!(help.contains("ALERTS_TABLE"), "{help}");
}

#[test]
fn process_makes_no_aws_call_when_the_configuration_names_no_aws_output() {
    // Every place the AWS SDK could reach (service endpoints, the EC2 metadata service, the
    // container credentials endpoint) points at this listener, and no credentials or profile
    // files are available: anything of AWS used at startup or while processing connects here.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    listener.set_nonblocking(true).expect("non-blocking");
    let trap = format!("http://{}", listener.local_addr().expect("address"));
    let workdir = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_quickstart"));
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "STREAMALERT_PREFIX",
        "ALERTS_TABLE",
    ] {
        command.env_remove(name);
    }
    let run = command
        .current_dir(workdir.path())
        .arg("process")
        .arg("--input")
        .arg(example_dir().join("data/records.jsonl"))
        .arg("--config")
        .arg(example_dir().join("conf"))
        .env("AWS_ENDPOINT_URL", &trap)
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &trap)
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{trap}/creds"),
        )
        .env("AWS_CONFIG_FILE", workdir.path().join("no-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            workdir.path().join("no-credentials"),
        )
        .output()
        .expect("the quickstart binary runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    match listener.accept() {
        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the quickstart connected to an AWS endpoint: {other:?}"),
    }
}

#[test]
fn help_explains_the_commands_and_the_input_format() {
    let run = quickstart(&example_dir(), &["--help"]);
    let help = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success());
    for command in ["process", "dispatch", "retry", "validate", "list"] {
        assert!(help.contains(command), "{command} in {help}");
    }
    assert!(
        help.contains("outputs.json") && help.contains("processor.json"),
        "{help}"
    );
    let run = quickstart(&example_dir(), &["process", "--help"]);
    let help = String::from_utf8_lossy(&run.stdout);
    assert!(
        help.contains(r#"{"log_type": "cloudwatch:events", "record": {...}}"#),
        "{help}"
    );
    assert!(help.contains("--input <FILE|->"), "{help}");
    let run = quickstart(&example_dir(), &["procss"]);
    assert_eq!(run.status.code(), Some(2), "a usage error");
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("process"),
        "a suggestion"
    );
}

#[test]
fn the_quickstart_configuration_validates() {
    let conf = example_dir().join("conf");
    let run = quickstart(
        &example_dir(),
        &["validate", "--config", conf.to_str().expect("utf-8")],
    );
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(out.starts_with("ok: 3 rules"), "{out}");
}

#[test]
fn a_key_only_event_is_resolved_from_the_ledger_and_sends_nothing_twice() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let run = process(workdir.path(), &example_dir().join("data/records.jsonl"));
    assert!(run.status.success());
    let entry = ledger(workdir.path()).remove(0);
    let event = json!({"AlertID": entry.alert.alert_id, "RuleName": entry.alert.rule_name});
    let conf = example_dir().join("conf");
    let mut child = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .current_dir(workdir.path())
        .args(["dispatch", "--config", conf.to_str().expect("utf-8")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{event}\n{{\"AlertID\": \"nope\", \"RuleName\": \"x\"}}\n").as_bytes())
        .expect("write");
    let run = child.wait_with_output().expect("finishes");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(
        json_lines(&String::from_utf8_lossy(&run.stdout)),
        [json!({}), json!({})],
        "nothing left to send; the unknown alert returns {{}}"
    );
    assert!(
        stderr
            .contains(r#"{"RuleName": "x", "AlertID": "nope"} does not exist in the alerts table"#),
        "{stderr}"
    );
    assert!(
        stderr.contains("events: 2, invalid: 0, not found: 1, deliveries sent: 0"),
        "{stderr}"
    );
    assert_eq!(run.status.code(), Some(1), "an unknown alert fails the run");
    let expected: BTreeMap<String, usize> = ledger(workdir.path())
        .into_iter()
        .map(|e| (e.alert.alert_id, 1))
        .collect();
    assert_eq!(expected.len(), 4, "the sample's alerts");
    assert_eq!(
        file_output_ids(workdir.path()),
        expected,
        "each alert once in the file output: `dispatch` sent nothing again"
    );
}

/// Kills `process` (SIGKILL) in the middle of a large batch read from a pipe that stays open,
/// then runs `retry`: every alert in the ledger is in the `file` output exactly once.
#[test]
fn killed_in_the_middle_of_a_batch_then_retry_delivers_every_alert_exactly_once() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let sample = std::fs::read_to_string(example_dir().join("data/records.jsonl")).expect("sample");
    let conf = example_dir().join("conf");
    let conf = conf.to_str().expect("utf-8");
    let mut child = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .current_dir(workdir.path())
        .args(["process", "--config", conf])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("runs");
    // Feed records for as long as the child reads them; the pipe is never closed, so the child
    // cannot finish on its own: it is killed with work in flight.
    let mut stdin = child.stdin.take().expect("stdin");
    let feeder = std::thread::spawn(move || {
        let mut written = 0usize;
        while stdin.write_all(sample.as_bytes()).is_ok() {
            written += 1;
            if written == 20_000 {
                // 180k records: far more than the child processes before it is killed.
                std::thread::park();
            }
        }
    });
    let output = workdir.path().join("target/quickstart/alerts.jsonl");
    // Wait (polling the file's size, not timing anything) until about a thousand alerts are out;
    // a child that exits, or makes no progress for minutes, fails the test instead of hanging it.
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while std::fs::metadata(&output).map_or(0, |m| m.len()) < 2_000_000 {
        if let Some(status) = child.try_wait().expect("the child's status") {
            panic!("process exited before it was killed: {status:?}");
        }
        assert!(
            std::time::Instant::now() < give_up,
            "process wrote under 2 MB of alerts in 5 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("reaped");
    {
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(status.signal(), Some(9), "killed, not finished: {status:?}");
    }
    feeder.thread().unpark();
    feeder
        .join()
        .expect("the feeder stops when the pipe breaks");

    let before = ledger(workdir.path());
    assert!(
        before.len() >= 500,
        "a large batch was under way: {}",
        before.len()
    );
    let retry = quickstart(workdir.path(), &["retry", "--config", conf]);
    let stderr = String::from_utf8_lossy(&retry.stderr);
    assert!(retry.status.success(), "{stderr}");
    assert!(stderr.contains(", pending: 0,"), "{stderr}");

    let after = ledger(workdir.path());
    assert_eq!(after.len(), before.len(), "retry creates no alerts");
    let in_file = file_output_ids(workdir.path());
    let expected: BTreeMap<String, usize> = after
        .iter()
        .map(|e| (e.alert.alert_id.clone(), 1))
        .collect();
    assert_eq!(
        in_file, expected,
        "every alert of the ledger exactly once in the file output"
    );
    for entry in &after {
        assert_eq!(entry.status, AlertStatus::Complete, "{entry:?}");
    }
}

#[test]
fn json_logs_are_one_object_per_line_summary_included() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let sample = std::fs::read_to_string(example_dir().join("data/records.jsonl")).expect("sample");
    let input = workdir.path().join("input.jsonl");
    std::fs::write(&input, format!("not json\n{sample}")).expect("write input");
    let conf = example_dir().join("conf");
    let run = quickstart(
        workdir.path(),
        &[
            "--log-format",
            "json",
            "process",
            "--input",
            input.to_str().expect("utf-8"),
            "--config",
            conf.to_str().expect("utf-8"),
        ],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    let events = json_lines(&stderr);
    assert!(!events.is_empty(), "{stderr}");
    let malformed = events
        .iter()
        .find(|e| e["level"] == "ERROR")
        .expect("the malformed line as an error event");
    assert!(
        malformed["fields"]["message"].as_str().is_some_and(
            |m| m.ends_with("input.jsonl:1: not valid JSON: expected ident at line 1 column 2")
        ),
        "{malformed}"
    );
    let summary = events
        .iter()
        .find(|e| e["fields"]["summary"] == true)
        .expect("the summary as an event");
    assert_eq!(
        summary["fields"]["message"],
        "records: 9, malformed: 1, alerts: 4, deliveries sent: 8, failed: 0, pending: 0"
    );
    assert_eq!(run.status.code(), Some(1));
}

#[test]
fn retry_on_a_missing_ledger_fails_and_creates_none() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let conf = example_dir().join("conf");
    let missing = workdir.path().join("mistyped.sqlite3");
    let retry = quickstart(
        workdir.path(),
        &[
            "retry",
            "--config",
            conf.to_str().expect("utf-8 path"),
            "--ledger",
            missing.to_str().expect("utf-8 path"),
        ],
    );
    let stderr = String::from_utf8_lossy(&retry.stderr);
    assert!(!retry.status.success(), "{stderr}");
    assert!(stderr.contains("no ledger at"), "{stderr}");
    assert!(stderr.contains("mistyped.sqlite3"), "{stderr}");
    assert!(!missing.exists(), "retry created a ledger");
}

#[test]
fn a_directory_as_input_is_named_as_such_not_counted_as_a_malformed_line() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let run = process(workdir.path(), workdir.path());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{stderr}");
    assert!(stderr.contains("it is a directory"), "{stderr}");
    assert!(
        !stderr.contains("malformed"),
        "no summary of a run that read nothing: {stderr}"
    );
}

#[test]
fn version_names_the_binary_and_streamalert() {
    let run = quickstart(&example_dir(), &["--version"]);
    assert!(run.status.success());
    let out = String::from_utf8_lossy(&run.stdout);
    // The quickstart's own version (expanded in its crate by `streamalert::main!()`), then
    // streamalert's.
    let expected = format!("quickstart {} (streamalert ", env!("CARGO_PKG_VERSION"));
    assert!(out.starts_with(&expected), "{out}");
}

/// `main!` with the `jemalloc` feature makes jemalloc the binary's allocator, built with the
/// one arena `.cargo/config.toml` asks for; `_RJEM_MALLOC_CONF` overrides it at start.
#[test]
fn jemalloc_is_the_allocator_with_one_arena_unless_the_environment_says_otherwise() {
    let stats = |conf: &str| {
        let run = Command::new(env!("CARGO_BIN_EXE_quickstart"))
            .arg("--version")
            .env("_RJEM_MALLOC_CONF", conf)
            .output()
            .expect("the quickstart binary runs");
        assert!(run.status.success());
        String::from_utf8_lossy(&run.stderr).into_owned()
    };
    let built = stats("stats_print:true");
    assert!(built.contains("Begin jemalloc statistics"), "{built}");
    assert!(
        built.contains("config.malloc_conf: \"narenas:1\""),
        "{built}"
    );
    assert!(built.contains("opt.narenas: 1\n"), "{built}");
    let overridden = stats("stats_print:true,narenas:3");
    assert!(overridden.contains("opt.narenas: 3\n"), "{overridden}");
}

#[test]
fn streamalert_config_is_the_default_of_config() {
    let workdir = tempfile::tempdir().expect("a temporary directory");
    let run = |config: Option<&Path>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_quickstart"));
        command.current_dir(workdir.path()).arg("validate");
        match config {
            Some(dir) => command.env("STREAMALERT_CONFIG", dir),
            None => command.env_remove("STREAMALERT_CONFIG"),
        };
        command.output().expect("the quickstart binary runs")
    };
    let found = run(Some(&example_dir().join("conf")));
    assert!(
        found.status.success(),
        "{}",
        String::from_utf8_lossy(&found.stderr)
    );
    assert!(String::from_utf8_lossy(&found.stdout).starts_with("ok: 3 rules"));
    // Without it: ./conf, which this directory does not have.
    let missing = run(None);
    assert_eq!(missing.status.code(), Some(1));
    let out = String::from_utf8_lossy(&missing.stdout);
    assert!(out.contains("conf/outputs.json"), "{out}");
}

/// Standard output is a pipe nobody reads: once it is full, the `stdout` deliveries wait (and
/// fail at `dispatch_timeout_secs`, staying pending), while every `file` delivery goes on and
/// the process ends. (A write to the pipe on a runtime thread froze every delivery, and the
/// process never ended.)
#[test]
fn a_stalled_standard_output_holds_up_only_the_stdout_deliveries() {
    const ALERTS: usize = 600;
    let workdir = tempfile::tempdir().expect("temp dir");
    let settings = json!({
        "concurrency": 1000,
        "dispatch_timeout_secs": 2,
        "ledger": {"path": "target/quickstart/ledger.sqlite3"},
    });
    let conf = conf_with(workdir.path(), &settings);
    let sample = std::fs::read_to_string(example_dir().join("data/records.jsonl")).unwrap();
    let root_login = sample.lines().next().unwrap();
    let input = workdir.path().join("records.jsonl");
    std::fs::write(&input, format!("{root_login}\n").repeat(ALERTS)).unwrap();
    let stderr_path = workdir.path().join("stderr.txt");

    let mut child = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .current_dir(workdir.path())
        .args(["process", "--input"])
        .arg(&input)
        .arg("--config")
        .arg(&conf)
        .stdout(Stdio::piped()) // never read
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("the quickstart binary runs");
    // The run takes seconds; a frozen process never ends.
    let status = wait_or_fail(
        &mut child,
        std::time::Duration::from_secs(120),
        "process froze with a stalled standard output",
        &stderr_path,
    );
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert_eq!(status.code(), Some(1), "stdout deliveries failed: {stderr}");
    assert_eq!(
        file_output_ids(workdir.path()).len(),
        ALERTS,
        "every file delivery was made: {stderr}"
    );
    let entries = ledger(workdir.path());
    assert_eq!(entries.len(), ALERTS);
    let stdout_sent = entries
        .iter()
        .filter(|entry| entry.delivery("stdout:console").unwrap().state == DeliveryState::Sent)
        .count();
    assert!(
        stdout_sent < ALERTS,
        "the pipe filled up: only part of the stdout lines could be written"
    );
    for entry in &entries {
        assert_eq!(
            entry.delivery("file:alerts").unwrap().state,
            DeliveryState::Sent
        );
    }
    drop(child);
}

/// Standard error closed by its reader (`quickstart process … 2>&1 | head -1`): the log lines
/// that cannot be written are dropped and the run goes on; the logger used to report the failed
/// write on that same closed stream, which panicked the thread that logged.
#[test]
fn a_closed_standard_error_loses_the_logs_not_the_run() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let sample = std::fs::read_to_string(example_dir().join("data/records.jsonl")).unwrap();
    // A malformed line between two copies of the sample: its error is logged mid-run.
    let input = workdir.path().join("records.jsonl");
    std::fs::write(&input, format!("{sample}{{malformed\n{sample}")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .current_dir(workdir.path())
        .args(["process", "--input"])
        .arg(&input)
        .arg("--config")
        .arg(example_dir().join("conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the quickstart binary runs");
    drop(child.stderr.take()); // the reader is gone: every write to stderr fails (EPIPE)
    let status = child.wait().expect("the quickstart binary ends");
    assert_eq!(status.code(), Some(1), "one malformed line, no panic");
    assert_eq!(
        file_output_ids(workdir.path()).len(),
        8,
        "the alerts of both copies of the sample were delivered"
    );
}

/// A fatal error while standard input is an open pipe that sends nothing more: `process` prints
/// its summary and exits with status 1, without waiting for the input's end (the reader thread
/// waits in vain; it used to hold the process). The fatal error is a real one: the ledger cannot
/// record an alert because the process may not write files past 256 KiB (`ulimit -f`, with
/// SIGXFSZ ignored so that the write fails instead of killing the process), and the record is
/// larger.
#[cfg(unix)]
#[test]
fn a_fatal_error_with_an_idle_open_stdin_ends_the_run() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let conf = conf_with(
        workdir.path(),
        &json!({"ledger": {"path": "ledger.sqlite3"}}),
    );
    let sample = std::fs::read_to_string(example_dir().join("data/records.jsonl")).unwrap();
    let mut big: Value = serde_json::from_str(sample.lines().next().unwrap()).unwrap();
    big["record"]["padding"] = json!("x".repeat(900_000));
    let stderr_path = workdir.path().join("stderr.txt");

    let mut child = Command::new("sh")
        .arg("-c")
        // 512 blocks of 512 bytes.
        .arg("ulimit -f 512; trap '' XFSZ; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_quickstart"))
        .args(["process", "--input", "-", "--config"])
        .arg(&conf)
        .current_dir(workdir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("the quickstart binary runs");
    let mut stdin = child.stdin.take().expect("a pipe");
    let stderr = || std::fs::read_to_string(&stderr_path).unwrap_or_default();
    writeln!(stdin, "{big}").unwrap_or_else(|e| panic!("{e}: {}", stderr()));
    stdin.flush().unwrap();
    // `stdin` stays open (and idle) until the process ended; the run takes well under a
    // second, a hung process never ends.
    let status = wait_or_fail(
        &mut child,
        std::time::Duration::from_secs(60),
        "process did not exit after a fatal error while its standard input was an idle open pipe",
        &stderr_path,
    );
    drop(stdin);
    let stderr = stderr();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot record alerts in the ledger; stopping"),
        "{stderr}"
    );
    assert!(stderr.contains("records: 1, malformed: 0"), "{stderr}");
    assert!(
        stderr.contains("input <stdin>: 0 bytes, 0 lines consumed"),
        "{stderr}"
    );
}

#[test]
fn metrics_per_output_are_in_the_summary_and_the_metrics_file() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let metrics = workdir.path().join("metrics.prom");
    let run = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .current_dir(workdir.path())
        .args(["process", "--input"])
        .arg(example_dir().join("data/records.jsonl"))
        .arg("--config")
        .arg(example_dir().join("conf"))
        .arg("--metrics-file")
        .arg(&metrics)
        .output()
        .expect("the quickstart binary runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("output file:alerts: sent 4, failed 0, given up (dead) 0, retried 0"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&metrics).expect("the metrics file");
    for line in [
        "# TYPE streamalert_deliveries_total counter",
        r#"streamalert_deliveries_total{output="file:alerts",result="sent"} 4"#,
        r#"streamalert_deliveries_total{output="stdout:console",result="sent"} 4"#,
        r#"streamalert_deliveries_total{output="stdout:console",result="failed"} 0"#,
        r#"streamalert_delivery_seconds_count{output="file:alerts"} 4"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in {text}");
    }
}

#[test]
fn dispatch_writes_the_metrics_of_its_events() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let alert = streamalert::Alert::new(
        "cloudtrail_root_account_usage",
        json!({"n": 1}),
        ["file:alerts"],
    );
    let events = workdir.path().join("events.json");
    std::fs::write(&events, Value::Object(alert.to_item()).to_string()).expect("events");
    let metrics = workdir.path().join("metrics.prom");
    let run = quickstart(
        workdir.path(),
        &[
            "dispatch",
            "--alert",
            events.to_str().expect("utf-8"),
            "--config",
            example_dir().join("conf").to_str().expect("utf-8"),
            "--metrics-file",
            metrics.to_str().expect("utf-8"),
        ],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("output file:alerts: sent 1, failed 0"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&metrics).expect("the metrics file");
    assert!(
        text.lines()
            .any(|l| l == r#"streamalert_deliveries_total{output="file:alerts",result="sent"} 1"#),
        "{text}"
    );
}
