//! The outputs StreamAlert never had (issue 16): `opsgenie`, `slack-bot`, `google-chat`,
//! `discord`, `splunk-hec`, against wiremock. Each test
//! checks the exact request the vendor's API documentation describes (method, path, the
//! headers that carry auth and content type, the JSON body as a value), the replies that
//! vendor documents (success and error shapes), and that no secret reaches an error.

use crate::support::saas::{self, Logs, assert_no_secret, json_reply, reply};
use serde_json::{Value, json};
use streamalert::output::http::{Http, HttpOverrides, RetryPolicy};
use streamalert::output::{Credentials, Delivery, ErrorKind};
use streamalert::{Alert, DispatchError, Publication};
use wiremock::{MockServer, Request, ResponseTemplate};

/// The full retry policy, no per-attempt timeout (paused clock).
fn paused() -> HttpOverrides {
    HttpOverrides::new()
        .retry(RetryPolicy::DEFAULT)
        .timeout(None)
}

/// Every text a failure can show: `Display`, `Debug`, the message.
fn shown(error: &DispatchError) -> String {
    format!("{error}\n{error:?}\n{}", error.message())
}

/// The one request `server` received.
async fn only_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 1, "one request expected");
    requests.remove(0)
}

fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("a JSON body")
}

/// Dispatches the fixture alert to `service:descriptor` with `extra` publication keys.
async fn dispatch(
    service: &str,
    descriptor: &str,
    credentials: &Credentials,
    extra: Value,
) -> Result<(), DispatchError> {
    let alert = saas::fixture_alert();
    let publication = saas::publication_with(&alert, service, descriptor, extra);
    saas::dispatch_with(
        paused(),
        service,
        descriptor,
        &alert,
        &publication,
        credentials,
    )
    .await
}

/// The fixture alert's record as `json.dumps(record, indent=2)` writes it.
const FIXTURE_RECORD_INDENTED: &str = r#"{
  "compressed_size": "9982",
  "timestamp": "1496947381.18",
  "node_id": "1",
  "cb_server": "cbserver",
  "size": "21504",
  "type": "binarystore.file.added",
  "file_path": "/tmp/5DA/AD8/0F9AA55DA3BDE84B35656AD8911A22E1.zip",
  "md5": "0F9AA55DA3BDE84B35656AD8911A22E1"
}"#;

// ---------------------------------------------------------------------------------------------
// opsgenie
// ---------------------------------------------------------------------------------------------

/// The Opsgenie API key used here (the format of the documentation's example key).
const GENIE_KEY: &str = "eb243592-faa2-4ba2-a551-1afdf565c889";

fn opsgenie(server: &MockServer) -> Credentials {
    Credentials::from_iter([
        ("api_key", GENIE_KEY.to_owned()),
        ("region", "us".to_owned()),
        ("url", server.uri()),
    ])
}

/// Opsgenie's documented reply to a create-alert request.
fn opsgenie_accepted() -> ResponseTemplate {
    json_reply(
        202,
        json!({
            "result": "Request will be processed",
            "took": 0.302,
            "requestId": "43a29c5c-3dbf-4fa4-9c26-f4f71023e120",
        }),
    )
}

#[tokio::test(start_paused = true)]
async fn opsgenie_creates_the_documented_alert_with_the_alert_id_as_alias() {
    let server = MockServer::start().await;
    reply(&server, "POST", "/v2/alerts", opsgenie_accepted(), 1, 1).await;
    dispatch("opsgenie", "soc", &opsgenie(&server), Value::Null)
        .await
        .unwrap();
    let request = only_request(&server).await;
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), "/v2/alerts");
    assert_eq!(
        header(&request, "authorization").as_deref(),
        Some("GenieKey eb243592-faa2-4ba2-a551-1afdf565c889")
    );
    assert_eq!(
        header(&request, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        body(&request),
        json!({
            "message": "StreamAlert Rule Triggered: cb_binarystore_file_added",
            "alias": "79192344-4a6d-4850-8d06-9c3fef1060a4",
            "description": format!(
                "Info about this rule and what actions to take\n\nRecord:\n{FIXTURE_RECORD_INDENTED}"
            ),
            "tags": ["streamalert", "cb_binarystore_file_added"],
            "details": {
                "rule_name": "cb_binarystore_file_added",
                "alert_id": "79192344-4a6d-4850-8d06-9c3fef1060a4",
                "log_source": "carbonblack:binarystore.file.added",
                "log_type": "json",
                "source_entity": "corp-prefix.prod.cb.region",
                "source_service": "s3",
            },
            "source": "StreamAlert",
            "priority": "P3",
        })
    );
}

#[tokio::test(start_paused = true)]
async fn opsgenie_publication_keys_set_priority_tags_details_and_responders() {
    let server = MockServer::start().await;
    reply(&server, "POST", "/v2/alerts", opsgenie_accepted(), 1, 1).await;
    let extra = json!({
        "@opsgenie.message": "Root login on web-1",
        "@opsgenie.alias": "root-login-web-1",
        "@opsgenie.description": "see the runbook",
        "@opsgenie.priority": "p1",
        "@opsgenie.tags": ["OverwriteQuietHours", "Critical"],
        "@opsgenie.details": {"key1": "value1", "count": 2},
        "@opsgenie.responders": [{"id": "4513b7ea-3b91-438f-b7e4-e3e54af9147c", "type": "team"}],
    });
    dispatch("opsgenie", "soc", &opsgenie(&server), extra)
        .await
        .unwrap();
    assert_eq!(
        body(&only_request(&server).await),
        json!({
            "message": "Root login on web-1",
            "alias": "root-login-web-1",
            "description": "see the runbook",
            "responders": [{"id": "4513b7ea-3b91-438f-b7e4-e3e54af9147c", "type": "team"}],
            "tags": ["OverwriteQuietHours", "Critical"],
            "details": {"key1": "value1", "count": "2"},
            "source": "StreamAlert",
            "priority": "P1",
        })
    );

    // An unknown priority is logged and replaced by P3.
    let logs = Logs::capture();
    reply(&server, "POST", "/v2/alerts", opsgenie_accepted(), 1, 1).await;
    dispatch(
        "opsgenie",
        "soc",
        &opsgenie(&server),
        json!({"@opsgenie.priority": "urgent"}),
    )
    .await
    .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(body(&requests[1])["priority"], "P3");
    assert!(
        logs.text().contains("is not one of P1-P5"),
        "{}",
        logs.text()
    );
}

#[test]
fn opsgenie_region_chooses_the_us_or_eu_api_and_rejects_others() {
    let alert = Alert::new("r", json!({}), ["opsgenie:soc"]);
    let publication = Publication::new();
    let url_for = |region: Option<&str>| {
        let mut credentials = Credentials::from_iter([("api_key", GENIE_KEY)]);
        if let Some(region) = region {
            credentials.insert("region", region);
        }
        let delivery = Delivery::new(&alert, "soc", &publication).with_credentials(&credentials);
        let http = Http::new("opsgenie", &delivery);
        streamalert::outputs::opsgenie::request(&http, &delivery)
            .map(|request| request.url().to_string())
    };
    assert_eq!(
        url_for(Some("us")).unwrap(),
        "https://api.opsgenie.com/v2/alerts"
    );
    assert_eq!(
        url_for(Some(" EU ")).unwrap(),
        "https://api.eu.opsgenie.com/v2/alerts"
    );
    assert_eq!(url_for(None).unwrap(), "https://api.opsgenie.com/v2/alerts");
    let error = url_for(Some("de")).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config);
    assert_eq!(
        error.message(),
        "opsgenie:soc: the stored `region` must be `us` or `eu`, not \"de\""
    );
    assert!(error.is_permanent());
}

#[tokio::test(start_paused = true)]
async fn opsgenie_refusals_are_final_and_never_show_the_key() {
    let server = MockServer::start().await;
    // Opsgenie's documented 422 (the key echoed back, to prove it is redacted).
    let unprocessable = json_reply(
        422,
        json!({
            "message": format!("Request body is not processable. Key {GENIE_KEY}"),
            "errors": {"message": "Message can not be empty."},
            "took": 0.001,
            "requestId": "2d6ee2e3-1d09-4a4f-a3a5-0c3fe2b6f4b0",
        }),
    );
    reply(&server, "POST", "/v2/alerts", unprocessable, 1, 1).await;
    let logs = Logs::capture();
    let error = dispatch("opsgenie", "soc", &opsgenie(&server), Value::Null)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Rejected);
    assert_eq!(error.status(), Some(422));
    assert!(error.is_permanent());
    assert!(
        error.message().contains("Message can not be empty."),
        "{error}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert_no_secret("error", &shown(&error), &[GENIE_KEY]);
    assert_no_secret("log", &logs.text(), &[GENIE_KEY]);

    // A missing key is named, and the request is never sent.
    let credentials = Credentials::from_iter([("url", server.uri())]);
    let error = dispatch("opsgenie", "soc", &credentials, Value::Null)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Credentials);
    assert_eq!(
        error.message(),
        "opsgenie:soc: no `api_key` stored for this descriptor"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn opsgenie_throttling_is_retried_with_the_same_alias() {
    let server = MockServer::start().await;
    let throttled = json_reply(429, json!({"message": "Rate limit exceeded", "took": 0.0}))
        .insert_header("Retry-After", "1");
    reply(&server, "POST", "/v2/alerts", throttled, 1, 1).await;
    reply(&server, "POST", "/v2/alerts", opsgenie_accepted(), 1, 2).await;
    dispatch("opsgenie", "soc", &opsgenie(&server), Value::Null)
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
    assert_eq!(
        body(&requests[1])["alias"],
        "79192344-4a6d-4850-8d06-9c3fef1060a4"
    );
}

// ---------------------------------------------------------------------------------------------
// slack-bot
// ---------------------------------------------------------------------------------------------

/// The bot token used here.
const BOT_TOKEN: &str = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy";
/// The `ts` of the first message (Slack's documented example).
const FIRST_TS: &str = "1503435956.000247";

fn slack_bot(server: &MockServer) -> Credentials {
    Credentials::from_iter([
        ("token", BOT_TOKEN.to_owned()),
        ("channel", "C0123456789".to_owned()),
        ("url", format!("{}/api", server.uri())),
    ])
}

/// Dispatches `alert` with an empty publication to `slack-bot:soc` on the mock `server`.
async fn slack_bot_dispatch(server: &MockServer, alert: &Alert) -> Result<(), DispatchError> {
    let credentials = slack_bot(server);
    let publication = Publication::new();
    saas::dispatch_with(
        paused(),
        "slack-bot",
        "soc",
        alert,
        &publication,
        &credentials,
    )
    .await
}
/// Slack's documented `chat.postMessage` success reply, with `ts`.
fn posted(ts: &str) -> ResponseTemplate {
    json_reply(
        200,
        json!({
            "ok": true,
            "channel": "C0123456789",
            "ts": ts,
            "message": {"type": "message", "subtype": "bot_message", "ts": ts, "bot_id": "B123ABC456"},
        }),
    )
}

#[tokio::test(start_paused = true)]
async fn slack_bot_sends_slacks_layout_to_the_channel_with_the_bot_token() {
    let webhook = MockServer::start().await;
    reply(
        &webhook,
        "POST",
        "/services/T0/B0/X",
        ResponseTemplate::new(200),
        1,
        1,
    )
    .await;
    let url = format!("{}/services/T0/B0/X", webhook.uri());
    dispatch(
        "slack",
        "c",
        &Credentials::from_iter([("url", url)]),
        Value::Null,
    )
    .await
    .unwrap();
    let expected = body(&only_request(&webhook).await);

    let server = MockServer::start().await;
    reply(
        &server,
        "POST",
        "/api/chat.postMessage",
        posted(FIRST_TS),
        1,
        1,
    )
    .await;
    dispatch("slack-bot", "soc", &slack_bot(&server), Value::Null)
        .await
        .unwrap();
    let request = only_request(&server).await;
    assert_eq!(request.url.path(), "/api/chat.postMessage");
    assert_eq!(
        header(&request, "authorization"),
        Some(format!("Bearer {BOT_TOKEN}"))
    );
    assert_eq!(
        header(&request, "content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
    let mut sent = body(&request);
    assert_eq!(sent["channel"], "C0123456789");
    sent.as_object_mut().unwrap().remove("channel");
    assert_eq!(sent, expected, "the webhook's message, with a channel");
    assert_eq!(
        sent["attachments"][0]["title"], "Record:",
        "one part, not threaded"
    );
}

#[tokio::test(start_paused = true)]
async fn slack_bot_threads_the_split_parts_under_the_first_message() {
    let server = MockServer::start().await;
    reply(
        &server,
        "POST",
        "/api/chat.postMessage",
        posted(FIRST_TS),
        1,
        1,
    )
    .await;
    reply(
        &server,
        "POST",
        "/api/chat.postMessage",
        posted("1503435957.000100"),
        5,
        2,
    )
    .await;
    let record = json!({"a": "x".repeat(3000), "b": "y".repeat(3000), "c": "z".repeat(3000)});
    let alert = Alert::new("r", record, ["slack-bot:soc"]);
    let publication = Publication::new();
    saas::dispatch_with(
        paused(),
        "slack-bot",
        "soc",
        &alert,
        &publication,
        &slack_bot(&server),
    )
    .await
    .unwrap();
    let requests = server.received_requests().await.unwrap();
    let bodies: Vec<Value> = requests.iter().map(body).collect();
    let part = |i: usize, pretext: &str, text: String| {
        json!({
            "fallback": "*StreamAlert Rule Triggered: r*",
            "color": "#b22222",
            "pretext": pretext,
            "title": format!("Record (Part {i} of 3):"),
            "text": text,
            "mrkdwn_in": ["text", "pretext"],
        })
    };
    assert_eq!(
        bodies,
        [
            json!({
                "channel": "C0123456789",
                "text": "*StreamAlert Rule Triggered: r*",
                "mrkdwn": true,
                "attachments": [part(1, "*Rule Description:*\nNone\n", format!("*a:* {}", "x".repeat(3000)))],
            }),
            json!({
                "channel": "C0123456789",
                "mrkdwn": true,
                "attachments": [part(2, "", format!("*b:* {}", "y".repeat(3000)))],
                "thread_ts": FIRST_TS,
            }),
            json!({
                "channel": "C0123456789",
                "mrkdwn": true,
                "attachments": [part(3, "", format!("*c:* {}", "z".repeat(3000)))],
                "thread_ts": FIRST_TS,
            }),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn slack_bot_ok_false_errors_are_named_final_or_retryable() {
    let server = MockServer::start().await;
    let refused = json_reply(200, json!({"ok": false, "error": "channel_not_found"}));
    reply(&server, "POST", "/api/chat.postMessage", refused, 1, 1).await;
    let logs = Logs::capture();
    let error = dispatch("slack-bot", "soc", &slack_bot(&server), Value::Null)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Rejected);
    assert!(error.is_permanent());
    assert_eq!(
        error.message(),
        "slack-bot:soc: Slack refused chat.postMessage: channel_not_found; not retryable"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert_no_secret("error", &shown(&error), &[BOT_TOKEN]);
    assert_no_secret("log", &logs.text(), &[BOT_TOKEN]);

    let limited = json_reply(200, json!({"ok": false, "error": "ratelimited"}));
    reply(&server, "POST", "/api/chat.postMessage", limited, 1, 1).await;
    let error = dispatch("slack-bot", "soc", &slack_bot(&server), Value::Null)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable);
    assert!(error.is_retryable() && !error.is_permanent());
    assert!(error.message().contains("ratelimited"), "{error}");

    // A reply without `ts` cannot thread the other parts: the delivery fails.
    let no_ts = json_reply(200, json!({"ok": true}));
    reply(&server, "POST", "/api/chat.postMessage", no_ts, 1, 1).await;
    let alert = Alert::new(
        "r",
        json!({"a": "x".repeat(3000), "b": "y".repeat(3000)}),
        ["slack-bot:soc"],
    );
    let error = slack_bot_dispatch(&server, &alert).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidResponse);
    assert!(error.message().contains("no `ts`"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn slack_bot_a_failed_reply_part_fails_the_delivery() {
    let server = MockServer::start().await;
    reply(
        &server,
        "POST",
        "/api/chat.postMessage",
        posted(FIRST_TS),
        1,
        1,
    )
    .await;
    let archived = json_reply(200, json!({"ok": false, "error": "is_archived"}));
    reply(&server, "POST", "/api/chat.postMessage", archived, 5, 2).await;
    let alert = Alert::new(
        "r",
        json!({"a": "x".repeat(3000), "b": "y".repeat(3000), "c": "z"}),
        ["slack-bot:soc"],
    );
    let error = slack_bot_dispatch(&server, &alert).await.unwrap_err();
    assert!(error.message().contains("is_archived"), "{error}");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2,
        "the third part is not sent after the second failed"
    );
}

// ---------------------------------------------------------------------------------------------
// google-chat
// ---------------------------------------------------------------------------------------------

/// The path and query of the Google Chat webhook used here: `key` and `token` are secrets.
const CHAT_ROUTE: &str = "/v1/spaces/AAAAabcdefg/messages";
const CHAT_QUERY: &str = "key=AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI&token=CH4TT0KEN-secret";

fn google_chat(server: &MockServer) -> Credentials {
    Credentials::from_iter([("url", format!("{}{CHAT_ROUTE}?{CHAT_QUERY}", server.uri()))])
}

/// Chat's reply: the created message.
fn chat_created() -> ResponseTemplate {
    json_reply(
        200,
        json!({"name": "spaces/AAAAabcdefg/messages/x1.x1", "createTime": "2026-12-05T02:00:00Z"}),
    )
}

/// A `decoratedText` widget.
fn labelled(label: &str, text: &str) -> Value {
    json!({"decoratedText": {"topLabel": label, "text": text, "wrapText": true}})
}

#[tokio::test(start_paused = true)]
async fn google_chat_posts_the_documented_cards_v2_message() {
    let server = MockServer::start().await;
    reply(&server, "POST", CHAT_ROUTE, chat_created(), 1, 1).await;
    dispatch("google-chat", "soc", &google_chat(&server), Value::Null)
        .await
        .unwrap();
    let request = only_request(&server).await;
    assert_eq!(request.url.query(), Some(CHAT_QUERY));
    assert_eq!(
        header(&request, "content-type").as_deref(),
        Some("application/json; charset=UTF-8")
    );
    let id = "79192344-4a6d-4850-8d06-9c3fef1060a4";
    assert_eq!(
        body(&request),
        json!({"cardsV2": [{
            "cardId": format!("streamalert-{id}"),
            "card": {
                "header": {
                    "title": "StreamAlert Rule Triggered: cb_binarystore_file_added",
                    "subtitle": "Info about this rule and what actions to take",
                },
                "sections": [
                    {"header": "Alert Info", "widgets": [
                        labelled("rule_name", "cb_binarystore_file_added"),
                        labelled("alert_id", id),
                        labelled("log_source", "carbonblack:binarystore.file.added"),
                    ]},
                    {"header": "Record", "collapsible": true, "uncollapsibleWidgetsCount": 5, "widgets": [
                        labelled("compressed_size", "9982"),
                        labelled("timestamp", "1496947381.18"),
                        labelled("node_id", "1"),
                        labelled("cb_server", "cbserver"),
                        labelled("size", "21504"),
                        labelled("type", "binarystore.file.added"),
                        labelled("file_path", "/tmp/5DA/AD8/0F9AA55DA3BDE84B35656AD8911A22E1.zip"),
                        labelled("md5", "0F9AA55DA3BDE84B35656AD8911A22E1"),
                    ]},
                ],
            },
        }]})
    );
}

#[tokio::test(start_paused = true)]
async fn google_chat_publication_keys_add_text_and_buttons_and_drop_the_record() {
    let server = MockServer::start().await;
    reply(&server, "POST", CHAT_ROUTE, chat_created(), 1, 1).await;
    let extra = json!({
        "@google-chat.text": "Root login on <web-1>",
        "@google-chat.title": "Root login",
        "@google-chat.description": null,
        "@google-chat.with_record": false,
        "@google-chat.buttons": [["Runbook", "https://runbook.example/root"]],
    });
    dispatch("google-chat", "soc", &google_chat(&server), extra)
        .await
        .unwrap();
    let sent = body(&only_request(&server).await);
    assert_eq!(sent["text"], "Root login on <web-1>");
    let card = &sent["cardsV2"][0]["card"];
    assert_eq!(card["header"], json!({"title": "Root login"}));
    let sections = card["sections"].as_array().unwrap();
    assert_eq!(sections.len(), 2, "{sections:?}");
    assert_eq!(sections[0]["header"], "Alert Info");
    assert_eq!(
        sections[1],
        json!({"widgets": [{"buttonList": {"buttons": [{
            "text": "Runbook",
            "onClick": {"openLink": {"url": "https://runbook.example/root"}},
        }]}}]})
    );
}

#[tokio::test(start_paused = true)]
async fn google_chat_errors_never_show_the_key_or_token() {
    let server = MockServer::start().await;
    let invalid = json_reply(
        400,
        json!({"error": {"code": 400, "message": "Invalid JSON payload received.", "status": "INVALID_ARGUMENT"}}),
    );
    reply(&server, "POST", CHAT_ROUTE, invalid, 1, 1).await;
    let logs = Logs::capture();
    let error = dispatch("google-chat", "soc", &google_chat(&server), Value::Null)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Rejected);
    assert!(error.is_permanent());
    assert!(error.message().contains("INVALID_ARGUMENT"), "{error}");
    let secrets = [
        "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI",
        "CH4TT0KEN-secret",
        "AAAAabcdefg",
    ];
    assert_no_secret("error", &shown(&error), &secrets);
    assert_no_secret("log", &logs.text(), &secrets);
}

// ---------------------------------------------------------------------------------------------
// discord
// ---------------------------------------------------------------------------------------------

/// The Discord webhook path used here: the last segment is the webhook's token.
const DISCORD_ROUTE: &str = "/api/webhooks/223704706495545344/3d89bb7572e0fb30d8128367b3b1b44fecd1726de135cbe28a41f8b2f777c372ba2939e72279b94526ff5d1bd4358d65cf11";

fn discord(server: &MockServer) -> Credentials {
    Credentials::from_iter([("url", format!("{}{DISCORD_ROUTE}", server.uri()))])
}

#[tokio::test(start_paused = true)]
async fn discord_posts_the_documented_message_with_an_embed() {
    let server = MockServer::start().await;
    reply(
        &server,
        "POST",
        DISCORD_ROUTE,
        ResponseTemplate::new(204),
        1,
        1,
    )
    .await;
    dispatch("discord", "soc", &discord(&server), Value::Null)
        .await
        .unwrap();
    let request = only_request(&server).await;
    assert_eq!(
        header(&request, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        body(&request),
        json!({
            "content": "**StreamAlert Rule Triggered: cb_binarystore_file_added**",
            "embeds": [{
                "title": "Record",
                "description": format!("```json\n{FIXTURE_RECORD_INDENTED}\n```"),
                "color": 0x00b2_2222,
                "fields": [
                    {"name": "Rule Description", "value": "Info about this rule and what actions to take", "inline": false},
                    {"name": "Alert ID", "value": "79192344-4a6d-4850-8d06-9c3fef1060a4", "inline": false},
                ],
            }],
            "allowed_mentions": {"parse": []},
        })
    );
}

#[tokio::test(start_paused = true)]
async fn discord_splits_a_long_record_into_messages_within_the_limits() {
    let server = MockServer::start().await;
    reply(
        &server,
        "POST",
        DISCORD_ROUTE,
        ResponseTemplate::new(204),
        10,
        1,
    )
    .await;
    let record: serde_json::Map<String, Value> = (0..60)
        .map(|i| (format!("key{i:02}"), Value::from("é".repeat(200))))
        .collect();
    let alert = Alert::new("r", Value::Object(record), ["discord:soc"]);
    let mut publication = Publication::new();
    publication.insert("@discord.username", "StreamAlert");
    saas::dispatch_with(
        paused(),
        "discord",
        "soc",
        &alert,
        &publication,
        &discord(&server),
    )
    .await
    .unwrap();
    let bodies: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(body)
        .collect();
    assert_eq!(
        bodies.len(),
        4,
        "12,000+ characters of record in parts of at most 4,084"
    );
    for (i, sent) in bodies.iter().enumerate() {
        assert_eq!(
            sent.get("content").is_some(),
            i == 0,
            "content in the first only"
        );
        assert_eq!(sent["username"], "StreamAlert");
        assert_eq!(sent["allowed_mentions"], json!({"parse": []}));
        let embeds = sent["embeds"].as_array().unwrap();
        assert_eq!(embeds.len(), 1);
        let total: usize = embeds
            .iter()
            .map(streamalert::outputs::discord::embed_chars)
            .sum();
        assert!(total <= 6000, "{total}");
        assert_eq!(embeds[0]["title"], format!("Record (Part {} of 4)", i + 1));
        let description = embeds[0]["description"].as_str().unwrap();
        assert!(description.chars().count() <= 4096);
        assert!(description.starts_with("```json\n") && description.ends_with("\n```"));
    }
    // Every record line arrives, in order.
    let lines: Vec<String> = bodies
        .iter()
        .flat_map(|sent| {
            let description = sent["embeds"][0]["description"]
                .as_str()
                .unwrap()
                .to_owned();
            description.lines().map(str::to_owned).collect::<Vec<_>>()
        })
        .filter(|line| line.contains("\"key"))
        .collect();
    assert_eq!(lines.len(), 60);
    assert!(lines[59].starts_with("  \"key59\""), "{}", lines[59]);
}

#[tokio::test(start_paused = true)]
async fn discord_refusals_are_final_and_never_show_the_token() {
    let server = MockServer::start().await;
    let unknown = json_reply(404, json!({"message": "Unknown Webhook", "code": 10015}));
    reply(&server, "POST", DISCORD_ROUTE, unknown, 1, 1).await;
    let logs = Logs::capture();
    let error = dispatch("discord", "soc", &discord(&server), Value::Null)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Rejected);
    assert!(error.is_permanent());
    assert!(error.message().contains("Unknown Webhook"), "{error}");
    let token = DISCORD_ROUTE.rsplit('/').next().unwrap();
    assert_no_secret("error", &shown(&error), &[token]);
    assert_no_secret("log", &logs.text(), &[token]);

    // Discord's documented 429 is retried after its Retry-After.
    let limited = json_reply(
        429,
        json!({"message": "You are being rate limited.", "retry_after": 1.0, "global": false}),
    )
    .insert_header("Retry-After", "1");
    reply(&server, "POST", DISCORD_ROUTE, limited, 1, 1).await;
    reply(
        &server,
        "POST",
        DISCORD_ROUTE,
        ResponseTemplate::new(204),
        1,
        2,
    )
    .await;
    dispatch("discord", "soc", &discord(&server), Value::Null)
        .await
        .unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

// ---------------------------------------------------------------------------------------------
// splunk-hec
// ---------------------------------------------------------------------------------------------

/// The HEC token used here (the GUID form Splunk generates).
const HEC_TOKEN: &str = "f2584364-976f-4a68-ac3b-4a4d481ec8cd";
const HEC_ROUTE: &str = "/services/collector/event";

fn splunk_hec(url: String) -> Credentials {
    Credentials::from_iter([
        ("url", url),
        ("token", HEC_TOKEN.to_owned()),
        ("index", "security".to_owned()),
        ("sourcetype", String::new()),
    ])
}

/// HEC's documented success reply.
fn hec_success() -> ResponseTemplate {
    json_reply(200, json!({"text": "Success", "code": 0}))
}

/// Three alerts (rules `r0`, `r1`, `r2`) dispatched concurrently through one `splunk-hec`
/// instance to `splunk-hec:siem`; their results, in order.
async fn dispatch_three(credentials: &Credentials) -> Vec<Result<(), DispatchError>> {
    let output = saas::output("splunk-hec");
    let alerts: Vec<Alert> = (0..3)
        .map(|i| Alert::new(format!("r{i}"), json!({"n": i}), ["splunk-hec:siem"]))
        .collect();
    let publications: Vec<Publication> = alerts
        .iter()
        .map(|alert| saas::publication(alert, "splunk-hec", "siem"))
        .collect();
    let deliveries: Vec<Delivery<'_>> = alerts
        .iter()
        .zip(&publications)
        .map(|(alert, publication)| {
            Delivery::new(alert, "siem", publication).with_credentials(credentials)
        })
        .collect();
    paused()
        .own_connections()
        .run(futures_util::future::join_all(
            deliveries.iter().map(|delivery| output.dispatch(delivery)),
        ))
        .await
}

/// The events of a HEC request body (newline-separated JSON objects).
fn hec_events(request: &Request) -> Vec<Value> {
    String::from_utf8(request.body.clone())
        .unwrap()
        .split('\n')
        .map(|line| serde_json::from_str(line).expect("one JSON event per line"))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn splunk_hec_sends_a_runs_alerts_in_one_request() {
    let server = MockServer::start().await;
    reply(&server, "POST", HEC_ROUTE, hec_success(), 1, 1).await;
    let results = dispatch_three(&splunk_hec(server.uri())).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let request = only_request(&server).await;
    assert_eq!(request.url.path(), HEC_ROUTE);
    assert_eq!(
        header(&request, "authorization"),
        Some(format!("Splunk {HEC_TOKEN}"))
    );
    assert_eq!(
        header(&request, "content-type").as_deref(),
        Some("application/json")
    );
    let events = hec_events(&request);
    assert_eq!(events.len(), 3);
    let mut rules: Vec<&str> = events
        .iter()
        .map(|e| e["event"]["rule_name"].as_str().unwrap())
        .collect();
    rules.sort_unstable();
    assert_eq!(rules, ["r0", "r1", "r2"]);
    for event in &events {
        let keys: Vec<&str> = event
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["time", "source", "sourcetype", "index", "event"]);
        assert_eq!(event["source"], "streamalert");
        assert_eq!(event["sourcetype"], "streamalert:alert");
        assert_eq!(event["index"], "security");
        assert!(event["time"].as_i64().unwrap() > 1_700_000_000, "{event}");
        // The default publication: the alert.
        assert_eq!(
            event["event"]["record"]["n"].as_i64().unwrap(),
            event["event"]["rule_name"].as_str().unwrap()[1..]
                .parse::<i64>()
                .unwrap()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn splunk_hec_a_refused_batch_is_sent_event_by_event_so_only_the_bad_event_fails() {
    let server = MockServer::start().await;
    // HEC's documented answer to a bad event: 400, `Invalid data format`, its number.
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path(HEC_ROUTE))
        .and(wiremock::matchers::body_string_contains("\"r1\""))
        .respond_with(json_reply(
            400,
            json!({"text": "Invalid data format", "code": 6, "invalid-event-number": 1}),
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    reply(&server, "POST", HEC_ROUTE, hec_success(), 10, 2).await;
    let url = format!("{}{HEC_ROUTE}", server.uri());
    let results = dispatch_three(&splunk_hec(url)).await;
    let ok: Vec<bool> = results.iter().map(Result::is_ok).collect();
    assert_eq!(ok, [true, false, true]);
    let error = results[1].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Rejected);
    assert!(error.is_permanent());
    assert!(error.message().contains("Invalid data format"), "{error}");
    let requests = server.received_requests().await.unwrap();
    let sizes: Vec<usize> = requests.iter().map(|r| hec_events(r).len()).collect();
    assert_eq!(sizes, [3, 1, 1, 1], "the batch, then each event alone");
}

#[tokio::test(start_paused = true)]
async fn splunk_hec_a_bad_token_fails_every_event_once_and_is_never_shown() {
    let server = MockServer::start().await;
    let forbidden = json_reply(403, json!({"text": "Invalid token", "code": 4}));
    reply(&server, "POST", HEC_ROUTE, forbidden, 10, 1).await;
    let logs = Logs::capture();
    let results = dispatch_three(&splunk_hec(server.uri())).await;
    for result in &results {
        let error = result.as_ref().unwrap_err();
        assert_eq!(error.status(), Some(403));
        assert!(error.is_permanent());
        assert!(
            error.message().starts_with("splunk-hec:siem: POST "),
            "{error}"
        );
        assert!(error.message().contains("Invalid token"), "{error}");
        assert_no_secret("error", &shown(error), &[HEC_TOKEN]);
    }
    assert_no_secret("log", &logs.text(), &[HEC_TOKEN]);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // A missing token fails at once, naming it, without a request.
    let credentials = Credentials::from_iter([("url", server.uri())]);
    let error = dispatch("splunk-hec", "siem", &credentials, Value::Null)
        .await
        .unwrap_err();
    assert_eq!(
        error.message(),
        "splunk-hec:siem: no `token` stored for this descriptor"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn splunk_hec_a_busy_collector_is_retried() {
    let server = MockServer::start().await;
    let busy = json_reply(503, json!({"text": "Server is busy", "code": 9}));
    reply(&server, "POST", HEC_ROUTE, busy, 1, 1).await;
    reply(&server, "POST", HEC_ROUTE, hec_success(), 1, 2).await;
    let mut credentials = splunk_hec(server.uri());
    credentials.insert("source", "edr");
    credentials.insert("sourcetype", "streamalert:edr");
    dispatch("splunk-hec", "siem", &credentials, Value::Null)
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let event = &hec_events(&requests[1])[0];
    assert_eq!(event["source"], "edr");
    assert_eq!(event["sourcetype"], "streamalert:edr");
}

/// A property as `(name, masked, secret)`.
type Property = (&'static str, bool, bool);

#[test]
fn new_outputs_are_registered_with_their_secret_properties() {
    let webhook: &[Property] = &[("descriptor", false, false), ("url", true, true)];
    let table: [(&str, &[Property]); 6] = [
        (
            "smtp",
            &[
                ("descriptor", false, false),
                ("host", false, true),
                ("port", false, true),
                ("security", false, true),
                ("username", false, true),
                ("password", true, true),
                ("from_email", false, true),
                ("to_emails", false, true),
            ],
        ),
        (
            "splunk-hec",
            &[
                ("descriptor", false, false),
                ("url", false, true),
                ("token", true, true),
                ("index", false, true),
                ("sourcetype", false, true),
                ("source", false, true),
            ],
        ),
        ("google-chat", webhook),
        ("discord", webhook),
        (
            "opsgenie",
            &[
                ("descriptor", false, false),
                ("api_key", true, true),
                ("region", false, true),
            ],
        ),
        (
            "slack-bot",
            &[
                ("descriptor", false, false),
                ("token", true, true),
                ("channel", false, true),
            ],
        ),
    ];
    for (service, expected) in table {
        let got: Vec<_> = saas::output(service)
            .properties()
            .iter()
            .map(|p| (p.name, p.mask, p.secret))
            .collect();
        assert_eq!(got, expected, "{service}");
    }
}

/// The outputs issue 16 added.
const NEW_SERVICES: [&str; 5] = [
    "opsgenie",
    "slack-bot",
    "google-chat",
    "discord",
    "splunk-hec",
];

#[tokio::test]
async fn generate_skeleton_lists_every_new_output_with_its_properties() {
    use streamalert::cli::output::{OutputAction, OutputCommand, OutputContext, ScriptedPrompter};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("skeleton.json");
    let mut prompter = ScriptedPrompter::new(std::iter::empty::<&str>());
    let mut out = Vec::new();
    OutputCommand {
        action: OutputAction::GenerateSkeleton {
            services: Vec::new(),
            file: file.clone(),
        },
    }
    .execute(OutputContext {
        config_dir: dir.path(),
        store: None,
        prompter: &mut prompter,
        out: &mut out,
    })
    .await
    .unwrap();
    let skeleton: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    for service in NEW_SERVICES {
        let entry = skeleton[service][0]
            .as_object()
            .unwrap_or_else(|| panic!("{service} is missing from the skeleton: {skeleton}"));
        let mut names: Vec<&str> = entry.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut expected: Vec<&str> = saas::output(service)
            .properties()
            .iter()
            .map(|p| p.name)
            .collect();
        expected.sort_unstable();
        assert_eq!(names, expected, "{service}");
    }
    assert_eq!(
        skeleton["splunk-hec"][0]["sourcetype"],
        "desc: the sourcetype of the events (leave blank for streamalert:alert), restrictions: set()"
    );
}
