//! Faults of the shared HTTP layer and of the outputs built on it (slack, pagerduty,
//! pagerduty-v2, jira-v2, teams, teams-workflows, webhook), against wiremock: retries (decision
//! Q7), `Retry-After` measured on tokio's paused clock, final 4xx, refused connections, servers
//! that never answer, replies that are not the JSON PagerDuty (Q2) or Jira must send, TLS (Q8),
//! endpoint overrides (Q11), Teams' status handling (Q16), and no secret in any error text,
//! `Debug` output or log line; also the publication keys of slack, pagerduty, pagerduty-v2 and
//! teams (the vectors only use their defaults), teams-workflows' card and webhook's signature.
//!
//! Tests on a paused clock turn the per-attempt timeout off (`HttpOverrides::timeout(None)`),
//! except where the timeout itself is under test: the mock server runs on its own thread, and
//! a paused clock jumps to the next timer whenever the test's runtime waits for it.

use crate::support::saas::{self, Logs, assert_no_secret, json_reply, reply};
use serde_json::{Value, json};
use std::time::Duration;
use streamalert::output::http::{Http, HttpOverrides, RetryPolicy};
use streamalert::output::{Credentials, Delivery, ErrorKind};
use streamalert::{Alert, DispatchError, Publication};
use tokio::time::Instant;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The secret part of the Slack webhook URL used here.
const SLACK_PATH: &str = "/services/T0SECRET/B0SECRET/XxWebhookSecretxX";
/// The PagerDuty routing key used here.
const ROUTING_KEY: &str = "R0UTING-key-secret-0001";
/// The PagerDuty v1 service key used here.
const SERVICE_KEY: &str = "SERV1CE-key-secret-0001";
/// The Teams webhook path used here.
const TEAMS_PATH: &str = "/webhookb2/GUID@GUID/IncomingWebhook/TEAMSSECRET/KEY";

/// The Jira Cloud API token used here.
const JIRA_API_KEY: &str = "J1RA-api-token-secret-0001";
/// The Jira Cloud account of that token (configuration, not a secret: it is shown).
const JIRA_USER: &str = "jira-bot@example.com";
/// Jira's issue creation endpoint (a comment is `<JIRA_ISSUE>/<id>/comment`).
const JIRA_ISSUE: &str = "/rest/api/2/issue";
/// Jira's issue search endpoint.
const JIRA_SEARCH: &str = "/rest/api/2/search";

/// Every secret the tests below use.
const SECRETS: [&str; 8] = [
    SLACK_PATH,
    "XxWebhookSecretxX",
    ROUTING_KEY,
    SERVICE_KEY,
    "TEAMSSECRET",
    saas::TOKEN,
    JIRA_API_KEY,
    // The text `Authorization: Basic` encodes.
    "jira-bot@example.com:J1RA-api-token-secret-0001",
];

/// The full policy, no per-attempt timeout (paused clock).
fn paused() -> HttpOverrides {
    HttpOverrides::new()
        .retry(RetryPolicy::DEFAULT)
        .timeout(None)
}

fn slack(server: &MockServer) -> Credentials {
    Credentials::from_iter([("url", format!("{}{SLACK_PATH}", server.uri()))])
}

fn pagerduty_v2(server: &MockServer) -> Credentials {
    Credentials::from_iter([
        ("url", format!("{}/v2/enqueue", server.uri())),
        ("routing_key", ROUTING_KEY.to_owned()),
    ])
}

fn pagerduty_v1(server: &MockServer) -> Credentials {
    Credentials::from_iter([
        ("url", format!("{}/create_event.json", server.uri())),
        ("service_key", SERVICE_KEY.to_owned()),
    ])
}

/// jira-v2 at `base`, project `SEC`; `aggregate` is `yes` (search, then comment or create) or
/// `no` (create).
fn jira_v2(base: &str, aggregate: &str) -> Credentials {
    Credentials::from_iter([
        ("api_key", JIRA_API_KEY),
        ("user_name", JIRA_USER),
        ("url", base),
        ("project_key", "SEC"),
        ("issue_type", "Task"),
        ("aggregate", aggregate),
    ])
}

/// Jira's reply to a created issue.
fn jira_created() -> ResponseTemplate {
    json_reply(201, json!({"id": "10002", "key": "SEC-2"}))
}

/// The `Authorization` values `server` received: they encode jira-v2's API token, so they are
/// secrets too.
async fn authorizations(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.unwrap_or_default();
    let values: Vec<String> = requests
        .iter()
        .filter_map(|r| r.headers.get("authorization"))
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(!values.is_empty(), "no request carried an Authorization");
    values
}

fn teams(server: &MockServer) -> Credentials {
    Credentials::from_iter([("url", format!("{}{TEAMS_PATH}", server.uri()))])
}

/// The HTTP outputs other than the ticketing ones (those have their own tests in
/// `saas_ticketing_flows`).
const NON_TICKETING: [&str; 7] = [
    "slack",
    "pagerduty",
    "pagerduty-v2",
    "pagerduty-incident",
    "teams",
    "teams-workflows",
    "webhook",
];

/// Credentials of `service` (one of [`NON_TICKETING`]) pointing at `pd`'s server.
fn credentials_for(pd: &saas::PagerDuty, service: &str) -> Credentials {
    let server = &pd.server;
    match service {
        "slack" => slack(server),
        "pagerduty" => pagerduty_v1(server),
        "pagerduty-v2" => pagerduty_v2(server),
        "pagerduty-incident" => pd.credentials(),
        "teams" => teams(server),
        "teams-workflows" | "webhook" => {
            Credentials::from_iter([("url", format!("{}/hook", server.uri()))])
        }
        other => panic!("not one of NON_TICKETING: {other}"),
    }
}

async fn received(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

/// Every text a failure can show: `Display`, `Debug`, the message.
fn shown(error: &DispatchError) -> String {
    format!("{error}\n{error:?}\n{}", error.message())
}

/// A bare [`Http`] POST of `{"a": 1}` to `url` as `test:desc`, with `url` as its credential.
async fn bare_post(url: &str, overrides: HttpOverrides) -> Result<u16, DispatchError> {
    let credentials = Credentials::from_iter([("url", url)]);
    let alert = Alert::new("r", json!({}), ["test:desc"]);
    let publication = Publication::new();
    let delivery = Delivery::new(&alert, "desc", &publication).with_credentials(&credentials);
    let http = Http::new("test", &delivery);
    let url = http.url_credential("url")?;
    overrides
        .own_connections()
        .run(http.post(url).json(&json!({"a": 1})).send())
        .await
        .map(|r| r.status())
}

// ---------------------------------------------------------------------------------------------
// 500 then 200: delivered in two tries
// ---------------------------------------------------------------------------------------------

/// Mounts 500 once, then `ok`, on `route`.
async fn flaky(server: &MockServer, route: &str, ok: ResponseTemplate) {
    reply(
        server,
        "POST",
        route,
        ResponseTemplate::new(500).set_body_string("boom"),
        1,
        1,
    )
    .await;
    reply(server, "POST", route, ok, 1, 2).await;
}

#[tokio::test(start_paused = true)]
async fn q7_shared_layer_500_then_200_is_delivered_in_2_tries() {
    let server = MockServer::start().await;
    flaky(&server, SLACK_PATH, ResponseTemplate::new(200)).await;
    let url = format!("{}{SLACK_PATH}", server.uri());
    assert_eq!(bare_post(&url, paused()).await.unwrap(), 200);
    assert_eq!(received(&server).await, 2);
}

#[tokio::test(start_paused = true)]
async fn q7_slack_500_then_200_is_delivered_in_2_tries() {
    let server = MockServer::start().await;
    flaky(&server, SLACK_PATH, ResponseTemplate::new(200)).await;
    saas::dispatch_fixture(paused(), "slack", "c", &slack(&server))
        .await
        .unwrap();
    assert_eq!(received(&server).await, 2);
}

#[tokio::test(start_paused = true)]
async fn q7_pagerduty_v2_500_then_200_is_delivered_in_2_tries() {
    let server = MockServer::start().await;
    flaky(
        &server,
        "/v2/enqueue",
        json_reply(202, json!({"status": "success"})),
    )
    .await;
    saas::dispatch_fixture(paused(), "pagerduty-v2", "p", &pagerduty_v2(&server))
        .await
        .unwrap();
    assert_eq!(received(&server).await, 2);
}

#[tokio::test(start_paused = true)]
async fn q7_jira_v2_500_then_200_is_delivered_in_2_tries() {
    let server = MockServer::start().await;
    flaky(&server, JIRA_ISSUE, jira_created()).await;
    let credentials = jira_v2(&server.uri(), "no");
    saas::dispatch_fixture(paused(), "jira-v2", "soc", &credentials)
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].body, requests[1].body,
        "the same issue is sent again"
    );
}

#[tokio::test(start_paused = true)]
async fn q16_teams_accepts_any_2xx_and_retries_a_500() {
    let server = MockServer::start().await;
    flaky(&server, TEAMS_PATH, ResponseTemplate::new(202)).await;
    saas::dispatch_fixture(paused(), "teams", "t", &teams(&server))
        .await
        .unwrap();
    assert_eq!(received(&server).await, 2);
}

// ---------------------------------------------------------------------------------------------
// 429 with Retry-After: 2
// ---------------------------------------------------------------------------------------------

/// Mounts a 429 asking for 2 s, then `ok`; runs `dispatch` on the paused clock and returns
/// the virtual time it took and the log.
async fn throttled_then_ok<F>(
    server: &MockServer,
    route: &str,
    ok: ResponseTemplate,
    dispatch: F,
) -> (Duration, String)
where
    F: std::future::Future<Output = Result<(), DispatchError>>,
{
    let throttled = ResponseTemplate::new(429).insert_header("Retry-After", "2");
    reply(server, "POST", route, throttled, 1, 1).await;
    reply(server, "POST", route, ok, 1, 2).await;
    let logs = Logs::capture();
    let started = Instant::now();
    dispatch.await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(received(server).await, 2);
    (elapsed, logs.text())
}

#[tokio::test(start_paused = true)]
async fn q7_slack_429_retry_after_2_waits_at_least_2_seconds() {
    let server = MockServer::start().await;
    let credentials = slack(&server);
    let dispatch = saas::dispatch_fixture(paused(), "slack", "c", &credentials);
    let (elapsed, log) =
        throttled_then_ok(&server, SLACK_PATH, ResponseTemplate::new(200), dispatch).await;
    assert!(elapsed >= Duration::from_secs(2), "waited {elapsed:?}");
    assert!(
        log.contains("wait_ms=2000"),
        "the wait is Retry-After's 2 s:\n{log}"
    );
    assert_no_secret("log", &log, &SECRETS);
}

#[tokio::test(start_paused = true)]
async fn q7_pagerduty_v2_429_retry_after_2_waits_at_least_2_seconds() {
    let server = MockServer::start().await;
    let credentials = pagerduty_v2(&server);
    let dispatch = saas::dispatch_fixture(paused(), "pagerduty-v2", "p", &credentials);
    let ok = json_reply(202, json!({"status": "success", "dedup_key": "k"}));
    let (elapsed, log) = throttled_then_ok(&server, "/v2/enqueue", ok, dispatch).await;
    assert!(elapsed >= Duration::from_secs(2), "waited {elapsed:?}");
    assert!(log.contains("wait_ms=2000"), "{log}");
    assert_no_secret("log", &log, &SECRETS);
}

#[tokio::test(start_paused = true)]
async fn q7_jira_v2_429_retry_after_2_waits_at_least_2_seconds() {
    let server = MockServer::start().await;
    let credentials = jira_v2(&server.uri(), "no");
    let dispatch = saas::dispatch_fixture(paused(), "jira-v2", "soc", &credentials);
    let (elapsed, log) = throttled_then_ok(&server, JIRA_ISSUE, jira_created(), dispatch).await;
    assert!(elapsed >= Duration::from_secs(2), "waited {elapsed:?}");
    assert!(log.contains("wait_ms=2000"), "{log}");
    assert_no_secret("log", &log, &SECRETS);
    let authorizations = authorizations(&server).await;
    assert_no_secret("log", &log, &authorizations);
}

#[tokio::test(start_paused = true)]
async fn q7_shared_layer_retry_after_as_http_date_is_honoured() {
    let server = MockServer::start().await;
    let date = chrono_like_http_date(std::time::SystemTime::now() + Duration::from_secs(10));
    let throttled = ResponseTemplate::new(503).insert_header("Retry-After", date.as_str());
    reply(&server, "POST", SLACK_PATH, throttled, 1, 1).await;
    reply(
        &server,
        "POST",
        SLACK_PATH,
        ResponseTemplate::new(200),
        1,
        2,
    )
    .await;
    let started = Instant::now();
    let url = format!("{}{SLACK_PATH}", server.uri());
    bare_post(&url, paused()).await.unwrap();
    // The date has a one-second resolution and is read a moment after it was written: at
    // least 8 s remain of the 10 s asked for.
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(8), "{waited:?}");
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) for `at`.
fn chrono_like_http_date(at: std::time::SystemTime) -> String {
    let secs = at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let days = secs / 86_400;
    let (h, m, s) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = i64::try_from(days).unwrap() + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let weekday =
        ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][usize::try_from(days % 7).unwrap()];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months[usize::try_from(month - 1).unwrap()];
    format!("{weekday}, {day:02} {month} {year} {h:02}:{m:02}:{s:02} GMT")
}

#[tokio::test(start_paused = true)]
async fn q7_retry_after_beyond_the_deadline_fails_retryable_without_waiting() {
    let server = MockServer::start().await;
    let throttled = ResponseTemplate::new(429).insert_header("Retry-After", "3600");
    reply(&server, "POST", SLACK_PATH, throttled, 10, 1).await;
    let started = Instant::now();
    let err = saas::dispatch_fixture(paused(), "slack", "c", &slack(&server))
        .await
        .unwrap_err();
    assert_eq!(received(&server).await, 1);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.status(), Some(429));
    assert!(err.message().contains("Retry-After 3600 s"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Permanent 400: one try, the error carries the body
// ---------------------------------------------------------------------------------------------

/// Answers every POST to `route` with a 400 carrying `body`, dispatches the fixture to
/// `service:descriptor`, and checks the failure: one try, final, shown as
/// `<service>:<descriptor>: POST http://127.0.0.1:<port><shown_path>: HTTP 400 Bad Request`
/// with each of `quoted` (the reply, secrets redacted) and no secret in the error or the log.
async fn assert_permanent_400(
    route: &str,
    body: ResponseTemplate,
    service: &str,
    credentials: impl Fn(&MockServer) -> Credentials,
    shown_path: &str,
    quoted: &[&str],
) {
    let server = MockServer::start().await;
    reply(&server, "POST", route, body, 10, 1).await;
    let logs = Logs::capture();
    let err = saas::dispatch_fixture(paused(), service, "secops", &credentials(&server))
        .await
        .unwrap_err();
    assert_eq!(received(&server).await, 1);
    assert_eq!(err.kind(), ErrorKind::Rejected);
    assert_eq!(err.status(), Some(400));
    assert!(!err.is_retryable());
    let text = shown(&err);
    let context = format!("{service}:secops: POST http://127.0.0.1:");
    assert!(text.contains(&context), "{text}");
    let status = format!("{shown_path}: HTTP 400 Bad Request; 1 try; not retryable");
    assert!(text.contains(&status), "{text}");
    for part in quoted {
        assert!(text.contains(part), "{text}");
    }
    assert_no_secret("error", &text, &SECRETS);
    let log = logs.text();
    assert_no_secret("log", &log, &SECRETS);
    // Not retried, so the sending loop logs nothing (no "retrying", no "giving up"): the
    // caller logs the error, whose text is checked above.
    let sending: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("streamalert::output::http::send"))
        .collect();
    assert!(
        sending.is_empty(),
        "a final 4xx is one silent try: {sending:#?}"
    );
    assert!(
        log.contains("connected to 127.0.0.1"),
        "the capture works: {log}"
    );
}

#[tokio::test(start_paused = true)]
async fn q7_slack_permanent_400_is_one_try_and_the_error_carries_the_body() {
    let body = format!("invalid_payload (posted to {SLACK_PATH})");
    assert_permanent_400(
        SLACK_PATH,
        ResponseTemplate::new(400).set_body_string(body),
        "slack",
        slack,
        "/[REDACTED]",
        &["invalid_payload (posted to /[REDACTED])"],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn q7_pagerduty_v2_permanent_400_is_one_try_and_the_error_carries_the_body() {
    let body = json!({"status": "invalid event", "errors": [format!("routing_key {ROUTING_KEY} is unknown")]});
    assert_permanent_400(
        "/v2/enqueue",
        json_reply(400, body),
        "pagerduty-v2",
        pagerduty_v2,
        // The endpoint is not secret.
        "/v2/enqueue",
        &["invalid event", "routing_key [REDACTED] is unknown"],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn q7_jira_v2_permanent_400_is_one_try_and_the_error_carries_the_body() {
    let body = json!({"errorMessages": [format!("token {JIRA_API_KEY} may not create issues")], "errors": {"issuetype": "Specify a valid issue type"}});
    assert_permanent_400(
        JIRA_ISSUE,
        json_reply(400, body),
        "jira-v2",
        |server| jira_v2(&server.uri(), "no"),
        // The base URL is not secret.
        "/rest/api/2/issue",
        &[
            "Specify a valid issue type",
            "token [REDACTED] may not create issues",
        ],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn q7_a_429_or_5xx_retries_5_times_then_fails_retryable() {
    let server = MockServer::start().await;
    reply(
        &server,
        "POST",
        SLACK_PATH,
        ResponseTemplate::new(503),
        100,
        1,
    )
    .await;
    let err = saas::dispatch_fixture(paused(), "slack", "c", &slack(&server))
        .await
        .unwrap_err();
    assert_eq!(received(&server).await, 5);
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_retryable());
    assert!(err.message().contains("5 tries; retryable"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn q7_every_other_http_output_retries_5xx_and_429_but_no_other_4xx() {
    // Each of these outputs sends one request first, and nothing after it fails.
    for service in NON_TICKETING {
        for (status, tries) in [(500, 5), (503, 5), (429, 5), (400, 1), (404, 1)] {
            let pd = saas::PagerDuty {
                server: MockServer::start().await,
            };
            let server = &pd.server;
            Mock::given(wiremock::matchers::any())
                .respond_with(ResponseTemplate::new(status))
                .mount(server)
                .await;
            let credentials = credentials_for(&pd, service);
            let err = saas::dispatch_fixture(paused(), service, "d", &credentials)
                .await
                .unwrap_err();
            let at = format!("{service}, HTTP {status}");
            let requests = saas::request_lines(server).await;
            assert_eq!(requests.len(), tries, "{at}: {requests:?}");
            assert!(requests.iter().all(|r| *r == requests[0]), "{at}");
            assert_eq!(err.status(), Some(status), "{at}");
            assert_eq!(err.is_retryable(), tries > 1, "{at}: {err}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Transport failures
// ---------------------------------------------------------------------------------------------

/// An address where nothing listens.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

/// The full policy with 10 ms waits, on the real clock: for faults whose detection must not
/// race a paused clock's jump to the connect timeout.
fn fast() -> HttpOverrides {
    let ten = Duration::from_millis(10);
    HttpOverrides::new().retry(RetryPolicy::DEFAULT.with_backoff(ten, ten))
}

#[tokio::test]
async fn q7_connection_refused_is_retried_and_retryable() {
    let base = closed_port();
    for (service, method, credentials) in [
        (
            "slack",
            "POST",
            Credentials::from_iter([("url", format!("{base}{SLACK_PATH}"))]),
        ),
        (
            "pagerduty-v2",
            "POST",
            Credentials::from_iter([
                ("url", format!("{base}/v2/enqueue")),
                ("routing_key", ROUTING_KEY.into()),
            ]),
        ),
        // A search that never reached Jira fails the delivery (a refused one would not).
        ("jira-v2", "GET", jira_v2(&base, "yes")),
    ] {
        let logs = Logs::capture();
        let err = saas::dispatch_fixture(fast(), service, "d", &credentials)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{service}: {err}");
        assert!(err.is_retryable());
        assert_eq!(err.status(), None);
        let text = shown(&err);
        assert!(text.contains("connection failed"), "{text}");
        assert!(text.contains("5 tries"), "{text}");
        assert!(text.contains(&format!("{service}:d: {method}")), "{text}");
        assert_no_secret("error", &text, &SECRETS);
        assert_no_secret("log", &logs.text(), &SECRETS);
    }
}

/// A mock server of the test's own, not one of wiremock's pool: the paused clock ends each
/// attempt at once in real time, so the server may read a request after the test is over, and
/// a pooled server, handed to the next test by then, would record it there.
async fn silent_server() -> MockServer {
    MockServer::builder().start().await
}

#[tokio::test(start_paused = true)]
async fn q7_a_server_that_never_answers_times_out() {
    let server = silent_server().await;
    let silent = ResponseTemplate::new(200).set_delay(Duration::from_secs(3600));
    reply(&server, "POST", SLACK_PATH, silent, 100, 1).await;
    let started = Instant::now();
    // The outputs' own 10 s per-attempt timeout, on the paused clock.
    let overrides = HttpOverrides::new().retry(RetryPolicy::DEFAULT);
    let err = saas::dispatch_fixture(overrides, "slack", "c", &slack(&server))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.is_retryable());
    assert!(err.message().contains("timed out"), "{err}");
    assert!(elapsed >= Duration::from_secs(10), "{elapsed:?}");
    assert!(
        elapsed <= Duration::from_secs(61),
        "the 60 s deadline bounds it: {elapsed:?}"
    );
    assert_no_secret("error", &shown(&err), &SECRETS);
}

#[tokio::test(start_paused = true)]
async fn q7_jira_v2_a_server_that_never_answers_times_out() {
    let server = silent_server().await;
    let silent = ResponseTemplate::new(200).set_delay(Duration::from_secs(3600));
    reply(&server, "GET", JIRA_SEARCH, silent, 100, 1).await;
    reply(&server, "POST", JIRA_ISSUE, jira_created(), 100, 1).await;
    let started = Instant::now();
    let overrides = HttpOverrides::new().retry(RetryPolicy::DEFAULT);
    let credentials = jira_v2(&server.uri(), "yes");
    let err = saas::dispatch_fixture(overrides, "jira-v2", "soc", &credentials)
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.is_retryable());
    assert!(err.message().contains("jira-v2:soc: GET"), "{err}");
    assert!(err.message().contains("timed out"), "{err}");
    assert!(elapsed >= Duration::from_secs(10), "{elapsed:?}");
    assert!(elapsed <= Duration::from_secs(61), "{elapsed:?}");
    // A search without an answer is not "no issue found": nothing is created.
    let requests = saas::request_lines(&server).await;
    assert!(
        requests
            .iter()
            .all(|r| r.starts_with("GET /rest/api/2/search?")),
        "{requests:?}"
    );
    assert_no_secret("error", &shown(&err), &SECRETS);
}

#[tokio::test(start_paused = true)]
async fn q7_an_invalid_url_is_a_configuration_error_and_not_retried() {
    let credentials = Credentials::from_iter([("url", "hooks.slack.com/services/T0SECRET")]);
    let err = saas::dispatch_fixture(paused(), "slack", "c", &credentials)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(!err.is_retryable());
    assert_eq!(
        err.message(),
        "slack:c: the stored `url` is not an http(s) URL"
    );
}

#[tokio::test]
async fn q8_a_tls_failure_is_final() {
    // A TLS client talking to a plain-HTTP server fails its handshake.
    let server = MockServer::start().await;
    let url = format!(
        "{}{SLACK_PATH}",
        server.uri().replace("http://", "https://")
    );
    let err = saas::dispatch_fixture(
        fast(),
        "slack",
        "c",
        &Credentials::from_iter([("url", url)]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(!err.is_retryable());
    assert!(err.message().contains("TLS handshake failed"), "{err}");
    assert!(err.message().contains("1 try"), "not retried: {err}");
    assert_no_secret("error", &shown(&err), &SECRETS);
}

#[tokio::test(start_paused = true)]
async fn q8_tls_opt_out_is_logged_at_warn_on_first_use_only() {
    let server = MockServer::start().await;
    reply(
        &server,
        "POST",
        SLACK_PATH,
        ResponseTemplate::new(200),
        10,
        1,
    )
    .await;
    let mut credentials = slack(&server);
    credentials.insert("tls_verify", "false");
    let logs = Logs::capture();
    for _ in 0..2 {
        saas::dispatch_fixture(paused(), "slack", "private-ca", &credentials)
            .await
            .unwrap();
    }
    let log = logs.text();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("TLS certificate verification is turned off"))
        .collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(warnings[0].contains("slack:private-ca"), "{log}");
    assert_no_secret("log", &log, &SECRETS);
}

#[tokio::test(start_paused = true)]
async fn q8_every_other_http_output_verifies_tls_unless_the_descriptor_opts_out() {
    const WARNING: &str = "TLS certificate verification is turned off";
    let pd = saas::PagerDuty {
        server: MockServer::start().await,
    };
    let server = &pd.server;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(400))
        .mount(server)
        .await;
    for service in NON_TICKETING {
        let mut credentials = credentials_for(&pd, service);
        for (descriptor, opt_out) in [("q8-verified", false), ("q8-opt-out", true)] {
            if opt_out {
                credentials.insert("tls_verify", "false");
            }
            let logs = Logs::capture();
            // The server refuses the request: only the log matters here.
            let _ = saas::dispatch_fixture(paused(), service, descriptor, &credentials).await;
            let log = logs.text();
            let output = format!("{service}:{descriptor}");
            let warned = log
                .lines()
                .any(|l| l.contains("WARN") && l.contains(WARNING) && l.contains(&output));
            assert_eq!(warned, opt_out, "{output}:\n{log}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// PagerDuty's JSON reply (Q2)
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn q2_pagerduty_v2_invalid_json_reply_is_a_failure() {
    let server = MockServer::start().await;
    let html = ResponseTemplate::new(200).set_body_string("<html>proxy login</html>");
    reply(&server, "POST", "/v2/enqueue", html, 10, 1).await;
    let err = saas::dispatch_fixture(paused(), "pagerduty-v2", "p", &pagerduty_v2(&server))
        .await
        .unwrap_err();
    assert_eq!(received(&server).await, 1, "a 2xx is not retried");
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    assert_eq!(err.status(), Some(200));
    assert!(err.message().contains("not JSON"), "{err}");
    assert!(err.message().contains("<html>proxy login</html>"), "{err}");
    assert_no_secret("error", &shown(&err), &SECRETS);
}

#[tokio::test(start_paused = true)]
async fn q2_pagerduty_v2_empty_json_reply_is_a_failure() {
    let server = MockServer::start().await;
    reply(
        &server,
        "POST",
        "/v2/enqueue",
        json_reply(202, json!({})),
        10,
        1,
    )
    .await;
    let err = saas::dispatch_fixture(paused(), "pagerduty-v2", "p", &pagerduty_v2(&server))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    assert!(err.message().contains("empty JSON"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn q2_pagerduty_v1_empty_body_is_a_failure_and_json_is_success() {
    let server = MockServer::start().await;
    reply(
        &server,
        "POST",
        "/create_event.json",
        ResponseTemplate::new(200),
        1,
        1,
    )
    .await;
    reply(
        &server,
        "POST",
        "/create_event.json",
        json_reply(200, json!({"status": "success"})),
        1,
        2,
    )
    .await;
    let credentials = pagerduty_v1(&server);
    let err = saas::dispatch_fixture(paused(), "pagerduty", "p", &credentials)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
    saas::dispatch_fixture(paused(), "pagerduty", "p", &credentials)
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Jira's JSON replies
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn jira_v2_search_comment_or_creation_reply_that_is_not_json_fails() {
    let html = || ResponseTemplate::new(200).set_body_string("<html>proxy login</html>");
    let found = json_reply(200, json!({"issues": [{"id": "10001"}]}));
    // (aggregate, the step answered with HTML, the requests sent: none after the bad reply)
    let cases = [
        ("yes", "GET", JIRA_SEARCH, vec!["GET"]),
        (
            "yes",
            "POST",
            "/rest/api/2/issue/10001/comment",
            vec!["GET", "POST"],
        ),
        ("no", "POST", JIRA_ISSUE, vec!["POST"]),
    ];
    for (aggregate, verb, route, sent) in cases {
        let server = MockServer::start().await;
        reply(&server, verb, route, html(), 10, 1).await;
        reply(&server, "GET", JIRA_SEARCH, found.clone(), 10, 2).await;
        reply(&server, "POST", JIRA_ISSUE, jira_created(), 10, 2).await;
        let credentials = jira_v2(&server.uri(), aggregate);
        let err = saas::dispatch_fixture(paused(), "jira-v2", "soc", &credentials)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{route}: {err}");
        assert_eq!(err.status(), Some(200), "{route}");
        assert!(!err.is_retryable(), "{route}");
        assert!(err.message().contains("not JSON"), "{route}: {err}");
        assert!(
            err.message().contains("<html>proxy login</html>"),
            "{route}: {err}"
        );
        let methods: Vec<String> = server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(|r| r.method.to_string())
            .collect();
        assert_eq!(methods, sent, "{route}: a 2xx is not retried");
        assert_no_secret("error", &shown(&err), &SECRETS);
    }
}

// ---------------------------------------------------------------------------------------------
// Endpoint override (Q11)
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn q11_a_stored_url_overrides_the_default_and_is_logged_by_key_name_only() {
    let server = MockServer::start().await;
    reply(
        &server,
        "POST",
        "/eu/enqueue",
        json_reply(202, json!({"status": "success"})),
        1,
        1,
    )
    .await;
    let credentials = Credentials::from_iter([
        ("url", format!("{}/eu/enqueue", server.uri())),
        ("routing_key", ROUTING_KEY.to_owned()),
    ]);
    let logs = Logs::capture();
    saas::dispatch_fixture(paused(), "pagerduty-v2", "eu-override", &credentials)
        .await
        .unwrap();
    assert_eq!(received(&server).await, 1);
    let log = logs.text();
    assert!(
        log.contains("the stored `url` overrides the output's default endpoint"),
        "{log}"
    );
    assert!(
        !log.contains("/eu/enqueue"),
        "the value is never logged: {log}"
    );
    assert_no_secret("log", &log, &SECRETS);
}

#[tokio::test(start_paused = true)]
async fn q11_every_stored_endpoint_wins_over_the_default_and_is_logged_by_key_name() {
    // (service, the endpoint keys the credentials store); github's `api` is in
    // saas_ticketing_flows.
    let cases: [(&str, &[&str]); 3] = [
        ("pagerduty", &["url"]),
        ("pagerduty-v2", &["url"]),
        ("pagerduty-incident", &["api", "events_url"]),
    ];
    for (service, keys) in cases {
        // Its defaults answer every pagerduty-incident step; the v1 endpoint is added.
        let pd = saas::PagerDuty::start().await;
        let ok = json_reply(200, json!({"status": "success"}));
        reply(&pd.server, "POST", "/create_event.json", ok, 1, 1).await;
        let descriptor = "q11-endpoints";
        let logs = Logs::capture();
        // The defaults (PagerDuty's servers) are never reached: the delivery succeeds.
        let credentials = credentials_for(&pd, service);
        saas::dispatch_fixture(paused(), service, descriptor, &credentials)
            .await
            .unwrap();
        let log = logs.text();
        for key in keys {
            let line = log
                .lines()
                .find(|l| {
                    l.contains(&format!(
                        "the stored `{key}` overrides the output's default"
                    ))
                })
                .unwrap_or_else(|| panic!("{service}: `{key}` is not logged:\n{log}"));
            assert!(line.contains(&format!("{service}:{descriptor}")), "{line}");
            assert!(!line.contains(&pd.server.uri()), "never the value: {line}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// No secret anywhere
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn no_secret_in_errors_debug_or_logs() {
    let server = MockServer::start().await;
    // Each service echoes the secret it was sent.
    let echo = |secret: &str| {
        ResponseTemplate::new(401).set_body_string(format!("bad request: {secret} is not valid"))
    };
    reply(&server, "POST", SLACK_PATH, echo(SLACK_PATH), 10, 1).await;
    reply(&server, "POST", "/v2/enqueue", echo(ROUTING_KEY), 10, 1).await;
    reply(
        &server,
        "POST",
        "/create_event.json",
        echo(SERVICE_KEY),
        10,
        1,
    )
    .await;
    reply(&server, "POST", TEAMS_PATH, echo(TEAMS_PATH), 10, 1).await;
    // Jira echoes the `Authorization` it was sent, to the search (logged, then a new issue is
    // tried) and to the creation (the error).
    let echo_authorization = |request: &Request| {
        let sent = request
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        ResponseTemplate::new(401).set_body_string(format!("bad request: {sent} is not valid"))
    };
    for verb in ["GET", "POST"] {
        Mock::given(wiremock::matchers::method(verb))
            .and(wiremock::matchers::path_regex("^/rest/api/2/"))
            .respond_with(echo_authorization)
            .mount(&server)
            .await;
    }
    let logs = Logs::capture();
    let mut texts = Vec::new();
    for (service, credentials) in [
        ("slack", slack(&server)),
        ("pagerduty-v2", pagerduty_v2(&server)),
        ("pagerduty", pagerduty_v1(&server)),
        ("teams", teams(&server)),
        ("jira-v2", jira_v2(&server.uri(), "yes")),
    ] {
        let err = saas::dispatch_fixture(paused(), service, "d", &credentials)
            .await
            .unwrap_err();
        assert!(err.message().contains("bad request: "), "{err}");
        assert!(err.message().contains("[REDACTED] is not valid"), "{err}");
        texts.push(shown(&err));
        texts.push(format!("{credentials:?}"));
        let alert = saas::fixture_alert();
        let publication = Publication::new();
        let delivery = Delivery::new(&alert, "d", &publication).with_credentials(&credentials);
        texts.push(format!("{:?}", Http::new(service, &delivery)));
    }
    let log = logs.text();
    assert!(
        log.contains("the Jira search failed; a new issue is created"),
        "{log}"
    );
    texts.push(log);
    let authorizations = authorizations(&server).await;
    assert_eq!(
        saas::request_lines(&server)
            .await
            .iter()
            .filter(|r| r.contains("/rest/api/2/"))
            .count(),
        2,
        "jira-v2 searched, then tried to create"
    );
    for text in &texts {
        assert_no_secret("error, Debug or log", text, &SECRETS);
        assert_no_secret("error, Debug or log", text, &authorizations);
    }
}

// ---------------------------------------------------------------------------------------------
// Properties (spec §2.23 as amended by Q6)
// ---------------------------------------------------------------------------------------------

/// One property row: name, prompt, masked, secret, forbidden characters.
type Row = (&'static str, &'static str, bool, bool, &'static [char]);

#[test]
fn properties_match_the_spec_table() {
    // (service, [(name, prompt, masked, secret, forbidden characters)]) from outputs.md §2.23,
    // with Q6's "only spaces" for the teams url.
    let d: &'static [char] = &[' ', ':'];
    let table: [(&str, Vec<Row>); 5] = [
        (
            "slack",
            vec![
                (
                    "descriptor",
                    "a short and unique descriptor for this Slack integration (ie: channel, group, etc)",
                    false,
                    false,
                    d,
                ),
                (
                    "url",
                    "the full Slack webhook url, including the secret",
                    true,
                    true,
                    &[' '],
                ),
            ],
        ),
        (
            "pagerduty",
            vec![
                (
                    "descriptor",
                    "a short and unique descriptor for this PagerDuty integration",
                    false,
                    false,
                    d,
                ),
                (
                    "service_key",
                    "the service key for this PagerDuty integration",
                    true,
                    true,
                    d,
                ),
            ],
        ),
        (
            "pagerduty-v2",
            vec![
                (
                    "descriptor",
                    "a short and unique descriptor for this PagerDuty integration",
                    false,
                    false,
                    d,
                ),
                (
                    "routing_key",
                    "the routing key for this PagerDuty integration",
                    true,
                    true,
                    d,
                ),
            ],
        ),
        (
            "pagerduty-incident",
            vec![
                (
                    "descriptor",
                    "a short and unique descriptor for this PagerDuty integration",
                    false,
                    false,
                    d,
                ),
                (
                    "token",
                    "the token for this PagerDuty integration",
                    true,
                    true,
                    d,
                ),
                (
                    "service_name",
                    "the service name for this PagerDuty integration",
                    false,
                    true,
                    d,
                ),
                (
                    "service_id",
                    "the service ID for this PagerDuty integration",
                    false,
                    true,
                    d,
                ),
                (
                    "escalation_policy",
                    "the name of the default escalation policy",
                    false,
                    true,
                    &[],
                ),
                (
                    "escalation_policy_id",
                    "the ID of the default escalation policy",
                    false,
                    true,
                    d,
                ),
                (
                    "email_from",
                    "valid user email from the PagerDuty account linked to the token",
                    false,
                    true,
                    d,
                ),
                (
                    "integration_key",
                    "the integration key for this PagerDuty integration",
                    false,
                    true,
                    d,
                ),
            ],
        ),
        (
            "teams",
            vec![
                (
                    "descriptor",
                    "a short and unique descriptor for this service configuration (ie: name of Team the webhook relates too)",
                    false,
                    false,
                    d,
                ),
                (
                    "url",
                    "the full teams webhook url, including the secret",
                    true,
                    true,
                    &[' '],
                ),
            ],
        ),
    ];
    for (service, rows) in table {
        let properties = saas::output(service).properties();
        let got: Vec<_> = properties
            .iter()
            .map(|p| (p.name, p.description, p.mask, p.secret, p.restrictions))
            .collect();
        assert_eq!(got, rows, "{service}");
    }
}

#[test]
fn q6_url_properties_forbid_only_spaces() {
    for service in ["slack", "teams", "teams-workflows", "webhook"] {
        let properties = saas::output(service).properties();
        let url = properties.iter().find(|p| p.name == "url").unwrap();
        assert_eq!(url.restrictions, [' '], "{service}");
        assert!(
            url.validate("https://example.com:8443/x").is_ok(),
            "{service}"
        );
        assert!(url.mask && url.secret, "{service}");
    }
}

// ---------------------------------------------------------------------------------------------
// Publication keys of slack, pagerduty, pagerduty-v2 and teams (the vectors use the defaults)
// ---------------------------------------------------------------------------------------------

/// Dispatches the fixture alert to `service:d` with `extra` publication keys; returns the JSON
/// body the server received (it answers `ok`) and the log.
async fn sent_with_keys(
    service: &str,
    route: &str,
    ok: ResponseTemplate,
    credentials: impl Fn(&MockServer) -> Credentials,
    extra: Value,
) -> (Value, String) {
    let server = MockServer::start().await;
    reply(&server, "POST", route, ok, 1, 1).await;
    let alert = saas::fixture_alert();
    let publication = saas::publication_with(&alert, service, "d", extra);
    let logs = Logs::capture();
    let credentials = credentials(&server);
    saas::dispatch_with(paused(), service, "d", &alert, &publication, &credentials)
        .await
        .unwrap();
    let request = &server.received_requests().await.unwrap()[0];
    (serde_json::from_slice(&request.body).unwrap(), logs.text())
}

#[tokio::test(start_paused = true)]
async fn slack_publication_keys_set_the_text_and_custom_attachments() {
    let extra = json!({
        "@slack.text": "*Root login*",
        "@slack.attachments": [{"color": "#ff0000", "text": "on <web-1>", "footer_icon": "x", "extra": 1}],
    });
    let ok = ResponseTemplate::new(200).set_body_string("ok");
    let (message, _) = sent_with_keys("slack", SLACK_PATH, ok, slack, extra).await;
    assert_eq!(
        message,
        json!({"text": "*Root login*", "mrkdwn": true, "attachments": [{
            "fallback": "", "color": "#ff0000", "pretext": "", "author_name": "",
            "author_link": "", "author_icon": "", "title": "", "title_link": "",
            // No HTML escaping of custom attachments (publishers escape).
            "text": "on <web-1>",
            "fields": [], "image_url": "", "thumb_url": "", "footer": "",
            "footer_icon": "x", "ts": "", "mrkdwn_in": ["text", "pretext"], "extra": 1,
        }]})
    );
}

#[tokio::test(start_paused = true)]
async fn pagerduty_publication_keys_shape_the_event() {
    let extra = json!({
        "@pagerduty.description": "Root login",
        "@pagerduty.details": {"host": "web-1"},
        "@pagerduty.client_url": "https://console.example",
        "@pagerduty.contexts": [
            {"type": "link", "href": "https://runbook.example", "text": "Runbook", "x": 1},
            {"type": "image", "src": "https://i.example/a.png"},
            {"type": "link", "href": "no text"},
            {"src": "no type"},
        ],
    });
    let ok = json_reply(200, json!({"status": "success"}));
    let (event, _) =
        sent_with_keys("pagerduty", "/create_event.json", ok, pagerduty_v1, extra).await;
    assert_eq!(
        event,
        json!({
            "service_key": SERVICE_KEY,
            "event_type": "trigger",
            "description": "Root login",
            "details": {"host": "web-1"},
            "client": "streamalert",
            "client_url": "https://console.example",
            "contexts": [
                {"type": "link", "href": "https://runbook.example", "text": "Runbook"},
                {"type": "image", "src": "https://i.example/a.png"},
            ],
        })
    );
    let extra = json!({"@pagerduty.contexts": {"type": "link"}});
    let ok = json_reply(200, json!({"status": "success"}));
    let (event, log) =
        sent_with_keys("pagerduty", "/create_event.json", ok, pagerduty_v1, extra).await;
    assert_eq!(event["contexts"], json!([]));
    assert!(
        log.contains("Invalid pagerduty.contexts provided: Not an array"),
        "{log}"
    );
}

#[tokio::test(start_paused = true)]
async fn teams_publication_keys_shape_the_card() {
    let extra = json!({
        "@teams.title": "Root login",
        "@teams.description": "see the runbook",
        "@teams.card_color": "Red",
        "@teams.with_record": false,
        "@teams.additional_card_sections": [{"activityTitle": "Host", "text": "web-1"}, "not a section"],
        "@teams.buttons": [["Runbook", "https://runbook.example/root"]],
    });
    let ok = ResponseTemplate::new(200).set_body_string("1");
    let (card, log) = sent_with_keys("teams", TEAMS_PATH, ok, teams, extra).await;
    let alert_id = saas::fixture_alert().alert_id;
    assert_eq!(
        card,
        json!({
            "title": "Root login",
            "text": "see the runbook",
            "themeColor": "E81123",
            "sections": [
                {"activityTitle": "Alert Info", "facts": [
                    {"name": "rule_name", "value": "cb_binarystore_file_added"},
                    {"name": "alert_id", "value": alert_id},
                ]},
                {"activityTitle": "Host", "text": "web-1"},
            ],
            "potentialAction": [{
                "@context": "http://schema.org",
                "@type": "ViewAction",
                "name": "Runbook",
                "target": ["https://runbook.example/root"],
            }],
        })
    );
    assert!(log.contains("is not a card section object"), "{log}");
}

#[tokio::test(start_paused = true)]
async fn pagerduty_v2_publication_keys_shape_the_event() {
    let extra = json!({
        "@pagerduty-v2.summary": "Root login",
        "@pagerduty-v2.severity": "warning",
        "@pagerduty-v2.custom_details": {"host": "web-1"},
        "@pagerduty-v2.client_url": "https://console.example",
        "@pagerduty-v2.component": "sshd",
        "@pagerduty-v2.group": "prod",
        "@pagerduty-v2.class": "login",
        "@pagerduty-v2.images": [{"src": "https://i.example/a.png"}, {"alt": "no src"}],
        "@pagerduty-v2.links": [{"href": "https://runbook.example"}, "not a link"],
    });
    let ok = json_reply(202, json!({"status": "success"}));
    let (event, _) = sent_with_keys("pagerduty-v2", "/v2/enqueue", ok, pagerduty_v2, extra).await;
    let alert = saas::fixture_alert();
    assert_eq!(
        event,
        json!({
            "routing_key": ROUTING_KEY,
            "event_action": "trigger",
            "dedup_key": format!("d:{}", alert.alert_id),
            "payload": {
                "summary": "Root login",
                "source": alert.log_source,
                "severity": "warning",
                "custom_details": {"host": "web-1"},
                "component": "sshd",
                "group": "prod",
                "class": "login",
            },
            "client": "StreamAlert",
            "client_url": "https://console.example",
            "images": [{"src": "https://i.example/a.png", "href": "", "alt": ""}],
            "links": [{"href": "https://runbook.example", "text": "https://runbook.example"}],
        })
    );
}

// ---------------------------------------------------------------------------------------------
// teams-workflows and webhook
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn teams_workflows_posts_an_adaptive_card_and_accepts_202() {
    let server = MockServer::start().await;
    let route = "/workflows/abc/triggers/manual/paths/invoke";
    reply(&server, "POST", route, ResponseTemplate::new(202), 1, 1).await;
    let url = format!("{}{route}?api-version=1&sig=W0RKFLOWSIG", server.uri());
    let credentials = Credentials::from_iter([("url", url)]);
    saas::dispatch_fixture(paused(), "teams-workflows", "soc", &credentials)
        .await
        .unwrap();
    let request = &server.received_requests().await.unwrap()[0];
    assert_eq!(request.url.query(), Some("api-version=1&sig=W0RKFLOWSIG"));
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["type"], "message");
    let attachment = &body["attachments"][0];
    assert_eq!(
        attachment["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let content = &attachment["content"];
    assert_eq!(content["type"], "AdaptiveCard");
    assert_eq!(
        content["body"][0]["text"],
        "StreamAlert Rule Triggered: cb_binarystore_file_added"
    );
    assert_eq!(
        content["body"][1]["text"],
        "Info about this rule and what actions to take"
    );
    assert_eq!(
        content["body"][2]["facts"][0],
        json!({"title": "rule_name", "value": "cb_binarystore_file_added"})
    );
    assert_eq!(
        content["body"][4]["facts"][0],
        json!({"title": "compressed_size", "value": "9982"})
    );

    // The signature query parameter is secret.
    reply(
        &server,
        "POST",
        route,
        ResponseTemplate::new(400).set_body_string("bad card"),
        1,
        1,
    )
    .await;
    let err = saas::dispatch_fixture(paused(), "teams-workflows", "soc", &credentials)
        .await
        .unwrap_err();
    assert_no_secret("error", &shown(&err), &["W0RKFLOWSIG", "/workflows/abc"]);
}

#[tokio::test(start_paused = true)]
async fn webhook_posts_the_publication_signed_with_custom_headers() {
    let server = MockServer::start().await;
    reply(&server, "POST", "/hook", ResponseTemplate::new(204), 1, 1).await;
    let credentials = Credentials::from_iter([
        ("url", format!("{}/hook", server.uri())),
        ("signing_secret", "s1gning-secret".to_owned()),
        (
            "headers",
            r#"{"Authorization": "Bearer hdr-t0ken", "X-Team": "soc"}"#.to_owned(),
        ),
    ]);
    let alert = saas::fixture_alert();
    let publication = saas::publication(&alert, "webhook", "siem");
    saas::dispatch_with(
        paused(),
        "webhook",
        "siem",
        &alert,
        &publication,
        &credentials,
    )
    .await
    .unwrap();
    let request = &server.received_requests().await.unwrap()[0];
    let expected = streamalert::json::PythonJson::DEFAULT.dump(&Value::from(publication.clone()));
    assert_eq!(
        request.body,
        expected.as_bytes(),
        "the publication, as json.dumps writes it"
    );
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .map(|h| h.to_str().unwrap().to_owned())
    };
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    assert_eq!(header("authorization").as_deref(), Some("Bearer hdr-t0ken"));
    assert_eq!(header("x-team").as_deref(), Some("soc"));
    assert_eq!(
        header("x-streamalert-signature-256"),
        Some(streamalert::outputs::webhook::signature(
            b"s1gning-secret",
            &request.body
        ))
    );
}

#[tokio::test(start_paused = true)]
async fn webhook_without_signing_secret_sends_no_signature_and_bad_headers_are_config_errors() {
    let server = MockServer::start().await;
    reply(&server, "POST", "/hook", ResponseTemplate::new(200), 1, 1).await;
    let url = format!("{}/hook", server.uri());
    let plain = Credentials::from_iter([("url", url.clone())]);
    saas::dispatch_fixture(paused(), "webhook", "plain", &plain)
        .await
        .unwrap();
    let request = &server.received_requests().await.unwrap()[0];
    assert!(request.headers.get("x-streamalert-signature-256").is_none());

    let broken = Credentials::from_iter([
        ("url", url),
        (
            "headers",
            r#"{"Authorization": ["Bearer hdr-t0ken"]}"#.to_owned(),
        ),
    ]);
    let err = saas::dispatch_fixture(paused(), "webhook", "broken", &broken)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.message().contains("`Authorization` is not text"),
        "{err}"
    );
    assert_no_secret("error", &shown(&err), &["hdr-t0ken"]);
}
