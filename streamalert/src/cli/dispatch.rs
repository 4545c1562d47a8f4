//! `dispatch`: StreamAlert's alert-processor events in, result maps out.

use super::DispatchArgs;
use super::logging::say;
use super::process::open_input;
use super::setup::{LedgerFile, Setup, pending_in, setup, show};
use crate::processor::EventOutcome;
use serde_json::Value;
use std::io::{Read as _, Write as _};
use std::process::ExitCode;

pub(super) async fn dispatch(args: &DispatchArgs) -> ExitCode {
    let Setup {
        processor, ledger, ..
    } = match setup(&args.common, LedgerFile::CreateIfMissing).await {
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
    let mut contended = 0u64;
    let mut broken = false;
    let mut stdout = std::io::stdout();
    let mut metrics = std::collections::BTreeMap::<String, crate::processor::OutputMetrics>::new();
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
        let (outcome, event_metrics) = processor.dispatch_event_with_metrics(&event).await;
        for (output, m) in &event_metrics {
            metrics.entry(output.clone()).or_default().add(m);
        }
        match &outcome {
            EventOutcome::Dispatched(results) => {
                sent += results.values().filter(|ok| **ok).count() as u64;
                failed += results.values().filter(|ok| !**ok).count() as u64;
            }
            EventOutcome::NotFound(_) => not_found += 1,
            EventOutcome::Invalid(_) => invalid += 1,
            EventOutcome::Contended(_) => contended += 1,
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
        "events: {events}, invalid: {invalid}, not found: {not_found}, deliveries sent: {sent}, failed: {failed}, pending: {}, left to another processor: {contended}",
        show(pending)
    ));
    let metrics_written = args.metrics.report(&metrics);
    if broken || invalid > 0 || not_found > 0 || failed > 0 || pending.is_none() || !metrics_written
    {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
