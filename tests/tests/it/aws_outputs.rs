//! The AWS outputs against their public vectors (`vectors/outputs/aws-*.json`).
//!
//! What reached the service is read back from a moto server (`scripts/moto-server.sh`; its
//! endpoint in `STREAMALERT_TEST_AWS_ENDPOINT`): the S3 object and its key, the SQS message,
//! the SNS publication (through an SQS subscription), the Firehose records (in the stream's S3
//! destination), the SES raw message (moto's recorded messages), the CloudWatch log events.
//! Lambda `Invoke` cannot run in moto without docker, so both Lambda outputs (and STS
//! `AssumeRole`, whose reply the vector fixes) are checked against a local HTTP capture of the
//! SDK's requests (wiremock as the endpoint).

use crate::aws_support;
use crate::aws_support::{
    call, local_aws, moto_endpoint, parse_mime, unique, vector, vector_alert,
};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use streamalert::aws::Aws;
use streamalert::aws::sdk::firehose;
use streamalert::config::OutputsConfig;
use streamalert::output::{Credentials, Delivery, DispatchError, ErrorKind};
use streamalert::outputs::{
    AwsCloudwatchLog, AwsFirehose, AwsLambda, AwsLambdaV2, AwsS3, AwsSes, AwsSns, AwsSqs,
};
use streamalert::processor::{Processor, required_outputs};
use streamalert::{Alert, Output, Publication};
use streamalert_tests::vectors::{Harness, Shape};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The AWS output vectors: the HTTP outputs' fields plus `fixed_values` (S3 key hour and UUID4).
const AWS_OUTPUT: &[Shape] = &[Shape {
    kind: "output-dispatch",
    functions: &[],
    fields: &[
        "service",
        "descriptor",
        "output",
        "credentials",
        "outputs_config",
        "environment",
        "fixed_values",
        "alert_fixture",
        "alert_item",
        "alert_context_override",
        "publishers_applied",
        "publication_source",
        "harness",
        "expected",
    ],
    input: &[],
    expected: &["calls", "dispatch_result", "log"],
}];

/// The AWS vectors the tests below read, each in a test of its own (each needs its own moto
/// resources or capture).
const RUN_HERE: [&str; 8] = [
    "aws-cloudwatch-log-1",
    "aws-firehose-1",
    "aws-lambda-1",
    "aws-lambda-v2-1",
    "aws-s3-1",
    "aws-ses-1",
    "aws-sns-1",
    "aws-sqs-1",
];

/// Every AWS output vector (`vectors::SPLIT`) has the shape the tests below read and is one of
/// [`RUN_HERE`]: a new AWS vector fails here until a test runs it.
#[test]
fn every_aws_vector_is_run_by_a_test_here() {
    Harness::new("outputs", AWS_OUTPUT)
        .shared_as("aws_outputs")
        .run(|vector| {
            if RUN_HERE.contains(&vector.id.as_str()) {
                Ok(())
            } else {
                Err("no test of aws_outputs runs this vector".to_owned())
            }
        });
}

/// The DefaultPublisher publication of the vector's alert.
fn publication(alert: &Alert) -> Publication {
    Publication::from(alert.output_dict())
}

fn setting(vector: &Value) -> Option<&str> {
    let service = vector["service"].as_str().unwrap();
    vector["outputs_config"][service][vector["descriptor"].as_str().unwrap()].as_str()
}

/// Dispatches the vector's alert to `output` as the vector does: the default publication, the
/// vector's descriptor, its `outputs.json` setting and its credentials.
async fn dispatch_vector(output: &dyn Output, vector: &Value) -> Result<(), DispatchError> {
    let alert = vector_alert(vector);
    let publication = publication(&alert);
    let credentials = vector["credentials"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect::<Credentials>();
    let descriptor = vector["descriptor"].as_str().unwrap();
    let delivery = Delivery::new(&alert, descriptor, &publication)
        .with_setting(setting(vector))
        .with_credentials(&credentials);
    output.dispatch(&delivery).await
}

async fn objects(aws: &Aws, bucket: &str) -> Vec<(String, Vec<u8>)> {
    let listed = aws
        .s3()
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for object in listed.contents() {
        let key = object.key().unwrap().to_owned();
        let body = aws
            .s3()
            .get_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .unwrap();
        out.push((
            key,
            body.body.collect().await.unwrap().into_bytes().to_vec(),
        ));
    }
    out
}

async fn fresh_bucket(aws: &Aws, bucket: &str) {
    let _ = aws.s3().create_bucket().bucket(bucket).send().await;
    for (key, _) in objects(aws, bucket).await {
        aws.s3()
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
    }
}

async fn fresh_queue(aws: &Aws, name: &str) -> String {
    if let Ok(found) = aws.sqs().get_queue_url().queue_name(name).send().await {
        aws.sqs()
            .delete_queue()
            .queue_url(found.queue_url().unwrap())
            .send()
            .await
            .unwrap();
    }
    let created = aws
        .sqs()
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap();
    created.queue_url().unwrap().to_owned()
}

async fn receive_all(aws: &Aws, url: &str) -> Vec<String> {
    let reply = aws
        .sqs()
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    reply
        .messages()
        .iter()
        .map(|m| m.body().unwrap().to_owned())
        .collect()
}

/// Creates `stream` (again) with a fresh S3 bucket as destination; returns the bucket.
async fn fresh_stream(aws: &Aws, stream: &str) -> String {
    let bucket = unique("firehose-dest");
    aws.s3()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let _ = aws
        .firehose()
        .delete_delivery_stream()
        .delivery_stream_name(stream)
        .send()
        .await;
    let destination = firehose::types::ExtendedS3DestinationConfiguration::builder()
        .role_arn("arn:aws:iam::123456789012:role/firehose")
        .bucket_arn(format!("arn:aws:s3:::{bucket}"))
        .build()
        .unwrap();
    aws.firehose()
        .create_delivery_stream()
        .delivery_stream_name(stream)
        .extended_s3_destination_configuration(destination)
        .send()
        .await
        .unwrap();
    bucket
}

#[tokio::test]
async fn aws_s3_vector_object_and_key() {
    let Some(endpoint) = moto_endpoint("aws_s3_vector_object_and_key") else {
        return;
    };
    let aws = local_aws(&endpoint).await;
    let v = vector("aws-s3-1");
    let expected = &call(&v, 0)["params"];
    let bucket = expected["Bucket"].as_str().unwrap();
    fresh_bucket(&aws, bucket).await;

    // "2019-01-01 13:xx" (fixed_values.local_clock)
    let hour: streamalert::alert::Timestamp = "2019-01-01T13:42:00.000000Z".parse().unwrap();
    let uuid = v["fixed_values"]["uuid4"].as_str().unwrap().to_owned();
    let output = AwsS3::with_aws(aws.clone())
        .with_clock(Arc::new(move || hour), Arc::new(move || uuid.clone()));
    assert_eq!(setting(&v), Some(bucket));
    let result = dispatch_vector(&output, &v).await;
    assert_eq!(
        result.is_ok(),
        v["expected"]["dispatch_result"] == true,
        "{result:?}"
    );

    let stored = objects(&aws, bucket).await;
    assert_eq!(stored.len(), 1, "one object");
    assert_eq!(stored[0].0, expected["Key"].as_str().unwrap(), "key");
    assert_eq!(
        String::from_utf8(stored[0].1.clone()).unwrap(),
        expected["Body"].as_str().unwrap(),
        "body bytes"
    );
    let body: Value = serde_json::from_slice(&stored[0].1).unwrap();
    assert_eq!(body, call(&v, 0)["params_json"]["Body"], "body as JSON");
}

#[tokio::test]
async fn aws_sqs_vector_message() {
    let Some(endpoint) = moto_endpoint("aws_sqs_vector_message") else {
        return;
    };
    let aws = local_aws(&endpoint).await;
    let v = vector("aws-sqs-1");
    let queue = call(&v, 0)["params"]["QueueName"].as_str().unwrap();
    assert_eq!(setting(&v), Some(queue));
    let url = fresh_queue(&aws, queue).await;

    dispatch_vector(&AwsSqs::with_aws(aws.clone()), &v)
        .await
        .unwrap();

    let messages = receive_all(&aws, &url).await;
    let expected = call(&v, 1)["params"]["MessageBody"].as_str().unwrap();
    assert_eq!(messages, [expected], "message body bytes");
    let parsed: Value = serde_json::from_str(&messages[0]).unwrap();
    assert_eq!(parsed, call(&v, 1)["params_json"]["MessageBody"]);
}

#[tokio::test]
async fn aws_sqs_batches_concurrent_deliveries() {
    let Some(endpoint) = moto_endpoint("aws_sqs_batches_concurrent_deliveries") else {
        return;
    };
    let aws = local_aws(&endpoint).await;
    let queue = unique("batch-queue");
    let url = fresh_queue(&aws, &queue).await;
    let output = AwsSqs::with_aws(aws.clone());
    let alerts: Vec<Alert> = (0..12)
        .map(|i| Alert::new("r", json!({"n": i}), ["aws-sqs:q"]))
        .collect();
    let publication = Publication::new();
    let deliveries: Vec<_> = alerts
        .iter()
        .map(|a| Delivery::new(a, "q", &publication).with_setting(Some(&queue)))
        .collect();
    let results =
        futures_util::future::join_all(deliveries.iter().map(|d| output.dispatch(d))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let mut bodies = Vec::new();
    for _ in 0..3 {
        bodies.extend(receive_all(&aws, &url).await);
    }
    bodies.sort();
    let mut expected: Vec<String> = (0..12).map(|i| format!("{{\"n\":{i}}}")).collect();
    expected.sort();
    assert_eq!(bodies, expected, "every message arrived once");
}

#[tokio::test]
async fn aws_sns_vector_publication() {
    let Some(endpoint) = moto_endpoint("aws_sns_vector_publication") else {
        return;
    };
    let aws = local_aws(&endpoint).await;
    let v = vector("aws-sns-1");
    let expected = &call(&v, 0)["params"];
    let topic = setting(&v).unwrap();
    let created = aws.sns().create_topic().name(topic).send().await.unwrap();
    assert_eq!(
        created.topic_arn().unwrap(),
        expected["TopicArn"].as_str().unwrap()
    );
    let capture = unique("sns-capture");
    let url = fresh_queue(&aws, &capture).await;
    let queue_arn = format!("arn:aws:sqs:us-east-1:123456789012:{capture}");
    aws.sns()
        .subscribe()
        .topic_arn(created.topic_arn().unwrap())
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .unwrap();

    dispatch_vector(&AwsSns::with_aws(aws.clone()), &v)
        .await
        .unwrap();

    let messages = receive_all(&aws, &url).await;
    assert_eq!(messages.len(), 1, "one notification");
    let notification: Value = serde_json::from_str(&messages[0]).unwrap();
    assert_eq!(notification["TopicArn"], expected["TopicArn"]);
    assert_eq!(notification["Subject"], expected["Subject"], "subject");
    assert_eq!(
        notification["Message"], expected["Message"],
        "message bytes"
    );
}

#[tokio::test]
async fn aws_firehose_vector_record() {
    let Some(endpoint) = moto_endpoint("aws_firehose_vector_record") else {
        return;
    };
    let aws = local_aws(&endpoint).await;
    let v = vector("aws-firehose-1");
    let expected = &call(&v, 0)["params"];
    let stream = expected["DeliveryStreamName"].as_str().unwrap();
    assert_eq!(setting(&v), Some(stream));
    let bucket = fresh_stream(&aws, stream).await;

    dispatch_vector(&AwsFirehose::with_aws(aws.clone()), &v)
        .await
        .unwrap();

    let stored = objects(&aws, &bucket).await;
    assert_eq!(stored.len(), 1);
    let data = String::from_utf8(stored[0].1.clone()).unwrap();
    assert_eq!(
        data,
        expected["Record"]["Data"].as_str().unwrap(),
        "record bytes"
    );
    let parsed: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(parsed, call(&v, 0)["params_json"]["Record.Data"]);
}

#[tokio::test]
async fn aws_firehose_refuses_records_over_a_million_characters() {
    let Some(endpoint) = moto_endpoint("aws_firehose_refuses_records_over_a_million_characters")
    else {
        return;
    };
    let aws = local_aws(&endpoint).await;
    let stream = unique("big-stream");
    let bucket = fresh_stream(&aws, &stream).await;
    let output = AwsFirehose::with_aws(aws.clone());
    let alert = Alert::new("r", json!({}), ["aws-firehose:big"]);
    // {"x":"…"}\n is 9 characters plus the value.
    let mut at_limit = Publication::new();
    at_limit.insert("x", "a".repeat(1_000_000 - 9));
    let mut over = Publication::new();
    over.insert("x", "a".repeat(1_000_000 - 8));
    let ok = output
        .dispatch(&Delivery::new(&alert, "big", &at_limit).with_setting(Some(&stream)))
        .await;
    assert!(ok.is_ok(), "1,000,000 characters are sent: {ok:?}");
    let refused = output
        .dispatch(&Delivery::new(&alert, "big", &over).with_setting(Some(&stream)))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Rejected);
    assert!(!refused.is_retryable());
    let stored = objects(&aws, &bucket).await;
    assert_eq!(
        stored.len(),
        1,
        "only the record at the limit reached Firehose"
    );
    assert_eq!(stored[0].1.len(), 1_000_000);
}

#[tokio::test]
async fn required_firehose_output_delivers_every_alert() {
    let Some(endpoint) = moto_endpoint("required_firehose_output_delivers_every_alert") else {
        return;
    };
    let aws = local_aws(&endpoint).await;
    // The processor's outputs use the process-wide configuration: this test is the only one
    // of this binary that relies on it.
    Aws::install(aws.clone()).unwrap();
    let prefix = unique("acme").replace('-', "_");
    let stream = format!("{prefix}_streamalert_alert_delivery");
    let bucket = fresh_stream(&aws, &stream).await;
    let mut config = OutputsConfig::from_json(r#"{"stdout": ["console"]}"#).unwrap();
    let required = required_outputs(&mut config, Some(&prefix));
    assert_eq!(required, ["aws-firehose:alerts"]);
    let processor = Processor::new(config);
    let alert = Alert::new(
        "r",
        json!({"user": "root"}),
        ["aws-firehose:alerts", "stdout:console"],
    );
    let report = processor.deliver(&alert).await;
    assert!(report["aws-firehose:alerts"].is_ok(), "{report:?}");

    let stored = objects(&aws, &bucket).await;
    assert_eq!(stored.len(), 1);
    let mut expected =
        streamalert::json::PythonJson::COMPACT.dump(&Value::Object(alert.output_dict()));
    expected.push('\n');
    assert_eq!(String::from_utf8(stored[0].1.clone()).unwrap(), expected);
}

/// Captures the message of every event logged while it is the default subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<(tracing::Level, String)>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Captured {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "message" {
                    self.0 = value.to_owned();
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), message.0));
    }
}

#[tokio::test]
async fn aws_cloudwatch_log_vector_log_line_and_log_events() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let v = vector("aws-cloudwatch-log-1");
    let expected = &v["expected"]["log"][0];
    let level: tracing::Level = expected["level"].as_str().unwrap().parse().unwrap();
    let expected = expected["message"].as_str().unwrap();
    let alert = vector_alert(&v);
    let publication = publication(&alert);

    // StreamAlert's behaviour (list-style descriptor): one log line, and the vector's calls
    // (none) reach an endpoint that records every request.
    let endpoint = MockServer::start().await;
    let output = AwsCloudwatchLog::with_aws(local_aws(&endpoint.uri()).await);
    let captured = Captured::default();
    streamalert_tests::install_global_subscriber();
    let guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(captured.clone()));
    let delivery = Delivery::new(&alert, "unit_test_default", &publication);
    let result = output.dispatch(&delivery).await;
    drop(guard);
    assert_eq!(
        Value::Bool(result.is_ok()),
        v["expected"]["dispatch_result"]
    );
    let calls = endpoint.received_requests().await.unwrap();
    assert_eq!(
        calls.len(),
        v["expected"]["calls"].as_array().unwrap().len(),
        "{calls:?}"
    );
    let lines = captured.0.lock().unwrap().clone();
    assert_eq!(lines, [(level, expected.to_owned())]);

    // Beyond StreamAlert: a descriptor mapped to a log group also gets the message as an event.
    let Some(endpoint) = moto_endpoint("aws_cloudwatch_log_vector_log_line_and_log_events") else {
        return;
    };
    let aws = local_aws(&endpoint).await;
    let group = format!("/streamalert/{}", unique("alerts"));
    aws.cloudwatchlogs()
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    let output = AwsCloudwatchLog::with_aws(aws.clone());
    let delivery =
        Delivery::new(&alert, "unit_test_default", &publication).with_setting(Some(&group));
    output.dispatch(&delivery).await.unwrap();
    let events = aws
        .cloudwatchlogs()
        .get_log_events()
        .log_group_name(&group)
        .log_stream_name(streamalert::outputs::aws_cloudwatch_log::DEFAULT_LOG_STREAM)
        .send()
        .await
        .unwrap();
    let messages: Vec<&str> = events.events().iter().filter_map(|e| e.message()).collect();
    assert_eq!(
        messages,
        [expected],
        "the log event is the vector's log line"
    );
}

#[tokio::test]
async fn aws_ses_vector_raw_message() {
    let Some(endpoint) = moto_endpoint("aws_ses_vector_raw_message") else {
        return;
    };
    let aws = local_aws(&endpoint).await;
    let v = vector("aws-ses-1");
    let expected = &call(&v, 0)["params"];
    let creds = &v["credentials"];
    aws.ses()
        .verify_email_identity()
        .email_address(creds["from_email"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let sent_before = moto_raw_messages(&endpoint).await.len();

    dispatch_vector(&AwsSes::with_aws(aws.clone()), &v)
        .await
        .unwrap();

    let messages = moto_raw_messages(&endpoint).await;
    assert_eq!(messages.len(), sent_before + 1, "one message sent");
    let sent = messages.last().unwrap();
    assert_eq!(sent["source"], expected["Source"]);
    // moto records the Destinations parameter followed by the To header's addresses again.
    let mut destinations: Vec<&str> = sent["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    destinations.dedup_by(|a, b| a == b);
    destinations.sort_unstable();
    destinations.dedup();
    let wanted: Vec<&str> = expected["Destinations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(destinations, wanted, "Destinations");
    let got = parse_mime(sent["raw_data"].as_str().unwrap());
    let want = parse_mime(expected["RawMessage"]["Data"].as_str().unwrap());
    assert_same_mime(&got, &want);
}

/// Same structure, headers (boundaries aside) and decoded parts.
fn assert_same_mime(got: &aws_support::Mime, want: &aws_support::Mime) {
    assert_eq!(got.header_names(), want.header_names());
    for (name, value) in &want.headers {
        if name == "Content-Type" && value.starts_with("multipart/") {
            let kind = |v: &str| v.split(';').next().unwrap().to_owned();
            assert_eq!(kind(got.header(name).unwrap()), kind(value));
        } else {
            assert_eq!(got.header(name), Some(value.as_str()), "header {name}");
        }
    }
    assert_eq!(got.parts.len(), want.parts.len(), "number of parts");
    if want.parts.is_empty() {
        assert_eq!(got.decoded(), want.decoded(), "decoded body");
    }
    for (g, w) in got.parts.iter().zip(&want.parts) {
        assert_same_mime(g, w);
    }
}

async fn moto_raw_messages(endpoint: &str) -> Vec<Value> {
    let text = http_get(&format!("{endpoint}/moto-api/data.json")).await;
    let data: Value = serde_json::from_str(&text).unwrap();
    data["ses"]["RawMessage"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A GET through the SDK's own HTTP stack is not at hand; a plain TCP request suffices here.
async fn http_get(url: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!("GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8(response).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    body.to_owned()
}

// ------------------------------------------------------------------------------------------
// Lambda: a local HTTP capture of the SDK's requests

fn decode_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

async fn capture() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("^/2015-03-31/functions/.+/invocations$"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/$"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>\
             <Credentials><AccessKeyId>AK</AccessKeyId><SecretAccessKey>SK</SecretAccessKey>\
             <SessionToken>ST</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials>\
             <AssumedRoleUser><AssumedRoleId>AROA:streamalert_alert_processor</AssumedRoleId>\
             <Arn>arn:aws:sts::11111111:assumed-role/my_role/streamalert_alert_processor</Arn></AssumedRoleUser>\
             </AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>",
            "text/xml",
        ))
        .mount(&server)
        .await;
    server
}

/// Checks one captured `Invoke` against the vector's call.
fn assert_invoke(request: &wiremock::Request, call: &Value) {
    let params = &call["params"];
    let function = decode_path(request.url.path())
        .strip_prefix("/2015-03-31/functions/")
        .unwrap()
        .strip_suffix("/invocations")
        .unwrap()
        .to_owned();
    assert_eq!(
        function,
        params["FunctionName"].as_str().unwrap(),
        "FunctionName"
    );
    let qualifier = request
        .url
        .query_pairs()
        .find(|(k, _)| k == "Qualifier")
        .map(|(_, v)| v.into_owned());
    assert_eq!(
        qualifier.as_deref(),
        params["Qualifier"].as_str(),
        "Qualifier"
    );
    assert_eq!(
        request
            .headers
            .get("x-amz-invocation-type")
            .unwrap()
            .to_str()
            .unwrap(),
        params["InvocationType"].as_str().unwrap()
    );
    assert_eq!(
        std::str::from_utf8(&request.body).unwrap(),
        params["Payload"].as_str().unwrap(),
        "payload bytes"
    );
    let payload: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(payload, call["params_json"]["Payload"]);
}

#[tokio::test]
async fn aws_lambda_vector_invoke_captured() {
    let server = capture().await;
    let aws = local_aws(&server.uri()).await;
    let v = vector("aws-lambda-1");
    dispatch_vector(&AwsLambda::with_aws(aws), &v)
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_invoke(&requests[0], call(&v, 0));

    // The publication's @aws-lambda.alert_data replaces the record; a qualifier is sent.
    let server = capture().await;
    let aws = local_aws(&server.uri()).await;
    let alert = vector_alert(&v);
    let mut custom = Publication::new();
    custom.insert("@aws-lambda.alert_data", json!({"b": 1.0, "a": "é"}));
    let delivery = Delivery::new(&alert, "q", &custom).with_setting(Some("fn:production"));
    AwsLambda::with_aws(aws).dispatch(&delivery).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    let expected = json!({"params": {"FunctionName": "fn", "Qualifier": "production",
        "InvocationType": "Event", "Payload": "{\"b\":1.0,\"a\":\"\\u00e9\"}"},
        "params_json": {"Payload": {"b": 1.0, "a": "é"}}});
    assert_invoke(&requests[0], &expected);
}

#[tokio::test]
async fn aws_lambda_v2_vector_assume_role_then_invoke_captured() {
    let server = capture().await;
    let aws = local_aws(&server.uri()).await;
    let v = vector("aws-lambda-v2-1");
    dispatch_vector(&AwsLambdaV2::with_aws(aws), &v)
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "AssumeRole, then Invoke");
    let sts = &requests[0];
    let form: Vec<(String, String)> = url_form(&sts.body);
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(field("Action"), Some("AssumeRole"));
    let assume = &call(&v, 0)["params"];
    assert_eq!(field("RoleArn"), assume["RoleArn"].as_str());
    assert_eq!(field("RoleSessionName"), assume["RoleSessionName"].as_str());
    assert!(header(sts, "authorization").contains("Credential=testing/"));

    let invoke = &requests[1];
    assert_invoke(invoke, call(&v, 1));
    let client = &call(&v, 1)["client"]["kwargs"];
    assert!(
        header(invoke, "authorization").contains(&format!(
            "Credential={}/",
            client["aws_access_key_id"].as_str().unwrap()
        )),
        "signed with the assumed role's key"
    );
    assert_eq!(
        header(invoke, "x-amz-security-token"),
        client["aws_session_token"]
    );
    assert!(header(invoke, "authorization").contains(&format!(
        "/{}/lambda/",
        client["region_name"].as_str().unwrap()
    )));
}

#[tokio::test]
async fn aws_lambda_v2_without_role_or_qualifier_invokes_directly() {
    let server = capture().await;
    let aws = local_aws(&server.uri()).await;
    let credentials = Credentials::from_iter([
        (
            "lambda_function_arn",
            "arn:aws:lambda:us-east-1:11111111:function:f",
        ),
        ("function_qualifier", ""),
        ("assume_role_arn", ""),
    ]);
    let alert = Alert::new("r", json!({"k": 1}), ["aws-lambda-v2:x"]);
    let publication = Publication::new();
    let delivery = Delivery::new(&alert, "x", &publication).with_credentials(&credentials);
    AwsLambdaV2::with_aws(aws.clone())
        .dispatch(&delivery)
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "no AssumeRole");
    assert!(requests[0].url.query().is_none(), "no Qualifier");
    assert!(header(&requests[0], "authorization").contains("Credential=testing/"));

    let none = Credentials::default();
    let missing = Delivery::new(&alert, "x", &publication).with_credentials(&none);
    let error = AwsLambdaV2::with_aws(aws)
        .dispatch(&missing)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Credentials);
}

fn header(request: &wiremock::Request, name: &str) -> String {
    request
        .headers
        .get(name)
        .map(|h| h.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn url_form(body: &[u8]) -> Vec<(String, String)> {
    let text = std::str::from_utf8(body).unwrap();
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode_path(k), decode_path(&v.replace('+', " "))))
        .collect()
}

#[tokio::test]
async fn firehose_batch_partial_failure_fails_only_the_rejected_record() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"FailedPutCount":1,"Encrypted":false,"RequestResponses":[{"RecordId":"a"},{"ErrorCode":"ServiceUnavailableException","ErrorMessage":"Slow down."},{"RecordId":"c"}]}"#,
            "application/x-amz-json-1.1",
        ))
        .mount(&server)
        .await;
    let aws = local_aws(&server.uri()).await;
    let output = AwsFirehose::with_aws(aws);
    let alerts: Vec<Alert> = (0..3)
        .map(|i| Alert::new("r", json!({"i": i}), ["aws-firehose:s"]))
        .collect();
    let publications: Vec<Publication> = alerts
        .iter()
        .map(|a| Publication::from(a.output_dict()))
        .collect();
    let deliveries: Vec<Delivery<'_>> = alerts
        .iter()
        .zip(&publications)
        .map(|(a, p)| Delivery::new(a, "s", p).with_setting(Some("stream")))
        .collect();
    let results =
        futures_util::future::join_all(deliveries.iter().map(|d| output.dispatch(d))).await;
    let ok: Vec<bool> = results.iter().map(Result::is_ok).collect();
    assert_eq!(ok, [true, false, true]);
    let failed = results[1].as_ref().unwrap_err();
    assert!(failed.is_retryable(), "{failed}");
    assert!(failed.message().contains("ServiceUnavailableException"));

    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests.len(),
        1,
        "one PutRecordBatch for the three deliveries"
    );
    assert_eq!(
        header(&requests[0], "x-amz-target"),
        "Firehose_20150804.PutRecordBatch"
    );
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["DeliveryStreamName"], "stream");
    let sent: Vec<String> = body["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            String::from_utf8(aws_support::base64_decode(r["Data"].as_str().unwrap())).unwrap()
        })
        .collect();
    let expected: Vec<String> = publications
        .iter()
        .map(streamalert::outputs::aws_firehose::record_data)
        .collect();
    assert_eq!(sent, expected, "the three records, in order");
}

#[tokio::test]
async fn aws_error_kinds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            r#"{"__type":"ResourceNotFoundException","message":"Stream nope not found"}"#,
            "application/x-amz-json-1.1",
        ))
        .mount(&server)
        .await;
    let aws = local_aws(&server.uri()).await;
    let alert = Alert::new("r", json!({}), ["aws-firehose:s"]);
    let publication = Publication::new();
    let delivery = Delivery::new(&alert, "s", &publication).with_setting(Some("nope"));
    let error = AwsFirehose::with_aws(aws)
        .dispatch(&delivery)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Rejected);
    assert_eq!(error.status(), Some(400));
    assert!(
        error.message().contains("ResourceNotFoundException"),
        "{error}"
    );

    let unconfigured = Delivery::new(&alert, "s", &publication);
    let error = AwsS3::default().dispatch(&unconfigured).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
}

#[test]
fn properties_follow_the_spec() {
    let names = |o: &dyn Output| o.properties().iter().map(|p| p.name).collect::<Vec<_>>();
    assert_eq!(names(&AwsCloudwatchLog::default()), ["descriptor"]);
    assert_eq!(names(&AwsFirehose::default()), ["descriptor", "aws_value"]);
    assert_eq!(names(&AwsLambda::default()), ["descriptor", "aws_value"]);
    assert_eq!(
        names(&AwsLambdaV2::default()),
        [
            "descriptor",
            "lambda_function_arn",
            "function_qualifier",
            "assume_role_arn"
        ]
    );
    assert_eq!(names(&AwsS3::default()), ["descriptor", "aws_value"]);
    assert_eq!(
        names(&AwsSes::default()),
        ["descriptor", "from_email", "to_emails"]
    );
    assert_eq!(names(&AwsSns::default()), ["descriptor", "aws_value"]);
    assert_eq!(names(&AwsSqs::default()), ["descriptor", "aws_value"]);
    let lambda = AwsLambda::default().properties();
    assert_eq!(lambda[1].restrictions, &[' ']);
    let ses = AwsSes::default().properties();
    assert!(ses[1].secret && ses[2].secret && !ses[0].secret);
    for service in [
        "aws-cloudwatch-log",
        "aws-firehose",
        "aws-lambda",
        "aws-lambda-v2",
        "aws-s3",
        "aws-ses",
        "aws-sns",
        "aws-sqs",
    ] {
        assert!(
            streamalert::registry().output(service).is_some(),
            "{service} registered"
        );
    }
}

#[test]
fn sns_subject_rules() {
    let alert = Alert::new("rule", json!({}), ["aws-sns:t"]);
    let (subject, message) = AwsSns::subject_and_message(&alert, &Publication::new());
    assert_eq!(subject, format!("rule triggered alert {}", alert.alert_id));
    assert_eq!(message, "{}");
    let mut custom = Publication::new();
    custom.insert("@aws-sns.topic", "x".repeat(100));
    custom.insert("@aws-sns.message", "plain text");
    let (subject, message) = AwsSns::subject_and_message(&alert, &custom);
    assert_eq!(
        subject,
        format!("{} ... {}", "x".repeat(47), "x".repeat(47))
    );
    assert_eq!(subject.len(), 99);
    assert_eq!(message, "plain text");
    let mut exact = Publication::new();
    exact.insert("@aws-sns.topic", "y".repeat(99));
    assert_eq!(
        AwsSns::subject_and_message(&alert, &exact).0,
        "y".repeat(99)
    );
}

#[test]
fn ses_mime_options() {
    let alert = Alert::new("rule", json!({"b": 1, "a": "é"}), ["aws-ses:t"]);
    let mut p = Publication::new();
    p.insert("@aws-ses.subject", "Custom café");
    p.insert("@aws-ses.attach_record", false);
    p.insert("@aws-ses.attachments", json!({"notes.txt": "hello"}));
    p.insert("@aws-ses.body", json!({"html": "<p>hi</p>", "plain": "hi"}));
    let mime = parse_mime(&AwsSes::mime_message(&alert, &p, "f@x", "a@x,b@x"));
    assert_eq!(mime.header("To"), Some("a@x,b@x"));
    assert_eq!(mime.header("Subject"), Some("=?utf-8?b?Q3VzdG9tIGNhZsOp?="));
    assert_eq!(
        mime.parts.len(),
        2,
        "no record.json: the attachment and the body"
    );
    assert_eq!(
        mime.parts[0].header("Content-Disposition"),
        Some("attachment; filename=\"notes.txt\"")
    );
    assert_eq!(mime.parts[0].decoded(), b"hello");
    let alternative = &mime.parts[1];
    assert!(
        alternative
            .header("Content-Type")
            .unwrap()
            .starts_with("multipart/alternative;")
    );
    let types: Vec<_> = alternative
        .parts
        .iter()
        .map(|p| p.header("Content-Type").unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "text/html; charset=\"us-ascii\"",
            "text/plain; charset=\"us-ascii\""
        ]
    );

    let default = parse_mime(&AwsSes::mime_message(
        &alert,
        &Publication::new(),
        "f@x",
        "t@x",
    ));
    assert_eq!(
        String::from_utf8(default.parts[0].decoded()).unwrap(),
        "{\n  \"a\": \"\\u00e9\",\n  \"b\": 1\n}",
        "record.json is sorted, indented, ASCII-escaped"
    );
}

// ------------------------------------------------------------------------------------------
// Batching: the calls of concurrent deliveries, counted at a capturing endpoint

/// An endpoint answering SQS (`GetQueueUrl`, `SendMessage`, `SendMessageBatch`, every message
/// accepted) and CloudWatch Logs (`PutLogEvents`); it records every request.
async fn batch_endpoint() -> MockServer {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(method("POST"))
        .respond_with(move |request: &wiremock::Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            let (reply, protocol) = match header(request, "x-amz-target").as_str() {
                "AmazonSQS.GetQueueUrl" => (
                    json!({"QueueUrl": format!("{uri}/123456789012/{}", body["QueueName"].as_str().unwrap())}),
                    "1.0",
                ),
                "AmazonSQS.SendMessage" => (json!({"MessageId": "m", "MD5OfMessageBody": "-"}), "1.0"),
                "AmazonSQS.SendMessageBatch" => {
                    let ok: Vec<Value> = body["Entries"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| json!({"Id": e["Id"], "MessageId": "m", "MD5OfMessageBody": "-"}))
                        .collect();
                    (json!({"Successful": ok, "Failed": []}), "1.0")
                }
                "Logs_20140328.PutLogEvents" => (json!({"nextSequenceToken": "1"}), "1.1"),
                other => {
                    return ResponseTemplate::new(400).set_body_string(format!("unexpected {other}"));
                }
            };
            ResponseTemplate::new(200).set_body_raw(
                reply.to_string(),
                format!("application/x-amz-json-{protocol}").as_str(),
            )
        })
        .mount(&server)
        .await;
    server
}

/// Each request `server` received: its operation and how many messages or events it carried.
async fn batch_calls(server: &MockServer) -> Vec<(String, usize)> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            let target = header(request, "x-amz-target");
            let items = match target.as_str() {
                "AmazonSQS.SendMessageBatch" => body["Entries"].as_array().unwrap().len(),
                "Logs_20140328.PutLogEvents" => body["logEvents"].as_array().unwrap().len(),
                _ => 1,
            };
            (target, items)
        })
        .collect()
}

/// Dispatches one delivery per publication to `output` (descriptor `d`, setting `setting`), all
/// at once; every one must succeed.
async fn dispatch_all(
    output: &dyn Output,
    service: &str,
    setting: &str,
    publications: &[Publication],
) {
    let alerts: Vec<Alert> = (0..publications.len())
        .map(|i| Alert::new("r", json!({"n": i}), [format!("{service}:d")]))
        .collect();
    let deliveries: Vec<Delivery<'_>> = alerts
        .iter()
        .zip(publications)
        .map(|(a, p)| Delivery::new(a, "d", p).with_setting(Some(setting)))
        .collect();
    let results =
        futures_util::future::join_all(deliveries.iter().map(|d| output.dispatch(d))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
}

fn calls(expected: &[(&str, usize)]) -> Vec<(String, usize)> {
    expected
        .iter()
        .map(|(t, n)| ((*t).to_owned(), *n))
        .collect()
}

#[tokio::test]
async fn aws_sqs_sends_concurrent_deliveries_ten_messages_per_call() {
    let server = batch_endpoint().await;
    let output = AwsSqs::with_aws(local_aws(&server.uri()).await);
    dispatch_all(&output, "aws-sqs", "queue", &vec![Publication::new(); 21]).await;
    assert_eq!(
        batch_calls(&server).await,
        calls(&[
            ("AmazonSQS.GetQueueUrl", 1),
            ("AmazonSQS.SendMessageBatch", 10),
            ("AmazonSQS.GetQueueUrl", 1),
            ("AmazonSQS.SendMessageBatch", 10),
            ("AmazonSQS.GetQueueUrl", 1),
            ("AmazonSQS.SendMessage", 1),
        ]),
        "21 messages: two full batches, then the last one alone"
    );
}

#[tokio::test]
async fn aws_sqs_batches_hold_at_most_256_kib() {
    let server = batch_endpoint().await;
    let output = AwsSqs::with_aws(local_aws(&server.uri()).await);
    // Each message is its publication's `@aws-sqs.message_data`: about 100,000 bytes, so two
    // fit in 256 KiB and three do not.
    let mut big = Publication::new();
    big.insert("@aws-sqs.message_data", json!({"pad": "x".repeat(100_000)}));
    dispatch_all(&output, "aws-sqs", "queue", &vec![big; 5]).await;
    assert_eq!(
        batch_calls(&server).await,
        calls(&[
            ("AmazonSQS.GetQueueUrl", 1),
            ("AmazonSQS.SendMessageBatch", 2),
            ("AmazonSQS.GetQueueUrl", 1),
            ("AmazonSQS.SendMessageBatch", 2),
            ("AmazonSQS.GetQueueUrl", 1),
            ("AmazonSQS.SendMessage", 1),
        ])
    );
}

#[tokio::test]
async fn aws_cloudwatch_log_sends_up_to_10000_events_per_call() {
    let server = batch_endpoint().await;
    let output = AwsCloudwatchLog::with_aws(local_aws(&server.uri()).await);
    dispatch_all(
        &output,
        "aws-cloudwatch-log",
        "group",
        &vec![Publication::new(); 10_001],
    )
    .await;
    assert_eq!(
        batch_calls(&server).await,
        calls(&[
            ("Logs_20140328.PutLogEvents", 10_000),
            ("Logs_20140328.PutLogEvents", 1),
        ])
    );
}

#[tokio::test]
async fn aws_cloudwatch_log_batches_hold_at_most_1_mib() {
    let server = batch_endpoint().await;
    let output = AwsCloudwatchLog::with_aws(local_aws(&server.uri()).await);
    // Events of about 200,000 bytes: five fit in 1 MiB, six do not.
    let mut big = Publication::new();
    big.insert("pad", "x".repeat(200_000));
    dispatch_all(&output, "aws-cloudwatch-log", "group", &vec![big; 12]).await;
    assert_eq!(
        batch_calls(&server).await,
        calls(&[
            ("Logs_20140328.PutLogEvents", 5),
            ("Logs_20140328.PutLogEvents", 5),
            ("Logs_20140328.PutLogEvents", 2),
        ])
    );
}
