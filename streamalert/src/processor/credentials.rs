//! Where the processor gets each output descriptor's secrets: the seam a credential store plugs
//! into (an encrypted local file, S3 + KMS, SSM).

use crate::output::Credentials;

/// A credential lookup failed (the store is unreachable, a secret cannot be decrypted, …).
///
/// ```
/// use streamalert::processor::CredentialError;
/// assert_eq!(CredentialError::new("store unreachable").to_string(), "store unreachable");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CredentialError(String);

impl CredentialError {
    /// An error with a message that must not contain secrets.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Provides the stored secrets of one `service:descriptor`.
///
/// The processor asks once per delivery, so an implementation caches as it sees fit.
/// `Ok(None)` means nothing is stored for the descriptor: outputs that need no secret still
/// work, and `validate` reports descriptors whose output declares secret properties.
///
/// ```
/// use streamalert::output::Credentials;
/// use streamalert::processor::{CredentialError, CredentialProvider};
///
/// /// Secrets from environment variables such as `SLACK_SECOPS_URL`.
/// struct FromEnv;
///
/// #[streamalert::async_trait]
/// impl CredentialProvider for FromEnv {
///     async fn credentials(&self, service: &str, descriptor: &str) -> Result<Option<Credentials>, CredentialError> {
///         let var = format!("{service}_{descriptor}_URL").to_uppercase().replace('-', "_");
///         Ok(std::env::var(var).ok().map(|url| Credentials::from_iter([("url", url)])))
///     }
/// }
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// assert!(FromEnv.credentials("slack", "no-such-descriptor").await.unwrap().is_none());
/// # });
/// ```
#[async_trait::async_trait]
pub trait CredentialProvider: Send + Sync + 'static {
    /// The secrets stored for `service:descriptor`, if any.
    async fn credentials(
        &self,
        service: &str,
        descriptor: &str,
    ) -> Result<Option<Credentials>, CredentialError>;
}

/// The provider of a processor without a credential store: nothing is stored anywhere.
///
/// ```
/// use streamalert::processor::{CredentialProvider, NoCredentials};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// assert!(NoCredentials.credentials("slack", "secops").await.unwrap().is_none());
/// # });
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCredentials;

#[async_trait::async_trait]
impl CredentialProvider for NoCredentials {
    async fn credentials(&self, _: &str, _: &str) -> Result<Option<Credentials>, CredentialError> {
        Ok(None)
    }
}
