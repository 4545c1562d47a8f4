//! Helpers shared by the HTTP output tests (`saas_vectors`, `saas_ticketing_vectors`,
//! `saas_ticketing_flows`, `http_faults`, `pagerduty_incident_flows`): reading vectors, building
//! deliveries, rebasing credentials onto a mock server, capturing log lines, and a scripted
//! PagerDuty REST/Events server.

#![allow(dead_code, unreachable_pub)] // each test file uses a part of this module

use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use streamalert::output::http::{HttpOverrides, RetryPolicy};
use streamalert::output::{Credentials, Delivery, DispatchError, Output};
use streamalert::publisher::Chain;
use streamalert::{Alert, Publication};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The top-level fields of an HTTP output's `output-dispatch` vector (vectors README) beyond the
/// common ones; `fixed_values` (S3 only) is not among them.
pub const HTTP_OUTPUT_FIELDS: &[&str] = &[
    "service",
    "descriptor",
    "output",
    "credentials",
    "outputs_config",
    "environment",
    "alert_fixture",
    "alert_item",
    // Informative: `alert_item.Context` already holds it.
    "alert_context_override",
    "publishers_applied",
    "publication_source",
    "publication_override",
    "harness",
    "expected",
];

/// Fails when an HTTP output vector asks for a run these tests do not make: one attempt per
/// request without merging default properties, no `outputs.json` entry, and a publication from
/// the alert's publishers or the vector's `publication_override`.
pub fn check_run_settings(vector: &Value) -> Result<(), String> {
    let single = json!({"max_attempts_per_request": 1, "default_properties_merged": false});
    if vector["harness"] != single {
        return Err(format!("`harness` {} is not {single}", vector["harness"]));
    }
    if !vector["outputs_config"].is_null() {
        return Err("`outputs_config` is set, but HTTP outputs read no outputs.json".to_owned());
    }
    match (
        vector["publication_source"].as_str(),
        vector.get("publication_override"),
    ) {
        (Some("default-publisher"), None) | (Some("override"), Some(_)) => Ok(()),
        (source, _) => Err(format!(
            "publication_source {source:?} does not match publication_override"
        )),
    }
}

/// A vector file, parsed.
pub fn read_json(file: &Path) -> Value {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The output vector of `service` (`vectors/outputs/<service>-1.json`).
pub fn output_vector(service: &str) -> Value {
    read_json(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("vectors/outputs")
            .join(format!("{service}-1.json")),
    )
}

/// The alert of a vector, built from its alerts-table item.
pub fn vector_alert(vector: &Value) -> Alert {
    Alert::from_item(&vector["alert_item"]).expect("the vector's alert item is valid")
}

/// The `FIXTURE_CB` alert most output vectors use (read from the slack vector).
pub fn fixture_alert() -> Alert {
    vector_alert(&output_vector("slack"))
}

/// The publication `service:descriptor` gets for `alert` (its publishers, else the default).
pub fn publication(alert: &Alert, service: &str, descriptor: &str) -> Publication {
    Chain::for_output(&alert.publishers, service, descriptor)
        .publish(alert)
        .expect("the publisher chain runs")
}

/// [`publication`] with the keys of `extra` (a JSON object, or null for none) added or
/// replaced.
pub fn publication_with(
    alert: &Alert,
    service: &str,
    descriptor: &str,
    extra: Value,
) -> Publication {
    let mut publication = publication(alert, service, descriptor);
    if let Value::Object(extra) = extra {
        for (key, value) in extra {
            publication.insert(key, value);
        }
    }
    publication
}

/// `url` with its scheme and host replaced by `base` (path and query kept).
pub fn rebase(url: &str, base: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = after_scheme
        .find('/')
        .map_or("", |slash| &after_scheme[slash..]);
    format!("{}{rest}", base.trim_end_matches('/'))
}

/// The vector's credentials with every URL value rebased onto `base`; pagerduty-incident also
/// gets `events_url` = `<base>/v2/enqueue` (vectors README, "Credentials").
pub fn rebased_credentials(vector: &Value, base: &str) -> Credentials {
    let mut credentials = Credentials::default();
    if let Some(stored) = vector["credentials"].as_object() {
        for (name, value) in stored {
            let text = value.as_str().expect("credential values are text");
            if text.starts_with("http://") || text.starts_with("https://") {
                credentials.insert(name.clone(), rebase(text, base));
            } else {
                credentials.insert(name.clone(), text);
            }
        }
    }
    if vector["service"] == "pagerduty-incident" {
        credentials.insert(
            "events_url",
            format!("{}/v2/enqueue", base.trim_end_matches('/')),
        );
    }
    credentials
}

/// The registered instance of `service`.
pub fn output(service: &str) -> Box<dyn Output> {
    let entry = streamalert::registry()
        .output(service)
        .unwrap_or_else(|| panic!("no output registered for `{service}`"));
    (entry.make)()
}

/// The ticketing and response outputs (`saas_ticketing_vectors`, `saas_ticketing_flows`).
pub const TICKETING: [&str; 8] = [
    "jira",
    "jira-v2",
    "github",
    "victorops",
    "komand",
    "phantom",
    "carbonblack",
    "demisto",
];

/// One attempt per request, the outputs' own timeouts: how the vectors were recorded.
pub fn single_attempt() -> HttpOverrides {
    HttpOverrides::new().retry(RetryPolicy::SINGLE_ATTEMPT)
}

/// Dispatches `alert` to `service:descriptor` with `overrides` in force.
pub async fn dispatch_with(
    overrides: HttpOverrides,
    service: &str,
    descriptor: &str,
    alert: &Alert,
    publication: &Publication,
    credentials: &Credentials,
) -> Result<(), DispatchError> {
    let output = output(service);
    let delivery = Delivery::new(alert, descriptor, publication).with_credentials(credentials);
    // Each test has its own runtime; pooled connections must not outlive it.
    overrides
        .own_connections()
        .run(output.dispatch(&delivery))
        .await
}

/// Dispatches the fixture alert with its default publication to `service:descriptor`.
pub async fn dispatch_fixture(
    overrides: HttpOverrides,
    service: &str,
    descriptor: &str,
    credentials: &Credentials,
) -> Result<(), DispatchError> {
    let alert = fixture_alert();
    let publication = publication(&alert, service, descriptor);
    dispatch_with(
        overrides,
        service,
        descriptor,
        &alert,
        &publication,
        credentials,
    )
    .await
}

/// Mounts a reply to `verb path` answered `times` times, at `priority` (1 is tried first).
pub async fn reply(
    server: &MockServer,
    verb: &str,
    route: &str,
    response: ResponseTemplate,
    times: u64,
    priority: u8,
) {
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(response)
        .up_to_n_times(times)
        .with_priority(priority)
        .mount(server)
        .await;
}

/// A JSON reply.
pub fn json_reply(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// `METHOD /path?query` of every request the server received, in order.
pub async fn request_lines(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| match r.url.query() {
            Some(q) => format!("{} {}?{q}", r.method, r.url.path()),
            None => format!("{} {}", r.method, r.url.path()),
        })
        .collect()
}

/// The JSON bodies of the requests to `route` (method `verb`), in order.
pub async fn bodies(server: &MockServer, verb: &str, route: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == route)
        .map(|r| serde_json::from_slice(&r.body).expect("a JSON body"))
        .collect()
}

/// Runs `future` on one multi-thread runtime that every test of the binary shares, on the
/// calling thread (so [`Logs`] captures the lines of the outputs it runs).
///
/// For synchronous `#[test]`s that run many dispatches; [`dispatch_with`] gives each dispatch
/// its own connection pool, so nothing depends on which runtime opened a connection.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a tokio runtime")
        })
        .block_on(future)
}

// ---------------------------------------------------------------------------------------------
// Log capture
// ---------------------------------------------------------------------------------------------

/// Starts capturing this thread's log lines ([`Logs::capture`]) after making sure, once per
/// test binary, that a global subscriber (discarding what it receives) is installed: without
/// it, a log call site first reached on a thread that captures nothing is cached as "never
/// enabled", and another test's capture would miss its lines.
pub fn capture_logs() -> Logs {
    streamalert_tests::install_global_subscriber();
    Logs::capture()
}

/// Every log line written while the guard lives, on this thread (tests run on a
/// current-thread runtime, so the outputs' logs are captured too).
pub struct Logs {
    buffer: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::dispatcher::DefaultGuard,
}

struct SharedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for SharedWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Starts capturing every level.
    pub fn capture() -> Self {
        streamalert_tests::install_global_subscriber();
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || SharedWriter(Arc::clone(&writer)))
            .finish();
        let guard = tracing::dispatcher::set_default(&tracing::Dispatch::new(subscriber));
        Self {
            buffer,
            _guard: guard,
        }
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().expect("log buffer")).into_owned()
    }
}

/// Asserts that none of `secrets` appears in `text` (named `what`).
pub fn assert_no_secret<S: AsRef<str>>(what: &str, text: &str, secrets: &[S]) {
    for secret in secrets.iter().map(AsRef::as_ref) {
        assert!(
            !text.contains(secret),
            "{what} contains the secret {secret:?}:\n{text}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// A scripted PagerDuty (Events v2 + REST API)
// ---------------------------------------------------------------------------------------------

/// The requester's e-mail (`email_from`) of [`PagerDuty`].
pub const EMAIL_FROM: &str = "sender@example.com";
/// The REST token of [`PagerDuty`].
pub const TOKEN: &str = "pd-rest-t0ken-secret";
/// The integration (routing) key of [`PagerDuty`].
pub const INTEGRATION_KEY: &str = "pd-integration-k3y-secret";
/// The id of the incident PagerDuty makes for the event.
pub const INCIDENT: &str = "PINC0001";

/// A mock PagerDuty answering every step of `pagerduty-incident` successfully unless a test
/// mounts another reply first ([`PagerDuty::route`], which takes priority).
pub struct PagerDuty {
    pub server: MockServer,
}

impl PagerDuty {
    /// A server whose defaults make a dispatch succeed.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let pd = Self { server };
        Mock::given(method("GET"))
            .and(path("/users"))
            .and(query_param("query", EMAIL_FROM))
            .respond_with(json_reply(200, json!({"users": [{"id": "PREQUESTER"}]})))
            .with_priority(10)
            .mount(&pd.server)
            .await;
        pd.default(
            "POST",
            "/v2/enqueue",
            json!({"dedup_key": "returned_dedup_key"}),
        )
        .await;
        pd.default(
            "GET",
            "/incidents",
            json!({"incidents": [{"id": INCIDENT}]}),
        )
        .await;
        pd.default(
            "PUT",
            &format!("/incidents/{INCIDENT}"),
            json!({"incident": {"id": INCIDENT}}),
        )
        .await;
        pd.default(
            "POST",
            &format!("/incidents/{INCIDENT}/notes"),
            json!({"note": {"id": "PNOTE"}}),
        )
        .await;
        pd.default(
            "POST",
            &format!("/incidents/{INCIDENT}/responder_requests"),
            json!({"responder_request": {"incident": {"id": INCIDENT}}}),
        )
        .await;
        pd
    }

    async fn default(&self, verb: &str, route: &str, body: Value) {
        reply(
            &self.server,
            verb,
            route,
            json_reply(200, body),
            u64::MAX,
            10,
        )
        .await;
    }

    /// Answers `verb route` with `response` (before the defaults), `times` times.
    pub async fn route(&self, verb: &str, route: &str, response: ResponseTemplate, times: u64) {
        reply(&self.server, verb, route, response, times, 1).await;
    }

    /// Answers `GET /users?query=<email>` with `users`.
    pub async fn users(&self, email: &str, users: Value) {
        Mock::given(method("GET"))
            .and(path("/users"))
            .and(query_param("query", email))
            .respond_with(json_reply(200, json!({"users": users})))
            .with_priority(1)
            .mount(&self.server)
            .await;
    }

    /// The credentials of a descriptor pointing at this server.
    pub fn credentials(&self) -> Credentials {
        let uri = self.server.uri();
        Credentials::from_iter([
            ("api", uri.clone()),
            ("events_url", format!("{uri}/v2/enqueue")),
            ("token", TOKEN.to_owned()),
            ("service_name", "svc".to_owned()),
            ("service_id", "PSERVICE".to_owned()),
            ("escalation_policy", "Default policy".to_owned()),
            ("escalation_policy_id", "PPOLICY".to_owned()),
            ("email_from", EMAIL_FROM.to_owned()),
            ("integration_key", INTEGRATION_KEY.to_owned()),
        ])
    }

    /// Dispatches the fixture alert with `context` as its `pagerduty-incident` rule context and
    /// `extra` keys added to its publication, one attempt per request.
    pub async fn dispatch(&self, context: Value, extra: Value) -> Result<(), DispatchError> {
        let mut alert = fixture_alert();
        if !context.is_null() {
            alert
                .context
                .insert("pagerduty-incident".to_owned(), context);
        }
        let publication = publication_with(&alert, "pagerduty-incident", "oncall", extra);
        dispatch_with(
            single_attempt().timeout(None),
            "pagerduty-incident",
            "oncall",
            &alert,
            &publication,
            &self.credentials(),
        )
        .await
    }

    /// `METHOD /path?query` of every request received.
    pub async fn requests(&self) -> Vec<String> {
        request_lines(&self.server).await
    }

    /// How many requests received start with `prefix` (`METHOD /path`).
    pub async fn count(&self, prefix: &str) -> usize {
        self.requests()
            .await
            .iter()
            .filter(|r| r.starts_with(prefix))
            .count()
    }

    /// The `incident` object of the (single) incident update.
    pub async fn update(&self) -> Value {
        let puts = bodies(&self.server, "PUT", &format!("/incidents/{INCIDENT}")).await;
        assert_eq!(puts.len(), 1, "one incident update");
        puts[0]["incident"].clone()
    }

    /// The contents of the notes added, in order.
    pub async fn notes(&self) -> Vec<Value> {
        bodies(
            &self.server,
            "POST",
            &format!("/incidents/{INCIDENT}/notes"),
        )
        .await
        .into_iter()
        .map(|b| b["note"]["content"].clone())
        .collect()
    }
}
