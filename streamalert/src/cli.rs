//! The processor binary's command line; `streamalert::main!()` calls [`run`].
//!
//! Commands: `process` (records in, alerts delivered), `dispatch` (StreamAlert's alert-processor
//! events), `retry` (send what is still pending, merge), `validate`, `test` (rule test
//! events), `output` (outputs and their credentials), `list`, `lambda` (feature `aws`). Run the binary
//! with `--help`, or `<command> --help`, for the details.

use crate::config::{OutputsConfig, ProcessorSettings};
use crate::ledger::{Ledger, SqliteLedger};
use crate::processor::{EventOutcome, NoCredentials, Processor, RunReport, required_outputs};
use crate::rule::{Payload, RulesEngine};
use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};
use serde_json::Value;
use std::ffi::OsString;
use std::io::{BufRead as _, IsTerminal as _, Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

const ABOUT: &str = "A StreamAlert alert processor: evaluates rules on records, delivers the alerts to their \
outputs and records every delivery in a ledger, so nothing is lost and nothing is sent twice.";

const AFTER_HELP: &str = "\
Configuration (the --config directory, default ./conf):
  outputs.json    the configured outputs, in StreamAlert's format, e.g.
                  {\"file\": {\"alerts\": \"out/alerts.jsonl\"}, \"stdout\": [\"console\"]}
  processor.json  optional settings (defaults shown):
                  {\"concurrency\": 32, \"dispatch_timeout_secs\": 60,
                   \"ledger\": {\"path\": \"streamalert-ledger.sqlite3\", \"synchronous\": \"normal\",
                              \"lock_timeout_secs\": 30}}
Relative paths are relative to the working directory.

Typical use:
  <binary> validate --config conf
  <binary> process --input records.jsonl --config conf
  <binary> retry --config conf          (periodically: resends failures, merges alerts)

Logs go to standard error; filter them with RUST_LOG (e.g. RUST_LOG=debug, or
RUST_LOG=warn,streamalert=debug). Exit status: 0 on success, 1 when anything failed
(a malformed line, a failed delivery, a problem found), 2 for a usage error.";

const PROCESS_HELP: &str = "\
Evaluates every rule on JSON lines of records and delivers the alerts.

Each input line is one record with its log type:
  {\"log_type\": \"cloudwatch:events\", \"record\": {...}}
optionally with \"cluster\", \"data_type\", \"service\" and \"resource\" (where the record came from).
Blank lines are skipped; a malformed line is reported with its line number and the rest is
processed (the exit status is then 1).

Each alert is recorded in the ledger before it is sent, with one record per output; each
output is marked sent the moment it succeeds and is never sent again. A failed output stays
pending: run `retry` to send it again. The summary on standard error counts the records, the
alerts, the deliveries sent and failed in this run, and the deliveries pending in the ledger.";

const DISPATCH_HELP: &str = "\
Delivers alerts given in StreamAlert's alert-processor event formats, as its Lambda did:
  - a full alerts-table item: {\"RuleName\", \"AlertID\", \"Record\" (JSON text), \"Outputs\",
    \"Created\", \"Attempts\", ...}; outputs in its \"OutputsSent\" are not sent again;
  - the key form {\"AlertID\": ..., \"RuleName\": ...}: the alert is read from the ledger.
The input holds one event or several (JSON lines or concatenated JSON). For each event the
result map {\"service:descriptor\": true|false} is printed on standard output as one line
({} for an invalid or unknown alert, which is also logged).";

const RETRY_HELP: &str = "\
One pass over the ledger: every output not yet sent is sent again (failed ones, and ones a
killed run left unfinished: those are first looked for at their destination where that is
possible, so the `file` output never receives an alert twice). Alerts of rules with
merge_by_keys and a merge window are merged once their window has passed, and the merged
alert is delivered. Run it periodically (cron, a systemd timer).";

const VALIDATE_HELP: &str = "\
Loads the configuration and this binary's rules, publishers and outputs, and reports every
problem at once: a rule output whose descriptor is not in outputs.json, a configured
descriptor without stored credentials, an unknown publisher name (in a rule or on an alert
waiting in the ledger), an output service not compiled into this binary (a cargo feature),
malformed configuration files. Exit status 1 when there is any problem.";

#[cfg(feature = "aws")]
const LAMBDA_HELP: &str = "\
Runs as an AWS Lambda function (custom runtime, provided.al2023), taking StreamAlert's
alert-processor events: a full alerts-table item, or the key form {\"AlertID\", \"RuleName\"}
read from the DynamoDB alerts table. It is the same code path as `dispatch`. Configuration
comes from the environment: STREAMALERT_CONFIG (default conf), STREAMALERT_PREFIX (the
required Firehose output) and ALERTS_TABLE (the DynamoDB ledger). See the README's section on
building and deploying the function.";

const TEST_HELP: &str = "\
Runs StreamAlert rule test events: JSON files holding an array of events, each with the
record (`data` or `override_record`), its `log` type, the `trigger_rules` expected and
optional `publisher_tests` (JMESPath conditions on an output's publication). Prints a
per-rule pass/fail report with a diff for every failure; exit status 1 on any failure.

  <binary> test                                  every event under ./rules
  <binary> test --events rules/cloudtrail        one directory (or file)
  <binary> test cloudtrail_root_account_usage    only the events expecting this rule";

/// The command line.
#[derive(Debug, Parser)]
#[command(about = ABOUT, after_help = AFTER_HELP, disable_version_flag = true)]
struct Cli {
    /// How logs are written on standard error: `text` for people, `json` (one object per line) for machines.
    #[arg(long, value_enum, global = true, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate the rules on JSON lines of records and deliver the alerts.
    #[command(long_about = PROCESS_HELP)]
    Process(ProcessArgs),
    /// Deliver alerts given in StreamAlert's alert-processor event formats.
    #[command(long_about = DISPATCH_HELP)]
    Dispatch(DispatchArgs),
    /// Send again every output not yet sent; merge alerts whose merge window has passed.
    #[command(long_about = RETRY_HELP)]
    Retry(Common),
    /// Check configuration, credentials and registrations; report every problem.
    #[command(long_about = VALIDATE_HELP)]
    Validate(Common),
    /// Serve AWS Lambda invocations (StreamAlert's alert-processor events) until the runtime ends.
    #[cfg(feature = "aws")]
    #[command(long_about = LAMBDA_HELP)]
    Lambda,
    /// Run the rules' test events (StreamAlert's rule test JSON files) and report per rule.
    #[command(long_about = TEST_HELP)]
    Test(TestArgs),
    /// Configure outputs and their credentials (outputs.json and the credential store).
    Output(OutputArgs),
    /// List the rules, publishers or outputs this binary registered, with source locations.
    List {
        /// What to list.
        #[arg(value_enum)]
        what: ListWhat,
    },
}

#[derive(Debug, Args)]
struct OutputArgs {
    /// The configuration directory: outputs.json, and processor.json's `credentials` section.
    #[arg(long, value_name = "DIR", default_value = "conf", global = true)]
    config: PathBuf,
    #[command(flatten)]
    command: crate::creds::OutputCommand,
}

#[derive(Debug, Args)]
struct TestArgs {
    /// Only the test events that expect one of these rules to trigger (default: all).
    #[arg(value_name = "RULE")]
    rules: Vec<String>,
    /// Test-event files or directories (searched recursively for *.json).
    #[arg(long = "events", value_name = "PATH", default_value = crate::testing::DEFAULT_RULES_DIR)]
    events: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ListWhat {
    Rules,
    Publishers,
    Outputs,
}

#[derive(Debug, Args)]
struct Common {
    /// The configuration directory: outputs.json, and optionally processor.json.
    #[arg(long, value_name = "DIR", default_value = "conf")]
    config: PathBuf,
    /// The ledger file to use instead of processor.json's ledger.path.
    #[arg(long, value_name = "FILE")]
    ledger: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ProcessArgs {
    /// The JSON lines of records; `-` reads standard input.
    #[arg(long, value_name = "FILE|-", default_value = "-")]
    input: PathBuf,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
struct DispatchArgs {
    /// The alert events; `-` reads standard input.
    #[arg(long, value_name = "FILE|-", default_value = "-")]
    alert: PathBuf,
    #[command(flatten)]
    common: Common,
}

/// Runs the command line of a processor binary built with `streamalert::main!()`.
pub fn run() -> ExitCode {
    run_from(std::env::args_os())
}

/// Runs the command line with these arguments (the first is the program name).
///
/// ```
/// use std::process::ExitCode;
/// assert_eq!(streamalert::cli::run_from(["processor", "list", "publishers"]), ExitCode::SUCCESS);
/// assert_eq!(streamalert::cli::run_from(["processor", "no-such-command"]), ExitCode::from(2));
/// ```
pub fn run_from<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let bin = args
        .first()
        .and_then(|arg| Path::new(arg).file_stem())
        .map_or_else(
            || "streamalert".to_owned(),
            |s| s.to_string_lossy().into_owned(),
        );
    let matches = match Cli::command()
        .bin_name(bin.clone())
        .after_help(AFTER_HELP.replace("<binary>", &bin))
        .try_get_matches_from(args)
    {
        Ok(matches) => matches,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(2);
        }
    };
    init_logging(cli.log_format);
    match cli.command {
        Command::List { what } => list(what),
        Command::Validate(common) => validate(&common),
        Command::Process(args) => with_runtime(|| process(&args)),
        Command::Dispatch(args) => with_runtime(|| dispatch(&args)),
        Command::Retry(common) => with_runtime(|| retry(&common)),
        Command::Test(args) => crate::testing::run_cli(&args.events, &args.rules),
        Command::Output(args) => args.command.run(&args.config),
        #[cfg(feature = "aws")]
        Command::Lambda => crate::lambda::run(),
    }
}

/// Runs `f` inside a multi-threaded tokio runtime.
fn with_runtime<F, Fut>(f: F) -> ExitCode
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ExitCode>,
{
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(f()),
        Err(error) => {
            tracing::error!("cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Logging and progress

/// The progress bar shown while it exists; log lines are written around it.
static PROGRESS: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// Writes to standard error without tearing the progress bar.
struct StderrWriter;

impl std::io::Write for StderrWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let progress = PROGRESS.lock().ok().and_then(|guard| guard.clone());
        match progress {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf)),
            None => std::io::stderr().write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

fn init_logging(format: LogFormat) {
    JSON_LOGS.store(
        format == LogFormat::Json,
        std::sync::atomic::Ordering::Relaxed,
    );
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| StderrWriter)
        .with_target(false);
    // A second call in one process (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
    };
}

/// True when logs are JSON: the summary is then a log event too.
static JSON_LOGS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Prints the summary line on standard error, around the progress bar (as a JSON log event
/// with `--log-format json`).
fn say(line: &str) {
    if JSON_LOGS.load(std::sync::atomic::Ordering::Relaxed) {
        tracing::info!(summary = true, "{line}");
    } else {
        let _ = StderrWriter.write_all(format!("{line}\n").as_bytes());
    }
}

/// A spinner with running counts, only when standard error is a terminal.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn start() -> Self {
        if !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        if let Ok(mut slot) = PROGRESS.lock() {
            *slot = Some(bar.clone());
        }
        Self(Some(bar))
    }

    fn update(&self, message: String) {
        if let Some(bar) = &self.0 {
            bar.set_message(message);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
            if let Ok(mut slot) = PROGRESS.lock() {
                *slot = None;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Set-up shared by process, dispatch and retry

struct Setup {
    processor: Processor,
    ledger: Arc<SqliteLedger>,
    required: Vec<String>,
}

fn load_config(common: &Common) -> Result<(OutputsConfig, ProcessorSettings), String> {
    let config =
        OutputsConfig::load(&common.config.join("outputs.json")).map_err(|e| e.to_string())?;
    let mut settings =
        ProcessorSettings::load_from_dir(&common.config).map_err(|e| e.to_string())?;
    if let Some(path) = &common.ledger {
        settings.ledger.path = path.clone();
    }
    Ok((config, settings))
}

async fn setup(common: &Common) -> Result<Setup, String> {
    let (mut config, settings) = load_config(common)?;
    let prefix = std::env::var("STREAMALERT_PREFIX").ok();
    let required = required_outputs(&mut config, prefix.as_deref());
    let ledger = Arc::new(SqliteLedger::open(&settings.ledger).map_err(|e| e.to_string())?);
    let credentials = settings
        .credentials
        .provider()
        .await
        .map_err(|e| e.to_string())?;
    let processor = Processor::new(config)
        .with_settings(settings)
        .with_credentials(credentials)
        .with_ledger(ledger.clone());
    Ok(Setup {
        processor,
        ledger,
        required,
    })
}

async fn pending_in(ledger: &SqliteLedger) -> Option<u64> {
    match ledger.counts().await {
        Ok(counts) => Some(counts.unsent()),
        Err(error) => {
            tracing::error!(%error, "cannot count the pending deliveries");
            None
        }
    }
}

fn show(count: Option<u64>) -> String {
    count.map_or_else(|| "?".to_owned(), |n| n.to_string())
}

// ---------------------------------------------------------------------------------------------
// process

/// A chunk of input lines: line number and text (or why the line cannot be read).
type Chunk = Vec<(usize, Result<String, String>)>;

/// Reads lines on a thread and hands them over in chunks: full chunks while input is
/// plentiful, whatever is there as soon as the reader would wait (so a slow pipe is never
/// held back).
fn read_chunks(input: Box<dyn Read + Send>, tx: tokio::sync::mpsc::Sender<Chunk>) {
    const CHUNK: usize = 512;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, input);
    let mut chunk: Chunk = Vec::with_capacity(CHUNK);
    let mut line_number = 0;
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer) {
            Ok(0) => break,
            Ok(_) => {
                line_number += 1;
                while buffer.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    buffer.pop();
                }
                let line = String::from_utf8(std::mem::take(&mut buffer))
                    .map_err(|_| "not valid UTF-8".to_owned());
                chunk.push((line_number, line));
            }
            Err(error) => {
                line_number += 1;
                chunk.push((line_number, Err(format!("cannot read: {error}"))));
                break;
            }
        }
        if chunk.len() >= CHUNK || reader.buffer().is_empty() {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
            if tx.blocking_send(full).is_err() {
                return;
            }
        }
    }
    if !chunk.is_empty() {
        let _ = tx.blocking_send(chunk);
    }
}

fn open_input(path: &Path) -> Result<(Box<dyn Read + Send>, String), String> {
    if path == Path::new("-") {
        return Ok((Box::new(std::io::stdin()), "<stdin>".to_owned()));
    }
    std::fs::File::open(path)
        .map(|file| {
            (
                Box::new(file) as Box<dyn Read + Send>,
                path.display().to_string(),
            )
        })
        .map_err(|error| format!("cannot read {}: {error}", path.display()))
}

async fn process(args: &ProcessArgs) -> ExitCode {
    let Setup {
        processor,
        ledger,
        required,
    } = match setup(&args.common).await {
        Ok(setup) => setup,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let (input, source) = match open_input(&args.input) {
        Ok(input) => input,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let engine = RulesEngine::new().with_required_outputs(required);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(4);
    let reader = std::thread::spawn(move || read_chunks(input, tx));

    let progress = Progress::start();
    let mut run = processor.start_run();
    let (mut records, mut malformed, mut alerts) = (0u64, 0u64, 0u64);
    let mut fatal = false;
    while let Some(chunk) = rx.recv().await {
        let mut batch = Vec::new();
        for (line_number, line) in chunk {
            match line.and_then(|line| parse_payload(&line)) {
                Ok(None) => {}
                Ok(Some(payload)) => {
                    records += 1;
                    batch.extend(engine.run(&payload));
                }
                Err(message) => {
                    malformed += 1;
                    tracing::error!("{source}:{line_number}: {message}");
                }
            }
        }
        alerts += batch.len() as u64;
        if let Err(error) = run.submit(batch).await {
            tracing::error!(%error, "cannot record alerts in the ledger; stopping");
            fatal = true;
            break;
        }
        let report = run.report();
        progress.update(format!(
            "records {records}, alerts {alerts}, sent {}, failed {}",
            report.sent, report.failed
        ));
    }
    drop(rx);
    let report = run.finish().await;
    drop(progress);
    if reader.join().is_err() {
        tracing::error!("the input reader failed");
        fatal = true;
    }
    let pending = pending_in(&ledger).await;
    say(&format!(
        "records: {records}, malformed: {malformed}, alerts: {alerts}, deliveries sent: {}, failed: {}, pending: {}",
        report.sent,
        report.failed,
        show(pending)
    ));
    if fatal || malformed > 0 || report.failed > 0 || report.ledger_errors > 0 || pending.is_none()
    {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Parses one input line: `{"log_type": …, "record": {…}, …}`; `None` for a blank line.
fn parse_payload(line: &str) -> Result<Option<Payload>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let log_type = text("log_type")
        .ok_or("missing string field `log_type` (the record's schema, e.g. `cloudwatch:events`)")?;
    let record = value
        .get("record")
        .filter(|r| r.is_object())
        .ok_or("missing object field `record`")?
        .clone();
    let mut payload = Payload::new(log_type, record);
    payload.cluster = text("cluster");
    payload.data_type = text("data_type");
    payload.service = text("service");
    payload.resource = text("resource");
    Ok(Some(payload))
}

// ---------------------------------------------------------------------------------------------
// dispatch

async fn dispatch(args: &DispatchArgs) -> ExitCode {
    let Setup {
        processor, ledger, ..
    } = match setup(&args.common).await {
        Ok(setup) => setup,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let (mut input, source) = match open_input(&args.alert) {
        Ok(input) => input,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let mut text = String::new();
    if let Err(error) = input.read_to_string(&mut text) {
        tracing::error!("cannot read {source}: {error}");
        return ExitCode::FAILURE;
    }
    let (mut events, mut invalid, mut not_found, mut sent, mut failed) = (0u64, 0, 0, 0, 0);
    let mut broken = false;
    let mut stdout = std::io::stdout();
    for event in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                tracing::error!("{source}:{}: not valid JSON: {error}", error.line());
                broken = true;
                break;
            }
        };
        events += 1;
        let outcome = processor.dispatch_event(&event).await;
        match &outcome {
            EventOutcome::Dispatched(results) => {
                sent += results.values().filter(|ok| **ok).count() as u64;
                failed += results.values().filter(|ok| !**ok).count() as u64;
            }
            EventOutcome::NotFound(_) => not_found += 1,
            EventOutcome::Invalid(_) => invalid += 1,
            EventOutcome::Failed(error) => {
                tracing::error!(%error, "cannot dispatch the event");
                broken = true;
            }
        }
        let results: serde_json::Map<String, Value> = outcome
            .results()
            .into_iter()
            .map(|(output, ok)| (output, Value::Bool(ok)))
            .collect();
        let _ = writeln!(stdout, "{}", Value::Object(results));
    }
    let pending = pending_in(&ledger).await;
    say(&format!(
        "events: {events}, invalid: {invalid}, not found: {not_found}, deliveries sent: {sent}, failed: {failed}, pending: {}",
        show(pending)
    ));
    if broken || invalid > 0 || not_found > 0 || failed > 0 || pending.is_none() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

// ---------------------------------------------------------------------------------------------
// retry

async fn retry(common: &Common) -> ExitCode {
    let Setup {
        processor, ledger, ..
    } = match setup(common).await {
        Ok(setup) => setup,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let progress = Progress::start();
    progress.update("retrying pending deliveries".to_owned());
    let report = match processor.retry().await {
        Ok(report) => report,
        Err(error) => {
            drop(progress);
            tracing::error!(%error, "retry failed");
            return ExitCode::FAILURE;
        }
    };
    drop(progress);
    let pending = pending_in(&ledger).await;
    let RunReport {
        alerts,
        sent,
        failed,
        reconciled,
        merged,
        ledger_errors,
    } = report;
    say(&format!(
        "alerts: {alerts}, deliveries sent: {sent}, failed: {failed}, pending: {}, found already delivered: {reconciled}, merged: {merged}",
        show(pending)
    ));
    if failed > 0 || ledger_errors > 0 || pending.is_none() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

// ---------------------------------------------------------------------------------------------
// validate and list

fn validate(common: &Common) -> ExitCode {
    use crate::processor::{Problem, ProblemKind};
    let mut problems = Vec::new();
    let config = match OutputsConfig::load(&common.config.join("outputs.json")) {
        Ok(config) => Some(config),
        Err(error) => {
            problems.push(Problem::new(ProblemKind::Config, error.to_string()));
            None
        }
    };
    let mut settings = match ProcessorSettings::load_from_dir(&common.config) {
        Ok(settings) => settings,
        Err(error) => {
            problems.push(Problem::new(ProblemKind::Config, error.to_string()));
            ProcessorSettings::default()
        }
    };
    if let Some(path) = &common.ledger {
        settings.ledger.path = path.clone();
    }
    with_runtime(|| async {
        let open_alerts = if settings.ledger.path.exists() {
            match SqliteLedger::open(&settings.ledger) {
                Ok(ledger) => match ledger.open_alerts().await {
                    Ok(open) => open,
                    Err(error) => {
                        problems.push(Problem::new(ProblemKind::Ledger, error.to_string()));
                        Vec::new()
                    }
                },
                Err(error) => {
                    problems.push(Problem::new(ProblemKind::Ledger, error.to_string()));
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        let registry = crate::registry();
        match config {
            Some(mut config) => {
                let prefix = std::env::var("STREAMALERT_PREFIX").ok();
                required_outputs(&mut config, prefix.as_deref());
                match settings.credentials.provider().await {
                    Ok(credentials) => problems.extend(
                        crate::processor::validate(registry, &config, &*credentials, &open_alerts)
                            .await,
                    ),
                    Err(error) => {
                        problems.push(Problem::new(ProblemKind::Config, error.to_string()));
                        problems.extend(
                            crate::processor::validate(
                                registry,
                                &config,
                                &NoCredentials,
                                &open_alerts,
                            )
                            .await,
                        );
                    }
                }
            }
            None => {
                // Without outputs.json only the checks that do not need it.
                let mut found = crate::processor::validate(
                    registry,
                    &OutputsConfig::default(),
                    &NoCredentials,
                    &open_alerts,
                )
                .await;
                found.retain(|p| p.kind != ProblemKind::UnknownDescriptor);
                problems.extend(found);
            }
        }
        let mut out = std::io::stdout();
        for problem in &problems {
            let _ = writeln!(out, "problem: {problem}");
        }
        let registry = crate::registry();
        if problems.is_empty() {
            let _ = writeln!(
                out,
                "ok: {} rules, {} publishers, {} output services, configuration in {}",
                registry.rules().len(),
                registry.publishers().len(),
                registry.outputs().len(),
                common.config.display()
            );
            ExitCode::SUCCESS
        } else {
            let _ = writeln!(out, "{} problem(s) found", problems.len());
            ExitCode::FAILURE
        }
    })
}

fn list(what: ListWhat) -> ExitCode {
    let registry = crate::registry();
    let mut out = std::io::stdout();
    let lines: Vec<String> = match what {
        ListWhat::Rules => registry
            .rules()
            .iter()
            .map(|r| format!("{}\t{}", r.name, r.location))
            .collect(),
        ListWhat::Publishers => registry
            .publishers()
            .iter()
            .map(|p| format!("{}\t{}", p.name, p.location))
            .collect(),
        ListWhat::Outputs => registry
            .outputs()
            .iter()
            .map(|o| format!("{}\t{}", o.service, o.location))
            .collect(),
    };
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    ExitCode::SUCCESS
}
