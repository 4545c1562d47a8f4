//! The console's handlers, in process (tower's `oneshot`), on ledgers the tests prepare.

use super::app::{Console, router};
use super::auth::Token;
use crate::Alert;
use crate::config::LedgerSettings;
use crate::ledger::{AlertKey, DeliveryState, Ledger, NewAlert, Outcome, SqliteLedger};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use std::sync::Arc;
use tower::ServiceExt as _;

/// A ledger with three alerts:
/// - `one` (rule r_one): file:a sent, slack:ops dead (its error as an output records it, redacted);
/// - `two` (rule r_two): file:a failed;
/// - `three` (rule r_one): slack:ops pending.
struct Prepared {
    _dir: tempfile::TempDir,
    ledger: Arc<SqliteLedger>,
    one: AlertKey,
    two: AlertKey,
}

const DEAD_ERROR: &str = "HTTP 400 from POST https://hooks.slack.com/[REDACTED]: invalid_payload";

async fn prepared() -> Prepared {
    let dir = tempfile::tempdir().unwrap();
    let settings = LedgerSettings {
        path: dir.path().join("ledger.sqlite3"),
        ..Default::default()
    };
    let ledger = Arc::new(SqliteLedger::open(&settings).unwrap());
    let one = Alert::new(
        "r_one",
        serde_json::json!({"user": "<script>alert(1)</script>"}),
        ["file:a", "slack:ops"],
    );
    let two = Alert::new("r_two", serde_json::json!({"n": 2}), ["file:a"]);
    let three = Alert::new("r_one", serde_json::json!({"n": 3}), ["slack:ops"]);
    let keys = [&one, &two].map(AlertKey::of);
    ledger
        .record_alerts(
            [one, two, three]
                .into_iter()
                .map(|alert| NewAlert {
                    alert: alert.into(),
                    intents: Default::default(),
                })
                .collect(),
        )
        .await
        .unwrap();
    let [one, two] = keys;
    for (key, output, outcome) in [
        (&one, "file:a", Outcome::Sent),
        (&one, "slack:ops", Outcome::Dead(DEAD_ERROR.into())),
        (&two, "file:a", Outcome::Failed("disk full".into())),
    ] {
        ledger
            .record_outcome(key.clone(), output.into(), outcome)
            .await
            .unwrap();
    }
    Prepared {
        _dir: dir,
        ledger,
        one,
        two,
    }
}

fn app(prepared: &Prepared, token: Option<Token>, read_only: bool) -> Router {
    router(Console::new(prepared.ledger.clone(), token, read_only))
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn get(app: &Router, uri: &str) -> (StatusCode, String) {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn post(app: &Router, uri: &str, form: &str) -> (StatusCode, String) {
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap();
    send(app, request).await
}

/// The number in the overview's cell of `output` and `state`.
fn cell(html: &str, output: &str, state: &str) -> u64 {
    let marker = format!("data-cell=\"{output} {state}\"><a href=\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"))
        + marker.len();
    let rest = &html[at..];
    let start = rest.find("\">").unwrap() + 2;
    rest[start..rest.find("</a>").unwrap()].parse().unwrap()
}

/// The chart's counts of sent, pending, failed and dead deliveries, summed over its bars.
fn charted(html: &str) -> [u64; 4] {
    let mut sums = [0; 4];
    // The bars' titles: "<g><title>MM-DD HH:00 UTC: sent 1, pending 0, failed 0, dead 0</title>".
    for title in html.split("<g><title>").skip(1) {
        let counts = &title[title.find("UTC: ").unwrap() + 5..title.find("</title>").unwrap()];
        for (sum, count) in sums.iter_mut().zip(counts.split(", ")) {
            *sum += count.rsplit(' ').next().unwrap().parse::<u64>().unwrap();
        }
    }
    sums
}

/// The CSRF token of a page's forms.
fn csrf(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let at = html.find(marker).expect("a form with the CSRF token") + marker.len();
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

async fn state_of(prepared: &Prepared, key: &AlertKey, output: &str) -> DeliveryState {
    let entry = prepared.ledger.get(key.clone()).await.unwrap().unwrap();
    entry.delivery(output).unwrap().state
}

#[tokio::test]
async fn the_overview_counts_each_outputs_deliveries_by_state() {
    let prepared = prepared().await;
    let (status, html) = get(&app(&prepared, None, false), "/").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for (output, state, n) in [
        ("file:a", "sent", 1),
        ("file:a", "failed", 1),
        ("file:a", "dead", 0),
        ("slack:ops", "dead", 1),
        ("slack:ops", "pending", 1),
        ("slack:ops", "sent", 0),
    ] {
        assert_eq!(cell(&html, output, state), n, "{output} {state}");
    }
    assert!(html.contains("data-total=\"dead\"><b>1</b>"), "{html}");
    assert!(html.contains("data-total=\"pending\"><b>1</b>"), "{html}");
    // The oldest alert with a delivery still to send (pending or failed; dead is given up):
    // `two`, created before `three`.
    let created = prepared
        .ledger
        .get(prepared.two.clone())
        .await
        .unwrap()
        .unwrap()
        .alert
        .created;
    assert!(
        html.contains(&format!(
            "oldest pending alert <span class=\"muted\">(created {created})</span>"
        )),
        "{html}"
    );
    // The bars hold the four deliveries (in this hour's, or two across an hour's end).
    assert_eq!(charted(&html), [1, 1, 1, 1], "{html}");
    assert_eq!(html.matches("<g><title>").count(), 24);
    let (_, week) = get(&app(&prepared, None, false), "/?window=7d").await;
    assert_eq!(week.matches("<g><title>").count(), 168);
    let (status, _) = get(&app(&prepared, None, false), "/?window=1y").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Only the output with a dead delivery has the "replay all dead" button.
    assert_eq!(html.matches("action=\"/replay-dead\"").count(), 1, "{html}");
}

#[tokio::test]
async fn lists_filter_by_state_output_and_rule_and_page() {
    let prepared = prepared().await;
    let app = app(&prepared, None, false);
    let rows = |html: &str| html.matches("<tr data-row=").count();
    let (_, dead) = get(&app, "/deliveries?state=dead").await;
    assert_eq!(rows(&dead), 1, "{dead}");
    assert!(dead.contains(&format!(
        "data-row=\"{} slack:ops dead\"",
        prepared.one.alert_id
    )));
    let (_, file) = get(&app, "/deliveries?output=file%3Aa").await;
    assert_eq!(rows(&file), 2, "{file}");
    let (_, rule) = get(&app, "/deliveries?rule=r_two&state=&output=").await;
    assert_eq!(rows(&rule), 1, "{rule}");
    assert!(rule.contains(&format!(
        "data-row=\"{} file:a failed\"",
        prepared.two.alert_id
    )));
    let (_, all) = get(&app, "/deliveries").await;
    assert_eq!(rows(&all), 4, "{all}");
    let (_, none) = get(&app, "/deliveries?state=quarantined").await;
    assert_eq!(rows(&none), 0, "{none}");
    let (status, bad) = get(&app, "/deliveries?state=lost").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad.contains("unknown delivery state `lost`"), "{bad}");

    // 55 more pending deliveries: two pages, 50 and 9.
    let more = (0..55)
        .map(|i| NewAlert {
            alert: Alert::new("r_many", serde_json::json!({"i": i}), ["stdout:b"]).into(),
            intents: Default::default(),
        })
        .collect();
    prepared.ledger.record_alerts(more).await.unwrap();
    let (_, first) = get(&app, "/deliveries?state=pending").await;
    assert_eq!(rows(&first), 50);
    assert!(
        first.contains("page 1 of 2") && first.contains("/deliveries?page=2&amp;state=pending"),
        "{first}"
    );
    let (_, second) = get(&app, "/deliveries?state=pending&page=2").await;
    assert_eq!(rows(&second), 6);
}

#[tokio::test]
async fn an_alerts_page_shows_deliveries_publications_and_escaped_data() {
    let prepared = prepared().await;
    let app = app(&prepared, None, false);
    let (status, html) = get(&app, &format!("/alerts/{}", prepared.one.alert_id)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("data-row=\"file:a sent\"") && html.contains("data-row=\"slack:ops dead\""),
        "{html}"
    );
    // The error as the output recorded it: its secret was redacted before it reached the ledger.
    assert!(
        html.contains("https://hooks.slack.com/[REDACTED]: invalid_payload"),
        "{html}"
    );
    // One publication per output, by the default publisher.
    assert_eq!(html.matches("<h3>").count(), 2, "{html}");
    assert!(
        html.contains("&quot;rule_name&quot;: &quot;r_one&quot;"),
        "{html}"
    );
    // The record's markup is shown, never run.
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    let (status, _) = get(&app, "/alerts/no-such-alert").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn replay_requires_the_csrf_token_then_changes_the_ledger() {
    let prepared = prepared().await;
    let app = app(&prepared, None, false);
    let id = &prepared.one.alert_id;
    let form = format!("alert_id={id}&output=slack%3Aops");
    let (status, body) = post(&app, "/replay", &form).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("CSRF"), "{body}");
    let (status, _) = post(&app, "/replay", &format!("{form}&csrf=guessed")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        state_of(&prepared, &prepared.one, "slack:ops").await,
        DeliveryState::Dead
    );

    let (_, page) = get(&app, &format!("/alerts/{id}")).await;
    let token = csrf(&page);
    let response = app
        .clone()
        .oneshot(
            Request::post("/replay")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("{form}&csrf={token}")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION],
        format!("/alerts/{id}?replayed=1").as_str()
    );
    assert_eq!(
        state_of(&prepared, &prepared.one, "slack:ops").await,
        DeliveryState::Pending
    );
    assert_eq!(
        state_of(&prepared, &prepared.one, "file:a").await,
        DeliveryState::Sent
    );
}

#[tokio::test]
async fn replay_dead_makes_every_dead_delivery_of_the_output_pending() {
    let prepared = prepared().await;
    let app = app(&prepared, None, false);
    let (_, page) = get(&app, "/").await;
    let token = csrf(&page);
    let (status, _) = post(
        &app,
        "/replay-dead",
        &format!("output=slack%3Aops&csrf={token}"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        state_of(&prepared, &prepared.one, "slack:ops").await,
        DeliveryState::Pending
    );
    // The failed delivery of another output is left alone.
    assert_eq!(
        state_of(&prepared, &prepared.two, "file:a").await,
        DeliveryState::Failed
    );
}

#[tokio::test]
async fn read_only_shows_no_action_and_refuses_them() {
    let prepared = prepared().await;
    let app = app(&prepared, None, true);
    for uri in [
        "/".to_owned(),
        "/deliveries".to_owned(),
        format!("/alerts/{}", prepared.one.alert_id),
    ] {
        let (status, html) = get(&app, &uri).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!html.contains("method=\"post\""), "{uri}: {html}");
    }
    // Even with the right token (from a console of the same ledger that allows actions), a
    // read-only console refuses.
    let form = format!(
        "alert_id={}&output=slack%3Aops&csrf=x",
        prepared.one.alert_id
    );
    let (status, body) = post(&app, "/replay", &form).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("read-only"), "{body}");
    let (status, _) = post(&app, "/replay-dead", "output=slack%3Aops&csrf=x").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        state_of(&prepared, &prepared.one, "slack:ops").await,
        DeliveryState::Dead
    );
}

#[tokio::test]
async fn with_a_token_every_request_must_present_it() {
    let prepared = prepared().await;
    let file = prepared._dir.path().join("token");
    std::fs::write(&file, "t0ken-of-the-console\n").unwrap();
    let app = app(&prepared, Some(Token::read(&file).unwrap()), false);
    let with = |value: &str| {
        Request::get("/")
            .header(header::AUTHORIZATION, value)
            .body(Body::empty())
            .unwrap()
    };
    let (status, body) = get(&app, "/").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!body.contains("t0ken"));
    for wrong in [
        "Bearer t0ken-of-the-consolE",
        "Bearer ",
        "Basic dXNlcjp3cm9uZw==",
        "t0ken-of-the-console",
    ] {
        let response = app.clone().oneshot(with(wrong)).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{wrong}");
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    }
    // "user:t0ken-of-the-console" in base64: a browser's Basic prompt.
    for right in [
        "Bearer t0ken-of-the-console",
        "Basic dXNlcjp0MGtlbi1vZi10aGUtY29uc29sZQ==",
    ] {
        let (status, _) = send(&app, with(right)).await;
        assert_eq!(status, StatusCode::OK, "{right}");
    }
    let (status, _) = send(&app, {
        let mut request = with("Bearer t0ken-of-the-console");
        *request.uri_mut() = "/console.css".parse().unwrap();
        request
    })
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn pages_forbid_framing_and_scripts() {
    let prepared = prepared().await;
    let response = app(&prepared, None, false)
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");
    let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        policy.contains("default-src 'none'") && policy.contains("form-action 'self'"),
        "{policy}"
    );
}

#[test]
fn the_console_listens_on_loopback_by_default() {
    use clap::FromArgMatches as _;
    let matches = crate::cli::command("processor", None)
        .try_get_matches_from(["processor", "console"])
        .unwrap();
    let cli = crate::cli::Cli::from_arg_matches(&matches).unwrap();
    let crate::cli::Command::Console(args) = cli.command else {
        panic!("{cli:?}");
    };
    assert_eq!(args.listen, "127.0.0.1:8080".parse().unwrap());
    assert!(!args.read_only && args.token_file.is_none());
}
