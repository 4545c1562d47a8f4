//! The `aws-sqs` output (feature `aws`).
use crate::aws::{Aws, BatchLimits, BatchSink, Batcher, resolve, sdk_error};
use crate::json::PythonJson;
use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use std::sync::{Arc, OnceLock};

/// `aws-sqs`: the alert's record (or the publication's `@aws-sqs.message_data`) as one compact
/// JSON message on an SQS queue (StreamAlert's `SQSOutput`).
///
/// `outputs.json` maps each descriptor to the queue name: `{"aws-sqs": {"triage":
/// "triage_queue"}}`. The queue URL comes from `GetQueueUrl`, then the message is sent with
/// `SendMessage`, as StreamAlert does. Beyond StreamAlert, the messages of concurrent
/// deliveries to one queue are sent together with `SendMessageBatch` (up to 10 messages,
/// 256 KiB); a message the service rejects fails alone.
///
/// ```no_run
/// use streamalert::{Alert, Output, Publication, output::Delivery, outputs::AwsSqs};
/// # async fn demo() -> Result<(), streamalert::DispatchError> {
/// let alert = Alert::new("r", serde_json::json!({"user": "root"}), ["aws-sqs:triage"]);
/// let publication = Publication::new();
/// let delivery = Delivery::new(&alert, "triage", &publication).with_setting(Some("triage_queue"));
/// AwsSqs::default().dispatch(&delivery).await
/// # }
/// ```
#[derive(Debug, Default)]
#[crate::output(service = "aws-sqs", builtin)]
pub struct AwsSqs {
    aws: Option<Aws>,
    batcher: OnceLock<Batcher<SqsSink>>,
}

impl AwsSqs {
    /// The output with its own AWS configuration instead of the process-wide one.
    pub fn with_aws(aws: Aws) -> Self {
        Self {
            aws: Some(aws),
            batcher: OnceLock::new(),
        }
    }

    fn batcher(&self) -> &Batcher<SqsSink> {
        self.batcher.get_or_init(|| {
            Batcher::new(Arc::new(SqsSink {
                aws: self.aws.clone(),
            }))
        })
    }
}

#[async_trait::async_trait]
impl Output for AwsSqs {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor("a short and unique descriptor for this SQS queue"),
            OutputProperty::new("aws_value", "SQS queue name"),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let queue = crate::aws::required_setting(delivery, "aws-sqs")?;
        let data = delivery
            .publication
            .get("@aws-sqs.message_data")
            .unwrap_or(&delivery.alert.record);
        let body = PythonJson::COMPACT.dump(data);
        let size = body.len();
        self.batcher().submit(queue, body, size).await
    }
}

/// Sends batches of messages to a queue, by name.
#[derive(Debug)]
pub struct SqsSink {
    aws: Option<Aws>,
}

#[async_trait::async_trait]
impl BatchSink for SqsSink {
    type Record = String;

    fn limits(&self) -> BatchLimits {
        BatchLimits {
            max_records: 10,
            max_bytes: 256 * 1024,
        }
    }

    async fn send(&self, queue: &str, bodies: &[String]) -> Vec<Result<(), DispatchError>> {
        let client = resolve(self.aws.as_ref()).await.sqs();
        let url = match client.get_queue_url().queue_name(queue).send().await {
            Ok(reply) => reply.queue_url().unwrap_or_default().to_owned(),
            Err(error) => return vec![Err(sdk_error("sqs GetQueueUrl", error)); bodies.len()],
        };
        if let [body] = bodies {
            let sent = client
                .send_message()
                .queue_url(&url)
                .message_body(body)
                .send()
                .await;
            return vec![
                sent.map(|_| ())
                    .map_err(|e| sdk_error("sqs SendMessage", e)),
            ];
        }
        let entries: Result<Vec<_>, _> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
            })
            .collect();
        let entries = match entries {
            Ok(entries) => entries,
            Err(e) => {
                let error = DispatchError::new(ErrorKind::Config, format!("sqs batch entry: {e}"));
                return vec![Err(error); bodies.len()];
            }
        };
        let reply = match client
            .send_message_batch()
            .queue_url(&url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(reply) => reply,
            Err(error) => {
                return vec![Err(sdk_error("sqs SendMessageBatch", error)); bodies.len()];
            }
        };
        let mut results: Vec<Result<(), DispatchError>> = vec![
            Err(DispatchError::new(
                ErrorKind::InvalidResponse,
                "sqs SendMessageBatch did not report this message",
            ));
            bodies.len()
        ];
        for ok in reply.successful() {
            if let Some(slot) = ok
                .id()
                .parse::<usize>()
                .ok()
                .and_then(|i| results.get_mut(i))
            {
                *slot = Ok(());
            }
        }
        for failed in reply.failed() {
            if let Some(slot) = failed
                .id()
                .parse::<usize>()
                .ok()
                .and_then(|i| results.get_mut(i))
            {
                let kind = if failed.sender_fault() {
                    ErrorKind::Rejected
                } else {
                    ErrorKind::Unavailable
                };
                *slot = Err(DispatchError::new(
                    kind,
                    format!(
                        "sqs SendMessageBatch rejected the message: {}: {}",
                        failed.code(),
                        failed.message().unwrap_or("")
                    ),
                ));
            }
        }
        results
    }
}
