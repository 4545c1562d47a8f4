//! `pagerduty-v2`: PagerDuty Events API v2 (spec `outputs.md` §2.16).

use super::pagerduty_common::{self as common, EVENTS_V2_ENQUEUE_URL, events_v2_event};
use crate::output::http::{Http, HttpRequest};
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
#[crate::output(service = "pagerduty-v2", builtin)]
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
        common::send_for_json(request(&http, delivery)?)
            .await
            .map(|_| ())
    }
}

/// The request `pagerduty-v2` sends for `delivery`, built but not sent: `POST <url>` (the
/// stored `url`, else [`EVENTS_V2_ENQUEUE_URL`]) with the [`events_v2_event`] as Python's
/// `json.dumps` writes it. `http` is the delivery's HTTP context (`Http::new("pagerduty-v2",
/// delivery)`).
///
/// `Err` when no `routing_key` is stored or the stored `url` is not an http(s) URL.
///
/// ```
/// use streamalert::{Alert, Publication, outputs::pagerduty_v2};
/// use streamalert::output::{Credentials, Delivery, http::Http};
/// let alert = Alert::new("r", serde_json::json!({"k": 1}), ["pagerduty-v2:p"]);
/// let publication = Publication::new();
/// let credentials = Credentials::from_iter([("routing_key", "KEY")]);
/// let delivery = Delivery::new(&alert, "p", &publication).with_credentials(&credentials);
/// let http = Http::new("pagerduty-v2", &delivery);
/// let request = pagerduty_v2::request(&http, &delivery).unwrap();
/// assert_eq!(request.url().as_str(), "https://events.pagerduty.com/v2/enqueue");
/// let body: serde_json::Value = serde_json::from_slice(request.body_bytes().unwrap()).unwrap();
/// assert_eq!(body["dedup_key"], format!("p:{}", alert.alert_id));
/// ```
pub fn request<'h>(
    http: &'h Http<'_>,
    delivery: &Delivery<'_>,
) -> Result<HttpRequest<'h>, DispatchError> {
    let routing_key = http.credential("routing_key")?;
    let url = http.endpoint("url", EVENTS_V2_ENQUEUE_URL)?;
    let event = events_v2_event(
        delivery.alert,
        delivery.descriptor,
        routing_key,
        delivery.publication,
        true,
    );
    Ok(http.post(url).body(event.to_json(), "application/json"))
}
