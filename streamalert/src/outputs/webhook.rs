//! `webhook`: the publication as JSON to any HTTP endpoint, optionally signed.

use crate::output::http::Http;
use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use hmac::{KeyInit, Mac};
use serde_json::Value;

const SERVICE: &str = "webhook";

/// The header carrying the body's signature: `sha256=<lower-case hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "X-StreamAlert-Signature-256";

/// Posts the publication, as JSON, to a URL of your choice.
///
/// Properties: `descriptor`; `url` (masked, secret, only spaces forbidden: its path and query
/// are treated as secret and redacted from errors); `signing_secret` (optional; masked,
/// secret): when set, every request carries [`SIGNATURE_HEADER`]`: sha256=<hex>`, the
/// HMAC-SHA256 of the exact body bytes under that secret, so the receiver can check the
/// sender and the integrity of the body; `headers` (optional; masked, secret, unrestricted): a
/// JSON object of extra headers, e.g. `{"Authorization": "Bearer …"}`.
///
/// The body is the whole publication written as Python's `json.dumps` writes it (key order
/// kept, ASCII escapes), with `Content-Type: application/json` unless `headers` sets one.
/// Any 2xx is success, under the shared retry policy. No `@webhook.*` key is read: choose
/// what is sent with publishers.
///
/// ```
/// use streamalert::outputs::webhook::signature;
/// assert_eq!(
///     signature(b"key", b"The quick brown fox jumps over the lazy dog"),
///     "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
/// );
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "webhook", builtin)]
pub struct Webhook;

#[async_trait::async_trait]
impl Output for Webhook {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor("a short and unique descriptor for this webhook"),
            OutputProperty::new("url", "the full URL the alerts are posted to")
                .masked()
                .secret()
                .forbidding(&[' ']),
            OutputProperty::new(
                "signing_secret",
                "a secret to sign each body with HMAC-SHA256 (leave blank for none)",
            )
            .masked()
            .secret()
            .forbidding(&[]),
            OutputProperty::new(
                "headers",
                "extra request headers as a JSON object, e.g. {\"Authorization\": \"Bearer ...\"} (leave blank for none)",
            )
            .masked()
            .secret()
            .forbidding(&[]),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let http = Http::new(SERVICE, delivery);
        let url = http.url_credential("url")?;
        let body = crate::json::PythonJson::DEFAULT.dump_object(delivery.publication.entries());
        let mut request = http.post(url);
        for (name, value) in custom_headers(&http, delivery)? {
            request = request.header(name, value);
        }
        if let Some(secret) = optional(delivery, "signing_secret") {
            request = request.header(
                SIGNATURE_HEADER,
                signature(secret.as_bytes(), body.as_bytes()),
            );
        }
        request
            .body(body.into_bytes(), "application/json")
            .send()
            .await
            .map(|_| ())
    }
}

/// `sha256=<hex>`: the HMAC-SHA256 of `body` under `secret`, lower-case hex.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length, so this never fails.
    let mut mac = match hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut text = String::with_capacity(7 + 2 * digest.len());
    text.push_str("sha256=");
    for byte in digest {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// A stored value that is present and not blank.
fn optional<'a>(delivery: &Delivery<'a>, name: &str) -> Option<&'a str> {
    delivery
        .credentials
        .require(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// The `headers` property: a JSON object of header names to text values.
fn custom_headers(
    http: &Http<'_>,
    delivery: &Delivery<'_>,
) -> Result<Vec<(String, String)>, DispatchError> {
    let Some(text) = optional(delivery, "headers") else {
        return Ok(Vec::new());
    };
    let invalid = |why: &str| {
        http.error(
            ErrorKind::Config,
            format!(
                "the stored `headers` must be a JSON object of header names to text values ({why})"
            ),
        )
    };
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return Err(invalid("not a JSON object"));
    };
    map.into_iter()
        .map(|(name, value)| match value {
            Value::String(value) => Ok((name, value)),
            _ => Err(invalid(&format!("the value of `{name}` is not text"))),
        })
        .collect()
}
