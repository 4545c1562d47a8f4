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
