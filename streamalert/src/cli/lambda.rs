//! The `lambda` mode: the processor binary as an AWS Lambda function (custom runtime,
//! `provided.al2023`), taking StreamAlert's alert-processor events.
//!
//! An invocation's payload is one event or a JSON array of events. An event is a full
//! alerts-table item, or its key only (`{"AlertID": …, "RuleName": …}`, read from the ledger),
//! exactly as StreamAlert's alert merger invokes its alert processor; each is handled by
//! [`Processor::dispatch_event`], the code path of the `dispatch` command. The function returns,
//! for one event, StreamAlert's result map `{"service:descriptor": true|false}` (`{}` for an
//! invalid or unknown alert); for an array, an array of those maps. When the ledger cannot be
//! read or written the invocation fails, so Lambda retries it; what was recorded as sent is not
//! sent again. An alert whose outputs another processor holds (another invocation, or a retry
//! pass, is delivering it; or an invocation killed at its deadline holds it until its lease
//! ends) fails the invocation too: this one sent nothing, so it does not answer as if done;
//! Lambda's retry of the event, or the next scheduled pass, delivers what is still pending.
//!
//! Every invocation works under its deadline (the Runtime API's `Lambda-Runtime-Deadline-Ms`,
//! [`Processor::with_deadline`]): deliveries end [`DEADLINE_MARGIN`] (5 s) before it (their
//! dispatch timeout cut short), and the claims taken in the alerts table hold until
//! [`LEASE_MARGIN`] (2 s) after it, so that the alerts of an invocation Lambda killed are
//! taken over by the next retry or pass once it cannot be running anymore, not 15 minutes
//! later.
//!
//! An EventBridge schedule's event (`"detail-type": "Scheduled Event"`) runs one retry pass
//! over the ledger instead ([`Processor::retry_pass`]: StreamAlert's alert merger), which
//! starts nothing in the last [`DEADLINE_MARGIN`] before the deadline (what it did not reach
//! stays pending for the next pass), and answers its counts (`{"retry": {"sent": …, …}}`).
//!
//! [`DEADLINE_MARGIN`]: crate::processor::DEADLINE_MARGIN
//! [`LEASE_MARGIN`]: crate::processor::LEASE_MARGIN
//!
//! [`run`] sets everything up from the function's environment; a configuration that does not
//! load is reported on the Runtime API's `/runtime/init/error` (Lambda shows its message) and
//! the process exits 1, as it does outside Lambda (its runtime variables missing, named):
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `STREAMALERT_CONFIG` | the configuration directory (`outputs.json`, optional `processor.json`) | `conf` (in the deployment package) |
//! | `ALERTS_TABLE` | the DynamoDB alerts table (the ledger) | none: no ledger, key-only events find nothing |
//! | `STREAMALERT_PREFIX` | adds the required output `aws-firehose:alerts` → `<prefix>_streamalert_alert_delivery` | none |
//! | `AWS_ACCOUNT_ID` | the account of SNS topic ARNs | none |
//! | `AWS_REGION` | the region of every client (set by Lambda) | `us-east-1` |

use crate::aws::Aws;
use crate::config::{OutputsConfig, ProcessorSettings};
use crate::ledger::DynamoDbLedger;
use crate::processor::{EventOutcome, Processor, required_outputs};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Map, Value};
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tracing::Instrument as _;

/// An invocation failed: the ledger is unreachable, or the payload is not an event.
///
/// ```
/// use streamalert::lambda::InvocationError;
/// // What Lambda records as the invocation's error message.
/// fn error_message(error: &InvocationError) -> String {
///     error.to_string()
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvocationError(String);

/// Runs the Lambda runtime loop with a processor set up from the environment (see the module
/// documentation) until the runtime ends. A processor binary calls it from its `lambda`
/// command.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     streamalert::lambda::run()
/// }
/// ```
pub fn run() -> ExitCode {
    if let Err(message) = runtime_environment() {
        tracing::error!("{message}");
        return ExitCode::FAILURE;
    }
    super::with_runtime(async {
        let processor = match processor_from_env().await {
            Ok(processor) => processor,
            Err(message) => {
                tracing::error!("{message}");
                report_init_error(&message).await;
                return ExitCode::FAILURE;
            }
        };
        match serve(processor).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!("the Lambda runtime stopped: {error}");
                ExitCode::FAILURE
            }
        }
    })
}

/// The variables Lambda sets for a custom runtime, which the runtime loop needs.
const RUNTIME_VARIABLES: [&str; 4] = [
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

/// Checks that the process runs inside Lambda (its runtime variables are set): otherwise the
/// message names the missing ones, instead of a panic of the runtime loop.
fn runtime_environment() -> Result<(), String> {
    let missing: Vec<&str> = RUNTIME_VARIABLES
        .into_iter()
        .filter(|name| std::env::var_os(name).is_none_or(|value| value.is_empty()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the lambda command serves AWS Lambda invocations and runs inside Lambda (a custom runtime, as the README's deploy recipe packages it): {} not set",
        missing.join(", ")
    ))
}

/// Reports a function that cannot start (its configuration does not load) on the Runtime API's
/// `/runtime/init/error`, so that Lambda shows `message` as the invocation's error rather than
/// only that the runtime exited. A report that cannot be sent is logged.
async fn report_init_error(message: &str) {
    let body = serde_json::json!({"errorType": "StreamAlert.ConfigError", "errorMessage": message});
    let request = lambda_runtime_api_client::build_request()
        .method("POST")
        .uri("/2018-06-01/runtime/init/error")
        .header("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
        .header("Content-Type", "application/json")
        .body(lambda_runtime_api_client::body::Body::from(
            body.to_string(),
        ));
    let sent = match request {
        // The client takes the endpoint from AWS_LAMBDA_RUNTIME_API, checked to be set.
        Ok(request) => lambda_runtime_api_client::PooledClient::builder()
            .build()
            .call(request)
            .await
            .map(|response| response.status())
            .map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    match sent {
        Ok(status) if status.is_success() => {}
        Ok(status) => {
            tracing::warn!("the Runtime API refused the init error report: HTTP {status}")
        }
        Err(error) => tracing::warn!("cannot report the init error to the Runtime API: {error}"),
    }
}

/// The processor of the Lambda function: configuration from `STREAMALERT_CONFIG` (default
/// `conf`), the credential store its `processor.json` names (`s3-kms` or `ssm` on AWS), the
/// required Firehose output from `STREAMALERT_PREFIX`, the DynamoDB ledger on `ALERTS_TABLE`,
/// the process-wide [`Aws`] configuration.
///
/// ```no_run
/// # async fn demo() -> Result<(), String> {
/// let processor = streamalert::lambda::processor_from_env().await?;
/// assert!(processor.ledger().is_some() == std::env::var("ALERTS_TABLE").is_ok());
/// # Ok(())
/// # }
/// ```
pub async fn processor_from_env() -> Result<Processor, String> {
    let dir = std::env::var_os(crate::config::CONFIG_DIR_ENV).map_or_else(
        || PathBuf::from(crate::config::DEFAULT_CONFIG_DIR),
        PathBuf::from,
    );
    let mut config = OutputsConfig::load(&dir.join("outputs.json")).map_err(|e| e.to_string())?;
    let settings = ProcessorSettings::load_from_dir(&dir).map_err(|e| e.to_string())?;
    let retention =
        std::time::Duration::from_secs(settings.ledger.retention_days.saturating_mul(86_400));
    let prefix = std::env::var("STREAMALERT_PREFIX").ok();
    required_outputs(&mut config, prefix.as_deref());
    settings.check_outputs(&config).map_err(|e| e.to_string())?;
    // The credential store of processor.json, as `dispatch` uses it (opened lazily: nothing is
    // read before an output asks for its credentials).
    let credentials = crate::creds::provider(&settings.credentials)
        .await
        .map_err(|e| e.to_string())?;
    let mut processor = Processor::new(config)
        .with_settings(settings)
        .with_credentials(credentials);
    match std::env::var("ALERTS_TABLE").ok().filter(|t| !t.is_empty()) {
        Some(table) => {
            let ledger = DynamoDbLedger::new(Aws::shared().await, table).with_retention(retention);
            processor = processor.with_ledger(Arc::new(ledger));
        }
        None => tracing::warn!(
            "ALERTS_TABLE is not set: no ledger, so key-only events cannot be read and nothing is recorded"
        ),
    }
    Ok(processor)
}

/// Serves invocations with `processor` until the runtime ends (the Lambda runtime API of
/// `AWS_LAMBDA_RUNTIME_API`). Use it instead of [`run`] to set the processor up yourself (a
/// credential store, other settings).
///
/// ```no_run
/// use streamalert::{config::OutputsConfig, lambda, processor::Processor};
/// # async fn demo() -> Result<(), streamalert::aws::sdk::lambda_runtime::Error> {
/// let processor = Processor::new(OutputsConfig::from_json(r#"{"stdout": ["console"]}"#).unwrap());
/// lambda::serve(processor).await
/// # }
/// ```
pub async fn serve(processor: Processor) -> Result<(), lambda_runtime::Error> {
    // Boxed as `Send` here, where its types are concrete: the compiler cannot prove the Lambda
    // runtime's future `Send` for every lifetime where `serve` is spawned.
    let invocations: std::pin::Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(
        lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
            let processor = processor.clone();
            async move {
                handle(&processor, event)
                    .await
                    .map_err(|e| lambda_runtime::Error::from(e.to_string()))
            }
        })),
    );
    invocations.await
}

/// Handles one invocation: what the function returns for `event` (see the module
/// documentation).
///
/// ```
/// use streamalert::{config::OutputsConfig, lambda, processor::Processor};
/// use streamalert::aws::sdk::lambda_runtime::{Context, LambdaEvent};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let processor = Processor::new(OutputsConfig::from_json(r#"{"stdout": ["console"]}"#).unwrap());
/// let invalid = LambdaEvent::new(serde_json::json!({"Record": "Nonsense"}), Context::default());
/// assert_eq!(lambda::handle(&processor, invalid).await.unwrap(), serde_json::json!({}));
/// # });
/// ```
pub async fn handle(
    processor: &Processor,
    event: LambdaEvent<Value>,
) -> Result<Value, InvocationError> {
    let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
    let deadline = deadline(event.context.deadline);
    let processor = match deadline {
        Some(deadline) => processor.clone().with_deadline(deadline),
        None => processor.clone(),
    };
    if is_scheduled(&event.payload) {
        let budget = deadline.map(time_left);
        return scheduled_pass(&processor, budget).instrument(span).await;
    }
    handle_payload(&processor, event.payload)
        .instrument(span)
        .await
}

/// Time kept back from the invocation's deadline to answer, should a scheduled pass still be
/// reading the table then (its deliveries end 5 s before the deadline).
const ANSWER_MARGIN: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether `payload` is an EventBridge schedule's event (`"detail-type": "Scheduled Event"`).
fn is_scheduled(payload: &Value) -> bool {
    payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
}

/// The invocation's deadline from the Runtime API's milliseconds since the epoch (0: unknown,
/// as in a [`Context::default`](lambda_runtime::Context)).
fn deadline(deadline_ms: u64) -> Option<std::time::SystemTime> {
    (deadline_ms != 0)
        .then(|| std::time::UNIX_EPOCH + std::time::Duration::from_millis(deadline_ms))
}

/// The time a pass may take before `deadline`, less [`ANSWER_MARGIN`].
fn time_left(deadline: std::time::SystemTime) -> std::time::Duration {
    deadline
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(ANSWER_MARGIN)
}

/// A scheduled invocation: one retry-and-merge pass over the alerts table (StreamAlert's alert
/// merger), stopped at `budget`; what it did not reach stays pending for the next one.
async fn scheduled_pass(
    processor: &Processor,
    budget: Option<std::time::Duration>,
) -> Result<Value, InvocationError> {
    let pass = processor.retry_pass();
    let report = match budget {
        Some(budget) => match tokio::time::timeout(budget, pass).await {
            Ok(report) => report,
            Err(_) => {
                tracing::warn!(
                    "the scheduled retry pass stopped at the invocation's deadline; what it did not finish stays pending for the next one"
                );
                return Ok(serde_json::json!({"retry": "stopped at the deadline"}));
            }
        },
        None => pass.await,
    };
    match report {
        Ok(report) => {
            log_metrics(&report.run.outputs, &mut std::io::stdout().lock());
            Ok(serde_json::json!({"retry": {
                "alerts": report.run.alerts,
                "sent": report.run.sent,
                "failed": report.run.failed,
                "dead": report.run.dead,
                "merged": report.run.merged,
                "left_to_another_processor": report.contended.len(),
                "left_for_the_next_pass": report.deferred,
                "quarantined": report.quarantined.len(),
            }}))
        }
        Err(error) => Err(InvocationError(format!(
            "the scheduled retry pass failed: {error}"
        ))),
    }
}

async fn handle_payload(processor: &Processor, payload: Value) -> Result<Value, InvocationError> {
    match payload {
        Value::Array(events) => {
            // The events of a batch go out together, so batching outputs share calls.
            let outcomes = futures_util::future::join_all(
                events
                    .iter()
                    .map(|event| processor.dispatch_event_with_metrics(event)),
            )
            .await;
            let mut results = Vec::with_capacity(outcomes.len());
            for (outcome, metrics) in outcomes {
                log_metrics(&metrics, &mut std::io::stdout().lock());
                results.push(result_map(outcome)?);
            }
            Ok(Value::Array(results))
        }
        event => {
            let (outcome, metrics) = processor.dispatch_event_with_metrics(&event).await;
            log_metrics(&metrics, &mut std::io::stdout().lock());
            result_map(outcome)
        }
    }
}

/// Prints the deliveries' metrics as CloudWatch embedded-metric lines on standard output, which
/// Lambda sends to CloudWatch Logs (metrics `Sent`, `Failed`, `Dead`, `Retried`, `Latency` in
/// the namespace `StreamAlert`, per `Output`).
fn log_metrics(
    metrics: &std::collections::BTreeMap<String, crate::processor::OutputMetrics>,
    out: &mut dyn std::io::Write,
) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
    for line in crate::processor::metrics::embedded_metrics(metrics, now) {
        let _ = writeln!(out, "{line}");
    }
}

fn result_map(outcome: EventOutcome) -> Result<Value, InvocationError> {
    match &outcome {
        EventOutcome::Failed(error) => {
            return Err(InvocationError(format!(
                "cannot dispatch the event: {error}"
            )));
        }
        // Nothing sent by this invocation: not an answer of success. The other processor may
        // have been killed (a timed-out invocation of this event, which Lambda retries now):
        // its lease ends shortly after its deadline, then Lambda's next retry or the
        // scheduled pass sends what is still pending.
        EventOutcome::Contended(key) => {
            return Err(InvocationError(format!(
                "alert {key}: another processor holds its outputs (an invocation still running, or one killed at its deadline whose lease has not ended); nothing sent by this invocation, the outputs stay pending for Lambda's retry or the scheduled pass"
            )));
        }
        _ => {}
    }
    Ok(Value::Object(
        outcome
            .results()
            .into_iter()
            .map(|(output, sent)| (output, Value::Bool(sent)))
            .collect::<Map<String, Value>>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processor::OutputMetrics;

    #[test]
    fn a_schedules_event_is_told_from_alert_events() {
        let scheduled = serde_json::json!({
            "version": "0", "id": "5b2c", "detail-type": "Scheduled Event",
            "source": "aws.events", "detail": {}
        });
        assert!(is_scheduled(&scheduled));
        assert!(!is_scheduled(
            &serde_json::json!({"AlertID": "a", "RuleName": "r"})
        ));
        assert!(!is_scheduled(&serde_json::json!([scheduled])));
    }

    #[test]
    fn the_deadline_comes_from_the_runtime_apis_milliseconds() {
        assert_eq!(deadline(0), None, "no deadline known");
        assert_eq!(
            deadline(1_780_000_000_123),
            Some(std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_780_000_000_123))
        );
    }

    #[test]
    fn the_time_left_keeps_a_margin_before_the_deadline() {
        let now = std::time::SystemTime::now();
        let left = time_left(now + std::time::Duration::from_secs(60));
        assert!(
            left <= std::time::Duration::from_secs(59) && left > std::time::Duration::from_secs(50),
            "{left:?}"
        );
        assert_eq!(
            time_left(now - std::time::Duration::from_secs(1)),
            std::time::Duration::ZERO,
            "past"
        );
    }

    #[test]
    fn metrics_are_logged_as_one_embedded_metric_line_per_output() {
        let mut sent = OutputMetrics::default();
        sent.attempted(std::time::Duration::from_millis(5), true, false);
        let metrics = std::collections::BTreeMap::from([
            ("file:a".to_owned(), sent),
            ("slack:b".to_owned(), OutputMetrics::default()),
        ]);
        let mut out = Vec::new();
        log_metrics(&metrics, &mut out);
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            (lines[0]["Output"].as_str(), lines[0]["Sent"].as_u64()),
            (Some("file:a"), Some(1))
        );
        assert!(lines[0]["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
        assert_eq!(lines[1]["Output"], "slack:b");
    }
}
