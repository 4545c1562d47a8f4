//! Every branch of `pagerduty-incident`'s flow (spec `outputs.md` §2.17) against a scripted
//! PagerDuty: sender found or not, event without dedup key, incident found at once, late or
//! never, priorities on/off/unknown, assignee found or not versus escalation policy, urgency,
//! responders found or not, the note from the publication, the context or the default, and
//! the closing note listing what failed.
//!
//! The clock is paused so that the incident search's random waits (up to 5 s) take no time;
//! one attempt per request, no per-attempt timeout (see `http_faults`).

use crate::support;
use crate::support::saas::{
    EMAIL_FROM, INCIDENT, INTEGRATION_KEY, Logs, PagerDuty, TOKEN, json_reply,
};
use serde_json::{Value, json};
use streamalert::output::ErrorKind;
use wiremock::ResponseTemplate;

fn incident_path(tail: &str) -> String {
    format!("/incidents/{INCIDENT}{tail}")
}

const USERS_FROM: &str = "GET /users?query=sender%40example.com";

#[tokio::test(start_paused = true)]
async fn default_flow_verifies_enqueues_searches_updates_and_notes() {
    let pd = PagerDuty::start().await;
    pd.dispatch(Value::Null, Value::Null).await.unwrap();
    assert_eq!(
        pd.requests().await,
        [
            USERS_FROM.to_owned(),
            "POST /v2/enqueue".to_owned(),
            "GET /incidents?incident_key=returned_dedup_key".to_owned(),
            format!("PUT {}", incident_path("")),
            format!("POST {}", incident_path("/notes")),
        ]
    );
    let update = pd.update().await;
    assert_eq!(
        update["service"],
        json!({"id": "PSERVICE", "type": "service_reference"})
    );
    assert_eq!(
        update["escalation_policy"],
        json!({"id": "PPOLICY", "type": "escalation_policy_reference"})
    );
    assert!(update.get("priority").is_none() && update.get("assignments").is_none());
    assert!(update.get("urgency").is_none());
    assert_eq!(pd.notes().await, [json!("Creating SOX Incident")]);
}

#[tokio::test(start_paused = true)]
async fn sender_not_found_fails_before_any_event() {
    let pd = PagerDuty::start().await;
    pd.users(EMAIL_FROM, json!([])).await;
    let err = pd.dispatch(Value::Null, Value::Null).await.unwrap_err();
    assert_eq!(pd.requests().await, [USERS_FROM]);
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.message()
            .contains("Could not verify header From: sender@example.com"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn sender_lookup_failing_with_5xx_is_a_retryable_failure() {
    let pd = PagerDuty::start().await;
    pd.route("GET", "/users", ResponseTemplate::new(503), u64::MAX)
        .await;
    let err = pd.dispatch(Value::Null, Value::Null).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(err.is_retryable(), "{err}");
}

#[tokio::test(start_paused = true)]
async fn event_rejected_or_without_dedup_key_fails() {
    let pd = PagerDuty::start().await;
    pd.route(
        "POST",
        "/v2/enqueue",
        json_reply(200, json!({"status": "success"})),
        1,
    )
    .await;
    let err = pd.dispatch(Value::Null, Value::Null).await.unwrap_err();
    assert!(err.message().contains("dedup_key"), "{err}");

    let pd = PagerDuty::start().await;
    pd.route(
        "POST",
        "/v2/enqueue",
        json_reply(400, json!({"errors": ["bad"]})),
        1,
    )
    .await;
    let err = pd.dispatch(Value::Null, Value::Null).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Rejected);
    assert_eq!(
        pd.requests().await.len(),
        2,
        "no search after a failed event"
    );
}

#[tokio::test(start_paused = true)]
async fn with_record_false_leaves_the_record_out_of_the_event() {
    let pd = PagerDuty::start().await;
    pd.dispatch(json!({"with_record": false}), Value::Null)
        .await
        .unwrap();
    let events = support::saas::bodies(&pd.server, "POST", "/v2/enqueue").await;
    assert_eq!(events[0]["routing_key"], INTEGRATION_KEY);
    assert_eq!(
        events[0]["dedup_key"],
        "oncall:79192344-4a6d-4850-8d06-9c3fef1060a4"
    );
    let details = events[0]["payload"]["custom_details"].as_object().unwrap();
    assert_eq!(details.keys().collect::<Vec<_>>(), ["description"]);
}

#[tokio::test(start_paused = true)]
async fn incident_found_on_a_later_search() {
    let pd = PagerDuty::start().await;
    pd.route(
        "GET",
        "/incidents",
        json_reply(200, json!({"incidents": []})),
        2,
    )
    .await;
    pd.dispatch(Value::Null, Value::Null).await.unwrap();
    let searches = pd.count("GET /incidents").await;
    assert_eq!(searches, 3);
}

#[tokio::test(start_paused = true)]
async fn q7_incident_never_found_fails_retryable_after_5_searches_unchanged() {
    let pd = PagerDuty::start().await;
    pd.route(
        "GET",
        "/incidents",
        json_reply(200, json!({"incidents": []})),
        u64::MAX,
    )
    .await;
    let err = pd.dispatch(Value::Null, Value::Null).await.unwrap_err();
    let searches = pd.count("GET /incidents").await;
    assert_eq!(searches, 5);
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_retryable());
    assert!(
        err.message()
            .contains("no incident found for dedup_key (returned_dedup_key)"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn incident_without_id_fails() {
    let pd = PagerDuty::start().await;
    pd.route(
        "GET",
        "/incidents",
        json_reply(200, json!({"incidents": [{"status": "triggered"}]})),
        1,
    )
    .await;
    let err = pd.dispatch(Value::Null, Value::Null).await.unwrap_err();
    assert!(
        err.message()
            .contains("Failed to retrieve Event Incident Id from dedup_key"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn update_without_incident_or_id_fails() {
    let pd = PagerDuty::start().await;
    pd.route(
        "PUT",
        &incident_path(""),
        json_reply(200, json!({"incident": {}})),
        1,
    )
    .await;
    let err = pd.dispatch(Value::Null, Value::Null).await.unwrap_err();
    assert!(
        err.message()
            .contains("Failed to update container incident"),
        "{err}"
    );

    let pd = PagerDuty::start().await;
    pd.route(
        "PUT",
        &incident_path(""),
        json_reply(200, json!({"incident": {"x": 1}})),
        1,
    )
    .await;
    let err = pd.dispatch(Value::Null, Value::Null).await.unwrap_err();
    assert!(err.message().contains("missing \"id\""), "{err}");
    assert!(pd.notes().await.is_empty(), "nothing after a failed update");
}

#[tokio::test(start_paused = true)]
async fn priority_on_and_found() {
    let pd = PagerDuty::start().await;
    let priorities =
        json!({"priorities": [{"id": "P1ID", "name": "P1"}, {"id": "P2ID", "name": "P2"}]});
    pd.route("GET", "/priorities", json_reply(200, priorities), 1)
        .await;
    pd.dispatch(json!({"incident_priority": "P2"}), Value::Null)
        .await
        .unwrap();
    assert_eq!(
        pd.update().await["priority"],
        json!({"id": "P2ID", "type": "priority_reference"})
    );
    assert!(pd.requests().await.contains(&"GET /priorities".to_owned()));
}

#[tokio::test(start_paused = true)]
async fn priority_on_but_unknown_or_failing_is_left_out() {
    for reply in [
        json_reply(200, json!({"priorities": [{"id": "P1ID", "name": "P1"}]})),
        json_reply(200, json!({})),
        ResponseTemplate::new(404),
    ] {
        let pd = PagerDuty::start().await;
        pd.route("GET", "/priorities", reply, 1).await;
        pd.dispatch(json!({"incident_priority": "P9"}), Value::Null)
            .await
            .unwrap();
        assert!(pd.update().await.get("priority").is_none());
    }
}

#[tokio::test(start_paused = true)]
async fn priority_off_makes_no_lookup() {
    let pd = PagerDuty::start().await;
    pd.dispatch(json!({"incident_priority": ""}), Value::Null)
        .await
        .unwrap();
    assert!(
        !pd.requests()
            .await
            .iter()
            .any(|r| r.contains("/priorities"))
    );
    assert!(pd.update().await.get("priority").is_none());
}

#[tokio::test(start_paused = true)]
async fn assignee_found_replaces_the_escalation_policy() {
    let pd = PagerDuty::start().await;
    pd.users("oncall@example.com", json!([{"id": "PUSER"}]))
        .await;
    pd.dispatch(json!({"assigned_user": "oncall@example.com"}), Value::Null)
        .await
        .unwrap();
    let update = pd.update().await;
    assert_eq!(
        update["assignments"],
        json!([{"assignee": {"id": "PUSER", "type": "user_reference"}}])
    );
    assert!(update.get("escalation_policy").is_none());
    let lookup = pd
        .server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.query() == Some("query=oncall%40example.com"))
        .unwrap();
    assert!(
        lookup.headers.get("from").is_none(),
        "user look-ups omit From"
    );
}

#[tokio::test(start_paused = true)]
async fn assignee_not_found_falls_back_to_the_policy() {
    let pd = PagerDuty::start().await;
    pd.users("ghost@example.com", json!([])).await;
    let logs = Logs::capture();
    pd.dispatch(json!({"assigned_user": "ghost@example.com"}), Value::Null)
        .await
        .unwrap();
    let update = pd.update().await;
    assert!(update.get("assignments").is_none());
    assert_eq!(update["escalation_policy"]["id"], "PPOLICY");
    assert!(
        logs.text()
            .contains("Assignee (ghost@example.com) could not be found in PagerDuty")
    );
}

#[tokio::test(start_paused = true)]
async fn assigned_policy_id_replaces_the_default_policy() {
    let pd = PagerDuty::start().await;
    pd.dispatch(json!({"assigned_policy_id": "PCUSTOM"}), Value::Null)
        .await
        .unwrap();
    assert_eq!(
        pd.update().await["escalation_policy"],
        json!({"id": "PCUSTOM", "type": "escalation_policy_reference"})
    );
}

#[tokio::test(start_paused = true)]
async fn title_body_and_urgency_from_the_publication() {
    for (urgency, expected) in [
        ("low", Some("low")),
        ("high", Some("high")),
        ("urgent", None),
    ] {
        let pd = PagerDuty::start().await;
        let extra = json!({
            "@pagerduty-incident.incident_title": "root login",
            "@pagerduty-incident.incident_body": "see runbook",
            "@pagerduty-incident.urgency": urgency,
        });
        pd.dispatch(Value::Null, extra).await.unwrap();
        let update = pd.update().await;
        assert_eq!(update["title"], "root login");
        assert_eq!(
            update["body"],
            json!({"type": "incident_body", "details": "see runbook"})
        );
        assert_eq!(
            update.get("urgency").and_then(Value::as_str),
            expected,
            "{urgency}"
        );
        let keys: Vec<&String> = update.as_object().unwrap().keys().collect();
        assert_eq!(keys[..4], ["type", "title", "service", "body"]);
    }
}

#[tokio::test(start_paused = true)]
async fn responders_one_or_many_are_requested_with_the_requester_id() {
    let pd = PagerDuty::start().await;
    pd.users("a@example.com", json!([{"id": "PA"}])).await;
    pd.users("b@example.com", json!([{"id": "PB"}])).await;
    let context =
        json!({"responders": ["a@example.com", "b@example.com"], "responder_message": "help"});
    pd.dispatch(context, Value::Null).await.unwrap();
    let requests =
        support::saas::bodies(&pd.server, "POST", &incident_path("/responder_requests")).await;
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0],
        json!({"requester_id": "PREQUESTER", "message": "help", "responder_request_targets": [
            {"responder_request_target": {"id": "PA", "type": "user_reference"}}]})
    );
    assert_eq!(
        requests[1]["responder_request_targets"][0]["responder_request_target"]["id"],
        "PB"
    );
    assert_eq!(
        pd.notes().await,
        [json!("Creating SOX Incident")],
        "no failure note"
    );

    let pd = PagerDuty::start().await;
    pd.users("a@example.com", json!([{"id": "PA"}])).await;
    pd.dispatch(json!({"responders": "a@example.com"}), Value::Null)
        .await
        .unwrap();
    let requests =
        support::saas::bodies(&pd.server, "POST", &incident_path("/responder_requests")).await;
    assert_eq!(
        requests[0]["message"],
        "An incident was reported that requires your attention."
    );
}

#[tokio::test(start_paused = true)]
async fn responder_not_found_or_refused_is_reported_in_a_closing_note() {
    let pd = PagerDuty::start().await;
    pd.users("ghost@example.com", json!([])).await;
    pd.users("a@example.com", json!([{"id": "PA"}])).await;
    pd.route(
        "POST",
        &incident_path("/responder_requests"),
        ResponseTemplate::new(404),
        1,
    )
    .await;
    let context = json!({"responders": ["ghost@example.com", "a@example.com"]});
    pd.dispatch(context, Value::Null).await.unwrap();
    assert_eq!(
        pd.notes().await,
        [
            json!("Creating SOX Incident"),
            json!(format!(
                "StreamAlert failed to correctly setup this incident. Please contact your StreamAlert administrator.\n\nErrors:\n- [pagerduty-incident] Failed to request a responder (ghost@example.com) on incident ({INCIDENT})\n- [pagerduty-incident] Failed to request a responder (a@example.com) on incident ({INCIDENT})"
            )),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn note_from_the_publication_then_the_context_then_the_default() {
    let pd = PagerDuty::start().await;
    pd.dispatch(
        json!({"note": "from context"}),
        json!({"@pagerduty-incident.note": "from publisher"}),
    )
    .await
    .unwrap();
    assert_eq!(pd.notes().await, [json!("from publisher")]);

    let pd = PagerDuty::start().await;
    pd.dispatch(json!({"note": "from context"}), Value::Null)
        .await
        .unwrap();
    assert_eq!(pd.notes().await, [json!("from context")]);
}

#[tokio::test(start_paused = true)]
async fn an_empty_note_adds_no_note() {
    let pd = PagerDuty::start().await;
    pd.dispatch(
        json!({"note": "from context"}),
        json!({"@pagerduty-incident.note": null}),
    )
    .await
    .unwrap();
    assert!(pd.notes().await.is_empty());

    let pd = PagerDuty::start().await;
    pd.dispatch(json!({"note": ""}), Value::Null).await.unwrap();
    assert!(pd.notes().await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_failing_note_is_reported_and_the_delivery_still_succeeds() {
    let pd = PagerDuty::start().await;
    pd.route(
        "POST",
        &incident_path("/notes"),
        json_reply(200, json!({"not_a_note": 1})),
        1,
    )
    .await;
    pd.dispatch(Value::Null, Value::Null).await.unwrap();
    let notes = pd.notes().await;
    assert_eq!(notes.len(), 2);
    assert_eq!(
        notes[1],
        format!(
            "StreamAlert failed to correctly setup this incident. Please contact your StreamAlert administrator.\n\nErrors:\n- [pagerduty-incident] Failed to add note to incident ({INCIDENT})"
        )
    );
}

#[tokio::test(start_paused = true)]
async fn rest_headers_and_no_secret_in_errors_or_logs() {
    let pd = PagerDuty::start().await;
    let echo = format!("token {TOKEN} and key {INTEGRATION_KEY} are not allowed");
    pd.route(
        "PUT",
        &incident_path(""),
        ResponseTemplate::new(403).set_body_string(echo),
        1,
    )
    .await;
    let logs = Logs::capture();
    let err = pd.dispatch(Value::Null, Value::Null).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Rejected);
    let text = format!("{err}\n{err:?}\n{}", logs.text());
    assert!(
        text.contains("token [REDACTED] and key [REDACTED]"),
        "{text}"
    );
    support::saas::assert_no_secret("error or log", &text, &[TOKEN, INTEGRATION_KEY]);

    let put = pd
        .server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.method.as_str() == "PUT")
        .unwrap();
    let header = |name: &str| {
        put.headers
            .get(name)
            .map(|h| h.to_str().unwrap().to_owned())
    };
    assert_eq!(
        header("authorization"),
        Some(format!("Token token={TOKEN}"))
    );
    assert_eq!(
        header("accept").as_deref(),
        Some("application/vnd.pagerduty+json;version=2")
    );
    assert_eq!(header("from").as_deref(), Some(EMAIL_FROM));
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
}
