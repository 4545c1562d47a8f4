//! The ledger at scale: StreamAlert's alerts table in DynamoDB (cargo feature `aws`).

use super::{
    AlertKey, AlertStatus, Claim, DeliveryFilter, DeliveryRecord, DeliveryState, Fingerprint,
    InputCheckpoint, Ledger, LedgerCounts, LedgerEntry, LedgerError, LedgerStatus, NewAlert,
    OpenPage, Outcome, QuarantinedAlert,
};
use crate::alert::{Alert, Timestamp};
use crate::aws::Aws;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, Put,
    ScalarAttributeType, TransactWriteItem, Update,
};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Per-output delivery state kept next to StreamAlert's attributes (a map keyed by output).
const DELIVERIES: &str = "Deliveries";
/// Set on an alert merged into another: the merged alert's id.
const MERGED_INTO: &str = "MergedInto";
/// Set on an alert whose item cannot be read back: why. Retry passes skip it.
const QUARANTINED: &str = "Quarantined";
/// Set on a tombstone: when the alert was complete.
const COMPLETED: &str = "Completed";
/// The table's TTL attribute on a tombstone: when DynamoDB may delete it (epoch seconds).
const EXPIRES_AT: &str = "ExpiresAt";

type Item = HashMap<String, AttributeValue>;

/// A [`Ledger`] on StreamAlert's DynamoDB alerts table.
///
/// The table is StreamAlert's: hash key `RuleName`, range key `AlertID`, and every attribute of
/// the alert processor's item (`Record` as JSON text, `Outputs` and `OutputsSent` as string
/// sets, …), so StreamAlert's rules engine can write alerts this processor delivers and the
/// other way round. Attributes are added: `Deliveries` (per output: state, attempts, last
/// error, the fingerprint of an attempt under way and the *lease* of the processor sending it),
/// `MergedInto` on merged originals and `Quarantined` (the reason) on an item that cannot be
/// read back (StreamAlert's Python wrote something this crate cannot parse): retry passes skip
/// it and go on with the others.
///
/// A delivered output is recorded with `UPDATE … ADD OutputsSent :output` under
/// `attribute_exists(AlertID)` (never a full overwrite, StreamAlert's decision Q3), so what one
/// processor recorded is never lost by another. Before sending, a processor *claims* the
/// outputs it is about to send with a conditional update (not sent yet, and no other
/// processor's lease still running); a processor that loses the claim sends nothing of that
/// alert ([`Claim::Contended`] from `begin_attempt`, so a `retry` pass skips the alert and goes
/// on with the others; an error from `record_alerts` of an alert already recorded), so two
/// processors (or a retried Lambda invocation) on the same alert deliver each output once. A lease that outlives its processor (it was killed) expires after
/// [`with_lease`](DynamoDbLedger::with_lease) (default 15 minutes, Lambda's longest run), after
/// which the output is sent again; under a deadline (a Lambda invocation's,
/// [`with_lease_until`](DynamoDbLedger::with_lease_until)) a claim holds until that time
/// instead. A complete alert (every output sent, no merge to wait for)
/// is not deleted as StreamAlert does but reduced to a *tombstone* (spec `outputs.md` Q3): its
/// `Record` and `Context` are removed, `Completed` (the time) and the numeric TTL attribute
/// `ExpiresAt` (completion plus [`with_retention`](DynamoDbLedger::with_retention), default 7
/// days) are set, so an event delivered again is still recognised; [`create_table`] enables the
/// table's TTL on `ExpiresAt`. Retry passes do not read tombstones.
///
/// [`create_table`]: DynamoDbLedger::create_table
///
/// ```no_run
/// use std::sync::Arc;
/// use streamalert::{aws::Aws, config::OutputsConfig, ledger::DynamoDbLedger, processor::Processor};
/// # async fn demo() {
/// let ledger = DynamoDbLedger::new(Aws::shared().await, "prefix_streamalert_alerts");
/// let processor = Processor::new(OutputsConfig::from_json("{}").unwrap()).with_ledger(Arc::new(ledger));
/// # }
/// ```
#[derive(Clone)]
pub struct DynamoDbLedger {
    client: Client,
    table: String,
    owner: String,
    lease: Lease,
    retention: Duration,
}

/// How long a claim holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lease {
    /// From the claim on.
    For(Duration),
    /// Until this time, whenever the claim is taken.
    Until(SystemTime),
}

impl fmt::Debug for DynamoDbLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoDbLedger")
            .field("table", &self.table)
            .field("owner", &self.owner)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl DynamoDbLedger {
    /// The ledger on `table`, with the DynamoDB client of `aws`.
    pub fn new(aws: &Aws, table: impl Into<String>) -> Self {
        Self::with_client(aws.dynamodb(), table)
    }

    /// The ledger on `table` through `client` (your own retry, interceptors, endpoint).
    pub fn with_client(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            owner: uuid::Uuid::new_v4().to_string(),
            lease: Lease::For(Duration::from_secs(15 * 60)),
            retention: Duration::from_secs(7 * 86_400),
        }
    }

    /// The same ledger keeping tombstones of complete alerts for `retention` (DynamoDB deletes
    /// them through the table's TTL afterwards).
    pub fn with_retention(self, retention: Duration) -> Self {
        Self { retention, ..self }
    }

    /// The same ledger with another lease: how long a claimed output stays reserved for this
    /// processor before another may send it.
    pub fn with_lease(self, lease: Duration) -> Self {
        Self {
            lease: Lease::For(lease),
            ..self
        }
    }

    /// The same ledger (the same processor: its claims are this one's) whose claims hold until
    /// `until`, whenever they are taken: for work that cannot run past it (a Lambda
    /// invocation's deadline, plus a margin for the hosts' clocks), so that a killed
    /// invocation's alerts are taken over as soon as it cannot be running anymore.
    ///
    /// ```no_run
    /// use std::time::{Duration, SystemTime};
    /// use streamalert::{aws::Aws, ledger::DynamoDbLedger};
    /// # async fn demo() {
    /// let ledger = DynamoDbLedger::new(Aws::shared().await, "prefix_streamalert_alerts");
    /// let invocation = ledger.clone().with_lease_until(SystemTime::now() + Duration::from_secs(62));
    /// # }
    /// ```
    pub fn with_lease_until(self, until: SystemTime) -> Self {
        Self {
            lease: Lease::Until(until),
            ..self
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table (on-demand capacity) if it does not exist, as StreamAlert's Terraform
    /// does: `RuleName` (hash) and `AlertID` (range), both strings.
    pub async fn create_table(&self) -> Result<(), LedgerError> {
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
        };
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("RuleName", KeyType::Hash).map_err(build_error)?)
            .key_schema(key("AlertID", KeyType::Range).map_err(build_error)?)
            .attribute_definitions(attribute("RuleName").map_err(build_error)?)
            .attribute_definitions(attribute("AlertID").map_err(build_error)?)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) =>
            {
                return Ok(());
            }
            Err(error) => return Err(self.failed("CreateTable", error)),
        }
        let ttl = aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
            .attribute_name(EXPIRES_AT)
            .enabled(true)
            .build()
            .map_err(build_error)?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failed("UpdateTimeToLive", e))
    }

    /// Reduces the alert to its tombstone once it is complete; nothing otherwise.
    async fn tombstone_if_complete(&self, key: &AlertKey) -> Result<(), LedgerError> {
        let Some(item) = self.get_item(key).await? else {
            return Ok(());
        };
        if item.contains_key(COMPLETED) || item.contains_key(MERGED_INTO) {
            return Ok(());
        }
        let Ok(entry) = self.entry(&item) else {
            return Ok(());
        };
        if entry.status != AlertStatus::Complete {
            return Ok(());
        }
        let now = Timestamp::now();
        let expires = now
            .unix_seconds()
            .saturating_add(i64::try_from(self.retention.as_secs()).unwrap_or(i64::MAX));
        let mut update = Updater::default();
        update.set(COMPLETED, AttributeValue::S(now.to_string()));
        update.set(EXPIRES_AT, AttributeValue::N(expires.to_string()));
        for removed in ["Record", "Context"] {
            let name = update.name(removed);
            update.removes.push(name);
        }
        update.condition("attribute_exists(AlertID)".to_owned());
        self.update(key, update).await.map(|_| ())
    }

    fn failed<E>(
        &self,
        operation: &str,
        error: aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    ) -> LedgerError
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
    {
        LedgerError::Worker(format!(
            "DynamoDB {operation} on table {}: {}",
            self.table,
            crate::aws::sdk_error(operation, error).message()
        ))
    }

    fn key(key: &AlertKey) -> Item {
        HashMap::from([
            (
                "RuleName".to_owned(),
                AttributeValue::S(key.rule_name.clone()),
            ),
            (
                "AlertID".to_owned(),
                AttributeValue::S(key.alert_id.clone()),
            ),
        ])
    }

    async fn get_item(&self, key: &AlertKey) -> Result<Option<Item>, LedgerError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(key)))
            .consistent_read(true)
            .send()
            .await
            .map(|reply| reply.item)
            .map_err(|e| self.failed("GetItem", e))
    }

    /// Every item, or only those without `without` (an attribute name).
    async fn scan(&self, without: Option<&str>) -> Result<Vec<Item>, LedgerError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut request = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .expression_attribute_values(
                    ":checkpoint",
                    AttributeValue::S(CHECKPOINT_RULE.to_owned()),
                );
            // Input checkpoints share the table under a rule name of their own.
            request = match without {
                Some(name) => request
                    .filter_expression("RuleName <> :checkpoint AND attribute_not_exists(#x)")
                    .expression_attribute_names("#x", name),
                None => request.filter_expression("RuleName <> :checkpoint"),
            };
            let reply = request
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.failed("Scan", e))?;
            items.extend(reply.items.unwrap_or_default());
            match reply.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(items),
            }
        }
    }

    /// When a claim taken now ends (milliseconds since the epoch).
    fn lease_until(&self) -> i64 {
        let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2);
        match self.lease {
            Lease::For(lease) => chrono::Utc::now()
                .timestamp_millis()
                .saturating_add(millis(lease)),
            Lease::Until(until) => until
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, millis),
        }
    }

    /// A fresh delivery record, claimed by this processor when `intent` is given.
    fn delivery(&self, intent: Option<Fingerprint>, attempts: u32) -> AttributeValue {
        let mut record = HashMap::from([
            ("State".to_owned(), AttributeValue::S("pending".to_owned())),
            (
                "Attempts".to_owned(),
                AttributeValue::N(attempts.to_string()),
            ),
        ]);
        if let Some(fingerprint) = intent {
            record.insert(
                "Intent".to_owned(),
                AttributeValue::S(fingerprint.to_string()),
            );
            record.insert("Owner".to_owned(), AttributeValue::S(self.owner.clone()));
            record.insert(
                "LeaseUntil".to_owned(),
                AttributeValue::N(self.lease_until().to_string()),
            );
        }
        AttributeValue::M(record)
    }

    /// The item of a new alert: its alerts-table attributes and a delivery record per
    /// remaining output, claimed by this processor where `new` has an intent.
    fn new_item(&self, new: &NewAlert) -> Item {
        let mut item = alert_item(&new.alert);
        let deliveries: HashMap<String, AttributeValue> = new
            .alert
            .remaining_outputs()
            .into_iter()
            .map(|output| {
                let record = self.delivery(new.intents.get(&output).copied(), 0);
                (output, record)
            })
            .collect();
        item.insert(DELIVERIES.to_owned(), AttributeValue::M(deliveries));
        item
    }

    /// Records a new alert, or folds `new` into the stored one and claims its intents.
    async fn record_one(&self, new: &NewAlert) -> Result<(), LedgerError> {
        let alert = &new.alert;
        let key = AlertKey::of(alert);
        let item = self.new_item(new);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(AlertID)")
            .send()
            .await;
        match put {
            Ok(_) => return Ok(()),
            Err(error)
                if !error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                return Err(self.failed("PutItem", error));
            }
            Err(_) => {}
        }
        // The alert exists: add what was sent, refresh attempts, claim the intents.
        let mut update = Updater::default();
        update.set("Attempts", AttributeValue::N(alert.attempts.to_string()));
        update.set(
            "Dispatched",
            AttributeValue::S(alert.dispatched.to_string()),
        );
        if !alert.outputs_sent.is_empty() {
            update.add_sent(alert.outputs_sent.iter().cloned());
        }
        if !alert.remaining_outputs().is_empty() {
            // Something to send: a tombstone becomes an alert again, its record restored.
            let mut item = alert_item(alert);
            for name in ["Record", "Context"] {
                if let Some(value) = item.remove(name) {
                    update.set(name, value);
                }
            }
            for name in [COMPLETED, EXPIRES_AT] {
                let name = update.name(name);
                update.removes.push(name);
            }
        }
        match self
            .claim(&key, &new.intents, &alert.remaining_outputs(), update)
            .await?
        {
            Claim::Granted => Ok(()),
            Claim::Contended { output, reason } => Err(LedgerError::Contended {
                key,
                output,
                reason,
            }),
        }
    }

    /// Applies `update` to a stored alert together with claims on `intents`; contended (and
    /// nothing applied) when another processor holds a claim or an output was sent meanwhile.
    async fn claim(
        &self,
        key: &AlertKey,
        intents: &BTreeMap<String, Fingerprint>,
        known: &BTreeSet<String>,
        mut update: Updater,
    ) -> Result<Claim, LedgerError> {
        let stored = self
            .get_item(key)
            .await?
            .ok_or_else(|| LedgerError::UnknownAlert(key.clone()))?;
        let sent = string_set(stored.get("OutputsSent"));
        let records = match stored.get(DELIVERIES) {
            Some(AttributeValue::M(map)) => Some(map),
            _ => None,
        };
        let now = chrono::Utc::now().timestamp_millis();
        let mut fresh: HashMap<String, AttributeValue> = HashMap::new();
        for output in intents.keys() {
            let reason = if sent.contains(output) {
                "it was sent meanwhile"
            } else if records
                .and_then(|map| map.get(output))
                .and_then(|record| lease_holder(record, now))
                .is_some_and(|holder| holder != self.owner)
            {
                "another processor is sending it"
            } else {
                continue;
            };
            return Ok(Claim::Contended {
                output: Some(output.clone()),
                reason: reason.to_owned(),
            });
        }
        // Each output once: an output both known and claimed gets one set of updates (two
        // would overlap, which DynamoDB refuses).
        let outputs: BTreeSet<&String> = known.iter().chain(intents.keys()).collect();
        // An intent for an output the alert does not have adds nothing (as SQLite).
        let listed = string_set(stored.get("Outputs"));
        let of_alert = |output: &String| known.contains(output) || listed.contains(output);
        for output in outputs {
            let existing = records.and_then(|map| map.get(output));
            let claimed = intents.get(output).copied();
            match (existing, records.is_some()) {
                (Some(AttributeValue::M(_)), _) => {
                    if let Some(fingerprint) = claimed {
                        let path = update.path(&[DELIVERIES, output]);
                        update.set_path(
                            &format!("{path}.Intent"),
                            AttributeValue::S(fingerprint.to_string()),
                        );
                        update.set_path(
                            &format!("{path}.#owner"),
                            AttributeValue::S(self.owner.clone()),
                        );
                        update.set_path(
                            &format!("{path}.LeaseUntil"),
                            AttributeValue::N(self.lease_until().to_string()),
                        );
                        // The claim holds only if nobody else claimed or sent it since the read.
                        let me = update.value(AttributeValue::S(self.owner.clone()));
                        let now_v = update.value(AttributeValue::N(now.to_string()));
                        let out_v = update.value(AttributeValue::S(output.clone()));
                        update.condition(format!(
                            "(attribute_not_exists({path}.LeaseUntil) OR {path}.LeaseUntil < {now_v} OR {path}.#owner = {me}) AND NOT contains(OutputsSent, {out_v})"
                        ));
                    }
                }
                (_, true) if !sent.contains(output) && of_alert(output) => {
                    let path = update.path(&[DELIVERIES, output]);
                    update.set_path(&path, self.delivery(claimed, 0));
                    update.condition(format!("attribute_not_exists({path})"));
                }
                (_, false) if !sent.contains(output) && of_alert(output) => {
                    fresh.insert(output.clone(), self.delivery(claimed, 0));
                }
                _ => {}
            }
        }
        if records.is_none() {
            update.set(DELIVERIES, AttributeValue::M(fresh));
            update.condition(format!("attribute_not_exists({DELIVERIES})"));
        }
        update.condition("attribute_exists(AlertID)".to_owned());
        if update.uses_owner {
            update.names.insert("#owner".to_owned(), "Owner".to_owned());
        }
        if self.update(key, update).await? {
            Ok(Claim::Granted)
        } else {
            Ok(Claim::Contended {
                output: None,
                reason: "another processor changed the alert while this one claimed it".to_owned(),
            })
        }
    }

    /// Applies `update` to the alert of `key`; `false` (nothing applied) when its condition
    /// does not hold.
    async fn update(&self, key: &AlertKey, update: Updater) -> Result<bool, LedgerError> {
        let result = update
            .apply(
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(Self::key(key))),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(self.failed("UpdateItem", error)),
        }
    }

    fn entry(&self, item: &Item) -> Result<LedgerEntry, LedgerError> {
        let corrupt = |message: String| LedgerError::Corrupt {
            path: self.table.clone().into(),
            message,
        };
        let mut json = item_to_json(item);
        if item.contains_key(COMPLETED)
            && let Some(map) = json.as_object_mut()
        {
            // A tombstone: its record is gone.
            map.entry("Record").or_insert_with(|| Value::from("null"));
        }
        let mut alert = Alert::from_item(&json).map_err(|e| corrupt(e.to_string()))?;
        let sent = string_set(item.get("OutputsSent"));
        alert.outputs_sent.extend(sent.iter().cloned());
        let records = match item.get(DELIVERIES) {
            Some(AttributeValue::M(map)) => map.clone(),
            _ => HashMap::new(),
        };
        let mut outputs: BTreeSet<String> = alert.remaining_outputs();
        outputs.extend(sent.iter().cloned());
        outputs.extend(records.keys().cloned());
        let deliveries = outputs
            .into_iter()
            .map(|output| {
                let record = match records.get(&output) {
                    Some(AttributeValue::M(map)) => Some(map),
                    _ => None,
                };
                let text = |name: &str| match record.and_then(|r| r.get(name)) {
                    Some(AttributeValue::S(s)) => Some(s.clone()),
                    _ => None,
                };
                let state = if sent.contains(&output) {
                    DeliveryState::Sent
                } else {
                    match text("State").as_deref() {
                        Some("failed") => DeliveryState::Failed,
                        Some("dead") => DeliveryState::Dead,
                        _ => DeliveryState::Pending,
                    }
                };
                DeliveryRecord {
                    attempts: match record.and_then(|r| r.get("Attempts")) {
                        Some(AttributeValue::N(n)) => n.parse().unwrap_or_default(),
                        _ => 0,
                    },
                    last_error: text("LastError")
                        .filter(|_| matches!(state, DeliveryState::Failed | DeliveryState::Dead)),
                    intent: text("Intent")
                        .filter(|_| state != DeliveryState::Sent)
                        .and_then(|f| f.parse().ok()),
                    updated: text("Updated").and_then(|t| t.parse().ok()),
                    output,
                    state,
                }
            })
            .collect::<Vec<_>>();
        let status = match item.get(MERGED_INTO) {
            Some(AttributeValue::S(into)) => AlertStatus::Merged { into: into.clone() },
            _ if !alert.merge_enabled()
                && deliveries.iter().all(|d| d.state == DeliveryState::Sent) =>
            {
                AlertStatus::Complete
            }
            _ => AlertStatus::Open,
        };
        Ok(LedgerEntry {
            alert,
            status,
            deliveries,
        })
    }

    /// Every alert of the table, oldest first, and the quarantined ones. An item that cannot
    /// be read back is quarantined now (its reason stored, logged with its id and rule) instead
    /// of failing the read.
    ///
    /// With `open_only`, tombstones are not even read (a filter on `Completed`).
    async fn load(
        &self,
        open_only: bool,
    ) -> Result<(Vec<LedgerEntry>, Vec<QuarantinedAlert>), LedgerError> {
        let items = self.scan(open_only.then_some(COMPLETED)).await?;
        self.read_items(items).await
    }

    /// The alerts of `items`, oldest first, and the quarantined ones (quarantining those that
    /// cannot be read back).
    async fn read_items(
        &self,
        items: Vec<Item>,
    ) -> Result<(Vec<LedgerEntry>, Vec<QuarantinedAlert>), LedgerError> {
        let mut entries = Vec::new();
        let mut unreadable = Vec::new();
        for item in items {
            let text = |name: &str| match item.get(name) {
                Some(AttributeValue::S(s)) => s.clone(),
                _ => String::new(),
            };
            let key = AlertKey::new(text("RuleName"), text("AlertID"));
            if let Some(AttributeValue::S(reason)) = item.get(QUARANTINED) {
                unreadable.push(QuarantinedAlert {
                    key,
                    reason: reason.clone(),
                });
                continue;
            }
            match self.entry(&item) {
                Ok(entry) => entries.push(entry),
                Err(error) => {
                    let reason = match error {
                        LedgerError::Corrupt { message, .. } => message,
                        other => other.to_string(),
                    };
                    self.quarantine(&key, &reason).await?;
                    unreadable.push(QuarantinedAlert { key, reason });
                }
            }
        }
        entries.sort_by(|a, b| {
            (a.alert.created, &a.alert.alert_id).cmp(&(b.alert.created, &b.alert.alert_id))
        });
        unreadable.sort_by(|a, b| a.key.cmp(&b.key));
        Ok((entries, unreadable))
    }

    async fn entries(&self) -> Result<Vec<LedgerEntry>, LedgerError> {
        self.load(false).await.map(|(entries, _)| entries)
    }

    async fn quarantine(&self, key: &AlertKey, reason: &str) -> Result<(), LedgerError> {
        tracing::error!(
            alert_id = %key.alert_id,
            rule = %key.rule_name,
            %reason,
            "the ledger cannot read this alert back; quarantined (it is skipped, the others go on)"
        );
        let mut update = Updater::default();
        update.set(QUARANTINED, AttributeValue::S(reason.to_owned()));
        update.condition("attribute_exists(AlertID)".to_owned());
        self.update(key, update).await.map(|_| ())
    }
}

/// The time an alert last changed: its latest delivery update, or its creation.
fn last_change(entry: &LedgerEntry) -> Timestamp {
    entry
        .deliveries
        .iter()
        .filter_map(|d| d.updated)
        .max()
        .unwrap_or(entry.alert.created)
}

/// True when a retry pass has something to do with the alert: an output to send, or a merge
/// to wait for.
fn retryable(entry: &LedgerEntry) -> bool {
    entry.status == AlertStatus::Open
        && (entry.alert.merge_enabled()
            || entry
                .deliveries
                .iter()
                .any(|d| matches!(d.state, DeliveryState::Pending | DeliveryState::Failed)))
}

fn build_error(error: aws_sdk_dynamodb::error::BuildError) -> LedgerError {
    LedgerError::Worker(format!("DynamoDB request: {error}"))
}

/// The processor holding a live lease on a delivery record.
fn lease_holder(record: &AttributeValue, now: i64) -> Option<&str> {
    let AttributeValue::M(map) = record else {
        return None;
    };
    let until: i64 = match map.get("LeaseUntil") {
        Some(AttributeValue::N(n)) => n.parse().ok()?,
        _ => return None,
    };
    match map.get("Owner") {
        Some(AttributeValue::S(owner)) if until >= now => Some(owner),
        _ => None,
    }
}

/// An update expression under construction, with its placeholders.
#[derive(Default)]
struct Updater {
    sets: Vec<String>,
    adds: Vec<String>,
    removes: Vec<String>,
    conditions: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    uses_owner: bool,
}

impl Updater {
    fn name(&mut self, name: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, n)| n.as_str() == name) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    fn path(&mut self, parts: &[&str]) -> String {
        parts
            .iter()
            .map(|part| self.name(part))
            .collect::<Vec<_>>()
            .join(".")
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn set(&mut self, attribute: &str, value: AttributeValue) {
        let path = self.name(attribute);
        self.set_path(&path, value);
    }

    fn set_path(&mut self, path: &str, value: AttributeValue) {
        if path.contains("#owner") {
            self.uses_owner = true;
        }
        let value = self.value(value);
        self.sets.push(format!("{path} = {value}"));
    }

    fn add_sent(&mut self, outputs: impl IntoIterator<Item = String>) {
        let value = self.value(AttributeValue::Ss(outputs.into_iter().collect()));
        self.adds.push(format!("OutputsSent {value}"));
    }

    fn condition(&mut self, condition: String) {
        if condition.contains("#owner") {
            self.uses_owner = true;
        }
        self.conditions.push(condition);
    }

    fn expression(&self) -> String {
        let mut parts = Vec::new();
        if !self.sets.is_empty() {
            parts.push(format!("SET {}", self.sets.join(", ")));
        }
        if !self.adds.is_empty() {
            parts.push(format!("ADD {}", self.adds.join(", ")));
        }
        if !self.removes.is_empty() {
            parts.push(format!("REMOVE {}", self.removes.join(", ")));
        }
        parts.join(" ")
    }

    fn apply(
        self,
        request: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        let condition = self
            .conditions
            .iter()
            .map(|c| format!("({c})"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let mut request = request.update_expression(self.expression());
        if !condition.is_empty() {
            request = request.condition_expression(condition);
        }
        if !self.names.is_empty() {
            request = request.set_expression_attribute_names(Some(self.names));
        }
        if !self.values.is_empty() {
            request = request.set_expression_attribute_values(Some(self.values));
        }
        request
    }
}

#[async_trait::async_trait]
impl Ledger for DynamoDbLedger {
    async fn record_alerts(&self, alerts: Vec<NewAlert>) -> Result<(), LedgerError> {
        let results =
            futures_util::future::join_all(alerts.iter().map(|new| self.record_one(new))).await;
        results.into_iter().collect()
    }

    async fn record_alerts_at(
        &self,
        alerts: Vec<NewAlert>,
        checkpoint: InputCheckpoint,
    ) -> Result<(), LedgerError> {
        // A transaction holds at most 100 writes and the alerts need conditional writes of
        // their own: the checkpoint follows once every alert is recorded. A crash in between
        // leaves the previous checkpoint, so those records are read (and alerted) again.
        self.record_alerts(alerts).await?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(checkpoint_item(&checkpoint)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failed("PutItem", e))
    }

    async fn input_checkpoint(
        &self,
        input: String,
    ) -> Result<Option<InputCheckpoint>, LedgerError> {
        let key = AlertKey::new(CHECKPOINT_RULE, input.clone());
        let Some(item) = self.get_item(&key).await? else {
            return Ok(None);
        };
        checkpoint_from_item(input, &item)
            .map(Some)
            .map_err(|message| LedgerError::Corrupt {
                path: self.table.clone().into(),
                message,
            })
    }

    async fn begin_attempt(
        &self,
        key: AlertKey,
        dispatched: Timestamp,
        intents: BTreeMap<String, Fingerprint>,
    ) -> Result<Claim, LedgerError> {
        let mut update = Updater::default();
        let attempts = update.name("Attempts");
        let one = update.value(AttributeValue::N("1".to_owned()));
        update.sets.push(format!("{attempts} = {attempts} + {one}"));
        update.set("Dispatched", AttributeValue::S(dispatched.to_string()));
        self.claim(&key, &intents, &BTreeSet::new(), update).await
    }

    async fn record_outcome(
        &self,
        key: AlertKey,
        output: String,
        outcome: Outcome,
    ) -> Result<(), LedgerError> {
        // What both outcomes write on the output's record: one more attempt, the time, the
        // lease released.
        let mut update = Updater::default();
        let path = update.path(&[DELIVERIES, &output]);
        let one = update.value(AttributeValue::N("1".to_owned()));
        let zero = update.value(AttributeValue::N("0".to_owned()));
        update.sets.push(format!(
            "{path}.Attempts = if_not_exists({path}.Attempts, {zero}) + {one}"
        ));
        update.set_path(
            &format!("{path}.Updated"),
            AttributeValue::S(Timestamp::now().to_string()),
        );
        update.names.insert("#state".to_owned(), "State".to_owned());
        update.removes.push(format!("{path}.Intent"));
        update.removes.push(format!("{path}.LeaseUntil"));
        let state = if matches!(outcome, Outcome::Dead(_)) {
            DeliveryState::Dead
        } else {
            DeliveryState::Failed
        };
        match outcome {
            Outcome::Sent => {
                // The record that matters, durable before anything else: ADD, never SET.
                // Only an output of the alert: one it lists, has a record of, or sent already.
                let mut added = Updater::default();
                let record = added.path(&[DELIVERIES, &output]);
                let out_v = added.value(AttributeValue::S(output.clone()));
                added.condition(format!(
                    "contains(Outputs, {out_v}) OR attribute_exists({record}) OR contains(OutputsSent, {out_v})"
                ));
                added.add_sent([output]);
                if !self.update(&key, added).await? {
                    return Err(LedgerError::UnknownAlert(key));
                }
                // Then the bookkeeping; losing it loses nothing.
                update.set_path(
                    &format!("{path}.#state"),
                    AttributeValue::S("sent".to_owned()),
                );
                // Once: a second `Sent` for the same output changes nothing (as SQLite).
                let sent_v = update.value(AttributeValue::S("sent".to_owned()));
                update.condition(format!(
                    "attribute_exists({path}) AND (attribute_not_exists({path}.#state) OR {path}.#state <> {sent_v})"
                ));
                let _ = self.update(&key, update).await;
                // A tombstone left a record behind if this fails: a later `Sent` or `retry`
                // reduces it; the delivery itself is recorded.
                if let Err(error) = self.tombstone_if_complete(&key).await {
                    tracing::warn!(%error, alert_id = %key.alert_id, "cannot reduce a complete alert to its tombstone");
                }
                Ok(())
            }
            Outcome::Failed(reason) | Outcome::Dead(reason) => {
                update.set_path(
                    &format!("{path}.#state"),
                    AttributeValue::S(state.as_str().to_owned()),
                );
                update.set_path(&format!("{path}.LastError"), AttributeValue::S(reason));
                let out_v = update.value(AttributeValue::S(output.clone()));
                update.condition(format!(
                    "attribute_exists({path}) AND NOT contains(OutputsSent, {out_v})"
                ));
                if self.update(&key, update).await? {
                    return Ok(());
                }
                // Sent meanwhile (it stays sent), or not recorded at all.
                match self.get(key.clone()).await? {
                    Some(entry) if entry.delivery(&output).is_some() => Ok(()),
                    _ => Err(LedgerError::UnknownAlert(key)),
                }
            }
        }
    }

    async fn get(&self, key: AlertKey) -> Result<Option<LedgerEntry>, LedgerError> {
        let Some(item) = self.get_item(&key).await? else {
            return Ok(None);
        };
        if let Some(AttributeValue::S(reason)) = item.get(QUARANTINED) {
            return Err(LedgerError::Corrupt {
                path: self.table.clone().into(),
                message: format!("alert {} is quarantined: {reason}", key.alert_id),
            });
        }
        self.entry(&item).map(Some)
    }

    async fn open_alerts(&self) -> Result<Vec<LedgerEntry>, LedgerError> {
        Ok(self
            .load(true)
            .await?
            .0
            .into_iter()
            .filter(retryable)
            .collect())
    }

    async fn record_merge(
        &self,
        originals: Vec<AlertKey>,
        merged: NewAlert,
    ) -> Result<(), LedgerError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.new_item(&merged)))
            .condition_expression("attribute_not_exists(AlertID)")
            .build()
            .map_err(build_error)?;
        let mut writes = vec![TransactWriteItem::builder().put(put).build()];
        // Each original once: DynamoDB refuses two operations on one item in a transaction.
        let originals: Vec<AlertKey> = originals
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for key in &originals {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(Self::key(key)))
                .update_expression("SET #m = :m")
                .condition_expression("attribute_exists(AlertID)")
                .expression_attribute_names("#m", MERGED_INTO)
                .expression_attribute_values(":m", AttributeValue::S(merged.alert.alert_id.clone()))
                .build()
                .map_err(build_error)?;
            writes.push(TransactWriteItem::builder().update(update).build());
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| {
                // A failed condition on an original (the writes after the put) names it.
                let unknown = error
                    .as_service_error()
                    .and_then(|e| match e {
                        TransactWriteItemsError::TransactionCanceledException(e) => e
                            .cancellation_reasons()
                            .iter()
                            .skip(1)
                            .position(|reason| reason.code() == Some("ConditionalCheckFailed")),
                        _ => None,
                    })
                    .and_then(|i| originals.get(i));
                match unknown {
                    Some(key) => LedgerError::UnknownAlert(key.clone()),
                    None => self.failed("TransactWriteItems", error),
                }
            })
    }

    async fn counts(&self) -> Result<LedgerCounts, LedgerError> {
        self.status().await.map(|status| status.counts)
    }

    async fn quarantined(&self) -> Result<Vec<QuarantinedAlert>, LedgerError> {
        self.load(false).await.map(|(_, unreadable)| unreadable)
    }

    async fn status(&self) -> Result<LedgerStatus, LedgerError> {
        let (entries, unreadable) = self.load(false).await?;
        let mut status = LedgerStatus::default();
        status.counts.quarantined_alerts = unreadable.len() as u64;
        let counts = &mut status.counts;
        for entry in &entries {
            match entry.status {
                AlertStatus::Open => counts.open_alerts += 1,
                AlertStatus::Complete => counts.complete_alerts += 1,
                AlertStatus::Merged { .. } => {
                    counts.merged_alerts += 1;
                    continue;
                }
            }
            for delivery in &entry.deliveries {
                match delivery.state {
                    DeliveryState::Pending => counts.pending += 1,
                    DeliveryState::Sent => counts.sent += 1,
                    DeliveryState::Failed => counts.failed += 1,
                    DeliveryState::Dead => counts.dead += 1,
                }
                *status
                    .by_output
                    .entry(delivery.output.clone())
                    .or_default()
                    .entry(delivery.state)
                    .or_default() += 1;
            }
            let unsent = entry
                .deliveries
                .iter()
                .any(|d| matches!(d.state, DeliveryState::Pending | DeliveryState::Failed));
            if entry.status == AlertStatus::Open && unsent {
                let created = entry.alert.created;
                status.oldest_unsent =
                    Some(status.oldest_unsent.map_or(created, |t| t.min(created)));
            }
        }
        Ok(status)
    }

    async fn list(&self, filter: DeliveryFilter) -> Result<Vec<LedgerEntry>, LedgerError> {
        Ok(self
            .entries()
            .await?
            .into_iter()
            .filter(|entry| !matches!(entry.status, AlertStatus::Merged { .. }))
            .filter(|entry| {
                entry
                    .deliveries
                    .iter()
                    .any(|d| filter.selects(&d.output, d.state))
            })
            .collect())
    }

    async fn find(&self, alert_id: String) -> Result<Option<AlertKey>, LedgerError> {
        let mut start: Option<Item> = None;
        loop {
            let reply = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .filter_expression("AlertID = :id")
                .expression_attribute_values(":id", AttributeValue::S(alert_id.clone()))
                .projection_expression("RuleName")
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.failed("Scan", e))?;
            let rule = reply
                .items()
                .iter()
                .find_map(|item| match item.get("RuleName") {
                    Some(AttributeValue::S(rule)) => Some(rule.clone()),
                    _ => None,
                });
            if let Some(rule) = rule {
                return Ok(Some(AlertKey::new(rule, alert_id)));
            }
            match reply.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(None),
            }
        }
    }

    async fn replay(
        &self,
        keys: Vec<AlertKey>,
        output: Option<String>,
    ) -> Result<u64, LedgerError> {
        // Every key first, so that an unknown one changes nothing.
        let mut items = Vec::with_capacity(keys.len());
        for key in keys {
            match self.get_item(&key).await? {
                Some(item) => items.push((key, item)),
                None => return Err(LedgerError::UnknownAlert(key)),
            }
        }
        let mut changed = 0;
        for (key, item) in items {
            let mut update = Updater::default();
            if item.contains_key(QUARANTINED) {
                let name = update.name(QUARANTINED);
                update.removes.push(name);
                changed += 1;
            }
            let sent = string_set(item.get("OutputsSent"));
            let records = match item.get(DELIVERIES) {
                Some(AttributeValue::M(map)) => map.clone(),
                _ => HashMap::new(),
            };
            for (name, record) in &records {
                let AttributeValue::M(record) = record else {
                    continue;
                };
                let state = match record.get("State") {
                    Some(AttributeValue::S(state)) => state.as_str(),
                    _ => "",
                };
                if sent.contains(name)
                    || !matches!(state, "failed" | "dead")
                    || output.as_deref().is_some_and(|o| o != name)
                {
                    continue;
                }
                let path = update.path(&[DELIVERIES, name]);
                update.names.insert("#state".to_owned(), "State".to_owned());
                update.set_path(
                    &format!("{path}.#state"),
                    AttributeValue::S("pending".to_owned()),
                );
                update.set_path(
                    &format!("{path}.Attempts"),
                    AttributeValue::N("0".to_owned()),
                );
                update.removes.push(format!("{path}.LastError"));
                let out_v = update.value(AttributeValue::S(name.clone()));
                update.condition(format!("NOT contains(OutputsSent, {out_v})"));
                changed += 1;
            }
            if update.sets.is_empty() && update.removes.is_empty() {
                continue;
            }
            update.condition("attribute_exists(AlertID)".to_owned());
            if !self.update(&key, update).await? {
                return Err(LedgerError::Worker(format!(
                    "alert {key} changed while it was replayed; run the replay again"
                )));
            }
        }
        Ok(changed)
    }

    async fn prune(&self, before: Timestamp) -> Result<u64, LedgerError> {
        let mut deleted = 0;
        for entry in self.entries().await? {
            let done = matches!(
                entry.status,
                AlertStatus::Complete | AlertStatus::Merged { .. }
            );
            if !done || last_change(&entry) >= before {
                continue;
            }
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(&AlertKey::of(&entry.alert))))
                .send()
                .await
                .map_err(|e| self.failed("DeleteItem", e))?;
            deleted += 1;
        }
        Ok(deleted)
    }

    async fn open_alerts_page(
        &self,
        after: Option<String>,
        limit: usize,
    ) -> Result<OpenPage, LedgerError> {
        // The cursor is the scan's LastEvaluatedKey: {"AlertID": …, "RuleName": …}.
        let start = after
            .map(|cursor| {
                serde_json::from_str::<BTreeMap<String, String>>(&cursor)
                    .map(|key| {
                        key.into_iter()
                            .map(|(name, value)| (name, AttributeValue::S(value)))
                            .collect::<Item>()
                    })
                    .map_err(|_| LedgerError::Worker(format!("invalid page cursor `{cursor}`")))
            })
            .transpose()?;
        let reply = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            // Neither tombstones nor input checkpoints (which share the table).
            .filter_expression("RuleName <> :checkpoint AND attribute_not_exists(#x)")
            .expression_attribute_names("#x", COMPLETED)
            .expression_attribute_values(
                ":checkpoint",
                AttributeValue::S(CHECKPOINT_RULE.to_owned()),
            )
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| self.failed("Scan", e))?;
        let next = reply
            .last_evaluated_key
            .filter(|key| !key.is_empty())
            .map(|key| {
                let key: BTreeMap<String, String> = key
                    .into_iter()
                    .filter_map(|(name, value)| match value {
                        AttributeValue::S(text) => Some((name, text)),
                        _ => None,
                    })
                    .collect();
                serde_json::to_string(&key).unwrap_or_default()
            });
        let (entries, _) = self.read_items(reply.items.unwrap_or_default()).await?;
        Ok(OpenPage {
            entries: entries.into_iter().filter(retryable).collect(),
            next,
        })
    }

    fn leased_until(&self, until: SystemTime) -> Option<Arc<dyn Ledger>> {
        Some(Arc::new(self.clone().with_lease_until(until)))
    }
}

/// The alerts-table item of `alert` as DynamoDB attributes: StreamAlert's types (string sets
/// for `Outputs` and `OutputsSent`, which are left out when empty).
pub fn alert_item(alert: &Alert) -> HashMap<String, AttributeValue> {
    let mut item: HashMap<String, AttributeValue> = alert
        .to_ledger_item()
        .into_iter()
        .map(|(name, value)| (name, to_attribute(value)))
        .collect();
    item.remove("OutputsSent");
    item.remove("Outputs");
    if !alert.outputs.is_empty() {
        item.insert(
            "Outputs".to_owned(),
            AttributeValue::Ss(alert.outputs.iter().cloned().collect()),
        );
    }
    if !alert.outputs_sent.is_empty() {
        item.insert(
            "OutputsSent".to_owned(),
            AttributeValue::Ss(alert.outputs_sent.iter().cloned().collect()),
        );
    }
    item
}

/// A JSON value as a DynamoDB attribute.
pub fn to_attribute(value: Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s),
        Value::Array(items) => AttributeValue::L(items.into_iter().map(to_attribute).collect()),
        Value::Object(map) => {
            AttributeValue::M(map.into_iter().map(|(k, v)| (k, to_attribute(v))).collect())
        }
    }
}

/// A DynamoDB attribute as JSON (sets become lists; binary values become null).
pub fn from_attribute(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => {
            serde_json::from_str(n).unwrap_or_else(|_| Value::String(n.clone()))
        }
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::L(items) => Value::Array(items.iter().map(from_attribute).collect()),
        AttributeValue::M(map) => {
            // DynamoDB maps are unordered: keep the keys sorted so reads are stable.
            let sorted: BTreeMap<&String, &AttributeValue> = map.iter().collect();
            Value::Object(
                sorted
                    .into_iter()
                    .map(|(k, v)| (k.clone(), from_attribute(v)))
                    .collect(),
            )
        }
        AttributeValue::Ss(items) => items.iter().cloned().map(Value::String).collect(),
        AttributeValue::Ns(items) => items
            .iter()
            .map(|n| serde_json::from_str(n).unwrap_or_else(|_| Value::String(n.clone())))
            .collect(),
        _ => Value::Null,
    }
}

fn item_to_json(item: &Item) -> Value {
    let mut map = Map::new();
    for (name, value) in item {
        if ![DELIVERIES, MERGED_INTO, QUARANTINED, COMPLETED, EXPIRES_AT].contains(&name.as_str()) {
            map.insert(name.clone(), from_attribute(value));
        }
    }
    Value::Object(map)
}

fn string_set(value: Option<&AttributeValue>) -> BTreeSet<String> {
    match value {
        Some(AttributeValue::Ss(items)) => items.iter().cloned().collect(),
        Some(AttributeValue::L(items)) => items
            .iter()
            .filter_map(|v| match v {
                AttributeValue::S(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// The `RuleName` of the items holding input checkpoints (their `AlertID` is the input).
const CHECKPOINT_RULE: &str = "streamalert:input-checkpoint";

/// The item of an input checkpoint.
fn checkpoint_item(checkpoint: &InputCheckpoint) -> Item {
    let number = |n: u64| AttributeValue::N(n.to_string());
    let text = |s: &str| AttributeValue::S(s.to_owned());
    HashMap::from([
        ("RuleName".to_owned(), text(CHECKPOINT_RULE)),
        ("AlertID".to_owned(), text(&checkpoint.input)),
        ("FileId".to_owned(), text(&checkpoint.file_id)),
        ("Size".to_owned(), number(checkpoint.size)),
        ("HeadLen".to_owned(), number(checkpoint.head_len)),
        (
            "HeadHash".to_owned(),
            text(&checkpoint.head_hash.to_string()),
        ),
        ("Offset".to_owned(), number(checkpoint.offset)),
        ("Line".to_owned(), number(checkpoint.line)),
        ("Updated".to_owned(), text(&Timestamp::now().to_string())),
    ])
}

/// The input checkpoint of `input` in `item`, or what is wrong with it.
fn checkpoint_from_item(input: String, item: &Item) -> Result<InputCheckpoint, String> {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(s)) => Ok(s.clone()),
        _ => Err(format!("input checkpoint of {input}: no string `{name}`")),
    };
    let number = |name: &str| match item.get(name) {
        Some(AttributeValue::N(n)) => n
            .parse::<u64>()
            .map_err(|e| format!("input checkpoint of {input}: `{name}` {n}: {e}")),
        _ => Err(format!("input checkpoint of {input}: no number `{name}`")),
    };
    Ok(InputCheckpoint {
        file_id: text("FileId")?,
        size: number("Size")?,
        head_len: number("HeadLen")?,
        head_hash: text("HeadHash")?
            .parse()
            .map_err(|e| format!("input checkpoint of {input}: {e}"))?,
        offset: number("Offset")?,
        line: number("Line")?,
        input,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip_with_streamalert_types() {
        let mut alert = Alert::new("r", serde_json::json!({"k": [1, 1.5, "é"]}), ["a:b", "c:d"]);
        alert.outputs_sent.insert("a:b".into());
        let item = alert_item(&alert);
        assert!(matches!(&item["Outputs"], AttributeValue::Ss(s) if s.len() == 2));
        assert!(matches!(&item["OutputsSent"], AttributeValue::Ss(s) if s == &["a:b"]));
        assert!(matches!(&item["Cluster"], AttributeValue::Null(true)));
        assert!(matches!(&item["Attempts"], AttributeValue::N(n) if n == "0"));
        let back = Alert::from_item(&item_to_json(&item)).unwrap();
        assert_eq!(back.record, alert.record);
        assert_eq!(back.outputs, alert.outputs);
        assert_eq!(back.outputs_sent, alert.outputs_sent);
    }

    #[test]
    fn expressions_use_placeholders_for_output_names() {
        let mut update = Updater::default();
        let path = update.path(&[DELIVERIES, "aws-firehose:alerts"]);
        update.set_path(&format!("{path}.Intent"), AttributeValue::S("x".into()));
        update.add_sent(["slack:c".to_owned()]);
        assert_eq!(
            update.expression(),
            "SET #n0.#n1.Intent = :v0 ADD OutputsSent :v1"
        );
        assert_eq!(update.names["#n1"], "aws-firehose:alerts");
    }
}
