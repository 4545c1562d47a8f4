//! StreamAlert's alert-processor events: a full alerts-table item, or its key only.

use super::{OutputMetrics, Processor, ProcessorError, Run};
use crate::alert::{Alert, Timestamp};
use crate::ledger::{AlertKey, DeliveryState, LedgerError, NewAlert};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What became of one alert-processor event.
#[derive(Debug)]
pub enum EventOutcome {
    /// The alert's remaining outputs were delivered; each with whether it succeeded (the map
    /// StreamAlert's Lambda returns; empty when nothing was left to send).
    Dispatched(BTreeMap<String, bool>),
    /// A key-only event whose alert is not in the ledger.
    NotFound(AlertKey),
    /// Another processor is delivering this alert ([`LedgerError::Contended`]): this one sent
    /// nothing; what the other does not deliver stays pending in the ledger for `retry`.
    Contended(AlertKey),
    /// The event is not a valid alert.
    Invalid(String),
    /// The ledger failed: reading or recording the alert, or recording an outcome.
    Failed(ProcessorError),
}

impl EventOutcome {
    /// The per-output results: empty unless the alert was dispatched (StreamAlert returns `{}`).
    pub fn results(&self) -> BTreeMap<String, bool> {
        match self {
            Self::Dispatched(results) => results.clone(),
            _ => BTreeMap::new(),
        }
    }
}

impl From<LedgerError> for EventOutcome {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::Contended {
                key,
                output,
                reason,
            } => {
                super::warn_contended(&key, output.as_deref(), &reason, "nothing sent by this one");
                Self::Contended(key)
            }
            error => Self::Failed(error.into()),
        }
    }
}

/// The key of a key-only event: an object whose keys are exactly `AlertID` and `RuleName`.
fn key_only(event: &Value) -> Option<Result<AlertKey, String>> {
    let object = event.as_object()?;
    if object.len() != 2 || !object.contains_key("AlertID") || !object.contains_key("RuleName") {
        return None;
    }
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
    Some(match (text("RuleName"), text("AlertID")) {
        (Some(rule), Some(id)) => Ok(AlertKey::new(rule, id)),
        _ => Err(format!(
            "Invalid alert {event}: `RuleName` and `AlertID` must be strings"
        )),
    })
}

impl Processor {
    /// Handles one event exactly as StreamAlert's alert processor Lambda does (`outputs.md`
    /// §6): a key-only event (`{"AlertID", "RuleName"}`) is read from the ledger; anything
    /// else is an alerts-table item. The alert's remaining outputs (those not recorded as sent,
    /// here or in the item's `OutputsSent`) are delivered and each outcome is recorded. An
    /// alert another processor is delivering is left to it ([`EventOutcome::Contended`]).
    ///
    /// ```
    /// use streamalert::{config::OutputsConfig, processor::{EventOutcome, Processor}};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let processor = Processor::new(OutputsConfig::from_json(r#"{"stdout": ["console"]}"#).unwrap());
    /// let outcome = processor.dispatch_event(&serde_json::json!({"Record": "Nonsense"})).await;
    /// assert!(matches!(outcome, EventOutcome::Invalid(_)));
    /// assert!(outcome.results().is_empty());
    /// # });
    /// ```
    pub async fn dispatch_event(&self, event: &Value) -> EventOutcome {
        self.dispatch_event_in(event, &self.start_run()).await
    }

    /// [`dispatch_event`](Processor::dispatch_event), with what its deliveries did per output
    /// (the `lambda` command logs these as CloudWatch embedded metrics).
    ///
    /// ```
    /// use streamalert::{config::OutputsConfig, processor::Processor};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let processor = Processor::new(OutputsConfig::from_json(r#"{"stdout": ["console"]}"#).unwrap());
    /// let alert = streamalert::Alert::new("rule", serde_json::json!({"n": 1}), ["stdout:console"]);
    /// let item = serde_json::Value::Object(alert.to_item());
    /// let (outcome, metrics) = processor.dispatch_event_with_metrics(&item).await;
    /// assert_eq!(outcome.results()["stdout:console"], true);
    /// assert_eq!(metrics["stdout:console"].sent, 1);
    /// # });
    /// ```
    pub async fn dispatch_event_with_metrics(
        &self,
        event: &Value,
    ) -> (EventOutcome, BTreeMap<String, OutputMetrics>) {
        let run = self.start_run();
        let outcome = self.dispatch_event_in(event, &run).await;
        (outcome, run.report().outputs)
    }

    async fn dispatch_event_in(&self, event: &Value, run: &Run) -> EventOutcome {
        let mut alert = match key_only(event) {
            Some(Err(message)) => {
                tracing::error!("{message}");
                return EventOutcome::Invalid(message);
            }
            Some(Ok(key)) => {
                let Some(ledger) = &self.ledger else {
                    tracing::error!("{key} does not exist in the alerts table");
                    return EventOutcome::NotFound(key);
                };
                match ledger.get(key.clone()).await {
                    Ok(Some(entry)) => entry.alert,
                    Ok(None) => {
                        tracing::error!("{key} does not exist in the alerts table");
                        return EventOutcome::NotFound(key);
                    }
                    Err(error) => return EventOutcome::Failed(error.into()),
                }
            }
            None => match Alert::from_item(event) {
                Ok(alert) => alert,
                Err(error) => {
                    let message = format!("Invalid alert {event}: {error}");
                    tracing::error!("{message}");
                    return EventOutcome::Invalid(message);
                }
            },
        };
        // What the ledger already knows was sent stays sent (Decision Q3: the union); what it
        // gave up (dead) waits for `ledger replay`, and its attempts count towards max_attempts.
        let mut known = None;
        if let Some(ledger) = &self.ledger {
            match ledger.get(AlertKey::of(&alert)).await {
                Ok(Some(entry)) => {
                    alert
                        .outputs_sent
                        .extend(entry.alert.outputs_sent.iter().cloned());
                    known = Some(entry);
                }
                Ok(None) => {}
                Err(error) => return EventOutcome::Failed(error.into()),
            }
        }
        let mut to_send = alert.remaining_outputs();
        let attempts: BTreeMap<String, u32> = known
            .iter()
            .flat_map(|entry| &entry.deliveries)
            .map(|d| (d.output.clone(), d.attempts))
            .collect();
        for dead in known
            .iter()
            .flat_map(|entry| &entry.deliveries)
            .filter(|d| d.state == DeliveryState::Dead)
        {
            to_send.remove(&dead.output);
        }
        if to_send.is_empty() {
            // A merging alert with nothing to send yet waits in the ledger for `retry` to merge it.
            if let Some(ledger) = self
                .ledger
                .as_ref()
                .filter(|_| known.is_none() && alert.merge_enabled())
            {
                let record = NewAlert {
                    alert: Arc::new(alert),
                    intents: BTreeMap::new(),
                };
                if let Err(error) = ledger.record_alerts(vec![record]).await {
                    return error.into();
                }
            }
            return EventOutcome::Dispatched(BTreeMap::new());
        }
        alert.dispatched = Timestamp::now();
        let mut prepared = match self.record_and_plan(vec![(alert, to_send)], None).await {
            Ok(mut plans) => match plans.pop() {
                Some(prepared) => prepared,
                None => unreachable!("one plan per alert"),
            },
            Err(error) => return error.into(),
        };
        prepared.attempts = attempts;
        let results = self.deliver_prepared(prepared, &run.counters).await;
        // An outcome the ledger did not take fails the event, so that Lambda retries it
        // (a delivery sent but not recorded is then sent again: the documented window).
        match run.report().ledger_errors {
            0 => EventOutcome::Dispatched(results),
            unrecorded => EventOutcome::Failed(ProcessorError::Unrecorded(unrecorded)),
        }
    }
}
