//! The `aws-firehose` output (feature `aws`).
use crate::aws::{Aws, BatchLimits, BatchSink, Batcher, resolve, sdk_error};
use crate::json::PythonJson;
use crate::output::full_jitter;
use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::Record;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The largest record StreamAlert sends to Firehose, in characters (spec 2.2).
pub const MAX_RECORD_CHARS: usize = 1_000_000;

/// `aws-firehose`: each publication as one compact JSON line into a Kinesis Data Firehose
/// delivery stream (StreamAlert's `KinesisFirehoseOutput`), including the required
/// `aws-firehose:alerts` delivery of every alert to `<prefix>_streamalert_alert_delivery`.
///
/// `outputs.json` maps each descriptor to the stream name: `{"aws-firehose": {"audit":
/// "audit_stream"}}`. The record is `json.dumps(publication, separators=(",", ":")) + "\n"`; a
/// record over 1,000,000 characters is not sent (logged, the delivery fails for good).
///
/// Beyond StreamAlert, the records of concurrent deliveries to one stream are sent together
/// with `PutRecordBatch` (up to 500 records, 4 MiB); a record alone goes out with `PutRecord`,
/// exactly as StreamAlert sends it. A record the service rejects fails alone and is tried again
/// (StreamAlert's retry: 3 tries on a service error, waits of up to 1 s), then its delivery
/// stays pending while the other records of the batch are recorded as sent.
///
/// ```no_run
/// use streamalert::{Alert, Output, Publication, output::Delivery, outputs::AwsFirehose};
/// # async fn demo() -> Result<(), streamalert::DispatchError> {
/// let alert = Alert::new("r", serde_json::json!({}), ["aws-firehose:audit"]);
/// let publication = Publication::from(alert.output_dict());
/// let delivery = Delivery::new(&alert, "audit", &publication).with_setting(Some("audit_stream"));
/// AwsFirehose::default().dispatch(&delivery).await
/// # }
/// ```
#[derive(Debug, Default)]
#[crate::output(service = "aws-firehose", builtin)]
pub struct AwsFirehose {
    aws: Option<Aws>,
    batcher: OnceLock<Batcher<FirehoseSink>>,
}

impl AwsFirehose {
    /// The output with its own AWS configuration instead of the process-wide one.
    pub fn with_aws(aws: Aws) -> Self {
        Self {
            aws: Some(aws),
            batcher: OnceLock::new(),
        }
    }

    fn batcher(&self) -> &Batcher<FirehoseSink> {
        self.batcher.get_or_init(|| {
            Batcher::new(Arc::new(FirehoseSink {
                aws: self.aws.clone(),
            }))
        })
    }
}

/// The record StreamAlert sends for `publication`: compact JSON and a newline.
///
/// ```
/// use streamalert::{Publication, outputs::aws_firehose::record_data};
/// let mut publication = Publication::new();
/// publication.insert("k", "é");
/// assert_eq!(record_data(&publication), "{\"k\":\"\\u00e9\"}\n");
/// ```
pub fn record_data(publication: &crate::publisher::Publication) -> String {
    let mut data = PythonJson::COMPACT.dump_object(publication.entries());
    data.push('\n');
    data
}

#[async_trait::async_trait]
impl Output for AwsFirehose {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "a short and unique descriptor for this Firehose Delivery Stream",
            ),
            OutputProperty::new("aws_value", "the Firehose Delivery Stream name"),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let stream = crate::aws::required_setting(delivery, "aws-firehose")?;
        let data = record_data(delivery.publication);
        let chars = data.chars().count();
        if chars > MAX_RECORD_CHARS {
            let head: String = data.chars().take(1000).collect();
            tracing::error!("Alert too large to send to Firehose: \n{head}...");
            return Err(DispatchError::new(
                ErrorKind::Rejected,
                format!(
                    "the record is {chars} characters, more than Firehose's {MAX_RECORD_CHARS}"
                ),
            ));
        }
        let size = data.len();
        self.batcher().submit(stream, data, size).await
    }
}

/// Sends batches of records to a delivery stream.
#[derive(Debug)]
pub struct FirehoseSink {
    aws: Option<Aws>,
}

#[async_trait::async_trait]
impl BatchSink for FirehoseSink {
    type Record = String;

    fn limits(&self) -> BatchLimits {
        BatchLimits {
            max_records: 500,
            max_bytes: 4 * 1024 * 1024,
        }
    }

    async fn send(&self, stream: &str, records: &[String]) -> Vec<Result<(), DispatchError>> {
        let aws = resolve(self.aws.as_ref()).await;
        let client = aws.firehose();
        let tries = aws.settings().firehose_tries.max(1);
        let built = match records
            .iter()
            .map(|data| record(data))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(built) => built,
            Err(error) => return vec![Err(error); records.len()],
        };
        let mut results: Vec<Option<Result<(), DispatchError>>> = vec![None; records.len()];
        let mut pending: Vec<usize> = (0..records.len()).collect();
        for attempt in 1..=tries {
            if attempt > 1 {
                tokio::time::sleep(full_jitter(Duration::from_secs(1))).await;
            }
            let outcome = if let [index] = pending[..] {
                client
                    .put_record()
                    .delivery_stream_name(stream)
                    .record(built[index].clone())
                    .send()
                    .await
                    .map(|_| vec![None])
                    .map_err(|e| sdk_error("firehose PutRecord", e))
            } else {
                let batch = client
                    .put_record_batch()
                    .delivery_stream_name(stream)
                    .set_records(Some(pending.iter().map(|&i| built[i].clone()).collect()));
                batch
                    .send()
                    .await
                    .map_err(|e| sdk_error("firehose PutRecordBatch", e))
                    .map(|reply| {
                        let answers = reply.request_responses();
                        (0..pending.len())
                            .map(|i| {
                                answers.get(i).map_or_else(
                                    || Some(("MissingResult".to_owned(), String::new())),
                                    |answer| {
                                        answer.error_code().map(|code| {
                                            (
                                                code.to_owned(),
                                                answer.error_message().unwrap_or("").to_owned(),
                                            )
                                        })
                                    },
                                )
                            })
                            .collect()
                    })
            };
            match outcome {
                Ok(answers) => {
                    let mut still = Vec::new();
                    for (&index, answer) in pending.iter().zip(answers) {
                        match answer {
                            None => results[index] = Some(Ok(())),
                            Some((code, message)) => {
                                let kind = if crate::aws::is_retryable_code(&code) {
                                    ErrorKind::Unavailable
                                } else {
                                    ErrorKind::Rejected
                                };
                                results[index] = Some(Err(DispatchError::new(
                                    kind,
                                    format!(
                                        "firehose PutRecordBatch rejected the record: {code}: {message}"
                                    ),
                                )));
                                still.push(index);
                            }
                        }
                    }
                    pending = still;
                }
                Err(error) => {
                    let service_error = error.status().is_some();
                    for &index in &pending {
                        results[index] = Some(Err(error.clone()));
                    }
                    // StreamAlert retries a Firehose put on service errors (ClientError) only;
                    // transport errors were already retried by the SDK.
                    if !service_error {
                        break;
                    }
                }
            }
            if pending.is_empty() {
                break;
            }
            tracing::debug!(
                stream,
                attempt,
                failed = pending.len(),
                "firehose records failed; trying again"
            );
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(DispatchError::new(ErrorKind::Unavailable, "not sent")))
            })
            .collect()
    }
}

fn record(data: &str) -> Result<Record, DispatchError> {
    Record::builder()
        .data(Blob::new(data.as_bytes()))
        .build()
        .map_err(|e| DispatchError::new(ErrorKind::Config, format!("firehose record: {e}")))
}
