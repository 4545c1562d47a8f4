//! `process`: JSON lines of records in, rules evaluated, alerts delivered.

use super::ProcessArgs;
use super::input::{Chunk, Input};
use super::logging::{Progress, say};
use super::setup::{LedgerFile, Setup, pending_in, setup, show};
use super::shutdown::Signals;
use crate::ledger::Ledger;
use crate::rule::{Payload, RulesEngine};
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

/// Opens `path` for reading (`-`: standard input), with the name messages give it.
pub(super) fn open_input(path: &Path) -> Result<(Box<dyn Read + Send>, String), String> {
    if path == Path::new("-") {
        return Ok((Box::new(std::io::stdin()), "<stdin>".to_owned()));
    }
    let file = super::input::open_file(path)?;
    Ok((Box::new(file), path.display().to_string()))
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
    let mut input = match Input::open(&args.input) {
        Ok(input) => input,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(message) = resume(&mut input, &*ledger, args.from_start).await {
        tracing::error!("{message}");
        return ExitCode::FAILURE;
    }
    let engine = RulesEngine::new().with_required_outputs(required);
    // From here on SIGINT and SIGTERM stop the run cleanly (before, they end it at once).
    let mut signals = Signals::listen();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(4);
    let reader = match input.read_on_thread(processor.settings().max_record_bytes, tx) {
        Ok(reader) => reader,
        Err(error) => {
            tracing::error!("cannot start reading {}: {error}", input.name);
            return ExitCode::FAILURE;
        }
    };

    let progress = Progress::start();
    let mut run = processor.start_run();
    let (mut records, mut malformed, mut alerts) = (0u64, 0u64, 0u64);
    let mut recorded_to = input.start;
    let (mut fatal, mut read_all, mut stopped) = (false, false, None);
    loop {
        let chunk = tokio::select! {
            biased;
            stop = signals.recv() => {
                stopped = Some(stop);
                break;
            }
            chunk = rx.recv() => chunk,
        };
        let Some(chunk) = chunk else {
            read_all = true;
            break;
        };
        crate::fault::reached(crate::fault::Point::Read, None);
        let checkpoint = input.checkpoint(&chunk);
        let mut batch = Vec::new();
        for (line_number, line) in chunk.lines {
            match line.and_then(|line| parse_payload(&line)) {
                Ok(None) => {}
                Ok(Some(payload)) => {
                    records += 1;
                    batch.extend(engine.run(&payload));
                }
                Err(message) => {
                    malformed += 1;
                    tracing::error!("{}:{line_number}: {message}", input.name);
                }
            }
        }
        alerts += batch.len() as u64;
        // Recording is one short transaction, never cut; starting the deliveries may wait for
        // a free slot, and a signal cuts it (what is not started stays pending in the ledger).
        match run.record(batch, checkpoint).await {
            Ok(recorded) => {
                recorded_to = chunk.end;
                tokio::select! {
                    biased;
                    stop = signals.recv() => {
                        stopped = Some(stop);
                        break;
                    }
                    () = run.start(recorded) => {}
                }
            }
            Err(error) => {
                tracing::error!(%error, "cannot record alerts in the ledger; stopping");
                fatal = true;
                break;
            }
        }
        let report = run.report();
        progress.update(format!(
            "records {records}, alerts {alerts}, sent {}, failed {}",
            report.sent, report.failed
        ));
    }
    drop(rx);
    // Waits for the deliveries; a signal (now or during the loop) starts the grace period, a
    // second one ends it.
    let grace = processor.settings().shutdown_grace();
    let deadline = async {
        let first = match stopped {
            Some(first) => first,
            None => *stopped.insert(signals.recv().await),
        };
        tracing::warn!(
            "{}: stopping; waiting up to {} s (shutdown_grace_secs) for the deliveries under way",
            first.name(),
            grace.as_secs()
        );
        tokio::select! {
            () = tokio::time::sleep(grace) => {}
            again = signals.recv() => {
                tracing::warn!("{}: not waiting any longer", again.name());
            }
        }
    };
    let (report, abandoned) = run.finish_until(deadline).await;
    if abandoned > 0 {
        tracing::warn!(
            "{abandoned} alerts were still being delivered; their unfinished deliveries stay pending for `retry`"
        );
    }
    drop(progress);
    // A reader still waiting for input (an idle pipe) ends with the process.
    if read_all && reader.join().is_err() {
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
    say(&format!(
        "input {}: {} bytes, {} lines consumed (their alerts are recorded)",
        input.name, recorded_to.offset, recorded_to.line
    ));
    let metrics_written = args.metrics.report(&report.outputs);
    if let Some(stop) = stopped {
        return stop.exit_code();
    }
    if fatal
        || malformed > 0
        || report.failed > 0
        || report.ledger_errors > 0
        || pending.is_none()
        || !metrics_written
    {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Moves a file input to where the ledger says the last run on it stopped (unless
/// `from_start`), or says why it cannot.
async fn resume(input: &mut Input, ledger: &dyn Ledger, from_start: bool) -> Result<(), String> {
    let Some(key) = input.checkpoint_key().filter(|_| !from_start) else {
        return Ok(());
    };
    let checkpoint = ledger
        .input_checkpoint(key.to_owned())
        .await
        .map_err(|error| format!("cannot read where reading {} stopped: {error}", input.name))?;
    if let Some(checkpoint) = checkpoint {
        input.resume(&checkpoint)?;
        tracing::info!(
            "resuming {} at byte {}, line {}",
            input.name,
            checkpoint.offset,
            checkpoint.line + 1
        );
    }
    Ok(())
}

/// Parses one input line: `{"log_type": …, "record": {…}, …}`; `None` for a blank line.
fn parse_payload(line: &str) -> Result<Option<Payload>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let mut value: Value =
        serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let log_type = text(&value, "log_type")
        .ok_or("missing string field `log_type` (the record's schema, e.g. `cloudwatch:events`)")?;
    let (cluster, data_type) = (text(&value, "cluster"), text(&value, "data_type"));
    let (service, resource) = (text(&value, "service"), text(&value, "resource"));
    // The record is moved out of the parsed line, not copied.
    let record = value
        .get_mut("record")
        .filter(|r| r.is_object())
        .ok_or("missing object field `record`")?
        .take();
    let mut payload = Payload::new(log_type, record);
    payload.cluster = cluster;
    payload.data_type = data_type;
    payload.service = service;
    payload.resource = resource;
    Ok(Some(payload))
}
