//! The public output vectors of the ticketing and response outputs (`jira`, `jira-v2`, `github`,
//! `victorops`, `komand`, `phantom`, `carbonblack`, `demisto`) against a mock server, and the
//! Demisto label vectors (`output-helpers/demisto-*.json`).
//!
//! Each vector is loaded from `tests/vectors/`; its URL credentials are rebased onto the mock
//! server (vectors README, "Credentials"); each recorded call is answered once, in order; the
//! dispatch runs with one attempt per request (README, "Retries"). The mock must then have
//! received exactly the recorded requests: method, path, query, the headers that matter, the
//! JSON body as a value, and — in a test of its own — the body byte for byte.

use crate::support::saas::{
    self, block_on, capture_logs, dispatch_with, rebased_credentials, single_attempt, vector_alert,
};
use serde_json::Value;
use streamalert::DispatchError;
use streamalert::Publication;
use streamalert_tests::vectors::{Harness, Shape};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// One vector, dispatched.
struct Run {
    name: String,
    vector: Value,
    result: Result<(), DispatchError>,
    received: Vec<Request>,
    logs: String,
}

impl Run {
    fn calls(&self) -> Option<&Vec<Value>> {
        self.vector["expected"]["calls"].as_array()
    }
}

/// The output vectors of the services `vectors::SPLIT` gives to this file.
const OUTPUT: &[Shape] = &[Shape {
    kind: "output-dispatch",
    functions: &[],
    fields: saas::HTTP_OUTPUT_FIELDS,
    input: &[],
    expected: &["calls", "dispatch_result", "log", "log_templates"],
}];

/// Dispatches every output vector of this file and runs `check` on each.
async fn run_all(check: impl Fn(&Run)) {
    Harness::new("outputs", OUTPUT)
        .shared_as("saas_ticketing_vectors")
        .run_async(|vector| {
            let check = &check;
            async move {
                saas::check_run_settings(&vector.value)?;
                check(&run(vector.id.clone(), vector.value).await);
                Ok(())
            }
        })
        .await;
}

async fn run(name: String, vector: Value) -> Run {
    let server = MockServer::start().await;
    if let Some(calls) = vector["expected"]["calls"].as_array() {
        for (i, call) in calls.iter().enumerate() {
            assert_eq!(call["kind"], "http", "{name}: only HTTP calls are expected");
            let reply = &call["response"];
            let status = reply["status"].as_u64().expect("a status");
            Mock::given(method(call["method"].as_str().expect("a method")))
                .and(path(call["path"].as_str().expect("a path")))
                .respond_with(
                    ResponseTemplate::new(u16::try_from(status).expect("a status"))
                        .set_body_json(&reply["json"]),
                )
                .up_to_n_times(1)
                .with_priority(u8::try_from(i + 1).expect("fewer than 255 calls"))
                .mount(&server)
                .await;
        }
    }
    let alert = vector_alert(&vector);
    let service = vector["service"].as_str().expect("a service");
    let descriptor = vector["descriptor"].as_str().expect("a descriptor");
    let publication = match vector.get("publication_override") {
        Some(Value::Object(map)) => Publication::from(map.clone()),
        _ => saas::publication(&alert, service, descriptor),
    };
    let credentials = rebased_credentials(&vector, &server.uri());
    let logs = capture_logs();
    let result = dispatch_with(
        single_attempt(),
        service,
        descriptor,
        &alert,
        &publication,
        &credentials,
    )
    .await;
    let logs = logs.text();
    let received = server.received_requests().await.unwrap_or_default();
    Run {
        name,
        vector,
        result,
        received,
        logs,
    }
}

#[test]
fn ticketing_vectors_send_the_recorded_requests() {
    let http_vectors = std::cell::Cell::new(0);
    block_on(run_all(|run| {
        {
            let name = &run.name;
            let expected = run.vector["expected"]["dispatch_result"]
                .as_bool()
                .expect("a dispatch result");
            assert_eq!(
                run.result.is_ok(),
                expected,
                "{name}: dispatch result ({:?})",
                run.result
            );
            let Some(calls) = run.calls() else {
                // The calls were not recorded (the client library was mocked): nothing may reach
                // the server before the output gives up.
                assert!(run.received.is_empty(), "{name}: no request expected");
                return;
            };
            http_vectors.set(http_vectors.get() + 1);
            assert_eq!(
                run.received.len(),
                calls.len(),
                "{name}: number of requests"
            );
            for (i, (request, call)) in run.received.iter().zip(calls).enumerate() {
                let at = format!("{name}: call {i}");
                assert_eq!(request.method.as_str(), call["method"], "{at}: method");
                assert_eq!(request.url.path(), call["path"], "{at}: path");
                assert_eq!(request.url.query(), call["query"].as_str(), "{at}: query");
                for (header, value) in call["headers"].as_object().expect("headers") {
                    let got = request
                        .headers
                        .get(header.as_str())
                        .map(|h| h.to_str().expect("a text header"));
                    assert_eq!(got, value.as_str(), "{at}: header {header}");
                }
                assert!(
                    request.headers.contains_key("user-agent"),
                    "{at}: a User-Agent is sent"
                );
                match call["body_format"].as_str() {
                    Some("json") => {
                        let body: Value = serde_json::from_slice(&request.body)
                            .unwrap_or_else(|e| panic!("{at}: the body is not JSON: {e}"));
                        assert_eq!(body, call["body"], "{at}: body (as JSON value)");
                    }
                    Some("none") => assert!(request.body.is_empty(), "{at}: no body"),
                    other => panic!("{at}: unknown body format {other:?}"),
                }
            }
        }
    }));
    assert!(http_vectors.get() > 0, "no HTTP vector was processed");
}

#[test]
fn ticketing_vectors_send_byte_exact_bodies() {
    let bodies = std::cell::Cell::new(0);
    block_on(run_all(|run| {
        let Some(calls) = run.calls() else { return };
        assert_eq!(
            run.received.len(),
            calls.len(),
            "{}: number of requests",
            run.name
        );
        for (i, (request, call)) in run.received.iter().zip(calls).enumerate() {
            if let Some(text) = call["body_text"].as_str() {
                bodies.set(bodies.get() + 1);
                assert_eq!(
                    String::from_utf8_lossy(&request.body),
                    text,
                    "{}: call {i}: body bytes",
                    run.name
                );
            }
        }
    }));
    assert!(bodies.get() > 0, "no body was compared");
}

#[test]
fn ticketing_vectors_write_the_recorded_log_lines() {
    block_on(run_all(|run| {
        {
            let service = run.vector["service"].as_str().expect("a service");
            let expected = &run.vector["expected"];
            for line in expected["log"].as_array().into_iter().flatten() {
                let message = line["message"].as_str().expect("a message");
                assert!(
                    run.logs.contains(message),
                    "{}: log line {message:?} missing:\n{}",
                    run.name,
                    run.logs
                );
            }
            for template in expected["log_templates"].as_array().into_iter().flatten() {
                let template = template.as_str().expect("a template");
                // `Failed to send alert to %s:%s` is the dispatch wrapper's line (the processor's,
                // here): the output's part of it is the failed result checked above.
                if template.starts_with("Failed to send alert to") {
                    assert!(run.result.is_err(), "{}: dispatch fails", run.name);
                    continue;
                }
                let message = template.replacen("%s", service, 1);
                assert!(
                    run.logs.contains(&message),
                    "{}: log line {message:?} missing:\n{}",
                    run.name,
                    run.logs
                );
            }
        }
    }));
}

#[test]
fn demisto_label_vectors() {
    const HELPERS: &[Shape] = &[Shape {
        kind: "function",
        functions: &["demisto.labels"],
        fields: &["input", "expected"],
        input: &["alert_fixture", "alert_item", "label_data"],
        expected: &["labels"],
    }];
    Harness::new("output-helpers", HELPERS)
        .shared_as("saas_ticketing_vectors")
        .run(|vector| {
            let input = vector.input();
            if input["label_data"] != "the DefaultPublisher publication of the alert" {
                return Err("label data is not the only input form the vectors use".to_owned());
            }
            let alert = vector_alert(input);
            let publication = saas::publication(&alert, "demisto", "unit_test_demisto");
            let labels = streamalert::outputs::demisto::labels(&Value::from(publication));
            if labels == vector.expected()["labels"] {
                Ok(())
            } else {
                Err(format!(
                    "labels {labels}, expected {}",
                    vector.expected()["labels"]
                ))
            }
        });
}
