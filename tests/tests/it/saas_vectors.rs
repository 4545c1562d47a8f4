//! The output vectors of the SaaS outputs built on the shared HTTP layer (`slack`, `pagerduty`,
//! `pagerduty-v2`, `pagerduty-incident`, `teams`) and the `output-helpers` vectors of `slack` and
//! `pagerduty`, every file read from `vectors/` when the test runs.
//!
//! Each output vector runs against its own wiremock server: the recorded replies are mounted
//! in order, URL-valued credentials are rebased onto the server (vectors README,
//! "Credentials"), the output is dispatched with one attempt per request (README, "Retries"),
//! and the server must have received exactly the recorded requests, in order: method, path,
//! query, the headers that matter, the JSON body as a value — and, in a test of its own, the
//! body byte for byte. A run that checks no vector fails.

use crate::support::saas::{self, PagerDuty};
use serde_json::{Value, json};
use streamalert_tests::vectors::{Harness, Shape};
use wiremock::MockServer;

/// The output vectors: those of the services `vectors::SPLIT` gives to this file.
const OUTPUT: &[Shape] = &[Shape {
    kind: "output-dispatch",
    functions: &[],
    fields: saas::HTTP_OUTPUT_FIELDS,
    input: &[],
    expected: &["calls", "dispatch_result"],
}];

/// The harness over this file's output vectors.
fn outputs() -> Harness {
    Harness::new("outputs", OUTPUT).shared_as("saas_vectors")
}

/// Headers StreamAlert sets on some requests; when a call does not list one, it must be absent.
const SET_BY_STREAMALERT: [&str; 2] = ["From", "Authorization"];

/// One replayed vector: what the output returned and what the server received.
struct Replay {
    id: String,
    vector: Value,
    result: Result<(), streamalert::DispatchError>,
    requests: Vec<wiremock::Request>,
}

async fn replay(vector: Value) -> Replay {
    let id = vector["id"].as_str().unwrap_or_default().to_owned();
    let service = vector["service"].as_str().unwrap_or_default().to_owned();
    let descriptor = vector["descriptor"].as_str().unwrap_or_default().to_owned();
    let server = MockServer::start().await;
    let calls = vector["expected"]["calls"]
        .as_array()
        .cloned()
        .expect("`expected.calls` is a list");
    for (i, call) in calls.iter().enumerate() {
        assert_eq!(call["kind"], "http", "{id}: only HTTP calls are expected");
        let status = u16::try_from(call["response"]["status"].as_u64().unwrap_or(0)).unwrap();
        saas::reply(
            &server,
            call["method"].as_str().unwrap(),
            call["path"].as_str().unwrap(),
            saas::json_reply(status, call["response"]["json"].clone()),
            1,
            u8::try_from(i + 1).unwrap(),
        )
        .await;
    }
    let alert = saas::vector_alert(&vector);
    let publication = match vector.get("publication_override") {
        Some(Value::Object(p)) => p.clone().into(),
        _ => saas::publication(&alert, &service, &descriptor),
    };
    let credentials = saas::rebased_credentials(&vector, &server.uri());
    let result = saas::dispatch_with(
        saas::single_attempt(),
        &service,
        &descriptor,
        &alert,
        &publication,
        &credentials,
    )
    .await;
    let requests = server.received_requests().await.unwrap_or_default();
    Replay {
        id,
        vector,
        result,
        requests,
    }
}

#[tokio::test]
async fn vectors_send_the_recorded_requests() {
    outputs()
        .run_async(|vector| async move {
            saas::check_run_settings(&vector.value)?;
            check_requests(&replay(vector.value).await)
        })
        .await;
}

/// The dispatch result and every request the server received against the recorded calls.
fn check_requests(r: &Replay) -> Result<(), String> {
    let mut failures = Vec::new();
    {
        let id = &r.id;
        let expected = r.vector["expected"]["dispatch_result"].as_bool().unwrap();
        if r.result.is_ok() != expected {
            failures.push(format!(
                "{id}: dispatch result {:?}, expected {expected}",
                r.result
            ));
        }
        let calls = r.vector["expected"]["calls"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if r.requests.len() != calls.len() {
            failures.push(format!(
                "{id}: {} requests received, {} recorded: {:?}",
                r.requests.len(),
                calls.len(),
                r.requests
                    .iter()
                    .map(|q| format!("{} {}", q.method, q.url))
                    .collect::<Vec<_>>()
            ));
            return Err(failures.join("\n"));
        }
        for (n, (request, call)) in r.requests.iter().zip(&calls).enumerate() {
            let at = format!("{id} call {n}");
            let mut check = |what: &str, ok: bool, detail: String| {
                if !ok {
                    failures.push(format!("{at}: {what}: {detail}"));
                }
            };
            check(
                "method",
                request.method.as_str() == call["method"],
                format!("{} vs {}", request.method, call["method"]),
            );
            check(
                "path",
                request.url.path() == call["path"],
                format!("{} vs {}", request.url.path(), call["path"]),
            );
            check(
                "query",
                request.url.query() == call["query"].as_str(),
                format!("{:?} vs {}", request.url.query(), call["query"]),
            );
            let listed = call["headers"].as_object().cloned().unwrap_or_default();
            for (name, value) in &listed {
                let got = request
                    .headers
                    .get(name.as_str())
                    .and_then(|h| h.to_str().ok());
                check(
                    &format!("header {name}"),
                    got == value.as_str(),
                    format!("{got:?} vs {value}"),
                );
            }
            for name in SET_BY_STREAMALERT {
                if !listed.keys().any(|k| k.eq_ignore_ascii_case(name)) {
                    check(
                        &format!("header {name}"),
                        request.headers.get(name).is_none(),
                        "sent but not recorded".to_owned(),
                    );
                }
            }
            let agent = request
                .headers
                .get("user-agent")
                .and_then(|h| h.to_str().ok());
            check(
                "user-agent",
                agent.is_some_and(|a| a.starts_with("streamalert-rs/")),
                format!("{agent:?}"),
            );
            match call["body_format"].as_str() {
                Some("json") => {
                    let body: Result<Value, _> = serde_json::from_slice(&request.body);
                    check(
                        "body (as JSON value)",
                        body.as_ref().ok() == Some(&call["body"]),
                        format!("{body:?}\nvs\n{}", call["body"]),
                    );
                }
                _ => check(
                    "body",
                    request.body.is_empty(),
                    format!("{} bytes sent", request.body.len()),
                ),
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

#[tokio::test]
async fn vectors_send_byte_identical_bodies() {
    let compared = std::cell::Cell::new(0);
    let compared = &compared;
    outputs()
        .run_async(|vector| async move {
            let r = replay(vector.value).await;
            let calls = r.vector["expected"]["calls"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut failures = Vec::new();
            for (n, (request, call)) in r.requests.iter().zip(&calls).enumerate() {
                let Some(text) = call["body_text"].as_str() else {
                    continue; // a call without a body (`body_format` none)
                };
                compared.set(compared.get() + 1);
                if request.body != text.as_bytes() {
                    failures.push(format!(
                        "call {n}: body differs\n sent:     {}\n recorded: {text}",
                        String::from_utf8_lossy(&request.body)
                    ));
                }
            }
            if failures.is_empty() {
                Ok(())
            } else {
                Err(failures.join("\n"))
            }
        })
        .await;
    assert!(compared.get() > 0, "no body was compared");
}

// ---------------------------------------------------------------------------------------------
// output-helpers: slack-* and pagerduty-*
// ---------------------------------------------------------------------------------------------

/// The output-helper vectors of `slack` and `pagerduty` (`vectors::SPLIT`).
const HELPERS: &[Shape] = &[
    Shape {
        kind: "function",
        functions: &["slack.record_to_mrkdwn_lines"],
        fields: &["input", "expected"],
        input: &["value"],
        expected: &["lines"],
    },
    Shape {
        kind: "function",
        functions: &["slack.default_attachments"],
        fields: &["input", "expected"],
        input: &["record", "record_description"],
        expected: &[
            "chunk_lengths",
            "chunks",
            "attachments_sent",
            "titles",
            "first_chunk",
            "warning",
            "attachments",
            "title",
        ],
    },
    Shape {
        kind: "function",
        functions: &["slack.custom_attachments"],
        fields: &["input", "expected"],
        input: &["attachment_count"],
        expected: &["attachments_sent", "warning"],
    },
    Shape {
        kind: "function",
        functions: &["pagerduty.contexts"],
        fields: &["input", "expected"],
        input: &["@pagerduty.contexts"],
        expected: &["contexts"],
    },
    Shape {
        kind: "function",
        functions: &["pagerduty_incident.work_context"],
        fields: &["input", "expected"],
        input: &["context", "incident_note_fails", "responses"],
        expected: &[
            "priority",
            "assignments",
            "sender_verified",
            "dispatch_result",
            "instability_note_call",
        ],
    },
];

#[tokio::test]
async fn output_helper_vectors() {
    Harness::new("output-helpers", HELPERS)
        .shared_as("saas_vectors")
        .run_async(|vector| async move {
            match vector.function() {
                Some("slack.record_to_mrkdwn_lines") => slack_render(&vector.value),
                Some("slack.default_attachments") => slack_split(&vector.value),
                Some("slack.custom_attachments") => slack_custom(&vector.value),
                Some("pagerduty.contexts") => pagerduty_contexts(&vector.value),
                Some("pagerduty_incident.work_context") => {
                    pagerduty_work_context(&vector.value).await
                }
                other => Err(format!("no handler for function {other:?}")),
            }
        })
        .await;
}

fn equal(what: &str, got: &Value, expected: &Value) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!("{what}: got {got}, expected {expected}"))
    }
}

fn slack_render(vector: &Value) -> Result<(), String> {
    let lines = streamalert::outputs::slack::mrkdwn_lines(&vector["input"]["value"], 0);
    equal("lines", &json!(lines), &vector["expected"]["lines"])
}

/// The record of a split vector: given, or (slack-split-4) generated from its description
/// "25 keys '000000'..'000024', each value 148 chars".
fn split_record(vector: &Value) -> Result<Value, String> {
    let input = &vector["input"];
    if !input["record"].is_null() {
        return Ok(input["record"].clone());
    }
    let description = input["record_description"].as_str().unwrap_or_default();
    let numbers: Vec<usize> = description
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let [count, first, last, length] = numbers[..] else {
        return Err(format!(
            "cannot read the record description {description:?}"
        ));
    };
    if last - first + 1 != count {
        return Err(format!("inconsistent record description {description:?}"));
    }
    let record: serde_json::Map<String, Value> = (first..=last)
        .map(|i| (format!("{i:06}"), json!("v".repeat(length))))
        .collect();
    Ok(Value::Object(record))
}

fn slack_split(vector: &Value) -> Result<(), String> {
    let expected = &vector["expected"];
    let alert = streamalert::Alert::new("r", split_record(vector)?, ["slack:c"]);
    let logs = saas::Logs::capture();
    let header = json!("header");
    let attachments = streamalert::outputs::slack::default_attachments(
        &alert,
        &std::borrow::Cow::Borrowed(&header),
        "slack:c",
    );
    let texts: Vec<&str> = attachments.iter().map(|a| a.text.as_str()).collect();
    if let Some(lengths) = expected.get("chunk_lengths") {
        let got: Vec<usize> = texts.iter().map(|t| t.chars().count()).collect();
        equal("chunk lengths", &json!(got), lengths)?;
    }
    for key in ["attachments_sent", "attachments"] {
        if let Some(count) = expected.get(key) {
            equal(key, &json!(attachments.len()), count)?;
        }
    }
    if let Some(title) = expected.get("title") {
        equal("title", &json!(attachments[0].title), title)?;
    }
    if let Some(first) = expected.get("first_chunk") {
        equal("first chunk", &json!(texts[0]), first)?;
    }
    if let Some(chunks) = expected.get("chunks") {
        let title = &attachments[0].title;
        equal(
            "chunks (N of the titles)",
            &json!(title.ends_with(&format!(" of {chunks}):"))),
            &json!(true),
        )?;
    }
    match expected.get("titles") {
        None => {}
        // "FIRST ... LAST": the first and the last title.
        Some(Value::String(titles)) => {
            let (first, last) = titles.split_once(" ... ").ok_or("titles format")?;
            equal("first title", &json!(attachments[0].title), &json!(first))?;
            equal(
                "last title",
                &json!(attachments[attachments.len() - 1].title),
                &json!(last),
            )?;
        }
        // Every title, in order.
        Some(Value::Array(titles)) => {
            let got: Vec<&str> = attachments.iter().map(|a| &*a.title).collect();
            equal("titles", &json!(got), &json!(titles))?;
        }
        Some(other) => return Err(format!("`titles` {other} is neither text nor a list")),
    }
    if let Some(warning) = expected.get("warning") {
        let warning = warning
            .as_array()
            .filter(|w| w.len() == 4)
            .ok_or_else(|| format!("`warning` {warning} is not a list of 4"))?;
        let line = format!(
            "{}-part message truncated to {} parts",
            warning[2], warning[3]
        );
        if !logs.text().contains(&line) {
            return Err(format!("no warning {line:?} in {}", logs.text()));
        }
    }
    Ok(())
}

fn slack_custom(vector: &Value) -> Result<(), String> {
    let count = vector["input"]["attachment_count"].as_u64().unwrap_or(0);
    let custom: Vec<Value> = (0..count)
        .map(|i| json!({"text": format!("attachment {i}")}))
        .collect();
    let logs = saas::Logs::capture();
    let attachments = streamalert::outputs::slack::custom_attachments(&json!(custom), "slack:c")?;
    equal(
        "attachments sent",
        &json!(attachments.len()),
        &vector["expected"]["attachments_sent"],
    )?;
    let warning = vector["expected"]["warning"].as_array().ok_or("warning")?;
    let line = format!(
        "Message with {} custom attachments was truncated to {} attachments",
        warning[1], warning[2]
    );
    if logs.text().contains(&line) {
        Ok(())
    } else {
        Err(format!("no warning {line:?}"))
    }
}

fn pagerduty_contexts(vector: &Value) -> Result<(), String> {
    let got = streamalert::outputs::pagerduty_common::strip_invalid_contexts(
        &vector["input"]["@pagerduty.contexts"],
    );
    equal("contexts", &got, &vector["expected"]["contexts"])
}

/// `pagerduty_incident.work_context` vectors, run as whole dispatches against a scripted
/// PagerDuty whose replies are the vector's `responses`.
async fn pagerduty_work_context(vector: &Value) -> Result<(), String> {
    let input = &vector["input"];
    let expected = &vector["expected"];
    let pd = PagerDuty::start().await;
    let assignee = "assignee@example.com"; // "The assigned user e-mail is not recorded"
    for (route, response) in input["responses"].as_object().into_iter().flatten() {
        let status = u16::try_from(response["status"].as_u64().unwrap_or(200)).unwrap();
        let reply = saas::json_reply(status, response["json"].clone());
        match route.as_str() {
            "GET /priorities" => pd.route("GET", "/priorities", reply, u64::MAX).await,
            "GET /users?query=<email>" => {
                pd.users(assignee, response["json"]["users"].clone()).await
            }
            "GET /users?query=<email_from>" => {
                pd.route("GET", "/users", reply, u64::MAX).await;
            }
            other => return Err(format!("unknown route {other}")),
        }
    }
    let mut context = input["context"].clone();
    if context.get("assigned_user").is_some() {
        context["assigned_user"] = json!(assignee);
    }
    if input["incident_note_fails"] == true {
        pd.route(
            "POST",
            &format!("/incidents/{}/notes", saas::INCIDENT),
            saas::json_reply(500, json!({"error": "note failed"})),
            1,
        )
        .await;
    }
    let result = pd.dispatch(context, Value::Null).await;
    if let Some(ok) = expected.get("dispatch_result") {
        equal("dispatch result", &json!(result.is_ok()), ok)?;
    } else if let Err(e) = &result {
        return Err(format!("dispatch failed: {e}"));
    }
    if let Some(verified) = expected.get("sender_verified") {
        let lines = pd.requests().await;
        equal(
            "sender verified (requests beyond the user look-up)",
            &json!(lines.len() > 1),
            verified,
        )?;
    }
    if let Some(priority) = expected.get("priority") {
        equal("priority", &pd.update().await["priority"], priority)?;
    }
    if let Some(assignments) = expected.get("assignments") {
        let update = pd.update().await;
        equal("assignments", &update["assignments"], assignments)?;
        equal(
            "no escalation policy",
            &json!(update.get("escalation_policy").is_none()),
            &json!(true),
        )?;
    }
    if let Some(call) = expected["instability_note_call"].as_array() {
        // The recorded incident id and "[test]" tag come from StreamAlert's test setup; here
        // they are the scripted incident and this output's service name.
        let errors: Vec<String> = call[1]
            .as_array()
            .ok_or("instability note errors")?
            .iter()
            .map(|e| {
                e.as_str()
                    .unwrap_or_default()
                    .replace("[test]", "[pagerduty-incident]")
                    .replace(call[0].as_str().unwrap_or_default(), saas::INCIDENT)
            })
            .collect();
        let lines: Vec<String> = errors.iter().map(|e| format!("- {e}")).collect();
        let note = format!(
            "StreamAlert failed to correctly setup this incident. Please contact your StreamAlert administrator.\n\nErrors:\n{}",
            lines.join("\n")
        );
        let notes = pd.notes().await;
        equal(
            "notes",
            &json!(notes),
            &json!(["Creating SOX Incident", note]),
        )?;
    }
    Ok(())
}
