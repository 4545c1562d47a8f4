//! `retry`: one pass over the ledger, sending what is pending and merging due alerts.

use super::RetryArgs;
use super::logging::{Progress, say};
use super::setup::{LedgerFile, Setup, pending_in, setup, show};
use crate::processor::{RetryReport, RunReport};
use std::process::ExitCode;

pub(super) async fn retry(args: &RetryArgs) -> ExitCode {
    let Setup {
        processor, ledger, ..
    } = match setup(&args.common, LedgerFile::MustExist).await {
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
                dead,
                reconciled,
                merged,
                ledger_errors,
                outputs,
            },
        contended,
        quarantined,
        // The command runs without a deadline: nothing is deferred.
        deferred: _,
    } = report;
    // A contended alert is being delivered by another processor: left to it, not a failure.
    say(&format!(
        "alerts: {alerts}, deliveries sent: {sent}, failed: {failed}, pending: {}, given up (dead): {dead}, found already delivered: {reconciled}, merged: {merged}, left to another processor: {}, quarantined: {}",
        show(pending),
        contended.len(),
        quarantined.len()
    ));
    let metrics_written = args.metrics.report(&outputs);
    if failed > 0
        || ledger_errors > 0
        || pending.is_none()
        || !quarantined.is_empty()
        || !metrics_written
    {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
