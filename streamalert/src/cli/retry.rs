//! `retry`: one pass over the ledger, sending what is pending and merging due alerts.

use super::Common;
use super::logging::{Progress, say};
use super::setup::{Setup, load_config, pending_in, setup, show};
use crate::processor::{RetryReport, RunReport};
use std::process::ExitCode;

pub(super) async fn retry(common: &Common) -> ExitCode {
    if let Err(message) = existing_ledger(common) {
        tracing::error!("{message}");
        return ExitCode::FAILURE;
    }
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
    let report = match processor.retry_pass().await {
        Ok(report) => report,
        Err(error) => {
            drop(progress);
            tracing::error!(%error, "retry failed");
            return ExitCode::FAILURE;
        }
    };
    drop(progress);
    let pending = pending_in(&ledger).await;
    let RetryReport {
        run:
            RunReport {
                alerts,
                sent,
                failed,
                reconciled,
                merged,
                ledger_errors,
            },
        contended,
    } = report;
    // A contended alert is being delivered by another processor: left to it, not a failure.
    say(&format!(
        "alerts: {alerts}, deliveries sent: {sent}, failed: {failed}, pending: {}, found already delivered: {reconciled}, merged: {merged}, left to another processor: {}",
        show(pending),
        contended.len()
    ));
    if failed > 0 || ledger_errors > 0 || pending.is_none() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Fails when the ledger file does not exist: a mistyped path would otherwise create an empty
/// ledger and report nothing pending while the real one still holds undelivered alerts.
fn existing_ledger(common: &Common) -> Result<(), String> {
    let (_, settings) = load_config(common)?;
    let path = &settings.ledger.path;
    if path.is_file() {
        Ok(())
    } else {
        Err(format!(
            "no ledger at {}: nothing to retry (check --ledger or processor.json's ledger.path)",
            path.display()
        ))
    }
}
