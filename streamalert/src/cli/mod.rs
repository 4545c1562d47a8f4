//! The processor binary's command line; `streamalert::main!()` calls [`run`].
//!
//! Commands: `process` (records in, alerts delivered), `dispatch` (StreamAlert's alert-processor
//! events), `retry` (send what is still pending, merge), `ledger` (see and act on the backlog),
//! `console` (the ledger in a browser, feature `console`), `validate`, `test` (rule test events),
//! `output` (outputs and their credentials), `list`, `lambda` (feature `aws`). Run the binary
//! with `--help`, or `<command> --help`, for the details.

#[cfg(feature = "console")]
mod console;
mod dispatch;
mod input;
#[cfg(feature = "aws")]
pub mod lambda;
mod ledger;
mod list;
mod logging;
mod metrics;
pub mod output;
mod process;
mod retry;
mod runtime;
mod setup;
mod shutdown;
mod validate;

use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub(crate) use runtime::with_runtime;

const ABOUT: &str = "A StreamAlert alert processor: evaluates rules on records, delivers the alerts to their \
outputs and records every delivery in a ledger, so nothing is lost and nothing is sent twice.";

const AFTER_HELP: &str = "\
Configuration (the --config directory, default $STREAMALERT_CONFIG, else ./conf):
  outputs.json    the configured outputs, in StreamAlert's format, e.g.
                  {\"file\": {\"alerts\": \"out/alerts.jsonl\"}, \"stdout\": [\"console\"]}
  processor.json  optional settings (defaults shown):
                  {\"concurrency\": 32, \"dispatch_timeout_secs\": 60, \"shutdown_grace_secs\": 10,
                   \"max_record_bytes\": 1048576,
                   \"ledger\": {\"path\": \"streamalert-ledger.sqlite3\", \"synchronous\": \"normal\",
                              \"lock_timeout_secs\": 30, \"retention_days\": 7},
                   \"max_attempts\": 10, \"max_attempts_by_service\": {}, \"rate_limits\": {}}
                  A delivery failing max_attempts times (per service: e.g. {\"slack\": 3}), or
                  permanently at once (HTTP 4xx other than 408/429, an output not configured,
                  missing credentials), is given up: dead, kept for `ledger replay`.
                  rate_limits paces a destination or a service, e.g. {\"slack:secops\":
                  {\"per_second\": 1, \"burst\": 5}}; defaults: slack 1/s (burst 3),
                  pagerduty(-v2) 1.8/s (12), pagerduty-incident 14/s (60), github 1 per 8 s,
                  slack-bot 1/s (3), google-chat 0.95/s (3), discord 0.4/s (5), others
                  unlimited. A Retry-After pauses every delivery to its destination.
Relative paths are relative to the working directory.

Durability (ledger.synchronous):
  normal  (default) everything the ledger recorded survives the process being killed. A
          power loss (or OS crash) may undo its last commits: alerts recorded then are lost
          together with the input checkpoint that covered them, so the next `process` of the
          same file reads those records again and alerts them anew (if they were delivered
          before the loss, they are delivered again as new alerts; records from standard
          input are lost unless fed again); a delivery recorded as sent may be forgotten and
          sent again; a line the `file` output wrote may be lost (it is not flushed).
  full    every commit is flushed to disk, and so is every line the `file` output appends,
          before it counts: what was recorded survives a power loss too (slower).
Either way an HTTP output can receive an alert twice when the process stops between the
2xx and its record in the ledger (README: \"Delivery guarantees\").

Typical use:
  <binary> validate --config conf
  <binary> process --input records.jsonl --config conf
  <binary> retry --config conf          (periodically: resends failures, merges alerts)
  <binary> ledger status --config conf  (the backlog; also list, show, replay, prune)

Logs go to standard error, coloured on a terminal unless NO_COLOR is set (not empty); filter
them with RUST_LOG (e.g. RUST_LOG=debug, or RUST_LOG=warn,streamalert=debug). Exit status: 0 on success, 1 when anything failed
(a malformed line, a failed delivery, a problem found), 2 for a usage error.";

const PROCESS_HELP: &str = "\
Evaluates every rule on JSON lines of records and delivers the alerts.

Each input line is one record with its log type:
  {\"log_type\": \"cloudwatch:events\", \"record\": {...}}
optionally with \"cluster\", \"data_type\", \"service\" and \"resource\" (where the record came from).
Blank lines are skipped; a malformed line is reported with its line number and the rest is
processed (the exit status is then 1). So is a line longer than max_record_bytes
(processor.json, default {max_record_bytes} bytes, without the line break): it is skipped
without being held in memory whole, and counted as malformed.

Each alert is recorded in the ledger before it is sent, with one record per output; each
output is marked sent the moment it succeeds and is never sent again. A failed output stays
pending: run `retry` to send it again. The summary on standard error counts the records, the
alerts, the deliveries sent and failed in this run, and the deliveries pending in the ledger,
then how many input bytes and lines were consumed.

A file input is resumable: with the alerts of each chunk of records, the ledger records (in
the same transaction) how far the file was read and what it was (its path, device and inode,
and its first KiB). Running `process` again on the same file resumes after the last recorded
record (logged: \"resuming FILE at byte N, line L\"), so a run that was stopped or killed is
completed without losing or re-alerting a record; lines appended since are read too. A file
that changed under what was read (replaced, shorter, or its first KiB different) is refused;
--from-start reads it from the beginning (its records are then alerted again). Standard input
(or a pipe or device given by its path) cannot be resumed: the summary says how many bytes and
lines were consumed.

On SIGINT or SIGTERM, reading stops, the deliveries under way get up to shutdown_grace_secs
(processor.json, default {shutdown_grace_secs}) to finish (unfinished ones stay pending for `retry`; a second
signal ends the wait), the summary is printed, and the exit status is 130 (SIGINT) or 143
(SIGTERM).";

const DISPATCH_HELP: &str = "\
Delivers alerts given in StreamAlert's alert-processor event formats, as its Lambda did:
  - a full alerts-table item: {\"RuleName\", \"AlertID\", \"Record\" (JSON text), \"Outputs\",
    \"Created\", \"Attempts\", ...}; outputs in its \"OutputsSent\" are not sent again;
  - the key form {\"AlertID\": ..., \"RuleName\": ...}: the alert is read from the ledger.
The input holds one event or several (JSON lines or concatenated JSON). For each event the
result map {\"service:descriptor\": true|false} is printed on standard output as one line
({} for an invalid or unknown alert, or one another processor is delivering; each is logged).";

const RETRY_HELP: &str = "\
One pass over the ledger: every output not yet sent is sent again (failed ones, and ones a
killed run left unfinished: those are first looked for at their destination where that is
possible, so the `file` output never receives an alert twice). Alerts of rules with
merge_by_keys and a merge window are merged once their window has passed, and the merged
alert is delivered. An alert that another processor is delivering at that moment is left to
it (counted as \"left to another processor\", not a failure). Run it periodically (cron, a
systemd timer).

A delivery is given up (dead, not sent again) after max_attempts failures (processor.json,
default {max_attempts}) or at once on a permanent error; `ledger replay` makes it pending again. An alert
whose stored item cannot be read back is quarantined with the reason, skipped, and logged with
its id and rule; the other alerts go on. Exit status 1 when a delivery failed or anything is
quarantined.";

const VALIDATE_HELP: &str = "\
Loads the configuration and this binary's rules, publishers and outputs, and reports every
problem at once: a rule output whose descriptor is not in outputs.json, a configured
descriptor without stored credentials, an unknown publisher name (in a rule or on an alert
waiting in the ledger), an output service not compiled into this binary (a cargo feature),
malformed configuration files, alerts quarantined in the ledger. Exit status 1 when there is
any problem.";

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
#[command(about = ABOUT, after_help = AFTER_HELP)]
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
    Retry(RetryArgs),
    /// Check configuration, credentials and registrations; report every problem.
    #[command(long_about = VALIDATE_HELP)]
    Validate(Common),
    /// See and act on the ledger: status, list, show, replay and prune alerts.
    #[command(long_about = ledger::LEDGER_HELP)]
    Ledger(ledger::LedgerArgs),
    /// Serve the ledger as a web page: counts, charts, lists, alerts, and replay buttons.
    #[cfg(feature = "console")]
    #[command(long_about = console::CONSOLE_HELP)]
    Console(console::ConsoleArgs),
    /// Serve AWS Lambda invocations (StreamAlert's alert-processor events) until the runtime ends.
    #[cfg(feature = "aws")]
    #[command(long_about = LAMBDA_HELP)]
    Lambda,
    /// Run the rules' test events (StreamAlert's rule test JSON files) and report per rule.
    #[command(long_about = TEST_HELP)]
    Test(TestArgs),
    /// Configure outputs and their credentials (outputs.json and the credential store).
    Output(OutputArgs),
    /// List the rules, publishers or outputs this binary registered, with source locations
    /// (outputs with the properties `output set` asks for and the publication keys they read).
    List {
        /// What to list.
        #[arg(value_enum)]
        what: ListWhat,
    },
    /// Print the shell completion script of this binary, e.g.
    /// `my-alerts completions bash > ~/.local/share/bash-completion/completions/my-alerts`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
struct OutputArgs {
    /// The configuration directory: outputs.json, and processor.json's `credentials` section.
    #[arg(long, value_name = "DIR", env = crate::config::CONFIG_DIR_ENV, default_value = crate::config::DEFAULT_CONFIG_DIR, global = true)]
    config: PathBuf,
    #[command(flatten)]
    command: output::OutputCommand,
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
    #[arg(long, value_name = "DIR", env = crate::config::CONFIG_DIR_ENV, default_value = crate::config::DEFAULT_CONFIG_DIR)]
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
    /// Read the file from its beginning even where an earlier run read part of it (its records
    /// are then alerted again).
    #[arg(long)]
    from_start: bool,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    metrics: metrics::MetricsArgs,
}

#[derive(Debug, Args)]
struct RetryArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    metrics: metrics::MetricsArgs,
}

#[derive(Debug, Args)]
struct DispatchArgs {
    /// The alert events; `-` reads standard input.
    #[arg(long, value_name = "FILE|-", default_value = "-")]
    alert: PathBuf,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    metrics: metrics::MetricsArgs,
}

/// The version of this streamalert crate, which `--version` shows beside the binary's own.
const STREAMALERT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs the command line of a processor binary; `--version` shows streamalert's version only
/// ([`run_with_version`] adds the binary's).
pub fn run() -> ExitCode {
    run_command(std::env::args_os(), None)
}

/// Runs the command line of a processor binary whose own version is `version`:
/// `streamalert::main!()` calls it with the binary crate's `CARGO_PKG_VERSION`, and `--version`
/// prints `<binary> <version> (streamalert <its version>)`.
pub fn run_with_version(version: &str) -> ExitCode {
    run_command(std::env::args_os(), Some(version))
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
    run_command(args, None)
}

/// The `--version` text: the binary's version (when known), then streamalert's.
fn version_text(version: Option<&str>) -> String {
    match version {
        Some(version) => format!("{version} (streamalert {STREAMALERT_VERSION})"),
        None => format!("(streamalert {STREAMALERT_VERSION})"),
    }
}

/// The command-line definition for the binary `bin` of version `version`.
fn command(bin: &str, version: Option<&str>) -> clap::Command {
    let mut cli = Cli::command();
    let names: Vec<String> = cli
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    for name in names {
        cli = cli.mut_subcommand(name, |sub| match sub.get_long_about() {
            Some(about) => {
                let about = with_defaults(&about.to_string());
                sub.long_about(about)
            }
            None => sub,
        });
    }
    cli.display_name(bin.to_owned())
        .bin_name(bin.to_owned())
        .version(version_text(version))
        .after_help(AFTER_HELP.replace("<binary>", bin))
}

/// A help text with its `{setting}` placeholders replaced by the defaults of
/// [`ProcessorSettings`](crate::config::ProcessorSettings),
/// so that `--help` cannot drift from them.
fn with_defaults(text: &str) -> String {
    let defaults = crate::config::ProcessorSettings::default();
    text.replace("{max_attempts}", &defaults.max_attempts.to_string())
        .replace("{max_record_bytes}", &defaults.max_record_bytes.to_string())
        .replace(
            "{shutdown_grace_secs}",
            &defaults.shutdown_grace_secs.to_string(),
        )
}

/// Writes the completion script of the binary `bin` for `shell` to `out`.
fn completions(
    shell: clap_complete::Shell,
    bin: &str,
    version: Option<&str>,
    out: &mut dyn std::io::Write,
) {
    clap_complete::generate(shell, &mut command(bin, version), bin, out);
}

fn run_command<I, T>(args: I, version: Option<&str>) -> ExitCode
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
    let matches = match command(&bin, version).try_get_matches_from(args) {
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
    logging::init_logging(cli.log_format);
    match cli.command {
        Command::Completions { shell } => {
            completions(shell, &bin, version, &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::List { what } => list::list(what),
        Command::Validate(common) => validate::validate(common),
        Command::Process(args) => with_runtime(async move { process::process(&args).await }),
        Command::Dispatch(args) => with_runtime(async move { dispatch::dispatch(&args).await }),
        Command::Retry(args) => with_runtime(async move { retry::retry(&args).await }),
        Command::Ledger(args) => with_runtime(async move { ledger::ledger(&args).await }),
        #[cfg(feature = "console")]
        Command::Console(args) => with_runtime(async move { console::console(&args).await }),
        Command::Test(args) => crate::testing::run_cli(&args.events, &args.rules),
        Command::Output(args) => args.command.run(&args.config),
        #[cfg(feature = "aws")]
        Command::Lambda => lambda::run(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_shows_the_binarys_version_and_streamalerts() {
        let shown = |version| {
            let error = command("processor", version)
                .try_get_matches_from(["processor", "--version"])
                .unwrap_err();
            assert_eq!(error.kind(), clap::error::ErrorKind::DisplayVersion);
            error.to_string()
        };
        let streamalert = env!("CARGO_PKG_VERSION");
        assert_eq!(
            shown(Some("1.2.3")),
            format!("processor 1.2.3 (streamalert {streamalert})\n")
        );
        assert_eq!(
            shown(None),
            format!("processor (streamalert {streamalert})\n")
        );
    }

    #[test]
    fn config_defaults_to_streamalert_config_then_conf() {
        let mut help = Vec::new();
        for sub in ["process", "validate", "ledger", "output"] {
            let mut cmd = command("processor", None);
            cmd.build();
            let sub = cmd.find_subcommand_mut(sub).unwrap();
            sub.write_long_help(&mut help).unwrap();
        }
        let help = String::from_utf8(help).unwrap();
        assert_eq!(
            help.matches("[env: STREAMALERT_CONFIG=").count(),
            4,
            "{help}"
        );
        assert_eq!(help.matches("[default: conf]").count(), 4, "{help}");
    }

    #[test]
    fn completions_name_the_binary_its_commands_and_options() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut script = Vec::new();
            completions(shell, "my-alerts", None, &mut script);
            let script = String::from_utf8(script).unwrap();
            for word in [
                "my-alerts",
                "process",
                "retry",
                "ledger",
                "replay",
                "config",
            ] {
                assert!(script.contains(word), "{shell}: {word} in {script}");
            }
        }
    }

    #[test]
    fn help_gives_the_default_rate_limits() {
        let mut help = Vec::new();
        command("processor", None)
            .write_long_help(&mut help)
            .unwrap();
        let help = String::from_utf8(help)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let limit = |service| crate::config::RateLimit::default_for(service).unwrap();
        let (slack, pagerduty, incident, github) = (
            limit("slack"),
            limit("pagerduty-v2"),
            limit("pagerduty-incident"),
            limit("github"),
        );
        assert_eq!(limit("pagerduty"), pagerduty);
        for shown in [
            format!("slack {}/s (burst {})", slack.per_second(), slack.burst()),
            format!(
                "pagerduty(-v2) {}/s ({})",
                pagerduty.per_second(),
                pagerduty.burst()
            ),
            format!(
                "pagerduty-incident {}/s ({})",
                incident.per_second(),
                incident.burst()
            ),
            format!("github 1 per {} s", 1.0 / github.per_second()),
        ]
        .into_iter()
        .chain(["slack-bot", "google-chat", "discord"].map(|service| {
            let limit = limit(service);
            format!("{service} {}/s ({})", limit.per_second(), limit.burst())
        })) {
            assert!(help.contains(&shown), "{shown} in {help}");
        }
        assert_eq!(github.burst(), 1);
    }

    #[test]
    fn help_gives_the_defaults_of_processor_settings() {
        let long_help = |name: &str| {
            let mut cmd = command("processor", None);
            cmd.build();
            let mut help = Vec::new();
            let sub = cmd.find_subcommand_mut(name).unwrap();
            sub.write_long_help(&mut help).unwrap();
            // One line, whatever the wrapping.
            String::from_utf8(help)
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        let defaults = crate::config::ProcessorSettings::default();
        let process = long_help("process");
        let grace = format!(
            "shutdown_grace_secs (processor.json, default {})",
            defaults.shutdown_grace_secs
        );
        assert!(process.contains(&grace), "{grace} in {process}");
        let longest = format!(
            "max_record_bytes (processor.json, default {} bytes",
            defaults.max_record_bytes
        );
        assert!(process.contains(&longest), "{longest} in {process}");
        let retry = long_help("retry");
        let attempts = format!(
            "max_attempts failures (processor.json, default {})",
            defaults.max_attempts
        );
        assert!(retry.contains(&attempts), "{attempts} in {retry}");
        for help in [process, retry] {
            assert!(
                !help.contains("{max_attempts}")
                    && !help.contains("{shutdown_grace_secs}")
                    && !help.contains("{max_record_bytes}"),
                "{help}"
            );
        }
    }
}
