//! The deployable path end to end: the quickstart binary's `lambda` command, started the way
//! Lambda starts it (the README's package: the binary, the `bootstrap` script its recipe
//! writes, the `conf/` directory), served by a local fake of the Lambda Runtime API, with the
//! alerts table on moto (`scripts/moto-server.sh`, endpoint in `STREAMALERT_TEST_AWS_ENDPOINT`).
//!
//! The fake answers `GET /2018-06-01/runtime/invocation/next` with one event at a time (its
//! `Lambda-Runtime-Aws-Request-Id` and `Lambda-Runtime-Deadline-Ms` headers set) and records
//! what the runtime posts to `…/invocation/{id}/response`, `…/invocation/{id}/error` and
//! `…/runtime/init/error`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::aws_support;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use streamalert::Alert;
use streamalert::ledger::{AlertKey, DynamoDbLedger, Fingerprint, Ledger, NewAlert};

/// What the runtime posted to the fake.
#[derive(Debug, Clone, PartialEq)]
enum Posted {
    /// `POST …/invocation/{id}/response`.
    Response { id: String, body: Value },
    /// `POST …/invocation/{id}/error`, with the `Lambda-Runtime-Function-Error-Type` header.
    Error {
        id: String,
        error_type: Option<String>,
        body: Value,
    },
    /// `POST …/runtime/init/error`.
    InitError { body: Value },
    /// Anything else the runtime asked for.
    Unexpected { method: String, path: String },
}

/// One HTTP request as the fake reads it.
struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// Reads one request from `reader`; `None` when the runtime closed the connection.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let mut body = Vec::new();
    if let Some(length) = headers.get("content-length") {
        body.resize(length.parse().ok()?, 0);
        reader.read_exact(&mut body).ok()?;
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

/// The fake Runtime API: events go in through `events`, what the runtime posts comes out of
/// `posted`.
struct FakeRuntime {
    address: String,
    events: Sender<(String, Value)>,
    posted: Receiver<Posted>,
}

impl FakeRuntime {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (events, queue) = channel::<(String, Value)>();
        let queue = Arc::new(Mutex::new(queue));
        let (post, posted) = channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let queue = queue.clone();
                let post = post.clone();
                std::thread::spawn(move || serve(stream, &queue, &post));
            }
        });
        Self {
            address,
            events,
            posted,
        }
    }

    /// Hands `event` to the runtime's next poll and returns what the runtime posted about it.
    fn invoke(&self, id: &str, event: Value) -> Posted {
        self.events.send((id.to_owned(), event)).unwrap();
        self.next_posted()
    }

    /// What the runtime posts next.
    fn next_posted(&self) -> Posted {
        // A bound, so that a runtime that never posts fails the test instead of hanging it.
        self.posted
            .recv_timeout(Duration::from_secs(180))
            .expect("the runtime posts to the Runtime API")
    }
}

/// Serves one connection of the runtime (keep-alive: one request after another).
fn serve(stream: TcpStream, queue: &Mutex<Receiver<(String, Value)>>, post: &Sender<Posted>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    while let Some(request) = read_request(&mut reader) {
        let body = || serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let path = request.path.as_str();
        if request.method == "GET" && path == "/2018-06-01/runtime/invocation/next" {
            // Blocks until the test has an event, as Lambda does between invocations.
            let Ok((id, event)) = queue.lock().unwrap().recv() else {
                return;
            };
            let deadline = SystemTime::now() + Duration::from_secs(60);
            let deadline_ms = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis();
            let headers = [
                ("Content-Type", "application/json".to_owned()),
                ("Lambda-Runtime-Aws-Request-Id", id),
                ("Lambda-Runtime-Deadline-Ms", deadline_ms.to_string()),
                (
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:prefix_streamalert_alert_processor".to_owned(),
                ),
                ("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793".to_owned()),
            ];
            respond(
                &mut stream,
                "200 OK",
                &headers,
                event.to_string().as_bytes(),
            );
            continue;
        }
        let invocation = path.strip_prefix("/2018-06-01/runtime/invocation/");
        let posted = match (request.method.as_str(), invocation) {
            ("POST", Some(rest)) if rest.ends_with("/response") => Posted::Response {
                id: rest.trim_end_matches("/response").to_owned(),
                body: body(),
            },
            ("POST", Some(rest)) if rest.ends_with("/error") => Posted::Error {
                id: rest.trim_end_matches("/error").to_owned(),
                error_type: request
                    .headers
                    .get("lambda-runtime-function-error-type")
                    .cloned(),
                body: body(),
            },
            ("POST", None) if path == "/2018-06-01/runtime/init/error" => {
                Posted::InitError { body: body() }
            }
            (method, _) => Posted::Unexpected {
                method: method.to_owned(),
                path: path.to_owned(),
            },
        };
        let status = match posted {
            Posted::Unexpected { .. } => "404 Not Found",
            _ => "202 Accepted",
        };
        respond(&mut stream, status, &[], b"{\"status\":\"OK\"}");
        if post.send(posted).is_err() {
            return;
        }
    }
}

/// The README's deployment package, in `dir`: the binary, the `bootstrap` script exactly as
/// the recipe's `printf` writes it (for this binary), and a copy of the quickstart's `conf/`.
fn package(dir: &Path) -> PathBuf {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let line = readme
        .lines()
        .find(|line| line.starts_with("printf '") && line.contains("> pkg/bootstrap"))
        .expect("the README's recipe writes pkg/bootstrap with printf");
    let script = line["printf '".len()..]
        .split('\'')
        .next()
        .unwrap()
        .replace("\\n", "\n")
        .replace("my-alerts", "quickstart");
    assert!(script.starts_with("#!/bin/sh\n"), "{script}");
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(pkg.join("conf")).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_quickstart"), pkg.join("quickstart")).unwrap();
    let bootstrap = pkg.join("bootstrap");
    std::fs::write(&bootstrap, script).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("conf");
    for file in ["outputs.json", "processor.json"] {
        std::fs::copy(conf.join(file), pkg.join("conf").join(file)).unwrap();
    }
    pkg
}

/// Starts `pkg/bootstrap` as Lambda does: in the package directory (`LAMBDA_TASK_ROOT`), with
/// the function's environment, its output in `dir`.
fn start_function(dir: &Path, pkg: &Path, runtime: &str, endpoint: &str, table: &str) -> Child {
    let out = std::fs::File::create(dir.join("function.out")).unwrap();
    let err = std::fs::File::create(dir.join("function.err")).unwrap();
    Command::new(pkg.join("bootstrap"))
        .current_dir(pkg)
        .env_remove("STREAMALERT_CONFIG")
        .env_remove("STREAMALERT_PREFIX")
        .env("LAMBDA_TASK_ROOT", pkg)
        .env("AWS_LAMBDA_RUNTIME_API", runtime)
        .env(
            "AWS_LAMBDA_FUNCTION_NAME",
            "prefix_streamalert_alert_processor",
        )
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("ALERTS_TABLE", table)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("the package's bootstrap starts")
}

/// An osquery login as root: the quickstart's `osquery_root_login` alert, to both its outputs.
fn root_login(host: &str) -> Alert {
    Alert::new(
        "osquery_root_login",
        json!({"name": "pack_incident-response_last", "hostIdentifier": host,
               "columns": {"username": "root", "host": "10.0.2.2"}}),
        ["file:alerts", "stdout:console"],
    )
}

/// The alert ids the `file` output wrote (the quickstart's relative path, in the package).
fn delivered(pkg: &Path) -> Vec<String> {
    std::fs::read_to_string(pkg.join("target/quickstart/alerts.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let alert: Value = serde_json::from_str(line).unwrap();
            alert["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn response(posted: Posted, id: &str, log: &dyn Fn() -> String) -> Value {
    match posted {
        Posted::Response { id: got, body } if got == id => body,
        other => panic!("invocation {id}: {other:?}\n{}", log()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_packaged_function_answers_the_runtime_api() {
    let test = "the_packaged_function_answers_the_runtime_api";
    let Some(endpoint) = aws_support::moto_endpoint(test) else {
        return;
    };
    let aws = aws_support::local_aws(&endpoint).await;
    let table = aws_support::unique("alerts");
    let ledger = DynamoDbLedger::new(&aws, &table);
    ledger.create_table().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pkg = package(dir.path());
    let runtime = FakeRuntime::start();
    let mut function = start_function(dir.path(), &pkg, &runtime.address, &endpoint, &table);
    let log = || std::fs::read_to_string(dir.path().join("function.err")).unwrap_or_default();
    // Alerts the rules engine wrote to the table (pending, nothing claimed).
    let record = |alert: &Alert| {
        let ledger = ledger.clone();
        let new = NewAlert {
            alert: alert.clone().into(),
            intents: BTreeMap::new(),
        };
        async move { ledger.record_alerts(vec![new]).await.unwrap() }
    };

    // A full alerts-table item.
    let full = root_login("web-01");
    let reply = runtime.invoke("req-full", Value::Object(full.to_item()));
    assert_eq!(
        response(reply, "req-full", &log),
        json!({"file:alerts": true, "stdout:console": true})
    );
    assert_eq!(delivered(&pkg), std::slice::from_ref(&full.alert_id));

    // The key form: the alert is read from the table.
    let keyed = root_login("web-02");
    record(&keyed).await;
    let key_event = json!({"AlertID": keyed.alert_id, "RuleName": keyed.rule_name});
    let reply = runtime.invoke("req-key", key_event);
    assert_eq!(
        response(reply, "req-key", &log),
        json!({"file:alerts": true, "stdout:console": true})
    );

    // An array: one result map per event, in order; an event already delivered sends nothing.
    let batched = root_login("web-03");
    let array = json!([
        Value::Object(batched.to_item()),
        Value::Object(full.to_item())
    ]);
    let reply = runtime.invoke("req-array", array);
    assert_eq!(
        response(reply, "req-array", &log),
        json!([{"file:alerts": true, "stdout:console": true}, {}])
    );
    assert_eq!(
        delivered(&pkg),
        [
            full.alert_id.clone(),
            keyed.alert_id.clone(),
            batched.alert_id.clone()
        ]
    );

    // An EventBridge schedule's event: a retry pass delivers what the table holds pending.
    let pending = root_login("web-04");
    record(&pending).await;
    let scheduled = json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
        "time": "2026-12-05T00:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/prefix_streamalert_alert_retry"],
        "detail": {}
    });
    let reply = response(
        runtime.invoke("req-scheduled", scheduled),
        "req-scheduled",
        &log,
    );
    assert_eq!(reply["retry"]["sent"], 2, "{reply}");
    assert_eq!(reply["retry"]["failed"], 0, "{reply}");
    assert_eq!(delivered(&pkg).last(), Some(&pending.alert_id));

    // An invalid event: StreamAlert's `{}`.
    let reply = runtime.invoke("req-invalid", json!({"Record": "Nonsense"}));
    assert_eq!(response(reply, "req-invalid", &log), json!({}));

    // A failing invocation: the alert's outputs are held by another processor (a killed
    // invocation whose lease runs), so this one sends nothing and reports an error.
    let held = root_login("web-05");
    record(&held).await;
    let other = DynamoDbLedger::new(&aws, &table);
    let intents = BTreeMap::from([("file:alerts".to_owned(), Fingerprint::of(b"the other's"))]);
    let claim = other
        .begin_attempt(
            AlertKey::of(&held),
            streamalert::alert::Timestamp::now(),
            intents,
        )
        .await
        .unwrap();
    assert!(claim.is_granted());
    let key_event = json!({"AlertID": held.alert_id, "RuleName": held.rule_name});
    match runtime.invoke("req-held", key_event) {
        Posted::Error {
            id,
            error_type,
            body,
        } => {
            assert_eq!(id, "req-held");
            assert!(error_type.is_some(), "the error type header is set");
            let message = body["errorMessage"].as_str().unwrap_or_default();
            assert!(
                message.contains(&held.alert_id)
                    && message.contains("another processor holds its outputs"),
                "{body}"
            );
        }
        other => panic!("req-held: {other:?}\n{}", log()),
    }
    assert!(!delivered(&pkg).contains(&held.alert_id));

    // The function still serves: the next invocation is answered.
    let reply = runtime.invoke("req-after", json!({"Record": "Nonsense"}));
    assert_eq!(response(reply, "req-after", &log), json!({}));
    function.kill().unwrap();
    function.wait().unwrap();
    assert!(
        runtime.posted.try_recv().is_err(),
        "nothing else was posted (no init error, no unexpected request)"
    );
}

/// A package whose configuration does not load: the function reports it on the Runtime API's
/// init error endpoint (what Lambda shows as the error) and exits, serving nothing.
#[test]
fn a_configuration_that_does_not_load_is_reported_as_an_init_error() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = package(dir.path());
    std::fs::write(pkg.join("conf/outputs.json"), r#"{"file": "#).unwrap();
    let runtime = FakeRuntime::start();
    let endpoint = "http://127.0.0.1:9";
    let mut function = start_function(dir.path(), &pkg, &runtime.address, endpoint, "unused");
    match runtime.next_posted() {
        Posted::InitError { body } => {
            assert_eq!(body["errorType"], "StreamAlert.ConfigError", "{body}");
            let message = body["errorMessage"].as_str().unwrap_or_default();
            assert!(message.contains("outputs.json"), "{body}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(function.wait().unwrap().code(), Some(1));
    let log = std::fs::read_to_string(dir.path().join("function.err")).unwrap();
    assert!(log.contains("outputs.json"), "{log}");
}

/// Outside Lambda the command says what is missing instead of panicking.
#[test]
fn outside_lambda_the_command_names_the_runtime_variables_it_lacks() {
    let out = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .arg("lambda")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("AWS_LAMBDA_FUNCTION_NAME")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("AWS_LAMBDA_RUNTIME_API, AWS_LAMBDA_FUNCTION_NAME not set"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
