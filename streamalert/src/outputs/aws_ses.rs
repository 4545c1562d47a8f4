//! The `aws-ses` output (feature `aws`).
use crate::aws::{Aws, resolve, sdk_error};
use crate::output::{Delivery, DispatchError, Output, OutputProperty};
use aws_sdk_ses::primitives::Blob;
use aws_sdk_ses::types::RawMessage;

/// The body of the email when the publication sets none.
pub const DEFAULT_BODY: &str = super::mime::DEFAULT_BODY;

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
        super::mime::message("aws-ses", alert, publication, from, to)
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
