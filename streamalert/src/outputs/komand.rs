//! `komand`: a Komand (Rapid7 InsightConnect) trigger (spec `outputs.md` §2.14).

use crate::output::http::Http;
use crate::output::{Delivery, DispatchError, Output, OutputProperty};
use serde_json::{Value, json};

const SERVICE: &str = "komand";

/// Fires a Komand workflow trigger with the whole publication.
///
/// Properties: `descriptor`; `komand_auth_token` (masked, secret); `url` (the trigger
/// endpoint, e.g. `https://HOST/v2/triggers/GUID/events`; masked, secret, only spaces
/// forbidden, decision Q6). The trigger URL's path is treated as a secret in errors.
///
/// Publication keys: none; the whole publication is sent.
///
/// Request: `POST <url>` (an empty path is sent as `/`) with `Authorization: <token>` (the raw
/// token) and `{"data": <publication>}`; any 2xx is success. Unlike StreamAlert, TLS
/// certificates are verified unless the descriptor opts out (decision Q8) and failures are
/// retried under the shared policy (decision Q7).
///
/// ```
/// use streamalert::{Output, outputs::Komand};
/// let properties = Komand.properties();
/// let names: Vec<_> = properties.iter().map(|p| p.name).collect();
/// assert_eq!(names, ["descriptor", "komand_auth_token", "url"]);
/// assert!(properties[2].validate("https://komand.example.com:8443/v2/triggers/x/events").is_ok());
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "komand", builtin)]
pub struct Komand;

#[async_trait::async_trait]
impl Output for Komand {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "a short and unique descriptor for this Komand integration",
            ),
            OutputProperty::new(
                "komand_auth_token",
                "the auth token for this Komand integration. Example: 00000000-0000-0000-0000-000000000000",
            )
            .masked()
            .secret(),
            OutputProperty::new(
                "url",
                "the endpoint url for this Komand integration. Example: https://YOUR-KOMAND-HOST.com/v2/triggers/GUID/events",
            )
            .masked()
            .secret()
            .forbidding(&[' ']),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let http = Http::new(SERVICE, delivery);
        let token = http.credential("komand_auth_token")?;
        let url = http.url_credential("url")?;
        let publication = Value::from(delivery.publication.clone());
        tracing::debug!(output = %http.output(), "sending alert to Komand");
        http.post(url)
            .header("Authorization", token)
            .json(&json!({"data": publication}))
            .send()
            .await
            .map(|_| ())
    }
}
