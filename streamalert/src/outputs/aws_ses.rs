//! The `aws-ses` output (feature `aws`).
use crate::aws::{Aws, resolve, sdk_error};
use crate::json::{PythonJson, py_str};
use crate::output::{Delivery, DispatchError, Output, OutputProperty};
use aws_sdk_ses::primitives::Blob;
use aws_sdk_ses::types::RawMessage;
use serde_json::Value;

/// The body of the email when the publication sets none.
pub const DEFAULT_BODY: &str = "Please review the attached record.json";

/// `aws-ses`: an email with the alert's record attached, sent with `SendRawEmail` (StreamAlert's
/// `SESOutput`).
///
/// Configured as a list of descriptors; the credential store holds `from_email` (an SES
/// verified sender) and `to_emails` (comma separated). The message is `multipart/mixed`:
/// `record.json` (the record as `json.dumps(sort_keys=True, indent=2)`, base64) unless
/// `@aws-ses.attach_record` is falsy, one attachment per entry of `@aws-ses.attachments`
/// (`{"name": "content"}`), then the body: `@aws-ses.body` as `text/plain`, or a map of
/// subtypes (`{"html": "<p>…</p>", "plain": "…"}`) as `multipart/alternative`. The subject is
/// `@aws-ses.subject` or `<rule_name> triggered alert <alert_id>`.
///
/// ```
/// use streamalert::{Alert, Publication, outputs::AwsSes};
/// let alert = Alert::new("r", serde_json::json!({"b": 1, "a": 2}), ["aws-ses:team"]);
/// let mime = AwsSes::mime_message(&alert, &Publication::new(), "from@example.com", "to@example.com");
/// assert!(mime.starts_with("Content-Type: multipart/mixed; boundary=\"==============="));
/// assert!(mime.contains("Content-Disposition: attachment; filename=\"record.json\"\n"));
/// assert!(mime.contains("\n\nPlease review the attached record.json\n--"));
/// ```
#[derive(Debug, Default)]
#[crate::output(service = "aws-ses", builtin)]
pub struct AwsSes {
    aws: Option<Aws>,
}

impl AwsSes {
    /// The output with its own AWS configuration instead of the process-wide one.
    pub fn with_aws(aws: Aws) -> Self {
        Self { aws: Some(aws) }
    }

    /// The raw MIME message, laid out as Python's `email` package writes it (random boundaries).
    pub fn mime_message(
        alert: &crate::Alert,
        publication: &crate::Publication,
        from: &str,
        to: &str,
    ) -> String {
        let subject = match publication.get("@aws-ses.subject") {
            Some(value) => py_str(value),
            None => format!("{} triggered alert {}", alert.rule_name, alert.alert_id),
        };
        let mut parts = Vec::new();
        let attach_record = publication
            .get("@aws-ses.attach_record")
            .is_none_or(|v| !crate::alert::is_falsy(v));
        if attach_record {
            let record = PythonJson::pretty(2).sort_keys().dump(&alert.record);
            parts.push(attachment("record.json", record.as_bytes()));
        }
        if let Some(Value::Object(files)) = publication.get("@aws-ses.attachments") {
            for (name, content) in files {
                let content = match content {
                    Value::String(text) => text.clone(),
                    other => py_str(other),
                };
                parts.push(attachment(name, content.as_bytes()));
            }
        }
        match publication.get("@aws-ses.body") {
            Some(Value::Object(alternatives)) => {
                let texts = alternatives
                    .iter()
                    .map(|(subtype, text)| text_part(subtype, &py_str(text)))
                    .collect();
                parts.push(multipart("alternative", &[], texts));
            }
            Some(other) => parts.push(text_part("plain", &py_str(other))),
            None => parts.push(text_part("plain", DEFAULT_BODY)),
        }
        let headers = [
            ("To", to.to_owned()),
            ("From", from.to_owned()),
            ("Subject", encode_header(&subject)),
        ];
        multipart("mixed", &headers, parts)
    }
}

#[async_trait::async_trait]
impl Output for AwsSes {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor("a short and unique descriptor for this SES Output."),
            OutputProperty::new("from_email", "the SES Verified email address to send from")
                .secret(),
            OutputProperty::new(
                "to_emails",
                "the SES Verified recipient email addresses, comma-seperated",
            )
            .secret(),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let from = delivery.credentials.require("from_email")?;
        let to = delivery.credentials.require("to_emails")?;
        let mime = Self::mime_message(delivery.alert, delivery.publication, from, to);
        let raw = RawMessage::builder()
            .data(Blob::new(mime.into_bytes()))
            .build()
            .map_err(|e| {
                DispatchError::new(
                    crate::output::ErrorKind::Config,
                    format!("ses raw message: {e}"),
                )
            })?;
        let sent = resolve(self.aws.as_ref())
            .await
            .ses()
            .send_raw_email()
            .source(from)
            .set_destinations(Some(to.split(',').map(str::to_owned).collect()))
            .raw_message(raw)
            .send()
            .await;
        match sent {
            Ok(reply) => {
                tracing::info!("Email sent! Message ID: {}", reply.message_id());
                Ok(())
            }
            Err(error) => {
                let error = sdk_error("ses SendRawEmail", error);
                tracing::error!("{}", error.message());
                Err(error)
            }
        }
    }
}

/// `===============<19 random digits>==`, as Python's `email.generator` makes boundaries.
fn boundary() -> String {
    let random = uuid::Uuid::new_v4().as_u128() % 10u128.pow(19);
    format!("==============={random:019}==")
}

/// A MIME part: its headers and its body, as written.
fn multipart(subtype: &str, extra_headers: &[(&str, String)], parts: Vec<String>) -> String {
    let boundary = boundary();
    let mut out =
        format!("Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\nMIME-Version: 1.0\n");
    for (name, value) in extra_headers {
        out.push_str(&format!("{name}: {value}\n"));
    }
    out.push('\n');
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        out.push_str(&format!("--{boundary}\n"));
        out.push_str(part);
    }
    out.push_str(&format!("\n--{boundary}--\n"));
    out
}

/// `MIMEApplication(content)` with `Content-Disposition: attachment; filename="<name>"`.
fn attachment(name: &str, content: &[u8]) -> String {
    format!(
        "Content-Type: application/octet-stream\nMIME-Version: 1.0\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"{}\"\n\n{}",
        name.replace('"', "\\\""),
        base64_lines(content)
    )
}

/// `MIMEText(text, subtype)`: us-ascii and 7bit when possible, else utf-8 and base64.
fn text_part(subtype: &str, text: &str) -> String {
    if text.is_ascii() {
        format!(
            "Content-Type: text/{subtype}; charset=\"us-ascii\"\nMIME-Version: 1.0\nContent-Transfer-Encoding: 7bit\n\n{text}"
        )
    } else {
        format!(
            "Content-Type: text/{subtype}; charset=\"utf-8\"\nMIME-Version: 1.0\nContent-Transfer-Encoding: base64\n\n{}",
            base64_lines(text.as_bytes())
        )
    }
}

/// A header value: as is when ASCII, else an RFC 2047 encoded word.
fn encode_header(value: &str) -> String {
    if value.is_ascii() {
        value.to_owned()
    } else {
        format!("=?utf-8?b?{}?=", base64(value.as_bytes()))
    }
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Base64 in lines of 76 characters, each ending with a newline (Python's `encodebytes`).
fn base64_lines(bytes: &[u8]) -> String {
    let encoded = base64(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 76 + 1);
    for line in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_python() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64("café".as_bytes()), "Y2Fmw6k=");
        let long = base64_lines(&[b'x'; 100]);
        assert_eq!(long.lines().map(str::len).collect::<Vec<_>>(), [76, 60]);
        assert!(long.ends_with('\n'));
    }

    #[test]
    fn boundaries_have_python_shape() {
        let b = boundary();
        assert_eq!(b.len(), 15 + 19 + 2);
        assert!(b[15..34].bytes().all(|c| c.is_ascii_digit()));
    }
}
