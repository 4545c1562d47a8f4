//! `pagerduty`: PagerDuty Events API v1 (spec `outputs.md` §2.15).

use super::pagerduty_common::{self as common, strip_invalid_contexts};
use crate::output::{Delivery, DispatchError, Output, OutputProperty};
use serde_json::{Value, json};

const SERVICE: &str = "pagerduty";

/// The default property `url`: StreamAlert's Events API v1 endpoint.
pub const EVENTS_V1_URL: &str = "https://events.pagerduty.com/generic/2010-04-15/create_event.json";

/// Triggers a PagerDuty incident through the Events API v1.
///
/// Properties: `descriptor`, `service_key` (masked, secret). The endpoint is the default
/// property `url` ([`EVENTS_V1_URL`]); a `url` stored with the credentials overrides it
/// (decision Q11, e.g. a test server).
///
/// Publication keys: `@pagerduty.description` (default `StreamAlert Rule Triggered - <rule>`),
/// `@pagerduty.details` (default `{"description", "record"}`), `@pagerduty.client_url`
/// (default `""`), `@pagerduty.contexts` (default `[]`, sanitised by
/// [`strip_invalid_contexts`]).
///
/// Request: `POST <url>` with
/// `{"service_key", "event_type": "trigger", "description", "details", "client": "streamalert", "client_url", "contexts"}`.
/// Success needs a 2xx **and** a non-empty JSON reply (decision Q2).
///
/// ```
/// use streamalert::{Output, outputs::PagerDuty};
/// let names: Vec<_> = PagerDuty.properties().iter().map(|p| p.name).collect();
/// assert_eq!(names, ["descriptor", "service_key"]);
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "pagerduty", builtin)]
pub struct PagerDuty;

#[async_trait::async_trait]
impl Output for PagerDuty {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "a short and unique descriptor for this PagerDuty integration",
            ),
            OutputProperty::new(
                "service_key",
                "the service key for this PagerDuty integration",
            )
            .masked()
            .secret(),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let http = common::http(SERVICE, delivery);
        let service_key = http.credential("service_key")?;
        let url = http.endpoint("url", EVENTS_V1_URL)?;
        let event = event(delivery, service_key);
        common::send_for_json(http.post(url).json(&event))
            .await
            .map(|_| ())
    }
}

fn event(delivery: &Delivery<'_>, service_key: &str) -> Value {
    let alert = delivery.alert;
    let field = |name: &str| delivery.publication.get(&format!("@pagerduty.{name}"));
    let description = field("description")
        .cloned()
        .unwrap_or_else(|| format!("StreamAlert Rule Triggered - {}", alert.rule_name).into());
    let details = field("details")
        .cloned()
        .unwrap_or_else(|| json!({"description": alert.rule_description, "record": alert.record}));
    let contexts = field("contexts").map_or_else(|| json!([]), strip_invalid_contexts);
    json!({
        "service_key": service_key,
        "event_type": "trigger",
        "description": description,
        "details": details,
        "client": "streamalert",
        "client_url": field("client_url").cloned().unwrap_or_else(|| "".into()),
        "contexts": contexts,
    })
}
