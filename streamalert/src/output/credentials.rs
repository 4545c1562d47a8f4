//! An output descriptor's secrets, and where they come from: the seam a credential store plugs
//! into (an encrypted local file, S3 + KMS, SSM).

use super::DispatchError;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::fmt;

/// The secrets of one output descriptor, by property name. `Debug` shows names, never values.
///
/// ```
/// use streamalert::output::Credentials;
/// let creds = Credentials::from_iter([("url", "https://hooks.example/secret")]);
/// assert_eq!(creds.require("url").unwrap(), "https://hooks.example/secret");
/// assert_eq!(format!("{creds:?}"), r#"Credentials { url: "[REDACTED]" }"#);
/// assert!(creds.require("token").is_err());
/// ```
#[derive(Clone, Default)]
pub struct Credentials(BTreeMap<String, SecretString>);

impl Credentials {
    /// The secret stored under `property`.
    pub fn get(&self, property: &str) -> Option<&SecretString> {
        self.0.get(property)
    }

    /// The secret stored under `property`, exposed, or an error naming the missing property.
    pub fn require(&self, property: &str) -> Result<&str, DispatchError> {
        self.get(property)
            .map(ExposeSecret::expose_secret)
            .ok_or_else(|| DispatchError::missing_credential(property))
    }

    /// Sets `property` to `value`.
    pub fn insert(&mut self, property: impl Into<String>, value: impl Into<String>) {
        self.0
            .insert(property.into(), SecretString::from(value.into()));
    }

    /// The property names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// True when no secret is stored.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Credentials {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut credentials = Self::default();
        for (k, v) in iter {
            credentials.insert(k, v);
        }
        credentials
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_struct("Credentials");
        for name in self.0.keys() {
            map.field(name, &"[REDACTED]");
        }
        map.finish()
    }
}

/// A credential lookup failed (the store is unreachable, a secret cannot be decrypted, …).
///
/// ```
/// use streamalert::output::CredentialError;
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
/// use streamalert::output::{CredentialError, CredentialProvider};
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
/// use streamalert::output::{CredentialProvider, NoCredentials};
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
