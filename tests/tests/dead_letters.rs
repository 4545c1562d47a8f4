//! Dead letters through the real processor and the shared HTTP layer, against a loopback
//! server: an HTTP 400 is given up at its first attempt, an HTTP 500 after the service's
//! `max_attempts` passes; dead deliveries are not sent again until replayed.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod hook_support;

use hook_support::Hook;

use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use streamalert::config::{LedgerSettings, OutputsConfig, ProcessorSettings};
use streamalert::ledger::{AlertKey, DeliveryState, Ledger, SqliteLedger};
use streamalert::prelude::*;
use streamalert::processor::Processor;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

streamalert::services!(Hook);

fn ledger_settings(name: &str) -> LedgerSettings {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("dead-letters")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    LedgerSettings {
        path: dir.join("ledger.sqlite3"),
        ..Default::default()
    }
}

/// How many requests `server` received on `route`.
async fn hits(server: &MockServer, route: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|request| request.url.path() == route)
        .count()
}

#[tokio::test]
async fn a_4xx_dies_at_once_a_5xx_after_max_attempts_and_replay_sends_them_again() {
    let server = MockServer::start().await;
    Mock::given(path("/bad"))
        .respond_with(ResponseTemplate::new(400))
        .mount(&server)
        .await;
    Mock::given(path("/down"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let config = OutputsConfig::from_json(
        &json!({"hook": {"bad": format!("{}/bad", server.uri()), "down": format!("{}/down", server.uri())}})
            .to_string(),
    )
    .unwrap();
    let settings = ProcessorSettings {
        max_attempts: 10,
        max_attempts_by_service: [("hook".to_owned(), 3)].into(),
        ..Default::default()
    };
    let ledger = Arc::new(SqliteLedger::open(&ledger_settings("http")).unwrap());
    let processor = Processor::new(config)
        .with_settings(settings)
        .with_ledger(ledger.clone());
    let alert = Alert::new("r", json!({"n": 1}), ["hook:bad", "hook:down"]);
    let key = AlertKey::of(&alert);

    let event = serde_json::Value::Object(alert.to_item());
    let report = processor.process(vec![alert]).await.unwrap();
    assert_eq!((report.failed, report.dead), (2, 1), "{report:?}");
    let entry = ledger.get(key.clone()).await.unwrap().unwrap();
    let bad = entry.delivery("hook:bad").unwrap();
    assert_eq!((bad.state, bad.attempts), (DeliveryState::Dead, 1));
    assert!(
        bad.last_error
            .as_deref()
            .is_some_and(|e| e.contains("HTTP 400")),
        "{bad:?}"
    );
    assert_eq!(
        entry.delivery("hook:down").unwrap().state,
        DeliveryState::Failed
    );

    // Passes 2 and 3 try only the 5xx output; the third failure is its last.
    let second = processor.retry_pass().await.unwrap();
    assert_eq!((second.run.failed, second.run.dead), (1, 0));
    let third = processor.retry_pass().await.unwrap();
    assert_eq!((third.run.failed, third.run.dead), (1, 1));
    // StreamAlert's event of the alert (as its merger re-sends it): nothing dead is sent.
    let outcome = processor.dispatch_event(&event).await;
    assert!(outcome.results().is_empty(), "{outcome:?}");
    let fourth = processor.retry_pass().await.unwrap();
    assert_eq!(
        (fourth.run.alerts, fourth.run.failed),
        (0, 0),
        "nothing to retry"
    );
    assert_eq!(
        (hits(&server, "/bad").await, hits(&server, "/down").await),
        (1, 3)
    );
    let entry = ledger.get(key.clone()).await.unwrap().unwrap();
    let down = entry.delivery("hook:down").unwrap();
    assert_eq!((down.state, down.attempts), (DeliveryState::Dead, 3));
    assert!(
        down.last_error
            .as_deref()
            .is_some_and(|e| e.contains("HTTP 500")),
        "{down:?}"
    );
    assert_eq!(ledger.counts().await.unwrap().dead, 2);

    // The services are fixed; replayed, both are delivered.
    server.reset().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    assert_eq!(ledger.replay(vec![key.clone()], None).await.unwrap(), 2);
    let replayed = processor.retry_pass().await.unwrap();
    assert_eq!((replayed.run.sent, replayed.run.failed), (2, 0));
    let counts = ledger.counts().await.unwrap();
    assert_eq!((counts.complete_alerts, counts.dead), (1, 0));
}

/// An output missing from outputs.json and one whose credentials are not stored are given up
/// at their first attempt, with the reason.
#[tokio::test]
async fn configuration_errors_die_at_once() {
    let config = OutputsConfig::from_json(r#"{"webhook": ["nocreds"]}"#).unwrap();
    let ledger = Arc::new(SqliteLedger::open(&ledger_settings("config")).unwrap());
    let processor = Processor::new(config).with_ledger(ledger.clone());
    let alert = Alert::new("r", json!({}), ["hook:missing", "webhook:nocreds"]);
    let key = AlertKey::of(&alert);
    let report = processor.process(vec![alert]).await.unwrap();
    assert_eq!((report.failed, report.dead), (2, 2), "{report:?}");
    let entry = ledger.get(key).await.unwrap().unwrap();
    for (output, reason) in [
        ("hook:missing", "does not exist in outputs.json"),
        ("webhook:nocreds", "no `url` stored"),
    ] {
        let delivery = entry.delivery(output).unwrap();
        assert_eq!(
            (delivery.state, delivery.attempts),
            (DeliveryState::Dead, 1)
        );
        assert!(
            delivery
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains(reason)),
            "{delivery:?}"
        );
    }
    assert!(ledger.open_alerts().await.unwrap().is_empty());
}
