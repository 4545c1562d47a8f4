//! The AWS side (cargo feature `aws`): one shared SDK configuration per process and the batching
//! the AWS outputs share. The Lambda runtime is [`streamalert::lambda`](crate::lambda).
//!
//! Every AWS output, the [DynamoDB ledger](crate::ledger::DynamoDbLedger) and the Lambda mode
//! take their clients from one [`Aws`]: the region (`AWS_REGION`, else `AWS_DEFAULT_REGION`,
//! else `us-east-1`, as StreamAlert), the SDK's standard credentials chain (environment, the
//! shared profile files, web identity, ECS and EC2 instance roles), an optional endpoint
//! override (tests, LocalStack, moto, other AWS-compatible endpoints; the SDK's own
//! `AWS_ENDPOINT_URL` works too), the SDK's *standard* retry mode and explicit timeouts.
//!
//! ```no_run
//! use streamalert::aws::{Aws, AwsSettings};
//! # async fn demo() {
//! // The process-wide configuration, from the environment, built on first use:
//! let aws = Aws::shared().await;
//! println!("region {}", aws.region());
//!
//! // Or one of your own, e.g. against a local emulator:
//! let local = Aws::load(AwsSettings::from_env().with_endpoint("http://127.0.0.1:5000")).await;
//! let buckets = local.s3().list_buckets().send().await;
//! # }
//! ```

// The batching of concurrent deliveries, shared with the HTTP outputs since `splunk-hec`.
pub use crate::output::batch::{BatchLimits, BatchSink, Batcher};

use crate::output::{DispatchError, ErrorKind};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use secrecy::{ExposeSecret as _, SecretString};
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The AWS SDK crates this feature uses, re-exported so that your code (and tests) need no
/// dependency of their own on matching versions.
pub mod sdk {
    pub use aws_config as config;
    pub use aws_sdk_cloudwatchlogs as cloudwatchlogs;
    pub use aws_sdk_dynamodb as dynamodb;
    pub use aws_sdk_firehose as firehose;
    pub use aws_sdk_lambda as lambda;
    pub use aws_sdk_s3 as s3;
    pub use aws_sdk_ses as ses;
    pub use aws_sdk_sns as sns;
    pub use aws_sdk_sqs as sqs;
    pub use aws_sdk_sts as sts;
    pub use lambda_runtime;
}

/// The region StreamAlert uses: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`.
///
/// ```
/// let region = streamalert::aws::default_region();
/// assert!(!region.is_empty());
/// ```
pub fn default_region() -> String {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.is_empty())
        .unwrap_or_else(|| "us-east-1".to_owned())
}

/// Fixed credentials, for tests and emulators. `Debug` never shows the secret parts.
///
/// ```
/// use streamalert::aws::StaticCredentials;
/// let creds = StaticCredentials::new("AKIDEXAMPLE", "very-secret");
/// assert!(!format!("{creds:?}").contains("very-secret"));
/// ```
#[derive(Clone)]
pub struct StaticCredentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: SecretString,
    /// The session token of temporary credentials.
    pub session_token: Option<SecretString>,
}

impl StaticCredentials {
    /// Long-term credentials (no session token).
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: SecretString::from(secret_access_key.into()),
            session_token: None,
        }
    }

    fn to_sdk(&self, provider: &'static str) -> aws_sdk_sts::config::Credentials {
        aws_sdk_sts::config::Credentials::new(
            self.access_key_id.clone(),
            self.secret_access_key.expose_secret().to_owned(),
            self.session_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            None,
            provider,
        )
    }
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"[REDACTED]")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

/// How [`Aws`] is built. [`AwsSettings::from_env`] gives the defaults.
///
/// ```
/// use std::time::Duration;
/// use streamalert::aws::AwsSettings;
/// let settings = AwsSettings::from_env()
///     .with_region("eu-west-1")
///     .with_endpoint("http://127.0.0.1:5000")
///     .with_max_attempts(1);
/// assert_eq!(settings.region, "eu-west-1");
/// assert_eq!(settings.max_attempts, 1);
/// assert_eq!(settings.connect_timeout, Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AwsSettings {
    /// The region of every client.
    pub region: String,
    /// The account id (SNS topic ARNs): `AWS_ACCOUNT_ID`.
    pub account_id: Option<String>,
    /// Send every request here instead of the AWS endpoints (S3 then uses path-style URLs).
    pub endpoint: Option<String>,
    /// Fixed credentials instead of the standard chain.
    pub credentials: Option<StaticCredentials>,
    /// Attempts per request under the SDK's standard retry mode (exponential backoff with
    /// jitter, throttling and transient errors only). Default 3.
    pub max_attempts: u32,
    /// Tries of a Firehose put on any service error, with full-jitter waits capped at 1 s
    /// (StreamAlert's Firehose retry; spec 2.2). Default 3.
    pub firehose_tries: u32,
    /// TCP + TLS connection timeout. Default 5 s.
    pub connect_timeout: Duration,
    /// One attempt's timeout. Default 20 s.
    pub attempt_timeout: Duration,
    /// One operation's timeout, retries included. Default 50 s (under the processor's
    /// default dispatch timeout of 60 s).
    pub operation_timeout: Duration,
}

impl AwsSettings {
    /// The defaults: region and account id from the environment, the standard credentials chain,
    /// AWS's endpoints.
    pub fn from_env() -> Self {
        Self {
            region: default_region(),
            account_id: std::env::var("AWS_ACCOUNT_ID")
                .ok()
                .filter(|v| !v.is_empty()),
            endpoint: None,
            credentials: None,
            max_attempts: 3,
            firehose_tries: 3,
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(20),
            operation_timeout: Duration::from_secs(50),
        }
    }

    /// The same settings with another region.
    pub fn with_region(self, region: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            ..self
        }
    }

    /// The same settings with an account id.
    pub fn with_account_id(self, account_id: impl Into<String>) -> Self {
        Self {
            account_id: Some(account_id.into()),
            ..self
        }
    }

    /// The same settings sending every request to `endpoint`.
    pub fn with_endpoint(self, endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: Some(endpoint.into()),
            ..self
        }
    }

    /// The same settings with fixed credentials.
    pub fn with_credentials(self, credentials: StaticCredentials) -> Self {
        Self {
            credentials: Some(credentials),
            ..self
        }
    }

    /// The same settings with `attempts` per request and per Firehose put (1: no retry, as the
    /// test vectors are recorded).
    pub fn with_max_attempts(self, attempts: u32) -> Self {
        Self {
            max_attempts: attempts.max(1),
            firehose_tries: attempts.max(1),
            ..self
        }
    }
}

/// The process's AWS configuration and clients (cheap to clone).
#[derive(Clone)]
pub struct Aws(Arc<Inner>);

struct Inner {
    sdk: SdkConfig,
    settings: AwsSettings,
    cloudwatchlogs: OnceLock<aws_sdk_cloudwatchlogs::Client>,
    dynamodb: OnceLock<aws_sdk_dynamodb::Client>,
    firehose: OnceLock<aws_sdk_firehose::Client>,
    lambda: OnceLock<aws_sdk_lambda::Client>,
    s3: OnceLock<aws_sdk_s3::Client>,
    ses: OnceLock<aws_sdk_ses::Client>,
    sns: OnceLock<aws_sdk_sns::Client>,
    sqs: OnceLock<aws_sdk_sqs::Client>,
    sts: OnceLock<aws_sdk_sts::Client>,
}

impl fmt::Debug for Aws {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Aws")
            .field("settings", &self.0.settings)
            .finish_non_exhaustive()
    }
}

static SHARED: tokio::sync::OnceCell<Aws> = tokio::sync::OnceCell::const_new();

macro_rules! client {
    ($(#[$doc:meta])* $name:ident, $krate:ident) => {
        $(#[$doc])*
        pub fn $name(&self) -> $krate::Client {
            self.0
                .$name
                .get_or_init(|| $krate::Client::new(&self.0.sdk))
                .clone()
        }
    };
}

impl Aws {
    /// Builds the SDK configuration of `settings`.
    pub async fn load(settings: AwsSettings) -> Self {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(settings.connect_timeout)
            .operation_attempt_timeout(settings.attempt_timeout)
            .operation_timeout(settings.operation_timeout)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .retry_config(RetryConfig::standard().with_max_attempts(settings.max_attempts))
            .timeout_config(timeouts);
        if let Some(endpoint) = &settings.endpoint {
            loader = loader.endpoint_url(endpoint.clone());
        }
        if let Some(credentials) = &settings.credentials {
            loader = loader.credentials_provider(credentials.to_sdk("streamalert-static"));
        }
        let sdk = loader.load().await;
        Self(Arc::new(Inner {
            sdk,
            settings,
            cloudwatchlogs: OnceLock::new(),
            dynamodb: OnceLock::new(),
            firehose: OnceLock::new(),
            lambda: OnceLock::new(),
            s3: OnceLock::new(),
            ses: OnceLock::new(),
            sns: OnceLock::new(),
            sqs: OnceLock::new(),
            sts: OnceLock::new(),
        }))
    }

    /// The process-wide configuration: the one [`install`](Aws::install)ed, else one built from
    /// [`AwsSettings::from_env`] on first use.
    pub async fn shared() -> &'static Aws {
        SHARED
            .get_or_init(|| Self::load(AwsSettings::from_env()))
            .await
    }

    /// Makes `aws` the process-wide configuration. Fails (returning it) when one is in use.
    pub fn install(aws: Aws) -> Result<(), Aws> {
        SHARED.set(aws).map_err(|e| match e {
            tokio::sync::SetError::AlreadyInitializedError(aws)
            | tokio::sync::SetError::InitializingError(aws) => aws,
        })
    }

    /// The SDK configuration, to build clients of other services.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.0.sdk
    }

    /// The settings it was built from.
    pub fn settings(&self) -> &AwsSettings {
        &self.0.settings
    }

    /// The region of every client.
    pub fn region(&self) -> &str {
        &self.0.settings.region
    }

    /// The account id, if known (`AWS_ACCOUNT_ID`).
    pub fn account_id(&self) -> Option<&str> {
        self.0.settings.account_id.as_deref()
    }

    client!(
        /// The CloudWatch Logs client.
        cloudwatchlogs,
        aws_sdk_cloudwatchlogs
    );
    client!(
        /// The DynamoDB client.
        dynamodb,
        aws_sdk_dynamodb
    );
    client!(
        /// The Firehose client.
        firehose,
        aws_sdk_firehose
    );
    client!(
        /// The Lambda client (the process's credentials).
        lambda,
        aws_sdk_lambda
    );
    client!(
        /// The SES (v1) client.
        ses,
        aws_sdk_ses
    );
    client!(
        /// The SNS client.
        sns,
        aws_sdk_sns
    );
    client!(
        /// The SQS client.
        sqs,
        aws_sdk_sqs
    );
    client!(
        /// The STS client.
        sts,
        aws_sdk_sts
    );

    /// The S3 client; path-style URLs when an endpoint override is set (emulators, bucket
    /// names with dots).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        self.0
            .s3
            .get_or_init(|| {
                let config = aws_sdk_s3::config::Builder::from(&self.0.sdk)
                    .force_path_style(self.0.settings.endpoint.is_some())
                    .build();
                aws_sdk_s3::Client::from_conf(config)
            })
            .clone()
    }

    /// A Lambda client with other (temporary) credentials, in this configuration's region.
    pub fn lambda_with(&self, credentials: &StaticCredentials) -> aws_sdk_lambda::Client {
        let config = aws_sdk_lambda::config::Builder::from(&self.0.sdk)
            .credentials_provider(credentials.to_sdk("streamalert-assume-role"))
            .build();
        aws_sdk_lambda::Client::from_conf(config)
    }
}

/// The [`Aws`] an output uses: its own (tests, several accounts) or the process-wide one.
pub(crate) async fn resolve(own: Option<&Aws>) -> &Aws {
    match own {
        Some(aws) => aws,
        None => Aws::shared().await,
    }
}

/// Throttling and transient error codes: a later attempt may succeed.
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "InternalServiceError",
    "InternalServerException",
    "InternalServiceException",
    "KMSThrottlingException",
];

/// True when an AWS error code names a throttling or transient error.
pub(crate) fn is_retryable_code(code: &str) -> bool {
    RETRYABLE_CODES.contains(&code)
}

/// A [`DispatchError`] for an SDK error of `operation` (e.g. `s3 PutObject`): configuration,
/// timeout, connection, throttling (retryable) or a final refusal, with the service's code and
/// message (never a credential).
pub(crate) fn sdk_error<E>(
    operation: &str,
    error: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> DispatchError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use aws_sdk_s3::error::{ProvideErrorMetadata as _, SdkError};
    match &error {
        SdkError::ConstructionFailure(_) => DispatchError::new(
            ErrorKind::Config,
            format!(
                "{operation}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&error)
            ),
        ),
        SdkError::TimeoutError(_) => DispatchError::new(
            ErrorKind::Timeout,
            format!("{operation}: no answer in time"),
        ),
        SdkError::DispatchFailure(_) => DispatchError::new(
            ErrorKind::Unavailable,
            format!(
                "{operation}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&error)
            ),
        ),
        SdkError::ResponseError(_) => DispatchError::new(
            ErrorKind::InvalidResponse,
            format!(
                "{operation}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&error)
            ),
        ),
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = error.code().unwrap_or("unknown");
            let message = error.message().unwrap_or("");
            let kind = if status == 429 || status >= 500 || is_retryable_code(code) {
                ErrorKind::Unavailable
            } else {
                ErrorKind::Rejected
            };
            DispatchError::new(kind, format!("{operation}: {code}: {message}")).with_status(status)
        }
        _ => DispatchError::new(
            ErrorKind::Unavailable,
            format!(
                "{operation}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&error)
            ),
        ),
    }
}

/// The `outputs.json` value of a dict-style AWS output (bucket, queue, stream, function).
pub(crate) fn required_setting<'a>(
    delivery: &crate::output::Delivery<'a>,
    service: &str,
) -> Result<&'a str, DispatchError> {
    delivery
        .setting
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            DispatchError::new(
                ErrorKind::Config,
                format!(
                    "`{service}:{}` needs a value in outputs.json: {{\"{service}\": {{\"{}\": \"<name>\"}}}}",
                    delivery.descriptor, delivery.descriptor
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_config::retry::RetryMode;

    /// Standard retry mode with the settings' attempts, and the settings' three timeouts.
    fn assert_policy(
        client: &str,
        retry: Option<&RetryConfig>,
        timeouts: Option<&TimeoutConfig>,
        settings: &AwsSettings,
    ) {
        let retry = retry.unwrap_or_else(|| panic!("{client}: no retry configuration"));
        assert_eq!(retry.mode(), RetryMode::Standard, "{client}");
        assert_eq!(retry.max_attempts(), settings.max_attempts, "{client}");
        let timeouts = timeouts.unwrap_or_else(|| panic!("{client}: no timeouts"));
        assert_eq!(
            (
                timeouts.connect_timeout(),
                timeouts.operation_attempt_timeout(),
                timeouts.operation_timeout()
            ),
            (
                Some(settings.connect_timeout),
                Some(settings.attempt_timeout),
                Some(settings.operation_timeout)
            ),
            "{client}"
        );
    }

    #[tokio::test]
    async fn every_client_has_the_standard_retry_mode_and_explicit_timeouts() {
        let mut settings = AwsSettings::from_env()
            .with_region("eu-west-1")
            .with_endpoint("http://127.0.0.1:9")
            .with_credentials(StaticCredentials::new("AKIDEXAMPLE", "secret"))
            .with_max_attempts(4);
        settings.connect_timeout = Duration::from_millis(1500);
        let aws = Aws::load(settings.clone()).await;
        // The credential stores build their KMS and SSM clients from this configuration.
        let sdk = aws.sdk_config();
        assert_policy("sdk", sdk.retry_config(), sdk.timeout_config(), &settings);
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:9"));
        macro_rules! check {
            ($($name:literal => $client:expr),* $(,)?) => {$(
                let client = $client;
                let config = client.config();
                assert_policy($name, config.retry_config(), config.timeout_config(), &settings);
                assert_eq!(
                    config.region().map(|r| r.as_ref()),
                    Some("eu-west-1"),
                    $name
                );
            )*};
        }
        check!(
            "cloudwatchlogs" => aws.cloudwatchlogs(),
            "dynamodb" => aws.dynamodb(),
            "firehose" => aws.firehose(),
            "lambda" => aws.lambda(),
            "lambda (assumed role)" => aws.lambda_with(&StaticCredentials::new("ASIA", "temporary")),
            "s3" => aws.s3(),
            "ses" => aws.ses(),
            "sns" => aws.sns(),
            "sqs" => aws.sqs(),
            "sts" => aws.sts(),
        );
    }
}
