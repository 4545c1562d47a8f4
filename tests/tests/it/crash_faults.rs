//! The crash-and-fault suite: the real binary (`crash-processor`: every record alerts, sent to a
//! `webhook` and a `file` output) against a fault-injecting HTTP sink on loopback (random 200,
//! 500, slow answers, connections closed without an answer, and 429 with Retry-After to the
//! first request of one record in 200), stopped at
//! chosen points: killed while reading, after recording before sending, mid-send, after a
//! delivery succeeded before the ledger marked it (`STREAMALERT_FAULT`, the binary's test-only
//! hook, or the sink killing it), or asked to stop with SIGTERM / SIGINT. Then `process` runs
//! again on the same file (it resumes) and `retry` runs until nothing is pending, and every
//! scenario checks:
//!
//! - every input record's alert is in the ledger exactly once, every output of it sent;
//! - the `file` output holds each alert exactly once;
//! - every alert reached the HTTP sink, and an alert the sink answered with 2xx more than once
//!   is one of the documented window (the sink answered 2xx and the process was stopped before
//!   the ledger marked it); these duplicates are counted and printed.
//!
//! The faults are drawn from a seed: `CRASH_FAULTS_SEED=<n>` replays a run, and every scenario
//! prints its seed (shown when it fails). The resumable input and the file output's durability
//! are tested here too, on the same binary.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streamalert::config::LedgerSettings;
use streamalert::creds::{CredentialStore as _, LocalStore, encode_secret_json};
use streamalert::ledger::{AlertStatus, DeliveryState, LedgerEntry, SqliteLedger};

/// How many records each crash scenario processes: five chunks of input (256 lines each).
const RECORDS: u64 = 1100;

/// A SplitMix64 step: the suite's only source of randomness.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The suite's seed: `CRASH_FAULTS_SEED`, or one drawn from the clock (printed either way).
fn seed(scenario: &str) -> u64 {
    let seed = std::env::var("CRASH_FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
    eprintln!("{scenario}: seed {seed} (replay with CRASH_FAULTS_SEED={seed})");
    seed
}

/// What the sink does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Ok,
    ServerError,
    TooManyRequests,
    Slow(Duration),
    Close,
    Kill(u32),
}

/// How the sink answers.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Every request gets 200.
    Healthy,
    /// Faults drawn from the seed, per record and attempt, and a 429 to the first request of
    /// one record in 200 (see [`Sink::decide`]).
    Faulty,
    /// Every answer is 200 after this long.
    Slow(Duration),
}

#[derive(Debug, Default)]
struct SinkState {
    requests: u64,
    /// Requests per record number (the fault draw's input).
    per_record: BTreeMap<u64, u64>,
    /// 429 answers sent.
    too_many_requests: u64,
    /// 2xx answers per alert id.
    answered: BTreeMap<String, u64>,
    /// Kill this process when this request number arrives.
    kill: Option<(u64, u32)>,
    /// Requests being handled.
    in_flight: u64,
    /// Connections open (each served on a thread of its own until its client closes it).
    connections: u64,
}

/// An HTTP server on loopback standing for a webhook endpoint, with faults.
struct Sink {
    url: String,
    seed: u64,
    mode: Mutex<Mode>,
    state: Mutex<SinkState>,
}

impl Sink {
    fn start(seed: u64, mode: Mode) -> Arc<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the sink");
        let url = format!(
            "http://{}/hook",
            listener.local_addr().expect("sink address")
        );
        let sink = Arc::new(Self {
            url,
            seed,
            mode: Mutex::new(mode),
            state: Mutex::new(SinkState::default()),
        });
        let server = sink.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sink = server.clone();
                sink.state.lock().expect("state").connections += 1;
                std::thread::spawn(move || {
                    sink.serve(stream);
                    sink.state.lock().expect("state").connections -= 1;
                });
            }
        });
        sink
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().expect("mode") = mode;
    }

    /// Kills process `pid` (SIGKILL) when request number `request` arrives, before answering.
    fn kill_on_request(&self, request: u64, pid: u32) {
        self.state.lock().expect("state").kill = Some((request, pid));
    }

    fn answered(&self) -> BTreeMap<String, u64> {
        self.state.lock().expect("state").answered.clone()
    }

    fn requests(&self) -> u64 {
        self.state.lock().expect("state").requests
    }

    fn too_many_requests(&self) -> u64 {
        self.state.lock().expect("state").too_many_requests
    }

    /// Waits until every connection has ended, for a client that has exited: a request it
    /// wrote before it died may still be waiting to be read, and is answered (and counted)
    /// only then.
    fn drain(&self) {
        self.wait_until(|state| state.connections == 0, "a connection never ended");
    }

    /// Waits until no request is being handled.
    fn settle(&self) {
        self.wait_until(|state| state.in_flight == 0, "the sink never settled");
    }

    /// Waits (up to 10 s, then fails with `never`) until `done` holds of the sink's state.
    fn wait_until(&self, done: impl Fn(&SinkState) -> bool, never: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(&self.state.lock().expect("state")) {
            assert!(Instant::now() < deadline, "{never}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn decide(&self, record: u64) -> Answer {
        let mode = *self.mode.lock().expect("mode");
        let mut state = self.state.lock().expect("state");
        state.requests += 1;
        state.in_flight += 1;
        if let Some((at, pid)) = state.kill
            && state.requests == at
        {
            state.kill = None;
            return Answer::Kill(pid);
        }
        let attempt = state.per_record.entry(record).or_default();
        *attempt += 1;
        match mode {
            Mode::Healthy => Answer::Ok,
            Mode::Slow(delay) => Answer::Slow(delay),
            Mode::Faulty => {
                let draw = mix(self.seed ^ mix(record) ^ mix(*attempt << 32));
                // A 429 for the first request of one record in 200 (6 in a scenario), each
                // pausing the whole destination for a second (`retry-after: 1`): drawn for
                // 5 % of the requests they were two thirds of the suite's time, and the pause
                // itself is tested by the pacing suite. Then 5 % each of 500s, slow answers
                // and closed connections.
                if *attempt == 1 && record % 200 == 17 {
                    state.too_many_requests += 1;
                    return Answer::TooManyRequests;
                }
                match draw % 20 {
                    0 => Answer::ServerError,
                    1 => Answer::Slow(Duration::from_millis(50 + (draw >> 8) % 150)),
                    2 => Answer::Close,
                    _ => Answer::Ok,
                }
            }
        }
    }

    fn serve(&self, stream: TcpStream) {
        let Ok(mut writer) = stream.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(stream);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let mut length = 0usize;
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            // As Python's json.loads reads it: a record's `1e400` is sent as `Infinity`.
            let body = String::from_utf8_lossy(&body);
            let body = streamalert::json::read(&body).unwrap_or(Value::Null);
            let id = body["id"].as_str().unwrap_or_default().to_owned();
            let record = body["record"]["n"].as_u64().unwrap_or(u64::MAX);
            let answer = self.decide(record);
            let reply = match answer {
                Answer::Kill(pid) => {
                    let killed = Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status();
                    assert!(killed.is_ok_and(|s| s.success()), "kill {pid}");
                    None
                }
                Answer::Close => None,
                Answer::ServerError => Some("500 Internal Server Error\r\n".to_owned()),
                Answer::TooManyRequests => {
                    Some("429 Too Many Requests\r\nretry-after: 1\r\n".to_owned())
                }
                Answer::Slow(delay) => {
                    std::thread::sleep(delay);
                    Some("200 OK\r\n".to_owned())
                }
                Answer::Ok => Some("200 OK\r\n".to_owned()),
            };
            let mut state = self.state.lock().expect("state");
            state.in_flight -= 1;
            let Some(reply) = reply else {
                return;
            };
            if reply.starts_with("200") {
                *state.answered.entry(id).or_default() += 1;
            }
            drop(state);
            let reply = format!("HTTP/1.1 {reply}content-length: 0\r\n\r\n");
            if writer.write_all(reply.as_bytes()).is_err() {
                return;
            }
        }
    }
}

/// A working directory with the binary's configuration, its ledger and its file output.
struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    fn new(sink: &Sink, synchronous: &str) -> Self {
        Self::with_webhook(&sink.url, synchronous)
    }

    /// A working directory whose `webhook:sink` posts to `url`.
    fn with_webhook(url: &str, synchronous: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("conf")).expect("conf");
        let outputs = serde_json::json!({
            "webhook": ["sink"],
            "file": {"alerts": root.join("alerts.jsonl")},
        });
        std::fs::write(root.join("conf/outputs.json"), outputs.to_string()).expect("outputs");
        let settings = serde_json::json!({
            "concurrency": 64,
            "dispatch_timeout_secs": 20,
            "shutdown_grace_secs": 20,
            "ledger": {"path": root.join("ledger.sqlite3"), "synchronous": synchronous},
            "credentials": {"local": {"dir": root.join("credentials"), "key_env": "CRASH_FAULTS_NO_KEY"}},
        });
        std::fs::write(root.join("conf/processor.json"), settings.to_string()).expect("settings");
        let store = LocalStore::new(root.join("credentials"), root.join("credentials/key"));
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(store.save("webhook", "sink", &encode_secret_json([("url", url)])))
            .expect("store the webhook's url");
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Sets `key` of `processor.json`.
    fn set(&self, key: &str, value: Value) {
        let path = self.path().join("conf/processor.json");
        let text = std::fs::read_to_string(&path).expect("settings");
        let mut settings: Value = serde_json::from_str(&text).expect("settings JSON");
        settings[key] = value;
        std::fs::write(path, settings.to_string()).expect("settings");
    }

    fn input(&self) -> PathBuf {
        self.path().join("records.jsonl")
    }

    /// The binary with `args`, run in the directory, without core dumps (a test-only abort
    /// must not write one).
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg("ulimit -c 0; exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_crash-processor"))
            .args(args)
            .args(["--config", "conf"])
            .current_dir(self.path())
            .env_remove("STREAMALERT_FAULT")
            .env("RUST_LOG", "info");
        command
    }

    fn process(&self, fault: Option<&str>, extra: &[&str]) -> Output {
        let input = self.input();
        let mut args = vec!["process", "--input", input.to_str().expect("utf-8 path")];
        args.extend_from_slice(extra);
        let mut command = self.command(&args);
        if let Some(fault) = fault {
            command.env("STREAMALERT_FAULT", fault);
        }
        command.output().expect("the binary runs")
    }

    fn spawn_process(&self, input: &str, stdin: Stdio) -> Child {
        self.command(&["process", "--input", input])
            .stdin(stdin)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts")
    }

    fn ledger(&self) -> Vec<LedgerEntry> {
        let settings = LedgerSettings {
            path: self.path().join("ledger.sqlite3"),
            ..Default::default()
        };
        SqliteLedger::open(&settings)
            .expect("the ledger opens")
            .entries()
            .expect("the ledger reads")
    }

    fn unsent(&self) -> usize {
        self.ledger().iter().map(|e| e.unsent().count()).sum()
    }

    /// Runs `retry` until nothing is pending (at most 20 passes); the interrupted deliveries
    /// found at their destination instead of being sent again.
    fn retry_until_done(&self) -> u64 {
        let mut found = 0;
        for _ in 0..20 {
            if self.unsent() == 0 {
                return found;
            }
            let run = self.command(&["retry"]).output().expect("retry runs");
            let stderr = String::from_utf8_lossy(&run.stderr);
            let summary = stderr
                .lines()
                .find(|line| line.contains("found already delivered: "))
                .unwrap_or_else(|| panic!("retry broke: {stderr}"));
            found += summary
                .split("found already delivered: ")
                .nth(1)
                .and_then(|rest| rest.split(',').next())
                .and_then(|n| n.parse::<u64>().ok())
                .expect("the summary's count");
        }
        assert_eq!(self.unsent(), 0, "still pending after 20 retry passes");
        found
    }

    /// The alert ids in the `file` output, each with how many lines carry it.
    fn file_ids(&self) -> BTreeMap<String, u64> {
        let mut ids = BTreeMap::new();
        for (id, _) in self.file_lines() {
            *ids.entry(id).or_default() += 1;
        }
        ids
    }

    /// The record number of each alert in the `file` output (a complete alert's ledger entry is
    /// a tombstone, without its record).
    fn file_records(&self) -> BTreeMap<String, u64> {
        self.file_lines().into_iter().collect()
    }

    /// `(alert id, record number)` of each line of the `file` output.
    fn file_lines(&self) -> Vec<(String, u64)> {
        let text = std::fs::read_to_string(self.path().join("alerts.jsonl")).unwrap_or_default();
        text.lines()
            .map(|line| {
                let value: Value = serde_json::from_str(line).expect("each file line is JSON");
                let id = value["id"].as_str().expect("id").to_owned();
                let n = value["record"]["n"].as_u64().expect("record number");
                (id, n)
            })
            .collect()
    }
}

/// `count` records numbered from `first`, with a number written `1.50` and a nested object.
fn records(first: u64, count: u64) -> String {
    records_with(first, count, "\"amount\": 1.50", 30)
}

/// `count` records numbered from `first`, each with `field` and an object nested `depth` deep.
fn records_with(first: u64, count: u64, field: &str, depth: usize) -> String {
    let nested = format!("{}1{}", "{\"d\":".repeat(depth), "}".repeat(depth));
    (first..first + count)
        .map(|n| {
            format!(
                "{{\"log_type\": \"test:event\", \"record\": {{\"n\": {n}, {field}, \"nested\": {nested}, \"pad\": \"{}\"}}}}\n",
                "x".repeat(40)
            )
        })
        .collect()
}

/// The ids of the webhook deliveries the sink answered with 2xx that the ledger does not hold
/// as sent: the documented window of a stop between a 2xx and its record. Read once the process
/// has exited and the sink has served each of its connections to the end.
fn window(workdir: &Workdir, sink: &Sink) -> BTreeSet<String> {
    sink.drain();
    let answered = sink.answered();
    workdir
        .ledger()
        .iter()
        .filter(|entry| {
            entry
                .delivery("webhook:sink")
                .is_some_and(|d| d.state != DeliveryState::Sent)
        })
        .map(|entry| entry.alert.alert_id.clone())
        .filter(|id| answered.contains_key(id))
        .collect()
}

/// Checks the end state of a scenario over records `0..records`; returns the HTTP duplicates.
fn check(
    scenario: &str,
    workdir: &Workdir,
    sink: &Sink,
    records: u64,
    window: &BTreeSet<String>,
) -> usize {
    let entries = workdir.ledger();
    let file_records = workdir.file_records();
    let mut per_record: BTreeMap<u64, u64> = BTreeMap::new();
    for entry in &entries {
        let id = &entry.alert.alert_id;
        let n = entry.alert.record["n"]
            .as_u64()
            .or_else(|| file_records.get(id).copied())
            .unwrap_or_else(|| {
                panic!("{scenario}: alert {id}: no record in the ledger or the file")
            });
        *per_record.entry(n).or_default() += 1;
        assert_eq!(
            entry.status,
            AlertStatus::Complete,
            "{scenario}: alert of record {n}"
        );
        for delivery in &entry.deliveries {
            assert_eq!(
                delivery.state,
                DeliveryState::Sent,
                "{scenario}: record {n}: {delivery:?}"
            );
        }
    }
    let expected: BTreeMap<u64, u64> = (0..records).map(|n| (n, 1)).collect();
    assert_eq!(
        per_record, expected,
        "{scenario}: every record's alert exactly once in the ledger"
    );
    let ids: BTreeSet<String> = entries.iter().map(|e| e.alert.alert_id.clone()).collect();
    let in_file = workdir.file_ids();
    assert_eq!(
        in_file.keys().cloned().collect::<BTreeSet<_>>(),
        ids,
        "{scenario}: file output"
    );
    assert!(
        in_file.values().all(|n| *n == 1),
        "{scenario}: an alert written twice: {in_file:?}"
    );
    let answered = sink.answered();
    for id in &ids {
        assert!(
            answered.contains_key(id),
            "{scenario}: alert {id} never reached the sink"
        );
    }
    let duplicates: BTreeMap<&String, &u64> = answered.iter().filter(|(_, n)| **n > 1).collect();
    for (id, times) in &duplicates {
        assert!(
            window.contains(*id) && **times == 2,
            "{scenario}: alert {id} answered {times} times, outside the documented window {window:?}"
        );
    }
    eprintln!(
        "{scenario}: {} records, {} HTTP duplicates (all in the documented window of {} deliveries answered 2xx and not marked)",
        records,
        duplicates.len(),
        window.len()
    );
    duplicates.len()
}

/// What a crash scenario ended with.
struct Outcome {
    /// Alerts the sink answered with 2xx more than once.
    duplicates: usize,
    /// Interrupted deliveries `retry` found at their destination (the `file` output's probe).
    found: u64,
}

/// Runs a crash scenario: `process` stopped by `fault` (the binary's hook) or by the sink
/// killing it at request `kill_at`, then `process` again and `retry` until done.
fn crash_scenario(scenario: &str, fault: Option<&str>, kill_at: Option<u64>) -> Outcome {
    crash_scenario_on(scenario, &records(0, RECORDS), fault, kill_at, |_| {})
}

/// [`crash_scenario`] on `input` ([`RECORDS`] records numbered from 0), with `after_stop`
/// run on the directory once the first `process` is stopped.
fn crash_scenario_on(
    scenario: &str,
    input: &str,
    fault: Option<&str>,
    kill_at: Option<u64>,
    after_stop: impl FnOnce(&Workdir),
) -> Outcome {
    let sink = Sink::start(seed(scenario), Mode::Faulty);
    let workdir = Workdir::new(&sink, "normal");
    std::fs::write(workdir.input(), input).expect("input");

    let first = match kill_at {
        Some(request) => {
            let child = workdir.spawn_process("records.jsonl", Stdio::null());
            sink.kill_on_request(request, child.id());
            child.wait_with_output().expect("the binary ends")
        }
        None => workdir.process(fault, &[]),
    };
    let stderr = String::from_utf8_lossy(&first.stderr);
    let expected = if kill_at.is_some() { 9 } else { 6 };
    assert_eq!(
        first.status.signal(),
        Some(expected),
        "{scenario}: not stopped where asked: {stderr}"
    );
    after_stop(&workdir);
    let window = window(&workdir, &sink);

    let again = workdir.process(None, &[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        again.status.code().is_some(),
        "{scenario}: rerun crashed: {stderr}"
    );
    assert!(
        stderr.contains("resuming "),
        "{scenario}: the rerun did not resume: {stderr}"
    );
    let found = workdir.retry_until_done();
    let duplicates = check(scenario, &workdir, &sink, RECORDS, &window);
    assert!(
        sink.too_many_requests() > 0,
        "{scenario}: no delivery was answered 429"
    );
    Outcome { duplicates, found }
}

#[test]
fn every_delivery_goes_through_the_proxy_the_environment_names() {
    let sink = Sink::start(seed("proxy"), Mode::Healthy);
    // The webhook's host resolves nowhere: only the proxy reaches it. The proxy is the sink
    // itself, which answers any request line, the proxy's form (the whole URL) included.
    let workdir = Workdir::with_webhook("http://alerts.example.invalid/hook", "normal");
    std::fs::write(workdir.input(), records(0, 20)).expect("input");
    let proxy = sink.url.trim_end_matches("/hook");
    let output = workdir
        .command(&["process", "--input", "records.jsonl"])
        .env("HTTP_PROXY", proxy)
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(sink.answered().len(), 20, "{stderr}");
    assert_eq!(workdir.unsent(), 0, "{stderr}");
}

#[test]
fn killed_while_reading_loses_and_repeats_nothing() {
    crash_scenario("killed while reading", Some("read:2"), None);
}

#[test]
fn killed_after_recording_before_sending_loses_and_repeats_nothing() {
    crash_scenario("killed after recording", Some("after_record:2"), None);
}

#[test]
fn killed_mid_send_loses_and_repeats_nothing() {
    crash_scenario("killed mid-send", None, Some(40));
}

#[test]
fn killed_after_a_file_write_before_it_is_marked_writes_it_once() {
    let outcome = crash_scenario(
        "killed after a file write, before it is marked",
        Some("after_sent:20:file"),
        None,
    );
    assert!(
        outcome.found >= 1,
        "retry found the interrupted write in the file instead of writing it again"
    );
}

#[test]
fn killed_after_a_2xx_before_it_is_marked_sends_that_alert_twice_and_only_it() {
    let outcome = crash_scenario(
        "killed after a 2xx, before it is marked",
        Some("after_sent:20:webhook"),
        None,
    );
    assert!(
        outcome.duplicates >= 1,
        "the alert whose 2xx was never marked is sent again"
    );
}

/// Numbers beyond f64 (`1e400`), decimals that must keep their digits (`1.50`) and nesting close
/// to the parser's depth limit, read back from the ledger by `retry` after a crash.
#[test]
fn killed_after_recording_records_with_1e400_and_deep_nesting() {
    let input = records_with(0, RECORDS, "\"amount\": 1.50, \"huge\": 1e400", 120);
    crash_scenario_on(
        "killed after recording, 1e400 and deep nesting",
        &input,
        Some("after_record:2"),
        None,
        |_| {},
    );
}

/// The SQLite ledger appends each recorded batch and each outcome to its intake log and
/// applies the log later: killed with entries durable in the log and not applied yet, then
/// killed again by `ledger status` right after it applied them on opening the ledger (before
/// it emptied the log's files). The next command finds nothing left to apply (nothing is applied
/// twice), and nothing is lost or repeated.
#[test]
fn killed_before_the_intake_log_is_applied_then_after_it_is_applied_at_open() {
    let applied = "applied the intake log left by the last run";
    crash_scenario_on(
        "killed before the intake log is applied",
        &records(0, RECORDS),
        Some("intake_apply:6"),
        None,
        |workdir| {
            let status = workdir
                .command(&["ledger", "status"])
                .env("STREAMALERT_FAULT", "intake_switch:1")
                .output()
                .expect("ledger status runs");
            let stderr = String::from_utf8_lossy(&status.stderr);
            assert_eq!(status.status.signal(), Some(6), "{stderr}");
            assert!(stderr.contains(applied), "{stderr}");
            let again = workdir
                .command(&["ledger", "status"])
                .output()
                .expect("ledger status runs");
            let stderr = String::from_utf8_lossy(&again.stderr);
            assert!(again.status.code().is_some(), "{stderr}");
            assert!(!stderr.contains(applied), "applied twice: {stderr}");
        },
    );
}

/// Sends `signal` to the process `pid`.
fn signal(pid: u32, signal: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status();
    assert!(sent.is_ok_and(|s| s.success()), "kill -{signal} {pid}");
}

/// Waits (up to 30 s) until the sink has received `requests` requests.
fn wait_for_requests(sink: &Sink, requests: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while sink.requests() < requests {
        assert!(
            Instant::now() < deadline,
            "the sink got {} requests",
            sink.requests()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sigterm_stops_reading_lets_deliveries_under_way_finish_and_exits_143() {
    let scenario = "SIGTERM with a slow sink";
    let sink = Sink::start(seed(scenario), Mode::Slow(Duration::from_millis(300)));
    let workdir = Workdir::new(&sink, "normal");
    std::fs::write(workdir.input(), records(0, RECORDS)).expect("input");
    let child = workdir.spawn_process("records.jsonl", Stdio::null());
    wait_for_requests(&sink, 5);
    signal(child.id(), "TERM");
    let stopped = child.wait_with_output().expect("the binary ends");
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    assert_eq!(stopped.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("SIGTERM: stopping"), "{stderr}");
    assert!(
        stderr.contains("records: "),
        "the summary is printed: {stderr}"
    );
    // Every delivery under way finished within the grace period: none is left unmarked.
    let window = window(&workdir, &sink);
    assert!(window.is_empty(), "answered but not marked: {window:?}");
    let entries = workdir.ledger();
    assert!(
        (entries.len() as u64) < RECORDS,
        "it stopped reading before the end"
    );

    sink.set_mode(Mode::Healthy);
    let again = workdir.process(None, &[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(stderr.contains("resuming "), "{stderr}");
    workdir.retry_until_done();
    assert_eq!(check(scenario, &workdir, &sink, RECORDS, &window), 0);
}

#[test]
fn sigterm_after_the_grace_leaves_unfinished_deliveries_pending_for_retry() {
    let scenario = "SIGTERM with no grace";
    let sink = Sink::start(seed(scenario), Mode::Slow(Duration::from_secs(2)));
    let workdir = Workdir::new(&sink, "normal");
    workdir.set("shutdown_grace_secs", 0.into());
    std::fs::write(workdir.input(), records(0, RECORDS)).expect("input");
    let child = workdir.spawn_process("records.jsonl", Stdio::null());
    wait_for_requests(&sink, 5);
    signal(child.id(), "TERM");
    let stopped = child.wait_with_output().expect("the binary ends");
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    assert_eq!(stopped.status.code(), Some(143), "{stderr}");
    assert!(
        stderr.contains("their unfinished deliveries stay pending for `retry`"),
        "{stderr}"
    );
    let interrupted = workdir
        .ledger()
        .iter()
        .filter_map(|entry| entry.delivery("webhook:sink"))
        .filter(|d| d.state == DeliveryState::Pending && d.intent.is_some())
        .count();
    assert!(
        interrupted >= 5,
        "{interrupted} deliveries left with their intent"
    );
    let window = window(&workdir, &sink);

    sink.set_mode(Mode::Healthy);
    let again = workdir.process(None, &[]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    workdir.retry_until_done();
    check(scenario, &workdir, &sink, RECORDS, &window);
}

#[test]
fn a_second_signal_ends_the_grace_and_leaves_the_deliveries_pending() {
    let sink = Sink::start(seed("second signal"), Mode::Slow(Duration::from_secs(120)));
    let workdir = Workdir::new(&sink, "normal");
    std::fs::write(workdir.input(), records(0, 20)).expect("input");
    let mut child = workdir.spawn_process("records.jsonl", Stdio::null());
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    wait_for_requests(&sink, 20);
    signal(child.id(), "INT");
    let mut log = String::new();
    // The grace (20 s) has begun; a second signal ends it.
    while !log.contains("SIGINT: stopping") {
        assert!(stderr.read_line(&mut log).expect("stderr") > 0, "{log}");
    }
    signal(child.id(), "INT");
    stderr.read_to_string(&mut log).expect("stderr");
    let status = child.wait().expect("the binary ends");
    assert_eq!(status.code(), Some(130), "{log}");
    assert!(log.contains("SIGINT: not waiting any longer"), "{log}");
    assert!(
        log.contains("20 alerts were still being delivered"),
        "{log}"
    );
    let pending = workdir
        .ledger()
        .iter()
        .filter_map(|entry| entry.delivery("webhook:sink"))
        .filter(|d| d.state == DeliveryState::Pending && d.intent.is_some())
        .count();
    assert_eq!(pending, 20, "every unanswered delivery stays pending");
}

#[test]
fn sigint_on_an_idle_stdin_exits_130_and_prints_the_bytes_consumed() {
    let scenario = "SIGINT on an idle standard input";
    let sink = Sink::start(seed(scenario), Mode::Healthy);
    let workdir = Workdir::new(&sink, "normal");
    let mut child = workdir.spawn_process("-", Stdio::piped());
    let lines = records(0, 3);
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(lines.as_bytes())
        .expect("write the records");
    stdin.flush().expect("flush");
    wait_for_requests(&sink, 3);
    sink.settle();
    // The pipe stays open and idle: the reader waits on it.
    signal(child.id(), "INT");
    let stopped = child.wait_with_output().expect("the binary ends");
    drop(stdin);
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    assert_eq!(stopped.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "input <stdin>: {} bytes, 3 lines consumed",
            lines.len()
        )),
        "{stderr}"
    );
    workdir.retry_until_done();
    check(scenario, &workdir, &sink, 3, &BTreeSet::new());
}

#[test]
fn a_pipe_given_by_its_path_is_read_as_standard_input_is() {
    let sink = Sink::start(seed("pipe by path"), Mode::Healthy);
    let workdir = Workdir::new(&sink, "normal");
    let lines = records(0, 2);
    for _ in 0..2 {
        let mut child = workdir
            .command(&["process", "--input", "/dev/stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(lines.as_bytes())
            .expect("write the records");
        drop(stdin);
        let run = child.wait_with_output().expect("the binary ends");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "input /dev/stdin: {} bytes, 2 lines consumed",
                lines.len()
            )),
            "{stderr}"
        );
        assert!(
            !stderr.contains("resuming"),
            "a pipe is never resumed: {stderr}"
        );
    }
    assert_eq!(workdir.ledger().len(), 4, "each run alerts what it was fed");
}

#[test]
fn a_rerun_resumes_after_the_recorded_records_and_reads_appended_lines() {
    let scenario = "resume";
    let sink = Sink::start(seed(scenario), Mode::Healthy);
    let workdir = Workdir::new(&sink, "normal");
    let first = records(0, 10);
    std::fs::write(workdir.input(), &first).expect("input");
    let run = workdir.process(None, &[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(!stderr.contains("resuming"), "{stderr}");

    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(workdir.input())
        .expect("open the input");
    file.write_all(records(10, 5).as_bytes()).expect("append");
    drop(file);
    let run = workdir.process(None, &[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "resuming {} at byte {}, line 11",
            workdir.input().display(),
            first.len()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("records: 5, malformed: 0, alerts: 5"),
        "{stderr}"
    );
    check(scenario, &workdir, &sink, 15, &BTreeSet::new());

    // Read to the end: a third run reads nothing and alerts nothing.
    let run = workdir.process(None, &[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("records: 0, malformed: 0, alerts: 0"),
        "{stderr}"
    );
    check(scenario, &workdir, &sink, 15, &BTreeSet::new());
}

#[test]
fn records_without_alerts_advance_the_checkpoint_too() {
    let sink = Sink::start(seed("no alerts"), Mode::Healthy);
    let workdir = Workdir::new(&sink, "normal");
    let text = "{\"log_type\": \"other:type\", \"record\": {\"n\": 1}}\n".repeat(4);
    std::fs::write(workdir.input(), &text).expect("input");
    let run = workdir.process(None, &[]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let run = workdir.process(None, &[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(&format!("at byte {}, line 5", text.len())),
        "{stderr}"
    );
    assert!(stderr.contains("records: 0,"), "{stderr}");
    assert!(workdir.ledger().is_empty());
}

#[test]
fn a_file_changed_under_what_was_read_is_refused_until_from_start() {
    let sink = Sink::start(seed("changed input"), Mode::Healthy);
    let workdir = Workdir::new(&sink, "normal");
    let text = records(0, 4);
    std::fs::write(workdir.input(), &text).expect("input");
    assert!(workdir.process(None, &[]).status.success());
    let name = workdir.input().display().to_string();

    // The same length, one byte changed in the first line.
    std::fs::write(workdir.input(), text.replacen("\"n\": 0", "\"n\": 9", 1)).expect("rewrite");
    let run = workdir.process(None, &[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{name} changed since a run read it up to byte {}",
            text.len()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("first 1024 bytes differ") && stderr.contains("--from-start"),
        "{stderr}"
    );

    // Shorter than what was read.
    std::fs::write(workdir.input(), &text[..text.len() / 2]).expect("truncate");
    let run = workdir.process(None, &[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("it is only") && stderr.contains("--from-start"),
        "{stderr}"
    );
    assert_eq!(workdir.ledger().len(), 4, "nothing was read");

    // Another file at that path, with the very content that was read.
    let replacement = workdir.path().join("replacement.jsonl");
    std::fs::write(&replacement, &text).expect("replacement");
    std::fs::rename(&replacement, workdir.input()).expect("replace");
    let run = workdir.process(None, &[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("it is another file now") && stderr.contains("--from-start"),
        "{stderr}"
    );

    // --from-start reads it all again (and alerts again, as documented).
    let run = workdir.process(None, &["--from-start"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("records: 4, malformed: 0, alerts: 4"),
        "{stderr}"
    );
    assert_eq!(workdir.ledger().len(), 8);
}

/// What `process` flushed to disk over 5 records under `synchronous`: the `fdatasync` calls on
/// the `file` output's file, and the `fsync`/`fdatasync` calls on the ledger's files; `None`
/// where `strace` cannot trace (not installed, or not permitted).
fn syncs(synchronous: &str) -> Option<(usize, usize)> {
    let sink = Sink::start(seed("fsync"), Mode::Healthy);
    let workdir = Workdir::new(&sink, synchronous);
    std::fs::write(workdir.input(), records(0, 5)).expect("input");
    let trace = workdir.path().join("trace");
    Command::new("strace")
        .args(["-f", "-y", "-e", "trace=fdatasync,fsync", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_crash-processor"))
        .args(["process", "--input", "records.jsonl", "--config", "conf"])
        .current_dir(workdir.path())
        .output()
        .ok()
        .filter(|run| run.status.success())?;
    let text = std::fs::read_to_string(trace).ok()?;
    assert_eq!(
        workdir.file_ids().len(),
        5,
        "{synchronous}: the file output"
    );
    let count = |file: &str| {
        text.lines()
            .filter(|line| line.contains("sync(") && line.contains(file))
            .count()
    };
    Some((count("alerts.jsonl>"), count("ledger.sqlite3")))
}

#[test]
fn under_full_the_ledger_and_the_file_output_flush_each_commit_and_line() {
    let (Some((file_full, ledger_full)), Some((file_normal, ledger_normal))) =
        (syncs("full"), syncs("normal"))
    else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "strace is needed under CI=true"
        );
        eprintln!("strace is not available here: what is flushed is not observed");
        return;
    };
    assert_eq!(file_full, 5, "one flush per line written under full");
    assert_eq!(file_normal, 0, "no flush of the file output under normal");
    assert!(
        ledger_full > ledger_normal,
        "the ledger flushes its commits under full: {ledger_full} flushes, {ledger_normal} under normal"
    );
}
