//! A retry pass reads the ledger one page at a time (`RETRY_PAGE` open alerts): with more
//! pending alerts than a page, every page is at most that long and every alert is delivered
//! once.

use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use streamalert::Alert;
use streamalert::alert::Timestamp;
use streamalert::config::{LedgerSettings, OutputsConfig};
use streamalert::ledger::{
    AlertKey, Claim, DeliveryFilter, Fingerprint, InputCheckpoint, Ledger, LedgerCounts,
    LedgerEntry, LedgerError, LedgerStatus, NewAlert, OpenPage, Outcome, QuarantinedAlert,
    SqliteLedger,
};
use streamalert::processor::{Processor, RETRY_PAGE};

/// A SQLite ledger that notes every page a retry pass asks for, and refuses `open_alerts`
/// (which would load every open alert at once).
struct Paged {
    inner: SqliteLedger,
    pages: Mutex<Vec<(usize, usize)>>,
}

#[streamalert::async_trait]
impl Ledger for Paged {
    async fn record_alerts(&self, alerts: Vec<NewAlert>) -> Result<(), LedgerError> {
        self.inner.record_alerts(alerts).await
    }
    async fn record_alerts_at(
        &self,
        alerts: Vec<NewAlert>,
        checkpoint: InputCheckpoint,
    ) -> Result<(), LedgerError> {
        self.inner.record_alerts_at(alerts, checkpoint).await
    }
    async fn input_checkpoint(
        &self,
        input: String,
    ) -> Result<Option<InputCheckpoint>, LedgerError> {
        self.inner.input_checkpoint(input).await
    }
    async fn begin_attempt(
        &self,
        key: AlertKey,
        dispatched: Timestamp,
        intents: BTreeMap<String, Fingerprint>,
    ) -> Result<Claim, LedgerError> {
        self.inner.begin_attempt(key, dispatched, intents).await
    }
    async fn record_outcome(
        &self,
        key: AlertKey,
        output: String,
        outcome: Outcome,
    ) -> Result<(), LedgerError> {
        self.inner.record_outcome(key, output, outcome).await
    }
    async fn get(&self, key: AlertKey) -> Result<Option<LedgerEntry>, LedgerError> {
        self.inner.get(key).await
    }
    async fn open_alerts(&self) -> Result<Vec<LedgerEntry>, LedgerError> {
        Err(LedgerError::Worker("a retry pass must read pages".into()))
    }
    async fn record_merge(
        &self,
        originals: Vec<AlertKey>,
        merged: NewAlert,
    ) -> Result<(), LedgerError> {
        self.inner.record_merge(originals, merged).await
    }
    async fn counts(&self) -> Result<LedgerCounts, LedgerError> {
        self.inner.counts().await
    }
    async fn quarantined(&self) -> Result<Vec<QuarantinedAlert>, LedgerError> {
        self.inner.quarantined().await
    }
    async fn status(&self) -> Result<LedgerStatus, LedgerError> {
        self.inner.status().await
    }
    async fn list(&self, filter: DeliveryFilter) -> Result<Vec<LedgerEntry>, LedgerError> {
        self.inner.list(filter).await
    }
    async fn find(&self, alert_id: String) -> Result<Option<AlertKey>, LedgerError> {
        self.inner.find(alert_id).await
    }
    async fn replay(
        &self,
        keys: Vec<AlertKey>,
        output: Option<String>,
    ) -> Result<u64, LedgerError> {
        self.inner.replay(keys, output).await
    }
    async fn prune(&self, before: Timestamp) -> Result<u64, LedgerError> {
        self.inner.prune(before).await
    }
    async fn open_alerts_page(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> Result<OpenPage, LedgerError> {
        let page = self.inner.open_alerts_page(after, limit).await?;
        self.pages.lock().unwrap().push((limit, page.entries.len()));
        Ok(page)
    }
}

#[tokio::test]
async fn a_retry_pass_reads_one_page_at_a_time_and_delivers_every_alert_once() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("retry-pages")
        .join(std::process::id().to_string());
    let _ = std::fs::remove_dir_all(&dir);
    let settings = LedgerSettings {
        path: dir.join("ledger.sqlite3"),
        ..Default::default()
    };
    let ledger = Arc::new(Paged {
        inner: SqliteLedger::open(&settings).unwrap(),
        pages: Mutex::new(Vec::new()),
    });
    let total = 2 * RETRY_PAGE + RETRY_PAGE / 2;
    let alerts: Vec<NewAlert> = (0..total)
        .map(|i| NewAlert {
            alert: Alert::new("r", json!({"i": i}), ["file:a"]).into(),
            intents: BTreeMap::new(),
        })
        .collect();
    let ids: BTreeSet<String> = alerts.iter().map(|a| a.alert.alert_id.clone()).collect();
    ledger.record_alerts(alerts).await.unwrap();

    let config =
        OutputsConfig::from_json(&json!({"file": {"a": dir.join("a.jsonl")}}).to_string()).unwrap();
    let processor = Processor::new(config).with_ledger(ledger.clone());
    let report = processor.retry_pass().await.unwrap();
    assert_eq!(report.run.sent, total as u64);

    let pages = ledger.pages.lock().unwrap().clone();
    assert_eq!(
        pages,
        [
            (RETRY_PAGE, RETRY_PAGE),
            (RETRY_PAGE, RETRY_PAGE),
            (RETRY_PAGE, RETRY_PAGE / 2)
        ]
    );
    let text = std::fs::read_to_string(dir.join("a.jsonl")).unwrap();
    let delivered: Vec<String> = text
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(delivered.len(), total, "each alert once");
    assert_eq!(delivered.into_iter().collect::<BTreeSet<_>>(), ids);
    std::fs::remove_dir_all(dir).unwrap();
}
