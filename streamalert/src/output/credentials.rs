//! An output descriptor's secrets, and where they come from: the seam a credential store plugs
//! into (an encrypted local file, S3 + KMS, SSM).

#![cfg_attr(
    not(feature = "http"),
    allow(
        dead_code,
        reason = "a secret read as a URL is for the HTTP layer (feature `http`)"
    )
)]

use super::DispatchError;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};
use url::Url;

/// The secrets of one output descriptor, by property name. `Debug` shows names, never values.
///
/// ```
/// use streamalert::output::Credentials;
/// let creds = Credentials::from_iter([("url", "https://hooks.example/secret")]);
/// assert_eq!(creds.require("url").unwrap(), "https://hooks.example/secret");
/// assert_eq!(format!("{creds:?}"), r#"Credentials { url: "[REDACTED]" }"#);
/// assert!(creds.require("token").is_err());
/// ```
///
/// Cloning is cheap (the secrets are shared, not copied), and a secret read as a URL
/// ([`Http::url_credential`](super::http::Http::url_credential)) is parsed once and kept
/// with it, so a cache that hands out clones parses a webhook's URL once, not per delivery.
#[derive(Clone, Default)]
pub struct Credentials(Arc<BTreeMap<String, Secret>>);

/// One stored secret, and what it reads as when it is used as a URL.
#[derive(Clone)]
struct Secret {
    value: SecretString,
    /// The value as an http(s) URL (`None`: not one), parsed on first use.
    url: OnceLock<Option<Url>>,
}

impl Credentials {
    /// The secret stored under `property`.
    pub fn get(&self, property: &str) -> Option<&SecretString> {
        self.0.get(property).map(|secret| &secret.value)
    }

    /// The secret stored under `property`, exposed, or an error naming the missing property.
    pub fn require(&self, property: &str) -> Result<&str, DispatchError> {
        self.get(property)
            .map(ExposeSecret::expose_secret)
            .ok_or_else(|| DispatchError::missing_credential(property))
    }

    /// The secret stored under `property` read as an http(s) URL with a host (`Ok(None)`: it
    /// is not one), or an error naming the missing property. Parsed on the first call, for
    /// this value and every clone of it.
    pub(crate) fn http_url(&self, property: &str) -> Result<Option<&Url>, DispatchError> {
        let secret = self
            .0
            .get(property)
            .ok_or_else(|| DispatchError::missing_credential(property))?;
        Ok(secret
            .url
            .get_or_init(|| parse_http_url(secret.value.expose_secret()))
            .as_ref())
    }

    /// Sets `property` to `value`.
    pub fn insert(&mut self, property: impl Into<String>, value: impl Into<String>) {
        let secret = Secret {
            value: SecretString::from(value.into()),
            url: OnceLock::new(),
        };
        Arc::make_mut(&mut self.0).insert(property.into(), secret);
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

/// `text` (trimmed) as an http(s) URL with a host, if it is one.
pub(crate) fn parse_http_url(text: &str) -> Option<Url> {
    Url::parse(text.trim())
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_parsed_once_for_a_secret_and_its_clones_and_a_new_value_parses_again() {
        let mut credentials = Credentials::from_iter([("url", " https://hooks.example/T0 ")]);
        let clone = credentials.clone();
        let parsed = credentials.http_url("url").unwrap().unwrap();
        assert_eq!(parsed.as_str(), "https://hooks.example/T0");
        assert!(
            std::ptr::eq(parsed, clone.http_url("url").unwrap().unwrap()),
            "a clone reads the URL its original parsed"
        );
        credentials.insert("url", "http://other.example/");
        assert_eq!(
            credentials.http_url("url").unwrap().unwrap().as_str(),
            "http://other.example/"
        );
        assert_eq!(
            clone.http_url("url").unwrap().unwrap().as_str(),
            "https://hooks.example/T0",
            "changing one copy leaves the other as it was"
        );
    }

    #[test]
    fn a_secret_that_is_no_http_url_reads_as_none_and_a_missing_one_is_an_error() {
        let credentials = Credentials::from_iter([
            ("host", "hooks.example/T0"),
            ("ftp", "ftp://files.example/"),
            ("bare", "https:"),
        ]);
        for property in ["host", "ftp", "bare"] {
            assert_eq!(credentials.http_url(property).unwrap(), None, "{property}");
        }
        let missing = credentials.http_url("url").unwrap_err();
        assert_eq!(missing.message(), "no `url` stored for this descriptor");
    }
}
