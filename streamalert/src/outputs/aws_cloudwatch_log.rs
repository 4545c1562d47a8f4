//! The `aws-cloudwatch-log` output (feature `aws`).
use crate::aws::{Aws, BatchLimits, BatchSink, Batcher, resolve, sdk_error};
use crate::json::PythonJson;
use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use std::sync::{Arc, OnceLock};

/// The log stream events go to when `outputs.json` names only a log group.
pub const DEFAULT_LOG_STREAM: &str = "streamalert";

/// `aws-cloudwatch-log`: logs each publication (StreamAlert's `CloudwatchLogOutput`).
///
/// As in StreamAlert it writes one log line at INFO, `New Alert:\n` followed by
/// `json.dumps(publication, indent=2)`; on Lambda that line lands in the function's CloudWatch
/// log group. Configure it as a list of descriptors (`{"aws-cloudwatch-log": ["default"]}`,
/// spec decision Q13).
///
/// Beyond StreamAlert, a descriptor mapped to a log group (`{"aws-cloudwatch-log": {"audit":
/// "/streamalert/alerts"}}`, or `"<group>:<stream>"`) also sends that message as a log event
/// to the group with `PutLogEvents` (stream `streamalert` unless named; it is created when
/// missing, the group must exist). Events of concurrent deliveries are sent together (up to
/// 10,000 events, 1 MiB); an event CloudWatch rejects (too old, too new, expired) fails alone.
///
/// ```
/// use streamalert::{Alert, Output, Publication, output::Delivery, outputs::AwsCloudwatchLog};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let alert = Alert::new("r", serde_json::json!({}), ["aws-cloudwatch-log:default"]);
/// let publication = Publication::from(alert.output_dict());
/// let delivery = Delivery::new(&alert, "default", &publication); // list form: log line only
/// assert!(AwsCloudwatchLog::default().dispatch(&delivery).await.is_ok());
/// # });
/// ```
#[derive(Debug, Default)]
#[crate::output(service = "aws-cloudwatch-log", builtin)]
pub struct AwsCloudwatchLog {
    aws: Option<Aws>,
    batcher: OnceLock<Batcher<LogEventsSink>>,
}

impl AwsCloudwatchLog {
    /// The output with its own AWS configuration instead of the process-wide one.
    pub fn with_aws(aws: Aws) -> Self {
        Self {
            aws: Some(aws),
            batcher: OnceLock::new(),
        }
    }

    fn batcher(&self) -> &Batcher<LogEventsSink> {
        self.batcher.get_or_init(|| {
            Batcher::new(Arc::new(LogEventsSink {
                aws: self.aws.clone(),
            }))
        })
    }
}

/// The log message StreamAlert writes for `publication`.
///
/// ```
/// use streamalert::{Publication, outputs::aws_cloudwatch_log::log_message};
/// let mut publication = Publication::new();
/// publication.insert("id", "x");
/// assert_eq!(log_message(&publication), "New Alert:\n{\n  \"id\": \"x\"\n}");
/// ```
pub fn log_message(publication: &crate::publisher::Publication) -> String {
    format!(
        "New Alert:\n{}",
        PythonJson::pretty(2).dump_object(publication.entries())
    )
}

#[async_trait::async_trait]
impl Output for AwsCloudwatchLog {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![OutputProperty::descriptor(
            "a short and unique descriptor for the cloudwatch log",
        )]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let message = log_message(delivery.publication);
        tracing::info!("{message}");
        let Some(target) = delivery.setting.filter(|s| !s.is_empty()) else {
            return Ok(());
        };
        let (group, stream) = target
            .split_once(':')
            .unwrap_or((target, DEFAULT_LOG_STREAM));
        let destination = format!("{group}:{stream}");
        // CloudWatch counts each event's UTF-8 bytes plus 26.
        let size = message.len() + 26;
        self.batcher().submit(&destination, message, size).await
    }
}

/// Sends batches of log events to `<group>:<stream>`.
#[derive(Debug)]
pub struct LogEventsSink {
    aws: Option<Aws>,
}

/// The largest event message, in bytes (256 KiB less the 26 bytes of overhead).
const MAX_EVENT_BYTES: usize = 262_144 - 26;

#[async_trait::async_trait]
impl BatchSink for LogEventsSink {
    type Record = String;

    fn limits(&self) -> BatchLimits {
        BatchLimits {
            max_records: 10_000,
            max_bytes: 1_048_576,
        }
    }

    async fn send(&self, destination: &str, messages: &[String]) -> Vec<Result<(), DispatchError>> {
        let client = resolve(self.aws.as_ref()).await.cloudwatchlogs();
        let (group, stream) = destination
            .split_once(':')
            .unwrap_or((destination, DEFAULT_LOG_STREAM));
        let mut results: Vec<Result<(), DispatchError>> = vec![Ok(()); messages.len()];
        // One timestamp for the batch keeps the events in chronological order.
        let now = chrono::Utc::now().timestamp_millis();
        let mut sendable = Vec::new();
        let mut events = Vec::new();
        for (index, message) in messages.iter().enumerate() {
            if message.len() > MAX_EVENT_BYTES {
                results[index] = Err(DispatchError::new(
                    ErrorKind::Rejected,
                    format!(
                        "the log event is {} bytes, more than CloudWatch Logs' {MAX_EVENT_BYTES}",
                        message.len()
                    ),
                ));
                continue;
            }
            match InputLogEvent::builder()
                .timestamp(now)
                .message(message)
                .build()
            {
                Ok(event) => {
                    sendable.push(index);
                    events.push(event);
                }
                Err(e) => {
                    results[index] = Err(DispatchError::new(
                        ErrorKind::Config,
                        format!("log event: {e}"),
                    ));
                }
            }
        }
        if events.is_empty() {
            return results;
        }
        let put = || {
            client
                .put_log_events()
                .log_group_name(group)
                .log_stream_name(stream)
                .set_log_events(Some(events.clone()))
                .send()
        };
        let reply = match put().await {
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                // The stream is missing (the group must exist): create it, then send again.
                let created = client
                    .create_log_stream()
                    .log_group_name(group)
                    .log_stream_name(stream)
                    .send()
                    .await;
                if let Err(error) = created {
                    let exists = error
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_already_exists_exception());
                    if !exists {
                        let error = sdk_error("logs CreateLogStream", error);
                        for index in sendable {
                            results[index] = Err(error.clone());
                        }
                        return results;
                    }
                }
                put().await
            }
            other => other,
        };
        let reply = match reply {
            Ok(reply) => reply,
            Err(error) => {
                let error = sdk_error("logs PutLogEvents", error);
                for index in sendable {
                    results[index] = Err(error.clone());
                }
                return results;
            }
        };
        if let Some(rejected) = reply.rejected_log_events_info() {
            // AWS documents the end indexes as exclusive while some implementations report the
            // last rejected index; counting it as rejected too errs on the side of a resend.
            let too_new = rejected
                .too_new_log_event_start_index()
                .map(|i| i.max(0) as usize);
            let too_old = rejected
                .too_old_log_event_end_index()
                .map(|i| i.max(0) as usize);
            let expired = rejected
                .expired_log_event_end_index()
                .map(|i| i.max(0) as usize);
            for (position, &index) in sendable.iter().enumerate() {
                let reason = if too_new.is_some_and(|start| position >= start) {
                    Some("too new")
                } else if too_old.is_some_and(|end| position <= end) {
                    Some("too old")
                } else if expired.is_some_and(|end| position <= end) {
                    Some("expired")
                } else {
                    None
                };
                if let Some(reason) = reason {
                    results[index] = Err(DispatchError::new(
                        ErrorKind::Unavailable,
                        format!("logs PutLogEvents rejected the event: {reason}"),
                    ));
                }
            }
        }
        results
    }
}
