//! `pagerduty-v2`: PagerDuty Events API v2 (spec `outputs.md` §2.16).

use super::pagerduty_common::{self as common, EVENTS_V2_ENQUEUE_URL, events_v2_event};
use crate::output::{Delivery, DispatchError, Output, OutputProperty};

const SERVICE: &str = "pagerduty-v2";

/// Triggers a PagerDuty alert through the Events API v2.
///
/// Properties: `descriptor`, `routing_key` (masked, secret). The endpoint is the default
/// property `url` ([`EVENTS_V2_ENQUEUE_URL`]); a stored `url` overrides it (decision Q11,
/// e.g. PagerDuty's EU endpoint).
///
/// Publication keys: `@pagerduty-v2.summary`, `.custom_details`, `.severity`, `.client_url`,
/// `.images`, `.links`, `.component`, `.group`, `.class` (see
/// [`events_v2_event`]). The dedup key is `<descriptor>:<alert id>`.
///
/// Request: `POST <url>` with the event; success needs a 2xx and a non-empty JSON reply
/// (decision Q2).
///
/// ```
/// use streamalert::{Output, outputs::PagerDutyV2};
/// let routing_key = &PagerDutyV2.properties()[1];
/// assert_eq!(routing_key.name, "routing_key");
/// assert!(routing_key.mask && routing_key.secret);
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "pagerduty-v2", builtin, fields = ["summary", "custom_details", "severity", "client_url", "images", "links", "component", "group", "class"])]
pub struct PagerDutyV2;

#[async_trait::async_trait]
impl Output for PagerDutyV2 {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "a short and unique descriptor for this PagerDuty integration",
            ),
            OutputProperty::new(
                "routing_key",
                "the routing key for this PagerDuty integration",
            )
            .masked()
            .secret(),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let http = common::http(SERVICE, delivery);
        let routing_key = http.credential("routing_key")?;
        let url = http.endpoint("url", EVENTS_V2_ENQUEUE_URL)?;
        let event = events_v2_event(
            delivery.alert,
            delivery.descriptor,
            routing_key,
            delivery.publication,
            true,
        );
        common::send_for_json(http.post(url).json(&event))
            .await
            .map(|_| ())
    }
}
