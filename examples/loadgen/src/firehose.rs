//! The sink's Kinesis Data Firehose side: it answers `PutRecordBatch` and `PutRecord` as the
//! service does (the AWS JSON 1.1 protocol of `aws-sdk-firehose`), so that the real
//! `aws-firehose` output delivers to it through the AWS SDK.
//!
//! A request is a `POST /` with `X-Amz-Target: Firehose_20150804.PutRecordBatch` and the body
//! `{"DeliveryStreamName":"…","Records":[{"Data":"<base64>"},…]}` (or `PutRecord` with one
//! `"Record"`). Every record's data must decode; the reply is `200` with
//! `{"FailedPutCount":0,"Encrypted":false,"RequestResponses":[{"RecordId":"…"},…]}`, one entry
//! per record in order (`{"RecordId":"…","Encrypted":false}` for `PutRecord`). Anything else is
//! answered `400` with the service's `{"__type":"…","message":"…"}` error shape. Request
//! signatures are not checked.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hyper::StatusCode;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};

/// The `X-Amz-Target` of a batch put.
pub(crate) const PUT_RECORD_BATCH: &str = "Firehose_20150804.PutRecordBatch";

/// The `X-Amz-Target` of a single put.
pub(crate) const PUT_RECORD: &str = "Firehose_20150804.PutRecord";

/// The content type of the AWS JSON 1.1 protocol, both ways.
pub(crate) const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// The most records one `PutRecordBatch` may carry.
const MAX_BATCH: usize = 500;

/// The sink's answer to one Firehose call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    /// `200` or `400`.
    pub(crate) status: StatusCode,
    /// The JSON body.
    pub(crate) body: String,
    /// Records accepted (0 when the call was refused).
    pub(crate) records: u64,
}

impl Reply {
    fn refused(kind: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: json!({"__type": kind, "message": message.into()}).to_string(),
            records: 0,
        }
    }
}

/// Record ids: unique within the process, of the service's length (56 digits).
fn record_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{:056}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Answers the call `target` with `body`, as the service would.
pub(crate) fn answer(target: &str, body: &[u8]) -> Reply {
    let request: Value = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(error) => return Reply::refused("SerializationException", error.to_string()),
    };
    if !request["DeliveryStreamName"].is_string() {
        return Reply::refused("InvalidArgumentException", "DeliveryStreamName is required");
    }
    match target {
        PUT_RECORD_BATCH => {
            let Some(records) = request["Records"].as_array() else {
                return Reply::refused("InvalidArgumentException", "Records is required");
            };
            if records.is_empty() || records.len() > MAX_BATCH {
                return Reply::refused(
                    "InvalidArgumentException",
                    format!(
                        "Records has {} entries; 1 to {MAX_BATCH} allowed",
                        records.len()
                    ),
                );
            }
            if let Some(error) = records.iter().find_map(|record| check_data(record).err()) {
                return error;
            }
            let responses: Vec<Value> = records
                .iter()
                .map(|_| json!({"RecordId": record_id()}))
                .collect();
            Reply {
                status: StatusCode::OK,
                body:
                    json!({"FailedPutCount": 0, "Encrypted": false, "RequestResponses": responses})
                        .to_string(),
                records: records.len() as u64,
            }
        }
        PUT_RECORD => match check_data(&request["Record"]) {
            Ok(()) => Reply {
                status: StatusCode::OK,
                body: json!({"RecordId": record_id(), "Encrypted": false}).to_string(),
                records: 1,
            },
            Err(error) => error,
        },
        other => Reply::refused(
            "UnknownOperationException",
            format!("unknown operation {other}"),
        ),
    }
}

/// Fails unless `record` is `{"Data": "<base64 of 1 byte or more>"}`.
fn check_data(record: &Value) -> Result<(), Reply> {
    let data = record["Data"]
        .as_str()
        .ok_or_else(|| Reply::refused("InvalidArgumentException", "a record has no Data"))?;
    match STANDARD.decode(data) {
        Ok(bytes) if !bytes.is_empty() => Ok(()),
        Ok(_) => Err(Reply::refused(
            "InvalidArgumentException",
            "a record's Data is empty",
        )),
        Err(error) => Err(Reply::refused(
            "SerializationException",
            format!("a record's Data is not base64: {error}"),
        )),
    }
}

/// A `PutRecordBatch` body of `records` copies of `data` to the stream `stream`.
pub(crate) fn batch_body(stream: &str, data: &str, records: usize) -> String {
    let record = json!({"Data": STANDARD.encode(data)});
    json!({"DeliveryStreamName": stream, "Records": vec![record; records]}).to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;

    #[test]
    fn a_batch_gets_one_record_id_per_record_in_order() {
        let reply = answer(
            PUT_RECORD_BATCH,
            batch_body("s", "{\"a\":1}\n", 3).as_bytes(),
        );
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.records, 3);
        let body: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["FailedPutCount"], 0);
        assert_eq!(body["Encrypted"], false);
        let ids: Vec<&str> = body["RequestResponses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["RecordId"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 3);
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
    }

    #[test]
    fn a_single_put_gets_one_record_id() {
        let body = json!({"DeliveryStreamName": "s", "Record": {"Data": STANDARD.encode("x")}});
        let reply = answer(PUT_RECORD, body.to_string().as_bytes());
        assert_eq!((reply.status, reply.records), (StatusCode::OK, 1));
        let body: Value = serde_json::from_str(&reply.body).unwrap();
        assert!(body["RecordId"].is_string());
    }

    #[test]
    fn malformed_calls_are_refused_like_the_service_refuses_them() {
        let refused = |target: &str, body: &str| {
            let reply = answer(target, body.as_bytes());
            assert_eq!((reply.status, reply.records), (StatusCode::BAD_REQUEST, 0));
            serde_json::from_str::<Value>(&reply.body).unwrap()["__type"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(refused(PUT_RECORD_BATCH, "{"), "SerializationException");
        assert_eq!(
            refused(PUT_RECORD_BATCH, r#"{"Records":[{"Data":"eA=="}]}"#),
            "InvalidArgumentException"
        );
        assert_eq!(
            refused(
                PUT_RECORD_BATCH,
                r#"{"DeliveryStreamName":"s","Records":[]}"#
            ),
            "InvalidArgumentException"
        );
        assert_eq!(
            refused(
                PUT_RECORD_BATCH,
                r#"{"DeliveryStreamName":"s","Records":[{"Data":"eA=="},{"Data":"not base64!"}]}"#
            ),
            "SerializationException"
        );
        assert_eq!(
            refused(PUT_RECORD_BATCH, &batch_body("s", "x", MAX_BATCH + 1)),
            "InvalidArgumentException"
        );
        assert_eq!(
            refused(PUT_RECORD, r#"{"DeliveryStreamName":"s","Record":{}}"#),
            "InvalidArgumentException"
        );
        assert_eq!(
            refused(
                "Firehose_20150804.ListDeliveryStreams",
                r#"{"DeliveryStreamName":"s"}"#
            ),
            "UnknownOperationException"
        );
    }
}
