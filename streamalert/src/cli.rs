//! The processor binary's command line; `streamalert::main!()` calls [`run`].
//!
//! Commands: `process` (records in, alerts delivered), `list rules|publishers|outputs`.

use crate::alert::REQUIRED_OUTPUT;
use crate::config::OutputsConfig;
use crate::processor::Processor;
use crate::rule::{Payload, RulesEngine};
use serde_json::Value;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
usage:
  <binary> process [--input FILE|-] [--config DIR]
      Evaluates the rules on JSON lines of records and delivers the alerts. Each line is
      {\"log_type\": \"<schema>\", \"record\": {...}} with optional \"cluster\", \"data_type\",
      \"service\" and \"resource\". Outputs come from DIR/outputs.json (default DIR: conf).
  <binary> list rules|publishers|outputs
      Lists what this binary registered, with source locations.";

/// Runs the command line of a processor binary built with `streamalert::main!()`.
pub fn run() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["list", what] => list(what),
        ["process", options @ ..] => match ProcessOptions::parse(options) {
            Ok(options) => process(&options),
            Err(message) => usage_error(&message),
        },
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => usage_error("expected a command"),
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}\n{USAGE}");
    ExitCode::from(2)
}

struct ProcessOptions {
    input: Option<PathBuf>,
    config: PathBuf,
}

impl ProcessOptions {
    fn parse(args: &[&str]) -> Result<Self, String> {
        let mut options = Self {
            input: None,
            config: PathBuf::from("conf"),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("`{arg}` needs a value"));
            match *arg {
                "--input" => {
                    options.input = Some(value()?).filter(|v| **v != "-").map(PathBuf::from)
                }
                "--config" => options.config = PathBuf::from(value()?),
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        Ok(options)
    }
}

fn process(options: &ProcessOptions) -> ExitCode {
    let config = match OutputsConfig::load(&options.config.join("outputs.json")) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let required: Vec<&str> = config
        .setting("aws-firehose", "alerts")
        .is_ok()
        .then_some(REQUIRED_OUTPUT)
        .into_iter()
        .collect();
    let engine = RulesEngine::new().with_required_outputs(required);
    let processor = Processor::new(config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let reader: Box<dyn BufRead> = match &options.input {
        Some(path) => match std::fs::File::open(path) {
            Ok(file) => Box::new(std::io::BufReader::new(file)),
            Err(error) => {
                eprintln!("error: cannot read {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
        },
        None => Box::new(std::io::stdin().lock()),
    };
    let source = options.input.as_deref().unwrap_or(Path::new("<stdin>"));
    let mut summary = Summary::default();
    for (index, line) in reader.lines().enumerate() {
        let line_number = index + 1;
        let payload = line.map_err(|e| e.to_string()).and_then(|line| {
            if line.trim().is_empty() {
                Ok(None)
            } else {
                parse_payload(&line).map(Some)
            }
        });
        let payload = match payload {
            Ok(Some(payload)) => payload,
            Ok(None) => continue,
            Err(message) => {
                eprintln!("error: {}:{line_number}: {message}", source.display());
                summary.malformed += 1;
                continue;
            }
        };
        summary.records += 1;
        for alert in engine.run(&payload) {
            summary.alerts += 1;
            for outcome in runtime.block_on(processor.deliver(&alert)).into_values() {
                match outcome {
                    Ok(()) => summary.sent += 1,
                    Err(_) => summary.failed += 1,
                }
            }
        }
    }
    eprintln!(
        "records: {}, malformed: {}, alerts: {}, deliveries sent: {}, failed: {}",
        summary.records, summary.malformed, summary.alerts, summary.sent, summary.failed
    );
    if summary.malformed > 0 || summary.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[derive(Default)]
struct Summary {
    records: usize,
    malformed: usize,
    alerts: usize,
    sent: usize,
    failed: usize,
}

/// Parses one input line: `{"log_type": …, "record": {…}, …}`.
fn parse_payload(line: &str) -> Result<Payload, String> {
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
    Ok(payload)
}

fn list(what: &str) -> ExitCode {
    let registry = crate::registry();
    match what {
        "rules" => registry
            .rules()
            .iter()
            .for_each(|r| println!("{}\t{}", r.name, r.location)),
        "publishers" => registry
            .publishers()
            .iter()
            .for_each(|p| println!("{}\t{}", p.name, p.location)),
        "outputs" => registry
            .outputs()
            .iter()
            .for_each(|o| println!("{}\t{}", o.service, o.location)),
        other => {
            return usage_error(&format!(
                "cannot list `{other}`; expected rules, publishers or outputs"
            ));
        }
    }
    ExitCode::SUCCESS
}
