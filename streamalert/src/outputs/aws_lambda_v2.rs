//! The `aws-lambda-v2` output (feature `aws`).
use super::aws_lambda::{invoke, payload};
use crate::aws::{Aws, StaticCredentials, resolve, sdk_error};
use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use secrecy::{ExposeSecret as _, SecretString};

/// The session name of the assumed role.
pub const ROLE_SESSION_NAME: &str = "streamalert_alert_processor";

/// `aws-lambda-v2` (StreamAlert's `LambdaOutputV2`): invokes a function, possibly of another
/// account through an assumed role, asynchronously with the alert's record (or the
/// publication's `@aws-lambda.alert_data`) as compact JSON.
///
/// Configured as a list of descriptors; the credential store holds `lambda_function_arn`
/// (invoked as given), `function_qualifier` and `assume_role_arn` (both may be empty). With a
/// role, `sts AssumeRole` (session `streamalert_alert_processor`) comes first and the `Invoke`
/// is signed with the temporary credentials it returns.
///
/// ```
/// use streamalert::{Output, outputs::AwsLambdaV2};
/// let names: Vec<_> = AwsLambdaV2::default().properties().iter().map(|p| p.name).collect();
/// assert_eq!(names, ["descriptor", "lambda_function_arn", "function_qualifier", "assume_role_arn"]);
/// ```
#[derive(Debug, Default)]
#[crate::output(service = "aws-lambda-v2", builtin)]
pub struct AwsLambdaV2 {
    aws: Option<Aws>,
}

impl AwsLambdaV2 {
    /// The output with its own AWS configuration instead of the process-wide one.
    pub fn with_aws(aws: Aws) -> Self {
        Self { aws: Some(aws) }
    }
}

#[async_trait::async_trait]
impl Output for AwsLambdaV2 {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "a short and unique descriptor for this Lambda function configuration (ie: abbreviated name)",
            ),
            OutputProperty::new(
                "lambda_function_arn",
                "The ARN of the AWS Lambda function to Invoke",
            )
            .secret()
            .forbidding(&[' ']),
            OutputProperty::new(
                "function_qualifier",
                "The function qualifier/alias to invoke.",
            )
            .secret()
            .forbidding(&[' ']),
            OutputProperty::new(
                "assume_role_arn",
                "When provided, will use AssumeRole with this ARN",
            )
            .secret()
            .forbidding(&[' ']),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let credentials = delivery.credentials;
        if credentials.is_empty() {
            tracing::error!(
                "No credentials found for descriptor: {}",
                delivery.descriptor
            );
            return Err(DispatchError::missing_credential("lambda_function_arn"));
        }
        let function = credentials.require("lambda_function_arn")?.to_owned();
        let optional = |name: &str| {
            credentials
                .get(name)
                .map(|s| s.expose_secret().to_owned())
                .filter(|s| !s.is_empty())
        };
        let qualifier = optional("function_qualifier");
        let payload = payload(delivery);
        let aws = resolve(self.aws.as_ref()).await;
        let client = match optional("assume_role_arn") {
            None => aws.lambda(),
            Some(role) => {
                let reply = aws
                    .sts()
                    .assume_role()
                    .role_arn(role)
                    .role_session_name(ROLE_SESSION_NAME)
                    .send()
                    .await
                    .map_err(|e| sdk_error("sts AssumeRole", e))?;
                let temporary = reply.credentials().ok_or_else(|| {
                    DispatchError::new(
                        ErrorKind::InvalidResponse,
                        "sts AssumeRole returned no credentials",
                    )
                })?;
                aws.lambda_with(&StaticCredentials {
                    access_key_id: temporary.access_key_id().to_owned(),
                    secret_access_key: SecretString::from(temporary.secret_access_key().to_owned()),
                    session_token: Some(SecretString::from(temporary.session_token().to_owned())),
                })
            }
        };
        invoke(&client, &function, qualifier.as_deref(), payload).await
    }
}
