//! The `aws-sns` output (feature `aws`).
use crate::aws::{Aws, resolve, sdk_error};
use crate::json::{PythonJson, py_str};
use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use crate::text::elide_string_middle;
use serde_json::Value;

/// The longest SNS subject StreamAlert sends (after `elide_string_middle`).
pub const MAX_SUBJECT: usize = 99;

/// `aws-sns`: publishes each alert to an SNS topic (StreamAlert's `SNSOutput`).
///
/// `outputs.json` maps each descriptor to the topic *name*: `{"aws-sns": {"pager":
/// "pager_topic"}}`; the ARN is `arn:aws:sns:<region>:<AWS_ACCOUNT_ID>:<name>`. The subject is
/// the publication's `@aws-sns.topic` (sic: StreamAlert's key for the subject, decision Q10) or
/// `<rule_name> triggered alert <alert_id>`, elided in the middle to 99 characters; the message
/// is `@aws-sns.message` or the publication as `json.dumps(indent=2, sort_keys=True)`.
///
/// ```
/// use streamalert::{Alert, Publication, outputs::AwsSns};
/// let alert = Alert::new("r", serde_json::json!({}), ["aws-sns:pager"]);
/// let mut publication = Publication::new();
/// publication.insert("@aws-sns.topic", "x".repeat(120));
/// let (subject, _) = AwsSns::subject_and_message(&alert, &publication);
/// assert_eq!(subject.chars().count(), 99);
/// assert!(subject.contains(" ... "));
/// ```
#[derive(Debug, Default)]
#[crate::output(service = "aws-sns", builtin)]
pub struct AwsSns {
    aws: Option<Aws>,
}

impl AwsSns {
    /// The output with its own AWS configuration instead of the process-wide one.
    pub fn with_aws(aws: Aws) -> Self {
        Self { aws: Some(aws) }
    }

    /// The subject and message StreamAlert publishes for this alert and publication.
    pub fn subject_and_message(
        alert: &crate::Alert,
        publication: &crate::Publication,
    ) -> (String, String) {
        let subject = match publication.get("@aws-sns.topic") {
            Some(value) => py_str(value),
            None => format!("{} triggered alert {}", alert.rule_name, alert.alert_id),
        };
        let message = match publication.get("@aws-sns.message") {
            Some(Value::String(text)) => text.clone(),
            Some(other) => PythonJson::pretty(2).sort_keys().dump(other),
            None => PythonJson::pretty(2)
                .sort_keys()
                .dump_object(publication.entries()),
        };
        (elide_string_middle(&subject, MAX_SUBJECT), message)
    }
}

#[async_trait::async_trait]
impl Output for AwsSns {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor("a short and unique descriptor for this SNS topic"),
            OutputProperty::new("aws_value", "SNS topic name"),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let topic = crate::aws::required_setting(delivery, "aws-sns")?;
        let aws = resolve(self.aws.as_ref()).await;
        let account = aws.account_id().ok_or_else(|| {
            DispatchError::new(
                ErrorKind::Config,
                "aws-sns needs the account id for the topic ARN: set AWS_ACCOUNT_ID",
            )
        })?;
        let arn = format!("arn:aws:sns:{}:{account}:{topic}", aws.region());
        let (subject, message) = Self::subject_and_message(delivery.alert, delivery.publication);
        aws.sns()
            .publish()
            .topic_arn(arn)
            .message(message)
            .subject(subject)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk_error("sns Publish", e))
    }
}
