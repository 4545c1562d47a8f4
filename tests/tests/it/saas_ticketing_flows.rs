//! Every branch of the multi-step flows of `jira`, `jira-v2`, `phantom` and `carbonblack`, the
//! spec decisions these outputs apply (each test named after its decision), and the rule that
//! no secret appears in an error's `Display`/`Debug`, a log line or the `Debug` of the
//! credentials, the delivery and the HTTP context.

use crate::support::saas::{
    self, TICKETING, assert_no_secret, block_on, capture_logs, dispatch_with, fixture_alert,
    json_reply, request_lines, single_attempt,
};
use serde_json::{Value, json};
use std::time::Duration;
use streamalert::output::http::{Http, HttpOverrides, RetryPolicy};
use streamalert::output::{Credentials, Delivery, DispatchError, ErrorKind};
use streamalert::{Alert, Publication};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const JIRA_PASSWORD: &str = "jira-pa55word-secret";
const JIRA_COOKIE_VALUE: &str = "sess10n-cookie-secret";
const JIRA_API_KEY: &str = "jira-cloud-api-key-secret";
const GITHUB_TOKEN: &str = "ghp-access-token-secret";
const PHANTOM_TOKEN: &str = "phantom-auth-token-secret";
const CB_TOKEN: &str = "cb-api-token-secret-0123456789";
const DEMISTO_TOKEN: &str = "demisto-api-token-secret";
const KOMAND_TOKEN: &str = "komand-auth-token-secret";
const VO_API_KEY: &str = "victorops-api-key-secret";
const VO_ROUTING_KEY: &str = "victorops-routing-key-secret";

/// The MD5 of the fixture record, as the rule context gives it.
const MD5: &str = "0F9AA55DA3BDE84B35656AD8911A22E1";

/// Answers `verb route` with `response` `times` times, before any mock of a larger priority.
async fn mock(
    server: &MockServer,
    verb: &str,
    route: &str,
    response: ResponseTemplate,
    times: u64,
) {
    saas::reply(server, verb, route, response, times, 1).await;
}

/// Answers `verb route` with `response` whenever no earlier mock does.
async fn fallback(server: &MockServer, verb: &str, route: &str, response: ResponseTemplate) {
    saas::reply(server, verb, route, response, u64::MAX, 10).await;
}

/// The requests received, as `METHOD /path?query`.
async fn lines(server: &MockServer) -> Vec<String> {
    request_lines(server).await
}

async fn received(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

/// The request `i` received, whose body must be JSON.
async fn body(server: &MockServer, i: usize) -> Value {
    let requests = received(server).await;
    serde_json::from_slice(&requests[i].body).expect("a JSON body")
}

/// The decoded value of query parameter `name` of request `i`.
async fn query_param(server: &MockServer, i: usize, name: &str) -> Option<String> {
    received(server).await[i]
        .url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Dispatches `alert` with its default publication (plus `extra` keys), one attempt per request.
async fn dispatch(
    service: &str,
    descriptor: &str,
    alert: &Alert,
    extra: Value,
    credentials: &Credentials,
) -> Result<(), DispatchError> {
    let publication = saas::publication_with(alert, service, descriptor, extra);
    dispatch_with(
        single_attempt(),
        service,
        descriptor,
        alert,
        &publication,
        credentials,
    )
    .await
}

/// Dispatches the fixture alert with its default publication.
async fn dispatch_fixture(service: &str, credentials: &Credentials) -> Result<(), DispatchError> {
    dispatch(service, "soc", &fixture_alert(), Value::Null, credentials).await
}

/// Dispatches `alert` with its default publication to `service:soc` under the full retry
/// policy of Q7, without its waits.
async fn dispatch_retrying(
    service: &str,
    alert: &Alert,
    credentials: &Credentials,
) -> Result<(), DispatchError> {
    let quick = RetryPolicy::DEFAULT.with_backoff(Duration::ZERO, Duration::ZERO);
    let publication = saas::publication(alert, service, "soc");
    let overrides = HttpOverrides::new().retry(quick);
    dispatch_with(overrides, service, "soc", alert, &publication, credentials).await
}

fn creds(pairs: &[(&str, &str)]) -> Credentials {
    Credentials::from_iter(pairs.iter().copied())
}

/// The error's `Display` and `Debug` together.
fn shown(error: &DispatchError) -> String {
    format!("{error} {error:?}")
}

/// The fixture's default Jira description.
fn fixture_description() -> Value {
    let alert = fixture_alert();
    let publication = saas::publication(&alert, "jira", "soc");
    streamalert::outputs::jira_common::Ticket::new(&alert, &publication).description
}

// ---------------------------------------------------------------------------------------------
// jira (Server)
// ---------------------------------------------------------------------------------------------

fn jira_creds(server: &MockServer, aggregate: &str) -> Credentials {
    creds(&[
        ("username", "jira-user@example.com"),
        ("password", JIRA_PASSWORD),
        ("url", &server.uri()),
        ("project_key", "SEC"),
        ("issue_type", "Task"),
        ("aggregate", aggregate),
    ])
}

/// A Jira Server that accepts the login and finds issue 10001.
async fn jira_server() -> MockServer {
    let server = MockServer::start().await;
    fallback(
        &server,
        "POST",
        "/rest/auth/1/session",
        json_reply(
            200,
            json!({"session": {"name": "JSESSIONID", "value": JIRA_COOKIE_VALUE}}),
        ),
    )
    .await;
    fallback(
        &server,
        "GET",
        "/rest/api/2/search",
        json_reply(
            200,
            json!({"issues": [{"id": "10001", "key": "SEC-1", "fields": {"summary": "StreamAlert cb_binarystore_file_added"}}]}),
        ),
    )
    .await;
    fallback(
        &server,
        "POST",
        "/rest/api/2/issue/10001/comment",
        json_reply(201, json!({"id": "20002"})),
    )
    .await;
    fallback(
        &server,
        "POST",
        "/rest/api/2/issue",
        json_reply(201, json!({"id": "10002", "key": "SEC-2"})),
    )
    .await;
    server
}

const SEARCH_QUERY: &str = "jql=summary+~+%22StreamAlert+cb_binarystore_file_added%22+and+project%3D%22SEC%22&maxResults=1&validateQuery=True&fields=id&fields=summary";

#[test]
fn jira_login_refused_fails_before_anything_else() {
    block_on(async {
        let server = jira_server().await;
        mock(
            &server,
            "POST",
            "/rest/auth/1/session",
            ResponseTemplate::new(401).set_body_string(format!("wrong password {JIRA_PASSWORD}")),
            1,
        )
        .await;
        let logs = capture_logs();
        let error = dispatch_fixture("jira", &jira_creds(&server, "yes"))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Rejected);
        assert_eq!(error.status(), Some(401));
        assert_eq!(lines(&server).await, ["POST /rest/auth/1/session"]);
        assert!(
            logs.text().contains("Failed to authenticate to Jira"),
            "{}",
            logs.text()
        );
        assert_no_secret("error", &shown(&error), &[JIRA_PASSWORD]);
        assert_no_secret("logs", &logs.text(), &[JIRA_PASSWORD]);
    });
}

#[test]
fn jira_login_without_a_session_fails() {
    block_on(async {
        let server = jira_server().await;
        mock(
            &server,
            "POST",
            "/rest/auth/1/session",
            json_reply(200, json!({})),
            1,
        )
        .await;
        let error = dispatch_fixture("jira", &jira_creds(&server, "yes"))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidResponse);
        assert_eq!(lines(&server).await.len(), 1);
    });
}

#[test]
fn jira_login_sends_the_credentials_and_later_calls_the_cookie() {
    block_on(async {
        let server = jira_server().await;
        dispatch_fixture("jira", &jira_creds(&server, "no"))
            .await
            .unwrap();
        let requests = received(&server).await;
        assert_eq!(
            body(&server, 0).await,
            json!({"username": "jira-user@example.com", "password": JIRA_PASSWORD})
        );
        assert_eq!(
            String::from_utf8_lossy(&requests[0].body),
            format!(r#"{{"username": "jira-user@example.com", "password": "{JIRA_PASSWORD}"}}"#)
        );
        assert!(requests[0].headers.get("cookie").is_none());
        let cookie = requests[1]
            .headers
            .get("cookie")
            .map(|v| v.to_str().unwrap());
        assert_eq!(
            cookie,
            Some(format!("JSESSIONID={JIRA_COOKIE_VALUE}").as_str())
        );
    });
}

#[test]
fn jira_search_found_comments_on_the_issue() {
    block_on(async {
        let server = jira_server().await;
        dispatch_fixture("jira", &jira_creds(&server, "YES"))
            .await
            .unwrap();
        assert_eq!(
            lines(&server).await,
            [
                "POST /rest/auth/1/session".to_owned(),
                format!("GET /rest/api/2/search?{SEARCH_QUERY}"),
                "POST /rest/api/2/issue/10001/comment".to_owned(),
            ]
        );
        assert_eq!(
            body(&server, 2).await,
            json!({"body": fixture_description()})
        );
        let search = &received(&server).await[1];
        assert_eq!(
            search
                .headers
                .get("content-type")
                .map(|v| v.to_str().unwrap()),
            Some("application/json")
        );
    });
}

/// One branch of the search → comment → create flow that `jira` and `jira-v2` share: the reply
/// that replaces one of [`jira_server`]'s, and what follows.
struct Branch {
    name: &'static str,
    aggregate: &'static str,
    /// `(method, path, reply)`, answered once.
    answer: Option<(&'static str, &'static str, ResponseTemplate)>,
    /// `METHOD /path` of the requests after the login, queries left out.
    requests: &'static [&'static str],
    /// The failure and a part of its message, or `None` for a delivery.
    error: Option<(ErrorKind, &'static str)>,
}

const SEARCH: &str = "GET /rest/api/2/search";
const COMMENT: &str = "POST /rest/api/2/issue/10001/comment";
const CREATE: &str = "POST /rest/api/2/issue";
/// Logged when the comment on the issue found failed.
const COMMENT_FAILED: &str = "Encountered an error when adding alert to existing Jira issue 10001. Attempting to create new Jira issue.";

fn branches() -> Vec<Branch> {
    let branch = |name, aggregate, answer, requests, error| Branch {
        name,
        aggregate,
        answer,
        requests,
        error,
    };
    vec![
        branch("found: comment", "YES", None, &[SEARCH, COMMENT], None),
        branch("aggregate off: create", "no", None, &[CREATE], None),
        branch(
            "no issue: create",
            "yes",
            Some((
                "GET",
                "/rest/api/2/search",
                json_reply(200, json!({"issues": []})),
            )),
            &[SEARCH, CREATE],
            None,
        ),
        branch(
            "empty search reply: create",
            "yes",
            Some(("GET", "/rest/api/2/search", json_reply(200, json!({})))),
            &[SEARCH, CREATE],
            None,
        ),
        branch(
            "falsy issue id: create",
            "yes",
            Some((
                "GET",
                "/rest/api/2/search",
                json_reply(200, json!({"issues": [{"id": "0"}]})),
            )),
            &[SEARCH, CREATE],
            None,
        ),
        branch(
            "refused search: not found, create",
            "yes",
            Some((
                "GET",
                "/rest/api/2/search",
                ResponseTemplate::new(400).set_body_string("bad JQL"),
            )),
            &[SEARCH, CREATE],
            None,
        ),
        branch(
            "issue id that is not a number: fail",
            "yes",
            Some((
                "GET",
                "/rest/api/2/search",
                json_reply(200, json!({"issues": [{"id": "SEC-1"}]})),
            )),
            &[SEARCH],
            Some((ErrorKind::InvalidResponse, "without a numeric \"id\"")),
        ),
        branch(
            "refused comment: create",
            "yes",
            Some((
                "POST",
                "/rest/api/2/issue/10001/comment",
                ResponseTemplate::new(400).set_body_string("issue is closed"),
            )),
            &[SEARCH, COMMENT, CREATE],
            None,
        ),
        branch(
            "comment without an id: create",
            "yes",
            Some((
                "POST",
                "/rest/api/2/issue/10001/comment",
                json_reply(200, json!({})),
            )),
            &[SEARCH, COMMENT, CREATE],
            None,
        ),
        branch(
            "creation without an id: fail",
            "no",
            Some(("POST", "/rest/api/2/issue", json_reply(201, json!({})))),
            &[CREATE],
            Some((ErrorKind::InvalidResponse, "without an issue \"id\"")),
        ),
        branch(
            "refused creation: fail with the reply",
            "no",
            Some((
                "POST",
                "/rest/api/2/issue",
                ResponseTemplate::new(400)
                    .set_body_string(r#"{"errors": {"issuetype": "invalid"}}"#),
            )),
            &[CREATE],
            Some((ErrorKind::Rejected, "issuetype")),
        ),
    ]
}

#[test]
fn jira_and_jira_v2_follow_every_branch_of_search_comment_create() {
    block_on(async {
        for service in ["jira", "jira-v2"] {
            for branch in branches() {
                let at = format!("{service}: {}", branch.name);
                let server = jira_server().await;
                if let Some((verb, route, reply)) = branch.answer {
                    mock(&server, verb, route, reply, 1).await;
                }
                let credentials = jira_family_creds(service, &server, branch.aggregate);
                let logs = capture_logs();
                let result = dispatch_fixture(service, &credentials).await;
                match (branch.error, result) {
                    (None, Ok(())) => {}
                    (Some((kind, text)), Err(error)) => {
                        assert_eq!(error.kind(), kind, "{at}: {error}");
                        assert!(!error.is_retryable(), "{at}: {error}");
                        assert!(error.message().contains(text), "{at}: {error}");
                    }
                    (expected, got) => panic!("{at}: expected {expected:?}, got {got:?}"),
                }
                let mut requests: Vec<String> = lines(&server)
                    .await
                    .iter()
                    .map(|l| l.split('?').next().unwrap_or_default().to_owned())
                    .collect();
                if service == "jira" {
                    assert_eq!(requests.remove(0), "POST /rest/auth/1/session", "{at}");
                }
                assert_eq!(requests, branch.requests, "{at}");
                let last = received(&server).await.len() - 1;
                if branch.requests.last() == Some(&CREATE) {
                    assert_eq!(
                        body(&server, last).await,
                        json!({"fields": {
                            "project": {"key": "SEC"},
                            "summary": "StreamAlert cb_binarystore_file_added",
                            "description": fixture_description(),
                            "issuetype": {"name": "Task"},
                        }}),
                        "{at}"
                    );
                }
                if branch.requests.last() == Some(&COMMENT) {
                    assert_eq!(
                        body(&server, last).await,
                        json!({"body": fixture_description()}),
                        "{at}"
                    );
                }
                assert_eq!(
                    logs.text().contains(COMMENT_FAILED),
                    branch.requests == [SEARCH, COMMENT, CREATE],
                    "{at}: {}",
                    logs.text()
                );
            }
        }
    });
}

#[test]
fn jira_publication_keys_set_summary_and_description() {
    block_on(async {
        let server = jira_server().await;
        let extra = json!({"@jira.issue_summary": "Root login", "@jira.description": "see record"});
        dispatch(
            "jira",
            "soc",
            &fixture_alert(),
            extra,
            &jira_creds(&server, "yes"),
        )
        .await
        .unwrap();
        assert_eq!(
            query_param(&server, 1, "jql").await.as_deref(),
            Some(r#"summary ~ "Root login" and project="SEC""#)
        );
        assert_eq!(body(&server, 2).await, json!({"body": "see record"}));
    });
}

#[test]
fn jira_and_jira_v2_without_a_scheme_in_their_url_fail_before_sending() {
    block_on(async {
        let server = jira_server().await;
        for service in ["jira", "jira-v2"] {
            let mut credentials = jira_family_creds(service, &server, "yes");
            credentials.insert("url", "jira.example.com");
            let error = dispatch_fixture(service, &credentials).await.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Config, "{service}: {error}");
            assert!(!error.is_retryable(), "{service}");
        }
        assert!(lines(&server).await.is_empty());
    });
}

// ---------------------------------------------------------------------------------------------
// jira-v2 (Cloud)
// ---------------------------------------------------------------------------------------------

/// The credentials of `service` (`jira` or `jira-v2`) pointing at `server`.
fn jira_family_creds(service: &str, server: &MockServer, aggregate: &str) -> Credentials {
    match service {
        "jira" => jira_creds(server, aggregate),
        "jira-v2" => jira_v2_creds(&server.uri(), aggregate),
        other => panic!("not a Jira output: {other}"),
    }
}

fn jira_v2_creds(base: &str, aggregate: &str) -> Credentials {
    creds(&[
        ("api_key", JIRA_API_KEY),
        ("user_name", "bot@example.com"),
        ("url", base),
        ("project_key", "SEC"),
        ("issue_type", "Task"),
        ("aggregate", aggregate),
    ])
}

/// `Basic base64("bot@example.com:<JIRA_API_KEY>")`.
const JIRA_V2_AUTHORIZATION: &str =
    "Basic Ym90QGV4YW1wbGUuY29tOmppcmEtY2xvdWQtYXBpLWtleS1zZWNyZXQ=";

#[test]
fn jira_v2_search_found_comments_on_the_issue() {
    block_on(async {
        let server = jira_server().await;
        dispatch_fixture("jira-v2", &jira_v2_creds(&server.uri(), "yes"))
            .await
            .unwrap();
        assert_eq!(
            lines(&server).await,
            [
                format!("GET /rest/api/2/search?{SEARCH_QUERY}"),
                "POST /rest/api/2/issue/10001/comment".to_owned(),
            ]
        );
        for request in received(&server).await {
            let header = |name: &str| {
                request
                    .headers
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_owned())
            };
            assert_eq!(
                header("authorization").as_deref(),
                Some(JIRA_V2_AUTHORIZATION)
            );
            assert_eq!(header("accept").as_deref(), Some("application/json"));
            assert!(header("cookie").is_none());
        }
        assert_eq!(
            body(&server, 1).await,
            json!({"body": fixture_description()})
        );
    });
}

#[test]
fn q1_jira_v2_keeps_its_base_url() {
    block_on(async {
        let server = MockServer::start().await;
        fallback(
            &server,
            "GET",
            "/jira/rest/api/2/search",
            json_reply(200, json!({"issues": []})),
        )
        .await;
        fallback(
            &server,
            "POST",
            "/jira/rest/api/2/issue",
            json_reply(201, json!({"id": "1"})),
        )
        .await;
        let base = format!("{}/jira/", server.uri());
        dispatch_fixture("jira-v2", &jira_v2_creds(&base, "yes"))
            .await
            .unwrap();
        assert_eq!(
            lines(&server).await,
            [
                format!("GET /jira/rest/api/2/search?{SEARCH_QUERY}"),
                "POST /jira/rest/api/2/issue".to_owned(),
            ]
        );
    });
}

#[test]
fn q9_jql_escapes_quotes_and_backslashes() {
    block_on(async {
        let summary = r#"Root "login" on C:\temp"#;
        let expected = r#"summary ~ "Root \"login\" on C:\\temp" and project="SEC""#;
        let extra = json!({"@jira.issue_summary": summary});
        for service in ["jira", "jira-v2"] {
            let server = jira_server().await;
            let credentials = jira_family_creds(service, &server, "yes");
            dispatch(
                service,
                "soc",
                &fixture_alert(),
                extra.clone(),
                &credentials,
            )
            .await
            .unwrap();
            let search = usize::from(service == "jira");
            assert_eq!(
                query_param(&server, search, "jql").await.as_deref(),
                Some(expected),
                "{service}"
            );
            // The issue found gets the comment.
            assert!(lines(&server).await[search + 1].ends_with("/10001/comment"));
        }
        // Without quotes or backslashes the query is StreamAlert's, byte for byte.
        let server = jira_server().await;
        dispatch_fixture("jira-v2", &jira_v2_creds(&server.uri(), "yes"))
            .await
            .unwrap();
        assert_eq!(
            lines(&server).await[0],
            format!("GET /rest/api/2/search?{SEARCH_QUERY}")
        );
    });
}

// ---------------------------------------------------------------------------------------------
// phantom
// ---------------------------------------------------------------------------------------------

fn phantom_creds(server: &MockServer) -> Credentials {
    creds(&[("url", &server.uri()), ("ph_auth_token", PHANTOM_TOKEN)])
}

const CONTAINER_SEARCH: &str =
    "GET /rest/container?_filter_name=%22cb_binarystore_file_added%22&page_size=1";

async fn phantom_server(search: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    fallback(&server, "GET", "/rest/container", search).await;
    fallback(
        &server,
        "POST",
        "/rest/container",
        json_reply(200, json!({"id": 77, "success": true})),
    )
    .await;
    fallback(
        &server,
        "POST",
        "/rest/artifact",
        json_reply(200, json!({"id": 5, "success": true})),
    )
    .await;
    server
}

#[test]
fn phantom_existing_container_gets_the_artifact() {
    block_on(async {
        let server =
            phantom_server(json_reply(200, json!({"count": 1, "data": [{"id": 1948}]}))).await;
        dispatch_fixture("phantom", &phantom_creds(&server))
            .await
            .unwrap();
        assert_eq!(
            lines(&server).await,
            [CONTAINER_SEARCH, "POST /rest/artifact"]
        );
        assert_eq!(body(&server, 1).await["container_id"], 1948);
        for request in received(&server).await {
            assert_eq!(
                request
                    .headers
                    .get("ph-auth-token")
                    .map(|v| v.to_str().unwrap()),
                Some(PHANTOM_TOKEN)
            );
        }
    });
}

#[test]
fn phantom_missing_container_is_created_then_gets_the_artifact() {
    block_on(async {
        let server = phantom_server(json_reply(200, json!({"count": 0, "data": []}))).await;
        dispatch_fixture("phantom", &phantom_creds(&server))
            .await
            .unwrap();
        assert_eq!(
            lines(&server).await,
            [
                CONTAINER_SEARCH,
                "POST /rest/container",
                "POST /rest/artifact"
            ]
        );
        assert_eq!(
            body(&server, 1).await,
            json!({"name": "cb_binarystore_file_added", "description": "Info about this rule and what actions to take"})
        );
        let artifact = body(&server, 2).await;
        assert_eq!(artifact["container_id"], 77);
        assert_eq!(artifact["cef"], *fixture_alert().record);
    });
}

#[test]
fn phantom_refused_search_creates_the_container() {
    block_on(async {
        let server = phantom_server(ResponseTemplate::new(500)).await;
        dispatch_fixture("phantom", &phantom_creds(&server))
            .await
            .unwrap();
        assert_eq!(
            lines(&server).await,
            [
                CONTAINER_SEARCH,
                "POST /rest/container",
                "POST /rest/artifact"
            ]
        );
    });
}

#[test]
fn phantom_refused_container_creation_fails_without_an_artifact() {
    block_on(async {
        let server = phantom_server(json_reply(200, json!({"count": 0}))).await;
        mock(
            &server,
            "POST",
            "/rest/container",
            ResponseTemplate::new(400).set_body_string("container name invalid"),
            1,
        )
        .await;
        let error = dispatch_fixture("phantom", &phantom_creds(&server))
            .await
            .unwrap_err();
        assert_eq!(error.status(), Some(400));
        assert_eq!(
            lines(&server).await,
            [CONTAINER_SEARCH, "POST /rest/container"]
        );
    });
}

#[test]
fn phantom_container_creation_without_an_id_fails() {
    block_on(async {
        let server = phantom_server(json_reply(200, json!({}))).await;
        mock(
            &server,
            "POST",
            "/rest/container",
            json_reply(200, json!({"success": false})),
            1,
        )
        .await;
        let error = dispatch_fixture("phantom", &phantom_creds(&server))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidResponse);
        assert_eq!(lines(&server).await.len(), 2);
    });
}

#[test]
fn phantom_refused_artifact_fails() {
    block_on(async {
        let server =
            phantom_server(json_reply(200, json!({"count": 1, "data": [{"id": 3}]}))).await;
        mock(
            &server,
            "POST",
            "/rest/artifact",
            ResponseTemplate::new(422),
            1,
        )
        .await;
        let error = dispatch_fixture("phantom", &phantom_creds(&server))
            .await
            .unwrap_err();
        assert_eq!(error.status(), Some(422));
    });
}

// ---------------------------------------------------------------------------------------------
// carbonblack
// ---------------------------------------------------------------------------------------------

fn cb_creds(server: &MockServer) -> Credentials {
    creds(&[
        ("url", &server.uri()),
        ("token", CB_TOKEN),
        ("ssl_verify", "Y"),
    ])
}

fn cb_alert(context: Value) -> Alert {
    let mut alert = fixture_alert();
    alert.context = context.as_object().cloned().unwrap_or_default();
    alert
}

fn ban_context() -> Value {
    json!({"carbonblack": {"action": "ban", "value": MD5}})
}

const BLACKLIST_GET: &str = "GET /api/v1/banning/blacklist/0f9aa55da3bde84b35656ad8911a22e1";

/// A CB Response 6.x server that knows the binary and whose blacklist answers `blacklist`.
async fn cb_server(version: &str, blacklist: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    fallback(
        &server,
        "GET",
        "/api/info",
        json_reply(200, json!({"version": version})),
    )
    .await;
    fallback(
        &server,
        "GET",
        "/api/v1/storage/events/partition",
        json_reply(200, json!({})),
    )
    .await;
    fallback(
        &server,
        "GET",
        &format!("/api/v1/binary/{MD5}/summary"),
        json_reply(200, json!({"md5": MD5, "size": 21504})),
    )
    .await;
    fallback(
        &server,
        "GET",
        "/api/v1/banning/blacklist/0f9aa55da3bde84b35656ad8911a22e1",
        blacklist,
    )
    .await;
    fallback(
        &server,
        "POST",
        "/api/v1/banning/blacklist",
        json_reply(200, json!({"result": "success"})),
    )
    .await;
    server
}

async fn cb_dispatch(server: &MockServer, context: Value) -> Result<(), DispatchError> {
    dispatch(
        "carbonblack",
        "soc",
        &cb_alert(context),
        Value::Null,
        &cb_creds(server),
    )
    .await
}

#[test]
fn carbonblack_without_context_fails_before_any_request() {
    block_on(async {
        let server = cb_server("6.2.3", ResponseTemplate::new(404)).await;
        let logs = capture_logs();
        let error = cb_dispatch(&server, json!({})).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);
        assert!(lines(&server).await.is_empty());
        assert!(
            logs.text()
                .contains("[carbonblack] Alert must contain context to run actions")
        );
    });
}

#[test]
fn carbonblack_unsupported_action_fails_before_any_request() {
    block_on(async {
        let server = cb_server("6.2.3", ResponseTemplate::new(404)).await;
        let logs = capture_logs();
        let context = json!({"carbonblack": {"action": "isolate", "value": "host-1"}});
        let error = cb_dispatch(&server, context).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);
        assert!(
            error.message().contains("Action not supported: isolate"),
            "{error}"
        );
        assert!(
            logs.text()
                .contains("[carbonblack] Action not supported: isolate")
        );
        assert!(lines(&server).await.is_empty());
        // Context for another output only: the action is None.
        let error = cb_dispatch(&server, json!({"slack": {}}))
            .await
            .unwrap_err();
        assert!(
            error.message().contains("Action not supported: None"),
            "{error}"
        );
    });
}

#[test]
fn carbonblack_value_that_is_not_an_md5_fails_before_any_request() {
    block_on(async {
        let server = cb_server("6.2.3", ResponseTemplate::new(404)).await;
        let context = json!({"carbonblack": {"action": "ban", "value": "0F9AA55D"}});
        let error = cb_dispatch(&server, context).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);
        assert!(lines(&server).await.is_empty());
    });
}

#[test]
fn carbonblack_empty_token_fails_before_any_request() {
    block_on(async {
        // cbapi refuses to build a client without a token (spec §2.9 step 3).
        let server = cb_server("6.2.3", ResponseTemplate::new(404)).await;
        let mut credentials = cb_creds(&server);
        credentials.insert("token", "");
        let alert = cb_alert(ban_context());
        let error = dispatch("carbonblack", "soc", &alert, Value::Null, &credentials)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config, "{error}");
        assert!(!error.is_retryable());
        assert!(error.message().contains("`token` is empty"), "{error}");
        assert!(lines(&server).await.is_empty());
    });
}

#[test]
fn carbonblack_already_banned_and_enabled_changes_nothing() {
    block_on(async {
        let ban =
            json!({"md5hash": "0f9aa55da3bde84b35656ad8911a22e1", "enabled": true, "text": "x"});
        let server = cb_server("6.2.3", json_reply(200, ban)).await;
        cb_dispatch(&server, ban_context()).await.unwrap();
        assert_eq!(
            lines(&server).await,
            [
                "GET /api/info".to_owned(),
                "GET /api/v1/storage/events/partition".to_owned(),
                format!("GET /api/v1/binary/{MD5}/summary"),
                BLACKLIST_GET.to_owned(),
                BLACKLIST_GET.to_owned(),
            ]
        );
        for request in received(&server).await {
            assert_eq!(
                request
                    .headers
                    .get("x-auth-token")
                    .map(|v| v.to_str().unwrap()),
                Some(CB_TOKEN)
            );
        }
    });
}

#[test]
fn carbonblack_banned_but_disabled_is_re_enabled() {
    block_on(async {
        let ban = json!({
            "md5hash": "0f9aa55da3bde84b35656ad8911a22e1",
            "text": "Banned by hand",
            "enabled": false,
            "user_id": 1,
            "last_ban_time": "2019-01-01 00:00:00.000000-00:00",
        });
        let server = cb_server("6.2.3", json_reply(200, ban.clone())).await;
        fallback(
            &server,
            "GET",
            &format!("/api/v1/banning/blacklist/{MD5}"),
            json_reply(200, ban),
        )
        .await;
        cb_dispatch(&server, ban_context()).await.unwrap();
        let requests = lines(&server).await;
        assert_eq!(
            requests[3..],
            [
                BLACKLIST_GET.to_owned(),
                BLACKLIST_GET.to_owned(),
                format!("GET /api/v1/banning/blacklist/{MD5}"),
                "POST /api/v1/banning/blacklist".to_owned(),
            ]
        );
        let post = &received(&server).await[6];
        assert_eq!(
            String::from_utf8_lossy(&post.body),
            r#"{"enabled": true, "last_ban_time": "2019-01-01 00:00:00.000000-00:00", "md5hash": "0f9aa55da3bde84b35656ad8911a22e1", "text": "Banned by hand", "user_id": 1}"#
        );
        assert_eq!(
            post.headers
                .get("content-type")
                .map(|v| v.to_str().unwrap()),
            Some("application/json")
        );
    });
}

#[test]
fn carbonblack_not_banned_is_banned() {
    block_on(async {
        let server = cb_server("6.2.3", ResponseTemplate::new(404)).await;
        cb_dispatch(&server, ban_context()).await.unwrap();
        let requests = lines(&server).await;
        assert_eq!(
            requests[2..],
            [
                format!("GET /api/v1/binary/{MD5}/summary"),
                BLACKLIST_GET.to_owned(),
                "POST /api/v1/banning/blacklist".to_owned(),
            ]
        );
        let post = &received(&server).await[4];
        assert_eq!(
            String::from_utf8_lossy(&post.body),
            format!(
                r#"{{"enabled": true, "md5hash": "{MD5}", "text": "Banned from StreamAlert"}}"#
            )
        );
    });
}

#[test]
fn carbonblack_conflict_means_not_banned() {
    block_on(async {
        let server = cb_server("6.2.3", ResponseTemplate::new(409)).await;
        cb_dispatch(&server, ban_context()).await.unwrap();
        assert_eq!(
            lines(&server).await.last().unwrap(),
            "POST /api/v1/banning/blacklist"
        );
    });
}

#[test]
fn carbonblack_blacklist_failure_fails() {
    block_on(async {
        let server = cb_server("6.2.3", ResponseTemplate::new(500)).await;
        let error = cb_dispatch(&server, ban_context()).await.unwrap_err();
        assert_eq!(error.status(), Some(500));
        assert!(error.is_retryable());
        assert!(!lines(&server).await.iter().any(|l| l.starts_with("POST")));
    });
}

#[test]
fn carbonblack_ban_reported_disabled_fails() {
    block_on(async {
        let server = cb_server("6.2.3", ResponseTemplate::new(404)).await;
        mock(
            &server,
            "POST",
            "/api/v1/banning/blacklist",
            json_reply(200, json!({"md5hash": MD5, "enabled": false})),
            1,
        )
        .await;
        let error = cb_dispatch(&server, ban_context()).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidResponse);
        assert!(error.message().contains("enabled"), "{error}");
    });
}

#[test]
fn carbonblack_server_older_than_5_is_refused() {
    block_on(async {
        let server = cb_server("4.2.9", ResponseTemplate::new(404)).await;
        let error = cb_dispatch(&server, ban_context()).await.unwrap_err();
        assert!(error.message().contains(">= 5.0.0"), "{error}");
        assert_eq!(lines(&server).await, ["GET /api/info"]);
    });
}

#[test]
fn carbonblack_5x_server_skips_the_partition_listing() {
    block_on(async {
        let server = cb_server("5.3.0", ResponseTemplate::new(404)).await;
        cb_dispatch(&server, ban_context()).await.unwrap();
        let requests = lines(&server).await;
        assert_eq!(requests[0], "GET /api/info");
        assert_eq!(requests[1], format!("GET /api/v1/binary/{MD5}/summary"));
    });
}

#[test]
fn carbonblack_unknown_binary_fails() {
    block_on(async {
        let server = cb_server("6.2.3", ResponseTemplate::new(404)).await;
        mock(
            &server,
            "GET",
            &format!("/api/v1/binary/{MD5}/summary"),
            ResponseTemplate::new(404),
            1,
        )
        .await;
        let error = cb_dispatch(&server, ban_context()).await.unwrap_err();
        assert_eq!(error.status(), Some(404));
        assert!(!lines(&server).await.iter().any(|l| l.starts_with("POST")));
    });
}

// ---------------------------------------------------------------------------------------------
// github, victorops, komand, demisto
// ---------------------------------------------------------------------------------------------

fn github_creds(api: &str) -> Credentials {
    creds(&[
        ("username", "octobot"),
        ("access_token", GITHUB_TOKEN),
        ("repository", "acme/alerts"),
        ("labels", "security,p1"),
        ("api", api),
    ])
}

#[test]
fn q11_github_stored_api_wins_over_the_default() {
    block_on(async {
        let server = MockServer::start().await;
        fallback(
            &server,
            "POST",
            "/api/v3/repos/acme/alerts/issues",
            json_reply(201, json!({"id": 1})),
        )
        .await;
        let enterprise = format!("{}/api/v3", server.uri());
        // The override is logged on an output's first use: a descriptor no other test uses.
        let logs = capture_logs();
        let credentials = github_creds(&enterprise);
        dispatch("github", "q11", &fixture_alert(), Value::Null, &credentials)
            .await
            .unwrap();
        let log = logs.text();
        assert!(
            log.contains("the stored `api` overrides the output's default endpoint"),
            "logged by key name: {log}"
        );
        assert!(!log.contains(&enterprise), "never by value: {log}");
        assert_eq!(
            lines(&server).await,
            ["POST /api/v3/repos/acme/alerts/issues"]
        );
        let issue = body(&server, 0).await;
        assert_eq!(issue["labels"], json!(["security", "p1"]));
        assert_eq!(issue["title"], "StreamAlert: cb_binarystore_file_added");
    });
}

#[test]
fn github_publication_keys_set_title_and_body() {
    block_on(async {
        let server = MockServer::start().await;
        fallback(
            &server,
            "POST",
            "/repos/acme/alerts/issues",
            json_reply(201, json!({})),
        )
        .await;
        let extra = json!({"@github.title": "Root login", "@github.body": "details"});
        dispatch(
            "github",
            "soc",
            &fixture_alert(),
            extra,
            &github_creds(&server.uri()),
        )
        .await
        .unwrap();
        assert_eq!(
            body(&server, 0).await,
            json!({"title": "Root login", "body": "details", "labels": ["security", "p1"]})
        );
    });
}

#[test]
fn q17_a_missing_description_is_written_none() {
    block_on(async {
        let mut alert = fixture_alert();
        alert.rule_description = None;
        let server = MockServer::start().await;
        fallback(
            &server,
            "POST",
            "/repos/acme/alerts/issues",
            json_reply(201, json!({})),
        )
        .await;
        fallback(&server, "POST", "/incident", json_reply(201, json!({}))).await;
        dispatch(
            "github",
            "soc",
            &alert,
            Value::Null,
            &github_creds(&server.uri()),
        )
        .await
        .unwrap();
        let demisto = creds(&[("url", &server.uri()), ("token", DEMISTO_TOKEN)]);
        dispatch("demisto", "soc", &alert, Value::Null, &demisto)
            .await
            .unwrap();
        let issue = body(&server, 0).await;
        assert!(
            issue["body"]
                .as_str()
                .unwrap()
                .starts_with("### Description\nNone\n\n### Event data"),
            "{issue}"
        );
        assert_eq!(body(&server, 1).await["details"], "None");
    });
}

#[test]
fn victorops_publication_without_a_record_fails_before_sending() {
    block_on(async {
        let server = MockServer::start().await;
        let credentials = creds(&[
            ("victorops_api_id", "vo-api-id"),
            ("victorops_api_key", VO_API_KEY),
            ("url", &server.uri()),
            ("routing_key", VO_ROUTING_KEY),
        ]);
        let alert = fixture_alert();
        let publication = Publication::new();
        let error = dispatch_with(
            single_attempt(),
            "victorops",
            "soc",
            &alert,
            &publication,
            &credentials,
        )
        .await
        .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Publish);
        assert!(lines(&server).await.is_empty());
    });
}

#[test]
fn demisto_publication_keys_override_the_defaults() {
    block_on(async {
        let server = MockServer::start().await;
        fallback(&server, "POST", "/incident", json_reply(201, json!({}))).await;
        let extra = json!({
            "@demisto.incident_type": 7,
            "@demisto.playbook": ["pb"],
            "@demisto.severity": "Critical",
            "@demisto.owner": "secops",
            "@demisto.details": null,
            "@demisto.incident_name": "Root login",
            "@demisto.label_data": {"host": "web-1", "tags": ["a", 1.5]},
        });
        let credentials = creds(&[("url", &server.uri()), ("token", DEMISTO_TOKEN)]);
        dispatch("demisto", "soc", &fixture_alert(), extra, &credentials)
            .await
            .unwrap();
        assert_eq!(
            body(&server, 0).await,
            json!({
                "type": "7",
                "name": "Root login",
                "owner": "secops",
                "playbook": ["pb"],
                "severity": 4,
                "labels": [
                    {"type": "host", "value": "web-1"},
                    {"type": "tags[0]", "value": "a"},
                    {"type": "tags[1]", "value": "1.5"},
                ],
                "customFields": {},
                "details": "None",
                "createInvestigation": true,
            })
        );
    });
}

#[test]
fn demisto_severity_names_map_to_numbers() {
    use streamalert::outputs::demisto::severity;
    for (name, number) in [
        (json!("info"), json!(0.5)),
        (json!("Informational"), json!(0.5)),
        (json!("LOW"), json!(1)),
        (json!("med"), json!(2)),
        (json!("Medium"), json!(2)),
        (json!("high"), json!(3)),
        (json!("critical"), json!(4)),
        (json!("unknown"), json!(0)),
        (json!("severe"), json!(0)),
        (json!(3), json!(0)),
        (json!(null), json!(0)),
    ] {
        assert_eq!(severity(&name), number, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Decisions
// ---------------------------------------------------------------------------------------------

/// The properties of a registered output.
fn properties(service: &str) -> Vec<streamalert::OutputProperty> {
    saas::output(service).properties()
}

#[test]
fn q6_url_properties_forbid_only_spaces() {
    for service in [
        "jira",
        "komand",
        "victorops",
        "phantom",
        "demisto",
        "carbonblack",
    ] {
        let url = properties(service)
            .into_iter()
            .find(|p| p.name == "url")
            .expect("a url property");
        assert_eq!(url.restrictions, [' '], "{service}");
        assert!(
            url.validate("https://host.example:8443/path?q=1").is_ok(),
            "{service}"
        );
        assert!(url.validate("https://host example").is_err(), "{service}");
    }
    let jira_v2_url = properties("jira-v2")
        .into_iter()
        .find(|p| p.name == "url")
        .expect("a url property");
    assert!(jira_v2_url.restrictions.is_empty());
}

/// `(name, masked, secret)` of one property.
type Property = (&'static str, bool, bool);

#[test]
fn properties_follow_the_spec_table() {
    // (service, properties in prompt order), spec §2.23.
    let table: [(&str, &[Property]); 8] = [
        (
            "jira",
            &[
                ("descriptor", false, false),
                ("username", true, true),
                ("password", true, true),
                ("url", true, true),
                ("project_key", false, true),
                ("issue_type", false, true),
                ("aggregate", false, true),
            ],
        ),
        (
            "jira-v2",
            &[
                ("descriptor", false, false),
                ("api_key", true, true),
                ("user_name", false, true),
                ("url", false, true),
                ("project_key", false, true),
                ("issue_type", false, true),
                ("aggregate", false, true),
            ],
        ),
        (
            "github",
            &[
                ("descriptor", false, false),
                ("repository", false, true),
                ("labels", false, true),
                ("username", false, true),
                ("access_token", true, true),
            ],
        ),
        (
            "victorops",
            &[
                ("descriptor", false, false),
                ("victorops_api_id", true, true),
                ("victorops_api_key", true, true),
                ("url", true, true),
                ("routing_key", true, true),
            ],
        ),
        (
            "komand",
            &[
                ("descriptor", false, false),
                ("komand_auth_token", true, true),
                ("url", true, true),
            ],
        ),
        (
            "phantom",
            &[
                ("descriptor", false, false),
                ("ph_auth_token", true, true),
                ("url", true, true),
            ],
        ),
        (
            "carbonblack",
            &[
                ("descriptor", false, false),
                ("url", false, true),
                ("token", true, true),
            ],
        ),
        (
            "demisto",
            &[
                ("descriptor", false, false),
                ("url", false, true),
                ("token", true, true),
            ],
        ),
    ];
    for (service, expected) in table {
        let got: Vec<(&str, bool, bool)> = properties(service)
            .iter()
            .map(|p| (p.name, p.mask, p.secret))
            .collect();
        assert_eq!(got, expected, "{service}");
    }
    let user_name = &properties("jira-v2")[2];
    assert_eq!(
        user_name.description,
        "The jira username for the api keyexample \"username@company.com\""
    );
}

#[test]
fn q7_komand_and_victorops_are_retried_like_every_output() {
    block_on(async {
        let alert = fixture_alert();
        for service in ["komand", "victorops"] {
            let server = MockServer::start().await;
            let (route, credentials) = if service == "komand" {
                (
                    "/",
                    creds(&[("url", &server.uri()), ("komand_auth_token", KOMAND_TOKEN)]),
                )
            } else {
                (
                    "/rk-route",
                    creds(&[
                        ("url", &server.uri()),
                        ("victorops_api_id", "vo-api-id"),
                        ("victorops_api_key", VO_API_KEY),
                        ("routing_key", "rk-route"),
                    ]),
                )
            };
            mock(&server, "POST", route, ResponseTemplate::new(503), 1).await;
            fallback(&server, "POST", route, json_reply(200, json!({}))).await;
            dispatch_retrying(service, &alert, &credentials)
                .await
                .unwrap();
            assert_eq!(lines(&server).await.len(), 2, "{service}: 503 then 200");

            server.reset().await;
            fallback(&server, "POST", route, ResponseTemplate::new(400)).await;
            let error = dispatch_retrying(service, &alert, &credentials)
                .await
                .unwrap_err();
            assert_eq!(error.status(), Some(400), "{service}");
            assert_eq!(lines(&server).await.len(), 1, "{service}: a 400 is final");
        }
    });
}

#[test]
fn q7_every_ticketing_output_retries_5xx_and_429_but_no_other_4xx() {
    block_on(async {
        for service in TICKETING {
            for (status, tries) in [(500, 5), (503, 5), (429, 5), (400, 1), (404, 1)] {
                let server = MockServer::start().await;
                Mock::given(wiremock::matchers::any())
                    .respond_with(ResponseTemplate::new(status))
                    .mount(&server)
                    .await;
                let alert = cb_alert(ban_context());
                let credentials = all_credentials(&server, service);
                let error = dispatch_retrying(service, &alert, &credentials)
                    .await
                    .unwrap_err();
                let at = format!("{service}, HTTP {status}");
                // A refused search (jira, phantom) goes on to a creation, refused the same way.
                let requests = lines(&server).await;
                let first = requests.iter().filter(|r| **r == requests[0]).count();
                assert_eq!(first, tries, "{at}: {requests:?}");
                assert_eq!(error.status(), Some(status), "{at}");
                assert_eq!(error.is_retryable(), tries > 1, "{at}: {error}");
            }
        }
    });
}

#[test]
fn q7_a_jira_v2_search_answered_500_is_retried() {
    block_on(async {
        let server = jira_server().await;
        mock(
            &server,
            "GET",
            "/rest/api/2/search",
            ResponseTemplate::new(500),
            2,
        )
        .await;
        let alert = fixture_alert();
        let credentials = jira_v2_creds(&server.uri(), "yes");
        dispatch_retrying("jira-v2", &alert, &credentials)
            .await
            .unwrap();
        let requests = lines(&server).await;
        assert_eq!(requests.len(), 4, "{requests:?}"); // 500, 500, found, comment
        assert!(requests[3].ends_with("/comment"));
    });
}

/// One dispatch of `service` to `server` (whatever the result), with its credentials extended
/// by `extra` (e.g. `tls_verify`).
async fn dispatch_against(
    server: &MockServer,
    service: &str,
    descriptor: &str,
    extra: &[(&str, &str)],
) {
    let mut credentials = all_credentials(server, service);
    for (name, value) in extra {
        credentials.insert(*name, *value);
    }
    let alert = cb_alert(ban_context());
    let _ = dispatch(service, descriptor, &alert, Value::Null, &credentials).await;
}

/// Credentials for `service` pointing at `server`, with every secret one of the constants.
fn all_credentials(server: &MockServer, service: &str) -> Credentials {
    let uri = server.uri();
    match service {
        "jira" => jira_creds(server, "yes"),
        "jira-v2" => jira_v2_creds(&uri, "yes"),
        "github" => github_creds(&uri),
        "victorops" => creds(&[
            ("victorops_api_id", "vo-api-id"),
            ("victorops_api_key", VO_API_KEY),
            ("url", &uri),
            ("routing_key", VO_ROUTING_KEY),
        ]),
        "komand" => creds(&[("url", &uri), ("komand_auth_token", KOMAND_TOKEN)]),
        "phantom" => phantom_creds(server),
        "carbonblack" => cb_creds(server),
        "demisto" => creds(&[("url", &uri), ("token", DEMISTO_TOKEN)]),
        other => panic!("not a service of this file: {other}"),
    }
}

#[test]
fn q8_tls_is_verified_unless_the_descriptor_opts_out() {
    block_on(async {
        const WARNING: &str = "TLS certificate verification is turned off";
        let server = MockServer::start().await;
        for service in TICKETING {
            let logs = capture_logs();
            dispatch_against(&server, service, "q8-default", &[]).await;
            assert!(
                !logs.text().contains(WARNING),
                "{service}: verified by default"
            );

            let logs = capture_logs();
            dispatch_against(&server, service, "q8-opt-out", &[("tls_verify", "false")]).await;
            let text = logs.text();
            assert!(
                text.contains(WARNING) && text.contains(&format!("{service}:q8-opt-out")),
                "{service}: the opt-out is logged at WARN:\n{text}"
            );
            assert!(text.contains("WARN"), "{text}");
        }
        // carbonblack also honours cbapi's own `ssl_verify` setting.
        let logs = capture_logs();
        dispatch_against(
            &server,
            "carbonblack",
            "q8-ssl-verify",
            &[("ssl_verify", "N")],
        )
        .await;
        assert!(logs.text().contains(WARNING), "{}", logs.text());
    });
}

#[test]
fn no_secret_in_errors_or_logs() {
    block_on(async {
        // `Basic base64("octobot:<GITHUB_TOKEN>")`, as the GitHub output sends it.
        const GITHUB_AUTHORIZATION: &str = "Basic b2N0b2JvdDpnaHAtYWNjZXNzLXRva2VuLXNlY3JldA==";
        for service in TICKETING {
            // The secrets this output holds or derives (passwords, tokens, API keys, session
            // cookies, `Authorization` values).
            let secrets: &[&str] = match service {
                "jira" => &[JIRA_PASSWORD, JIRA_COOKIE_VALUE],
                "jira-v2" => &[JIRA_API_KEY, JIRA_V2_AUTHORIZATION],
                "github" => &[GITHUB_TOKEN, GITHUB_AUTHORIZATION],
                "victorops" => &[VO_API_KEY, VO_ROUTING_KEY],
                "komand" => &[KOMAND_TOKEN],
                "phantom" => &[PHANTOM_TOKEN],
                "carbonblack" => &[CB_TOKEN],
                "demisto" => &[DEMISTO_TOKEN],
                other => panic!("not a service of this file: {other}"),
            };
            let server = MockServer::start().await;
            // Jira Server logs in, carbonblack connects; everything after that is refused with a
            // reply that echoes every secret.
            fallback(
                &server,
                "POST",
                "/rest/auth/1/session",
                json_reply(
                    200,
                    json!({"session": {"name": "JSESSIONID", "value": JIRA_COOKIE_VALUE}}),
                ),
            )
            .await;
            fallback(
                &server,
                "GET",
                "/api/info",
                json_reply(200, json!({"version": "5.1"})),
            )
            .await;
            let echo = format!("denied: {}", secrets.join(" "));
            Mock::given(wiremock::matchers::any())
                .respond_with(ResponseTemplate::new(401).set_body_string(echo))
                .with_priority(20)
                .mount(&server)
                .await;
            let logs = capture_logs();
            let alert = cb_alert(ban_context());
            let credentials = all_credentials(&server, service);
            let error = dispatch(service, "secrets", &alert, Value::Null, &credentials)
                .await
                .unwrap_err();
            assert!(
                error.message().contains("denied"),
                "{service}: the reply is quoted: {error}"
            );
            assert_no_secret(&format!("{service} error"), &shown(&error), secrets);
            assert_no_secret(&format!("{service} logs"), &logs.text(), secrets);
            let publication = Publication::new();
            let delivery =
                Delivery::new(&alert, "secrets", &publication).with_credentials(&credentials);
            let debug = format!(
                "{credentials:?} {delivery:?} {:?}",
                Http::new(service, &delivery)
            );
            assert!(debug.contains("[REDACTED]"), "{service}: {debug}");
            assert_no_secret(&format!("{service} Debug"), &debug, secrets);
        }
    });
}
