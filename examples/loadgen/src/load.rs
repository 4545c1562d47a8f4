//! The Rust side of the load benchmark: alerts through the real processor path (publish,
//! dispatch, ledger) to the sink.
//!
//! Each run gets a fresh processor: `outputs.json` with `slack:bench`, `pagerduty-v2:bench` and
//! `aws-firehose:bench`, the secrets of the first two (the sink's URLs, a routing key) in a
//! local credential store behind the processor's credential cache (warm after the first alert,
//! like the baseline's cache), and a SQLite ledger (unless the run goes without one), all in a
//! temporary directory. The `aws-firehose` output reaches the sink through the process-wide
//! AWS configuration ([`use_sink_for_aws`]).

use crate::cpu::{ThreadCpu, process_cpu};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use streamalert::Alert;
use streamalert::aws::{Aws, AwsSettings, StaticCredentials};
use streamalert::config::RateLimit;
use streamalert::config::{LedgerSettings, OutputsConfig, ProcessorSettings};
use streamalert::creds::{CredentialCache, CredentialStore as _, LocalStore, encode_secret_json};
use streamalert::ledger::SqliteLedger;
use streamalert::outputs::aws_firehose::record_data;
use streamalert::processor::Processor;

/// The descriptor of both outputs (the baseline's `DESCRIPTOR`).
pub(crate) const DESCRIPTOR: &str = "bench";

/// The rule name of the baseline's alerts (a rule of the quickstart too).
pub(crate) const RULE_NAME: &str = "cloudtrail_root_account_usage";

/// The rule description of the baseline's alerts (its `RULE_DESCRIPTION`).
const RULE_DESCRIPTION: &str = "
author:           airbnb_csirt
description:      Root AWS credentials are being used;
                  This is against best practice and may be an attacker
reference_1:      https://aws.amazon.com/premiumsupport/knowledge-center/
                      cloudtrail-root-action-logs/
reference_2:      http://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html
playbook:         (a) identify who is using the Root account
                  (b) ping the individual to determine if intentional and/or legitimate
";

/// The routing key of the baseline's PagerDuty credentials (a placeholder, not a secret).
const ROUTING_KEY: &str = "R0UT1NGKEY0123456789ABCDEF012345";

/// The output of the Firehose runs, and the delivery stream it is configured with.
pub(crate) const FIREHOSE_OUTPUT: &str = "aws-firehose:bench";
const FIREHOSE_STREAM: &str = "bench_alerts";

/// How many alerts a run submits at once (the `process` command's chunk of input lines).
const SUBMIT_CHUNK: usize = 128;

/// The two outputs the benchmark delivers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    /// `slack:bench`, a webhook URL on the sink.
    Slack,
    /// `pagerduty-v2:bench`, the Events API v2 endpoint on the sink.
    PagerDutyV2,
}

impl Service {
    /// Both, in the order runs alternate.
    pub(crate) const ALL: [Service; 2] = [Service::Slack, Service::PagerDutyV2];

    /// The service name, as the baseline's `--service` takes it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Service::Slack => "slack",
            Service::PagerDutyV2 => "pagerduty-v2",
        }
    }

    /// The sink URL this service posts to.
    pub(crate) fn url(self, base_url: &str) -> String {
        match self {
            Service::Slack => format!("{base_url}/services/T0/B0/X"),
            Service::PagerDutyV2 => format!("{base_url}/v2/enqueue"),
        }
    }

    fn output(self) -> String {
        format!("{}:{DESCRIPTOR}", self.name())
    }
}

/// `count` alerts like the baseline's: the same record and fields, both outputs listed (so the
/// default publication is the same) and the other service's already sent, so that each alert
/// is delivered to `service` only. Built one by one as the runs take them (as `process` reads
/// its input), so that the bench's own memory does not grow with `count`.
pub(crate) fn alerts(
    service: Service,
    record: &Value,
    count: usize,
) -> impl ExactSizeIterator<Item = Alert> + '_ {
    (0..count).map(move |_| {
        let mut alert = alert(record, Service::ALL.map(Service::output));
        for other in Service::ALL.into_iter().filter(|s| *s != service) {
            alert.outputs_sent.insert(other.output());
        }
        alert
    })
}

/// `count` alerts like the baseline's for `aws-firehose:bench` only, built as they are taken.
pub(crate) fn firehose_alerts(
    record: &Value,
    count: usize,
) -> impl ExactSizeIterator<Item = Alert> + '_ {
    (0..count).map(|_| alert(record, [FIREHOSE_OUTPUT.to_owned()]))
}

/// The Firehose record of one of [`firehose_alerts`]: its publication as one JSON line.
pub(crate) fn firehose_record(record: &Value) -> String {
    let alert = alert(record, [FIREHOSE_OUTPUT.to_owned()]);
    record_data(&alert.output_dict().into())
}

/// An alert with the baseline's record and fields for `outputs`.
fn alert(record: &Value, outputs: impl IntoIterator<Item = String>) -> Alert {
    let mut alert = Alert::new(RULE_NAME, record.clone(), outputs);
    alert.cluster = Some("prod".into());
    alert.log_source = Some("cloudwatch:events".into());
    alert.log_type = Some("json".into());
    alert.rule_description = Some(RULE_DESCRIPTION.into());
    alert.source_entity = Some("prefix_prod_streamalert".into());
    alert.source_service = Some("kinesis".into());
    alert
}

/// Makes the sink at `base_url` this process's AWS endpoint (static placeholder credentials,
/// `us-east-1`): the `aws-firehose` output then sends its calls there. Once per process.
pub(crate) async fn use_sink_for_aws(base_url: &str) -> Result<(), String> {
    let settings = AwsSettings::from_env()
        .with_region("us-east-1")
        .with_endpoint(base_url)
        .with_credentials(StaticCredentials::new(
            "AKIDLOADGENBENCH",
            "loadgen-placeholder-not-a-secret",
        ));
    Aws::install(Aws::load(settings).await)
        .map_err(|_| "the process's AWS configuration is already in use".to_owned())
}

/// A processor delivering to the sink at `base_url`, with its credential store and (along
/// [`Path::Recorded`]) its ledger in `dir`.
pub(crate) async fn processor(
    base_url: &str,
    dir: &std::path::Path,
    concurrency: usize,
    path: Path,
) -> Result<Processor, String> {
    let config = OutputsConfig::from_json(&format!(
        r#"{{"slack": ["{DESCRIPTOR}"], "pagerduty-v2": ["{DESCRIPTOR}"],
            "aws-firehose": {{"{DESCRIPTOR}": "{FIREHOSE_STREAM}"}}}}"#
    ))
    .map_err(|e| e.to_string())?;
    let store = Arc::new(LocalStore::new(dir.join("credentials"), dir.join("key")));
    let slack_url = Service::Slack.url(base_url);
    let pagerduty_url = Service::PagerDutyV2.url(base_url);
    let secrets = [
        (
            Service::Slack,
            encode_secret_json([("url", slack_url.as_str())]),
        ),
        (
            Service::PagerDutyV2,
            encode_secret_json([
                ("routing_key", ROUTING_KEY),
                ("url", pagerduty_url.as_str()),
            ]),
        ),
    ];
    for (service, secret) in &secrets {
        store
            .save(service.name(), DESCRIPTOR, secret)
            .await
            .map_err(|e| format!("cannot store the {} credentials: {e}", service.name()))?;
    }
    // The sink has no rate limit: the services' default pacing (1 Slack message a second)
    // would measure the pace, not the processor.
    let unlimited = RateLimit::new(1e9, u32::MAX).map_err(|e| e.to_string())?;
    let settings = ProcessorSettings {
        concurrency,
        rate_limits: [Service::Slack, Service::PagerDutyV2]
            .into_iter()
            .map(|service| (service.name().to_owned(), unlimited))
            .collect(),
        ledger: LedgerSettings {
            path: dir.join("ledger.sqlite3"),
            ..LedgerSettings::default()
        },
        ..ProcessorSettings::default()
    };
    let cache = CredentialCache::new(store, settings.credentials.cache_ttl());
    let ledger = match path {
        Path::Recorded => Some(SqliteLedger::open(&settings.ledger).map_err(|e| e.to_string())?),
        Path::Unrecorded => None,
    };
    let processor = Processor::new(config)
        .with_settings(settings)
        .with_credentials(Arc::new(cache));
    Ok(match ledger {
        Some(ledger) => processor.with_ledger(Arc::new(ledger)),
        None => processor,
    })
}

/// A sequential run: each alert processed alone (recorded, delivered, outcome recorded) before
/// the next starts.
#[derive(Debug, Clone)]
pub(crate) struct Sequential {
    /// Wall time of the timed alerts.
    pub(crate) seconds: f64,
    /// Each timed alert's time from submission to its outcome being recorded.
    pub(crate) latencies: Vec<Duration>,
}

impl Sequential {
    /// Alerts per second.
    pub(crate) fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.seconds
    }
}

/// With or without the ledger (the difference is what the ledger costs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    /// Recorded in the ledger, delivered, outcome recorded (`Processor::process` when
    /// sequential).
    Recorded,
    /// Delivered only: no ledger (`Processor::deliver` when sequential).
    Unrecorded,
}

/// Processes `warmup` untimed alerts, then `alerts`, one at a time along `path`; the run's
/// time ends once the ledger holds all of it ([`settle`]). Closes the processor after.
pub(crate) async fn sequential(
    processor: Processor,
    path: Path,
    warmup: impl IntoIterator<Item = Alert>,
    alerts: impl ExactSizeIterator<Item = Alert>,
) -> Result<Sequential, String> {
    for alert in warmup {
        one(&processor, path, alert).await?;
    }
    let mut latencies = Vec::with_capacity(alerts.len());
    let started = Instant::now();
    for alert in alerts {
        let begun = Instant::now();
        one(&processor, path, alert).await?;
        latencies.push(begun.elapsed());
    }
    settle(&processor).await?;
    let seconds = started.elapsed().as_secs_f64();
    close(processor).await?;
    Ok(Sequential { seconds, latencies })
}

/// Waits until the processor's ledger, if it has one, has applied every write made so far
/// to SQLite: a read applies what the intake log holds first. A run's time includes it, so
/// that the ledger's work for each alert is counted, not left to after the clock.
async fn settle(processor: &Processor) -> Result<(), String> {
    let Some(ledger) = processor.ledger() else {
        return Ok(());
    };
    ledger
        .find("loadgen: no such alert".to_owned())
        .await
        .map(drop)
        .map_err(|e| format!("the ledger could not be read: {e}"))
}

/// Drops `processor` and with it its ledger (off the runtime's threads: its writer thread is
/// joined), so that the ledger's file is free for the next run.
async fn close(processor: Processor) -> Result<(), String> {
    tokio::task::spawn_blocking(move || drop(processor))
        .await
        .map_err(|e| format!("closing the processor failed: {e}"))
}

async fn one(processor: &Processor, path: Path, alert: Alert) -> Result<(), String> {
    if path == Path::Unrecorded {
        let report = processor.deliver(&alert).await;
        return match report.values().find_map(|result| result.as_ref().err()) {
            Some(error) => Err(format!("an alert was not delivered: {error}")),
            None if report.len() == 1 => Ok(()),
            None => Err(format!("{} deliveries for one alert", report.len())),
        };
    }
    let report = processor
        .process(vec![alert])
        .await
        .map_err(|e| e.to_string())?;
    if report.sent != 1 || report.failed != 0 || report.ledger_errors != 0 {
        return Err(format!("an alert was not delivered: {report:?}"));
    }
    Ok(())
}

/// A concurrent run: its wall time, and the CPU time of each of the process's threads (by
/// name) per alert; applying the intake log's last entries ([`settle`]) is counted under
/// `ledger-writer`.
#[derive(Debug, Clone)]
pub(crate) struct Concurrent {
    pub(crate) seconds: f64,
    pub(crate) cpu_us: BTreeMap<String, f64>,
}

/// Processes `alerts` with up to the processor's `concurrency` in flight, submitted in chunks
/// as the `process` command does (recorded first when the processor has a ledger); the run's
/// time ends once the ledger holds all of it ([`settle`]). Closes the processor after.
pub(crate) async fn concurrent(
    processor: Processor,
    alerts: impl ExactSizeIterator<Item = Alert>,
) -> Result<Concurrent, String> {
    let total = alerts.len() as u64;
    // Read while the processor's threads (its ledger's writer) are alive.
    let cpu_before = ThreadCpu::now()?;
    let started = Instant::now();
    let mut run = processor.start_run();
    let mut alerts = alerts.peekable();
    while alerts.peek().is_some() {
        let chunk: Vec<Alert> = alerts.by_ref().take(SUBMIT_CHUNK).collect();
        run.submit(chunk).await.map_err(|e| e.to_string())?;
    }
    let report = run.finish().await;
    // The last entries are applied by the read in a blocking thread (named as the runtime's
    // workers): measured as the whole process's CPU time meanwhile (nothing else runs then),
    // and counted as the writer's work.
    let cpu_running = ThreadCpu::now()?;
    let process_before_settling = process_cpu()?;
    settle(&processor).await?;
    let seconds = started.elapsed().as_secs_f64();
    let settling = process_cpu()?.saturating_sub(process_before_settling);
    let mut cpu_us = cpu_running.per_alert_since(&cpu_before, total);
    if processor.ledger().is_some() {
        *cpu_us.entry("ledger-writer".to_owned()).or_default() +=
            settling.as_secs_f64() * 1e6 / total.max(1) as f64;
    }
    close(processor).await?;
    if report.sent != total || report.failed != 0 || report.ledger_errors != 0 {
        return Err(format!("not every alert was delivered: {report:?}"));
    }
    Ok(Concurrent { seconds, cpu_us })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;
    use crate::sink::Sink;

    fn record() -> Value {
        serde_json::from_str(include_str!("../data/record.json")).unwrap()
    }

    #[test]
    fn alerts_go_to_one_service_with_the_baseline_publication() {
        let record = record();
        let alerts: Vec<_> = alerts(Service::PagerDutyV2, &record, 2).collect();
        assert_ne!(alerts[0].alert_id, alerts[1].alert_id);
        let remaining: Vec<_> = alerts[0].remaining_outputs().into_iter().collect();
        assert_eq!(remaining, ["pagerduty-v2:bench"]);
        let publication = alerts[0].output_dict();
        assert_eq!(
            publication["outputs"],
            serde_json::json!(["pagerduty-v2:bench", "slack:bench"])
        );
        assert_eq!(publication["rule_name"], RULE_NAME);
    }

    #[test]
    fn every_alert_reaches_the_sink_through_the_ledger() {
        let sink = Sink::start().unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        runtime.block_on(async {
            // Each run closes its processor: the next one opens the same ledger again.
            let base_url = sink.base_url();
            let recorded = || processor(&base_url, dir.path(), 4, Path::Recorded);
            let record = record();
            let run = sequential(
                recorded().await.unwrap(),
                Path::Recorded,
                alerts(Service::Slack, &record, 1),
                alerts(Service::Slack, &record, 2),
            )
            .await
            .unwrap();
            assert_eq!(run.latencies.len(), 2);
            let unrecorded = alerts(Service::Slack, &record, 2);
            sequential(
                recorded().await.unwrap(),
                Path::Unrecorded,
                vec![],
                unrecorded,
            )
            .await
            .unwrap();
            let pagerduty = alerts(Service::PagerDutyV2, &record, 5);
            let run = concurrent(recorded().await.unwrap(), pagerduty)
                .await
                .unwrap();
            assert!(run.cpu_us["tokio-rt-worker"] > 0.0, "{:?}", run.cpu_us);
            assert!(run.cpu_us.contains_key("ledger-writer"), "{:?}", run.cpu_us);
            let bare = tempfile::tempdir().unwrap();
            let unrecorded = super::processor(&sink.base_url(), bare.path(), 4, Path::Unrecorded)
                .await
                .unwrap();
            assert!(unrecorded.ledger().is_none());
            // (Its threads' figures may hold those of other tests of this binary running
            // meanwhile: only the recorded run's writer entry, always present, is asserted.)
            concurrent(unrecorded, alerts(Service::Slack, &record, 3))
                .await
                .unwrap();
        });
        assert_eq!(sink.received(), 13);
        assert_eq!(sink.records(), 0);
        let ledger = SqliteLedger::open(&LedgerSettings {
            path: dir.path().join("ledger.sqlite3"),
            ..LedgerSettings::default()
        })
        .unwrap();
        let entries = ledger.entries().unwrap();
        assert_eq!(entries.len(), 8);
        assert!(entries.iter().all(|entry| entry.unsent().next().is_none()));
    }

    /// The only test of this binary that installs the process's AWS configuration.
    #[test]
    fn the_firehose_output_batches_its_records_into_the_sink() {
        let sink = Sink::start().unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        runtime.block_on(async {
            use_sink_for_aws(&sink.base_url()).await.unwrap();
            assert!(use_sink_for_aws(&sink.base_url()).await.is_err());
            let base_url = sink.base_url();
            let recorded = || processor(&base_url, dir.path(), 32, Path::Recorded);
            let record = record();
            concurrent(recorded().await.unwrap(), firehose_alerts(&record, 100))
                .await
                .unwrap();
            assert_eq!(sink.records(), 100);
            // Group commit: records that arrive while a call is in flight share the next one.
            assert!(sink.received() < 100, "{} requests", sink.received());
            // A record alone goes out with `PutRecord`, and its reply is understood too.
            let requests = sink.received();
            let alone = firehose_alerts(&record, 1);
            sequential(recorded().await.unwrap(), Path::Recorded, vec![], alone)
                .await
                .unwrap();
            assert_eq!((sink.received(), sink.records()), (requests + 1, 101));
        });
        let ledger = SqliteLedger::open(&LedgerSettings {
            path: dir.path().join("ledger.sqlite3"),
            ..LedgerSettings::default()
        })
        .unwrap();
        let entries = ledger.entries().unwrap();
        assert_eq!(entries.len(), 101);
        assert!(entries.iter().all(|entry| entry.unsent().next().is_none()));
    }

    #[test]
    fn the_firehose_record_is_the_publication_line() {
        let line = firehose_record(&record());
        assert!(line.ends_with('\n') && !line.trim_end().contains('\n'));
        let publication: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(publication["rule_name"], RULE_NAME);
        assert_eq!(publication["outputs"], serde_json::json!([FIREHOSE_OUTPUT]));
    }
}
