//! The set-up `process`, `dispatch` and `retry` share: configuration, ledger, credentials.

use super::Common;
use crate::config::{OutputsConfig, ProcessorSettings};
use crate::ledger::{Ledger as _, SqliteLedger};
use crate::processor::{Processor, required_outputs};
use std::sync::Arc;

pub(super) struct Setup {
    pub(super) processor: Processor,
    pub(super) ledger: Arc<SqliteLedger>,
    pub(super) required: Vec<String>,
}

/// Whether the command may create the ledger file.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum LedgerFile {
    /// Created on first use (`process`, `dispatch`).
    CreateIfMissing,
    /// Must exist (`retry`): a mistyped path would otherwise create an empty ledger and report
    /// nothing pending while the real one still holds undelivered alerts.
    MustExist,
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

pub(super) async fn setup(common: &Common, ledger_file: LedgerFile) -> Result<Setup, String> {
    let (mut config, settings) = load_config(common)?;
    if ledger_file == LedgerFile::MustExist && !settings.ledger.path.is_file() {
        return Err(format!(
            "no ledger at {}: nothing to retry (check --ledger or processor.json's ledger.path)",
            settings.ledger.path.display()
        ));
    }
    let prefix = std::env::var("STREAMALERT_PREFIX").ok();
    let required = required_outputs(&mut config, prefix.as_deref());
    settings.check_outputs(&config).map_err(|e| e.to_string())?;
    let ledger = Arc::new(SqliteLedger::open(&settings.ledger).map_err(|e| e.to_string())?);
    let credentials = crate::creds::provider(&settings.credentials)
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

pub(super) async fn pending_in(ledger: &SqliteLedger) -> Option<u64> {
    match ledger.counts().await {
        Ok(counts) => Some(counts.unsent()),
        Err(error) => {
            tracing::error!(%error, "cannot count the pending deliveries");
            None
        }
    }
}

pub(super) fn show(count: Option<u64>) -> String {
    count.map_or_else(|| "?".to_owned(), |n| n.to_string())
}
