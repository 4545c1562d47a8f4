//! `process`: JSON lines of records in, rules evaluated, alerts delivered.

use super::ProcessArgs;
use super::logging::{Progress, say};
use super::setup::{LedgerFile, Setup, pending_in, setup, show};
use crate::rule::{Payload, RulesEngine};
use serde_json::Value;
use std::io::{BufRead as _, Read};
use std::path::Path;
use std::process::ExitCode;

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

pub(super) fn open_input(path: &Path) -> Result<(Box<dyn Read + Send>, String), String> {
    if path == Path::new("-") {
        return Ok((Box::new(std::io::stdin()), "<stdin>".to_owned()));
    }
    if path.is_dir() {
        return Err(format!(
            "cannot read {}: it is a directory (expected a file of JSON lines, or `-`)",
            path.display()
        ));
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

pub(super) async fn process(args: &ProcessArgs) -> ExitCode {
    let Setup {
        processor,
        ledger,
        required,
    } = match setup(&args.common, LedgerFile::CreateIfMissing).await {
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
