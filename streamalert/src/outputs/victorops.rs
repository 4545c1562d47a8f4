//! `victorops`: a VictorOps (Splunk On-Call) REST endpoint integration (spec `outputs.md` §2.21).

use crate::output::http::Http;
use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use serde_json::{Value, json};
use std::time::Duration;

const SERVICE: &str = "victorops";

/// VictorOps answers slowly: StreamAlert gives it 10 s instead of its usual 3.05 s.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Raises a critical VictorOps incident for an alert.
///
/// Properties: `descriptor`; `victorops_api_id`, `victorops_api_key`, `url` (the REST
/// endpoint; only spaces forbidden, decision Q6), `routing_key` — all masked and secret. The
/// endpoint URL carries the integration's key in its path, so errors show only its host.
///
/// Publication keys: none; the publication's `record` is sent (a publication without one
/// fails the delivery).
///
/// Request: `POST <url>/<routing_key>` with `X-VO-Api-Id`, `X-VO-Api-Key`,
/// `Content-Type: application/json` and [`message`]; any 2xx is success. Timeout
/// [`TIMEOUT`] per attempt; unlike StreamAlert, failures are retried under the shared policy
/// (decision Q7).
///
/// ```
/// use streamalert::{Output, outputs::VictorOps};
/// let properties = VictorOps.properties();
/// assert!(properties[1..].iter().all(|p| p.mask && p.secret));
/// assert_eq!(properties[3].name, "url");
/// assert_eq!(properties[3].restrictions, [' ']); // decision Q6
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "victorops", builtin)]
pub struct VictorOps;

#[async_trait::async_trait]
impl Output for VictorOps {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "A short and unique descriptor for this VictorOps integration",
            ),
            OutputProperty::new(
                "victorops_api_id",
                "The API Id for this VictorOps integration.",
            )
            .masked()
            .secret(),
            OutputProperty::new(
                "victorops_api_key",
                "The API Key for this VictorOps integration.",
            )
            .masked()
            .secret(),
            OutputProperty::new("url", "The endpoint url for this VictorOps integration.")
                .masked()
                .secret()
                .forbidding(&[' ']),
            OutputProperty::new(
                "routing_key",
                "The endpoint routing key for this VictorOps integration.",
            )
            .masked()
            .secret(),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let http = Http::new(SERVICE, delivery).timeout(TIMEOUT);
        let api_id = http.credential("victorops_api_id")?;
        let api_key = http.credential("victorops_api_key")?;
        let endpoint = http.url_credential("url")?;
        let url = Http::join(&endpoint, http.credential("routing_key")?)?;
        let record = delivery.publication.get("record").ok_or_else(|| {
            http.error(
                ErrorKind::Publish,
                "the publication has no \"record\", which VictorOps requires",
            )
        })?;
        tracing::info!(output = %http.output(), "Sending alert to VictorOps");
        http.post(url)
            .header("Content-Type", "application/json")
            .header("X-VO-Api-Id", api_id)
            .header("X-VO-Api-Key", api_key)
            .json(&message(&delivery.alert.rule_name, record))
            .send()
            .await
            .map(|_| ())
    }
}

/// The body: `{"message_type": "CRITICAL", "entity_id": "streamalert/alert",
/// "entity_display_name": <rule>, "record": <publication record>}`.
///
/// ```
/// use streamalert::outputs::victorops::message;
/// let body = message("root_login", &serde_json::json!({"user": "root"}));
/// assert_eq!(body["entity_display_name"], "root_login");
/// assert_eq!(body["message_type"], "CRITICAL");
/// ```
pub fn message(rule_name: &str, record: &Value) -> Value {
    json!({
        "message_type": "CRITICAL",
        "entity_id": "streamalert/alert",
        "entity_display_name": rule_name,
        "record": record,
    })
}
