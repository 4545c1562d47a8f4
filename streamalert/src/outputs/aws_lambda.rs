//! The `aws-lambda` output (feature `aws`).
use crate::aws::{Aws, resolve, sdk_error};
use crate::json::PythonJson;
use crate::output::{Delivery, DispatchError, Output, OutputProperty};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

/// `aws-lambda` (StreamAlert's deprecated `LambdaOutput`): invokes a function asynchronously
/// with the alert's record (or the publication's `@aws-lambda.alert_data`) as compact JSON.
///
/// `outputs.json` maps each descriptor to `function[:qualifier]` or an ARN: `{"aws-lambda":
/// {"enrich": "enrich_function:production"}}`. A full ARN is invoked as given, with its 8th part
/// as the qualifier (decision Q14); other values are resolved as StreamAlert does.
///
/// ```
/// use streamalert::outputs::AwsLambda;
/// assert_eq!(AwsLambda::function_and_qualifier("fn:prod"), ("fn".into(), Some("prod".into())));
/// assert_eq!(AwsLambda::function_and_qualifier("fn"), ("fn".into(), None));
/// assert_eq!(
///     AwsLambda::function_and_qualifier("arn:aws:lambda:eu-west-1:123456789012:function:fn:prod"),
///     ("arn:aws:lambda:eu-west-1:123456789012:function:fn".into(), Some("prod".into())),
/// );
/// ```
#[derive(Debug, Default)]
#[crate::output(service = "aws-lambda", builtin)]
pub struct AwsLambda {
    aws: Option<Aws>,
}

impl AwsLambda {
    /// The output with its own AWS configuration instead of the process-wide one.
    pub fn with_aws(aws: Aws) -> Self {
        Self { aws: Some(aws) }
    }

    /// The `FunctionName` and `Qualifier` of a configured value.
    pub fn function_and_qualifier(value: &str) -> (String, Option<String>) {
        let parts: Vec<&str> = value.split(':').collect();
        if value.starts_with("arn:") {
            return match parts.len() {
                8 => (parts[..7].join(":"), Some(parts[7].to_owned())),
                _ => (value.to_owned(), None),
            };
        }
        match parts.len() {
            2 | 8 => (
                parts[parts.len() - 2].to_owned(),
                Some(parts[parts.len() - 1].to_owned()),
            ),
            _ => (parts.last().copied().unwrap_or_default().to_owned(), None),
        }
    }
}

/// The payload of both Lambda outputs: `@aws-lambda.alert_data`, else the alert's record.
pub(crate) fn payload(delivery: &Delivery<'_>) -> String {
    let data = delivery
        .publication
        .get("@aws-lambda.alert_data")
        .unwrap_or(&delivery.alert.record);
    PythonJson::COMPACT.dump(data)
}

/// Sends an asynchronous `Invoke`.
pub(crate) async fn invoke(
    client: &aws_sdk_lambda::Client,
    function: &str,
    qualifier: Option<&str>,
    payload: String,
) -> Result<(), DispatchError> {
    client
        .invoke()
        .function_name(function)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(payload.into_bytes()))
        .set_qualifier(qualifier.filter(|q| !q.is_empty()).map(str::to_owned))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk_error("lambda Invoke", e))
}

#[async_trait::async_trait]
impl Output for AwsLambda {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "a short and unique descriptor for this Lambda function configuration (ie: abbreviated name)",
            ),
            OutputProperty::new(
                "aws_value",
                "the AWS Lambda function name, with the optional qualifier (aka 'alias'), to use for this configuration (ie: output_function:qualifier)",
            )
            .forbidding(&[' ']),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let value = crate::aws::required_setting(delivery, "aws-lambda")?;
        let (function, qualifier) = Self::function_and_qualifier(value);
        let client = resolve(self.aws.as_ref()).await.lambda();
        invoke(&client, &function, qualifier.as_deref(), payload(delivery)).await
    }
}
