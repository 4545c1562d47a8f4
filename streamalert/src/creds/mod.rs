//! Credential stores: where each output descriptor's secrets live, encrypted at rest.
//!
//! A store keeps, per `service:descriptor`, one JSON object of the output's stored properties
//! (`{"url": "https://hooks.slack.com/…"}`, StreamAlert's format, spec §3.2). Three stores
//! implement [`CredentialStore`]:
//!
//! - [`LocalStore`] (`local`, the embedded default): one file per descriptor, sealed with
//!   XChaCha20-Poly1305 under a 256-bit key taken from an environment variable or from a key file
//!   created with mode 0600 on first use;
//! - `S3KmsStore` (`s3-kms`, feature `aws`): the JSON encrypted with a KMS key, one S3 object per
//!   descriptor, downloaded and decrypted on demand (StreamAlert's documented store);
//! - `SsmStore` (`ssm`, feature `aws`): SecureString parameters named
//!   `/<prefix>/streamalert/outputs/<service>/<descriptor>` (StreamAlert's current store).
//!
//! Plaintext exists in memory only, as [`SecretString`]s (zeroized on drop, `Debug` redacted);
//! no store writes it to disk, logs it or puts it in an error. The processor reads credentials
//! through a [`CredentialCache`], which keeps them for a limited time (10 minutes by default,
//! decision Q15) so a rotated secret is picked up without a restart.
//!
//! The store is chosen by the `credentials` section of the processor settings ([`StoreSettings`], opened by [`open`]);
//! the `output` command ([`OutputCommand`](crate::cli::output::OutputCommand)) writes it and `conf/outputs.json` together.

mod local;
#[cfg(feature = "aws")]
mod s3_kms;
#[cfg(feature = "aws")]
mod ssm;

pub use local::LocalStore;
#[cfg(feature = "aws")]
pub use s3_kms::S3KmsStore;
#[cfg(feature = "aws")]
pub use ssm::SsmStore;

use crate::config::{StoreKind, StoreSettings};
use crate::output::{CredentialError, CredentialProvider, Credentials};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zeroize::Zeroizing;

/// A place where the secrets of output descriptors are kept, encrypted.
///
/// A store deals in the plaintext JSON text of one descriptor (see [`encode_secret_json`] and
/// [`decode_secret_json`]); it encrypts on [`save`](Self::save) and decrypts on
/// [`load`](Self::load), and it never writes the plaintext anywhere but into the returned
/// [`SecretString`]. Error messages name the store, the service and the descriptor, never a value.
///
/// ```
/// use secrecy::ExposeSecret;
/// use streamalert::creds::{CredentialStore, LocalStore, encode_secret_json};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let store = LocalStore::new(dir.path().join("creds"), dir.path().join("key"));
/// let secret = encode_secret_json([("url", "https://hooks.example/T0/B0/x")]);
/// store.save("slack", "secops", &secret).await.unwrap();
/// let loaded = store.load("slack", "secops").await.unwrap().unwrap();
/// assert_eq!(loaded.expose_secret(), r#"{"url": "https://hooks.example/T0/B0/x"}"#);
/// store.delete("slack", "secops").await.unwrap();
/// assert!(store.load("slack", "secops").await.unwrap().is_none());
/// # });
/// ```
#[async_trait::async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// Which store this is and where, for messages: `local store /srv/creds`, `ssm (prefix acme)`.
    fn describe(&self) -> String;

    /// The decrypted JSON text stored for `service:descriptor`; `None` when nothing is stored.
    async fn load(
        &self,
        service: &str,
        descriptor: &str,
    ) -> Result<Option<SecretString>, StoreError>;

    /// Encrypts `plaintext` (a JSON object) and stores it for `service:descriptor`, replacing
    /// what was there.
    async fn save(
        &self,
        service: &str,
        descriptor: &str,
        plaintext: &SecretString,
    ) -> Result<(), StoreError>;

    /// Removes what is stored for `service:descriptor`; nothing stored is not an error.
    async fn delete(&self, service: &str, descriptor: &str) -> Result<(), StoreError>;
}

/// A credential store operation failed. Messages never contain a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The local store's key is neither in its environment variable nor in its key file, and
    /// encrypted credentials exist (a new key could not decrypt them).
    #[error(
        "the credential key is missing: {path} does not exist and ${env} is not set, but {dir} holds \
         credentials encrypted with a key; restore the key file (or set ${env}), or delete {dir} and \
         store the secrets again with `output set`"
    )]
    KeyMissing {
        /// The key file looked for.
        path: PathBuf,
        /// The environment variable looked for.
        env: String,
        /// The store directory.
        dir: PathBuf,
    },
    /// The key file may be read or written by other users.
    #[error(
        "the credential key file {path} is accessible to other users (mode {mode:04o}); \
         run `chmod 600 {path}`"
    )]
    KeyPermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key (from a file or an environment variable) is not 64 hexadecimal digits.
    #[error(
        "the credential key in {source_name} is invalid: expected 64 hexadecimal digits (32 bytes)"
    )]
    KeyInvalid {
        /// `the environment variable X` or `the key file Y`.
        source_name: String,
    },
    /// Authenticated decryption failed: the key is not the one the file was sealed with, or the
    /// file was modified.
    #[error(
        "cannot decrypt the credentials of {output} in {location}: the key does not match the one \
         they were encrypted with, or the file was modified"
    )]
    Decrypt {
        /// `service:descriptor`.
        output: String,
        /// Where the ciphertext is.
        location: String,
    },
    /// Stored data is not in the expected format (truncated, foreign, not a JSON object).
    #[error("the stored credentials of {output} in {location} are unusable: {why}")]
    Corrupt {
        /// `service:descriptor`.
        output: String,
        /// Where they are.
        location: String,
        /// What is wrong (never the content).
        why: String,
    },
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done: `cannot read`, `cannot write`, ….
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A cloud service refused or failed a call.
    #[error("{service} {operation} for {output} failed: {message}")]
    Cloud {
        /// `S3`, `KMS`, `SSM`.
        service: &'static str,
        /// The API operation, e.g. `Decrypt`.
        operation: &'static str,
        /// `service:descriptor`.
        output: String,
        /// The service's error code and message.
        message: String,
    },
    /// The store settings are incomplete or name a store this binary does not have.
    #[error("credential store settings: {0}")]
    Settings(String),
}

impl StoreError {
    fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

/// StreamAlert's name of one descriptor's credentials: `service/descriptor`, or `service` when
/// the descriptor is empty. S3 object keys and cache keys use it.
///
/// ```
/// assert_eq!(streamalert::creds::formatted_name("slack", "secops"), "slack/secops");
/// assert_eq!(streamalert::creds::formatted_name("slack", ""), "slack");
/// ```
pub fn formatted_name(service: &str, descriptor: &str) -> String {
    if descriptor.is_empty() {
        service.to_owned()
    } else {
        format!("{service}/{descriptor}")
    }
}

/// The SSM parameter holding one descriptor's credentials (spec §3.2):
/// `/<prefix>/streamalert/outputs/<service>/<descriptor>`.
///
/// ```
/// assert_eq!(
///     streamalert::creds::ssm_parameter_name("prefix", "test_service", "desc_test"),
///     "/prefix/streamalert/outputs/test_service/desc_test"
/// );
/// ```
pub fn ssm_parameter_name(prefix: &str, service: &str, descriptor: &str) -> String {
    format!(
        "/{prefix}/streamalert/outputs/{}",
        formatted_name(service, descriptor)
    )
}

/// The KMS key alias of the secrets (spec §3.2): the configured alias (the part after `alias/`
/// if it has one), else `<prefix>_streamalert_secrets`; always returned with `alias/` in front.
///
/// ```
/// use streamalert::creds::kms_key_alias;
/// assert_eq!(kms_key_alias(None, "acme"), "alias/acme_streamalert_secrets");
/// assert_eq!(kms_key_alias(Some("alias/custom"), "acme"), "alias/custom");
/// assert_eq!(kms_key_alias(Some("custom"), "acme"), "alias/custom");
/// ```
pub fn kms_key_alias(configured: Option<&str>, prefix: &str) -> String {
    match configured.filter(|alias| !alias.is_empty()) {
        Some(alias) => {
            let name = alias.split_once("alias/").map_or(alias, |(_, name)| name);
            format!("alias/{name}")
        }
        None => format!("alias/{prefix}_streamalert_secrets"),
    }
}

/// Serializes properties as StreamAlert stores them: one JSON object in the given order, with
/// Python's `json.dumps` defaults (`", "` and `": "`, non-ASCII escaped). The text is built in
/// a buffer that is zeroized afterwards.
///
/// ```
/// use secrecy::ExposeSecret;
/// let secret = streamalert::creds::encode_secret_json([("token", "a\"b"), ("url", "https://x/é")]);
/// assert_eq!(secret.expose_secret(), r#"{"token": "a\"b", "url": "https://x/\u00e9"}"#);
/// ```
pub fn encode_secret_json<'a>(
    properties: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> SecretString {
    let mut text = Zeroizing::new(String::from("{"));
    for (i, (name, value)) in properties.into_iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        crate::json::write_string(&mut text, name, true);
        text.push_str(": ");
        crate::json::write_string(&mut text, value, true);
    }
    text.push('}');
    SecretString::from(text.as_str())
}

/// Parses the stored JSON text of one descriptor into its properties, in stored order, each
/// value kept as a [`SecretString`]. The error names the offending key or position, never a
/// value.
///
/// ```
/// use secrecy::{ExposeSecret, SecretString};
/// use streamalert::creds::decode_secret_json;
/// let stored = SecretString::from(r#"{"url": "https://x", "token": "t"}"#);
/// let properties = decode_secret_json(&stored).unwrap();
/// assert_eq!(properties[0].0, "url");
/// assert_eq!(properties[1].1.expose_secret(), "t");
/// let err = decode_secret_json(&SecretString::from(r#"{"port": 443}"#)).unwrap_err();
/// assert_eq!(err, "the value of `port` is not text");
/// assert!(decode_secret_json(&SecretString::from("[hunter2")).unwrap_err().contains("line 1"));
/// ```
pub fn decode_secret_json(text: &SecretString) -> Result<Vec<(String, SecretString)>, String> {
    use serde::de::DeserializeSeed as _;
    let mut de = serde_json::Deserializer::from_str(text.expose_secret());
    let parsed = SecretObject
        .deserialize(&mut de)
        .and_then(|entries| de.end().map(|()| entries));
    match parsed {
        Ok(Ok(entries)) => Ok(entries),
        Ok(Err(why)) => Err(why),
        // serde_json's messages can quote the input; only its position is reported.
        Err(e) if e.is_syntax() || e.is_eof() => Err(format!(
            "not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        )),
        Err(_) => Err("not a JSON object of text values".to_owned()),
    }
}

/// Deserializes a JSON object whose values are strings into secret entries; `Ok(Err(why))`
/// when the shape is wrong, with a message free of values.
struct SecretObject;

type Entries = Result<Vec<(String, SecretString)>, String>;

impl<'de> serde::de::DeserializeSeed<'de> for SecretObject {
    type Value = Entries;
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Entries, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for SecretObject {
    type Value = Entries;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of text values")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
        let mut entries = Vec::new();
        let mut problem = None;
        while let Some(key) = map.next_key::<String>()? {
            match map.next_value::<SecretText>()?.0 {
                Some(value) => entries.push((key, value)),
                None => {
                    problem.get_or_insert_with(|| format!("the value of `{key}` is not text"));
                }
            }
        }
        Ok(problem.map_or(Ok(entries), Err))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Entries, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Err("not a JSON object".to_owned()))
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Entries, E> {
        Ok(Err("not a JSON object".to_owned()))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Entries, E> {
        Ok(Err("not a JSON object".to_owned()))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Entries, E> {
        Ok(Err("not a JSON object".to_owned()))
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Entries, E> {
        Ok(Err("not a JSON object".to_owned()))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Entries, E> {
        Ok(Err("not a JSON object".to_owned()))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Entries, E> {
        Ok(Err("not a JSON object".to_owned()))
    }
}

/// One stored value: `Some` for a string, `None` for anything else (skipped, never kept).
struct SecretText(Option<SecretString>);

impl<'de> serde::Deserialize<'de> for SecretText {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(SecretTextVisitor)
    }
}

struct SecretTextVisitor;

impl<'de> serde::de::Visitor<'de> for SecretTextVisitor {
    type Value = SecretText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("text")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<SecretText, E> {
        Ok(SecretText(Some(SecretString::from(value))))
    }

    fn visit_string<E: serde::de::Error>(self, value: String) -> Result<SecretText, E> {
        let value = Zeroizing::new(value);
        Ok(SecretText(Some(SecretString::from(value.as_str()))))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<SecretText, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(SecretText(None))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<SecretText, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(SecretText(None))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<SecretText, E> {
        Ok(SecretText(None))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<SecretText, E> {
        Ok(SecretText(None))
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<SecretText, E> {
        Ok(SecretText(None))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<SecretText, E> {
        Ok(SecretText(None))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<SecretText, E> {
        Ok(SecretText(None))
    }
}

/// Loads `service:descriptor` from `store` and parses it into [`Credentials`].
///
/// ```
/// use secrecy::ExposeSecret;
/// use streamalert::creds::{LocalStore, CredentialStore, encode_secret_json, load_credentials};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let store = LocalStore::new(dir.path().join("creds"), dir.path().join("key"));
/// store.save("pagerduty", "oncall", &encode_secret_json([("service_key", "k")])).await.unwrap();
/// let creds = load_credentials(&store, "pagerduty", "oncall").await.unwrap().unwrap();
/// assert_eq!(creds.get("service_key").unwrap().expose_secret(), "k");
/// # });
/// ```
pub async fn load_credentials(
    store: &dyn CredentialStore,
    service: &str,
    descriptor: &str,
) -> Result<Option<Credentials>, StoreError> {
    let Some(text) = store.load(service, descriptor).await? else {
        return Ok(None);
    };
    let entries = decode_secret_json(&text).map_err(|why| StoreError::Corrupt {
        output: format!("{service}:{descriptor}"),
        location: store.describe(),
        why,
    })?;
    let mut credentials = Credentials::default();
    for (name, value) in entries {
        credentials.insert(name, value.expose_secret());
    }
    Ok(Some(credentials))
}

/// The processor's view of a store: credentials per `service:descriptor`, kept in memory for a
/// limited time (`ttl`) and then loaded again, so a rotated secret is used within `ttl` without
/// a restart (decision Q15). "Nothing stored" is remembered for the same time; errors are not.
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use streamalert::creds::{CredentialCache, CredentialStore, LocalStore, encode_secret_json};
/// use streamalert::output::CredentialProvider;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let store = Arc::new(LocalStore::new(dir.path().join("creds"), dir.path().join("key")));
/// store.save("slack", "secops", &encode_secret_json([("url", "https://hooks.example/1")])).await.unwrap();
/// let cache = CredentialCache::new(store.clone(), Duration::from_secs(600));
/// assert!(cache.credentials("slack", "secops").await.unwrap().is_some());
/// store.delete("slack", "secops").await.unwrap();
/// // Still served from memory until the entry expires (or is invalidated).
/// assert!(cache.credentials("slack", "secops").await.unwrap().is_some());
/// cache.invalidate("slack", "secops");
/// assert!(cache.credentials("slack", "secops").await.unwrap().is_none());
/// # });
/// ```
pub struct CredentialCache {
    store: Arc<dyn CredentialStore>,
    ttl: Duration,
    entries: Mutex<HashMap<String, Cached>>,
}

struct Cached {
    loaded: tokio::time::Instant,
    credentials: Option<Credentials>,
}

impl fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialCache")
            .field("store", &self.store.describe())
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl CredentialCache {
    /// A cache in front of `store`; entries are reloaded once older than `ttl`.
    pub fn new(store: Arc<dyn CredentialStore>, ttl: Duration) -> Self {
        Self {
            store,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The store behind the cache.
    pub fn store(&self) -> &Arc<dyn CredentialStore> {
        &self.store
    }

    /// How long an entry is used before it is loaded again.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Forgets `service:descriptor`, so the next lookup loads it from the store.
    pub fn invalidate(&self, service: &str, descriptor: &str) {
        self.lock().remove(&formatted_name(service, descriptor));
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        // A panic while holding the lock cannot leave the map inconsistent (single inserts and
        // removes), so a poisoned lock is still usable.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The credentials of `service:descriptor`, from memory while fresh, else from the store.
    pub async fn get(
        &self,
        service: &str,
        descriptor: &str,
    ) -> Result<Option<Credentials>, StoreError> {
        let key = formatted_name(service, descriptor);
        if let Some(cached) = self.lock().get(&key)
            && cached.loaded.elapsed() < self.ttl
        {
            tracing::trace!(service, descriptor, "credentials served from the cache");
            return Ok(cached.credentials.clone());
        }
        let credentials = load_credentials(self.store.as_ref(), service, descriptor).await?;
        tracing::debug!(
            service,
            descriptor,
            store = %self.store.describe(),
            found = credentials.is_some(),
            "credentials loaded from the store"
        );
        self.lock().insert(
            key,
            Cached {
                loaded: tokio::time::Instant::now(),
                credentials: credentials.clone(),
            },
        );
        Ok(credentials)
    }
}

#[async_trait::async_trait]
impl CredentialProvider for CredentialCache {
    async fn credentials(
        &self,
        service: &str,
        descriptor: &str,
    ) -> Result<Option<Credentials>, CredentialError> {
        self.get(service, descriptor)
            .await
            .map_err(|e| CredentialError::new(e.to_string()))
    }
}

/// The SDK crates of the cloud stores, re-exported so that tests and tools need no dependency
/// of their own on matching versions (S3 is in [`crate::aws::sdk`]).
#[cfg(feature = "aws")]
pub mod sdk {
    pub use aws_sdk_kms as kms;
    pub use aws_sdk_ssm as ssm;
}

/// A cloud call's failure in words: the service's error code, and its message when
/// `with_message` (never for calls that carried a secret: validation messages may quote it);
/// transport failures with their cause.
#[cfg(feature = "aws")]
fn cloud_error<E, R>(
    service: &'static str,
    operation: &'static str,
    output: &str,
    error: &aws_sdk_kms::error::SdkError<E, R>,
    with_message: bool,
) -> StoreError
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata as _, SdkError};
    let message = match error {
        SdkError::ServiceError(_) => {
            let code = error.code().unwrap_or("an error without a code");
            match error.message().filter(|_| with_message) {
                Some(message) => format!("{code}: {message}"),
                None => code.to_owned(),
            }
        }
        other if with_message => DisplayErrorContext(other).to_string(),
        SdkError::TimeoutError(_) => "the request timed out".to_owned(),
        _ => "the request could not be sent or its reply not read".to_owned(),
    };
    StoreError::Cloud {
        service,
        operation,
        output: output.to_owned(),
        message,
    }
}

/// The prefix of a cloud store: the configured one, else `$STREAMALERT_PREFIX`.
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
fn resolve_prefix(configured: Option<&str>, store: StoreKind) -> Result<String, StoreError> {
    configured
        .map(str::to_owned)
        .or_else(|| std::env::var("STREAMALERT_PREFIX").ok())
        .filter(|prefix| !prefix.is_empty())
        .ok_or_else(|| {
            StoreError::Settings(format!(
                "the `{store}` store needs a prefix: set credentials.{store}.prefix in processor.json \
                 or the environment variable STREAMALERT_PREFIX"
            ))
        })
}

/// Opens the store `settings` choose.
///
/// ```
/// use streamalert::config::StoreSettings;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = streamalert::creds::open(&StoreSettings::default()).await.unwrap();
/// assert_eq!(store.describe(), "local store streamalert-credentials");
/// # });
/// ```
pub async fn open(settings: &StoreSettings) -> Result<Arc<dyn CredentialStore>, StoreError> {
    match settings.store {
        StoreKind::Local => Ok(Arc::new(LocalStore::from_settings(&settings.local))),
        #[cfg(feature = "aws")]
        StoreKind::S3Kms => Ok(Arc::new(S3KmsStore::from_settings(&settings.s3_kms).await?)),
        #[cfg(feature = "aws")]
        StoreKind::Ssm => Ok(Arc::new(SsmStore::from_settings(&settings.ssm).await?)),
        #[cfg(not(feature = "aws"))]
        kind => Err(StoreError::Settings(format!(
            "the `{kind}` store needs the `aws` cargo feature of streamalert, which this binary \
             was built without"
        ))),
    }
}

/// Opens the store `settings` choose behind a [`CredentialCache`] with the configured lifetime:
/// the processor's credential provider.
pub async fn provider(settings: &StoreSettings) -> Result<Arc<CredentialCache>, StoreError> {
    Ok(Arc::new(CredentialCache::new(
        open(settings).await?,
        settings.cache_ttl(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A store in memory that counts loads and can be made to fail.
    #[derive(Default)]
    struct Memory {
        items: Mutex<HashMap<String, String>>,
        loads: AtomicUsize,
        broken: std::sync::atomic::AtomicBool,
    }

    #[async_trait::async_trait]
    impl CredentialStore for Memory {
        fn describe(&self) -> String {
            "memory".into()
        }
        async fn load(&self, s: &str, d: &str) -> Result<Option<SecretString>, StoreError> {
            self.loads.fetch_add(1, Ordering::SeqCst);
            if self.broken.load(Ordering::SeqCst) {
                return Err(StoreError::Settings("store unavailable".into()));
            }
            let items = self.items.lock().unwrap();
            Ok(items
                .get(&formatted_name(s, d))
                .map(|t| SecretString::from(t.as_str())))
        }
        async fn save(&self, s: &str, d: &str, p: &SecretString) -> Result<(), StoreError> {
            self.items
                .lock()
                .unwrap()
                .insert(formatted_name(s, d), p.expose_secret().to_owned());
            Ok(())
        }
        async fn delete(&self, s: &str, d: &str) -> Result<(), StoreError> {
            self.items.lock().unwrap().remove(&formatted_name(s, d));
            Ok(())
        }
    }

    fn url(creds: &Option<Credentials>) -> String {
        creds.as_ref().unwrap().require("url").unwrap().to_owned()
    }

    #[tokio::test(start_paused = true)]
    async fn cache_serves_until_the_ttl_then_reloads_a_rotated_secret() {
        let store = Arc::new(Memory::default());
        store
            .save("slack", "s", &encode_secret_json([("url", "https://old")]))
            .await
            .unwrap();
        let cache = CredentialCache::new(store.clone(), Duration::from_secs(600));
        assert_eq!(url(&cache.get("slack", "s").await.unwrap()), "https://old");

        store
            .save("slack", "s", &encode_secret_json([("url", "https://new")]))
            .await
            .unwrap();
        tokio::time::advance(Duration::from_secs(599)).await;
        assert_eq!(url(&cache.get("slack", "s").await.unwrap()), "https://old");
        assert_eq!(store.loads.load(Ordering::SeqCst), 1);

        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(url(&cache.get("slack", "s").await.unwrap()), "https://new");
        assert_eq!(store.loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn errors_are_not_cached_and_a_fresh_entry_survives_an_outage() {
        let store = Arc::new(Memory::default());
        store
            .save("slack", "s", &encode_secret_json([("url", "https://x")]))
            .await
            .unwrap();
        let cache = CredentialCache::new(store.clone(), Duration::from_secs(60));
        cache.get("slack", "s").await.unwrap();
        store.broken.store(true, Ordering::SeqCst);
        assert_eq!(url(&cache.get("slack", "s").await.unwrap()), "https://x");
        tokio::time::advance(Duration::from_secs(61)).await;
        let err = cache.get("slack", "s").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "credential store settings: store unavailable"
        );
        store.broken.store(false, Ordering::SeqCst);
        assert_eq!(url(&cache.get("slack", "s").await.unwrap()), "https://x");
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_stored_is_remembered_for_the_ttl() {
        let store = Arc::new(Memory::default());
        let cache = CredentialCache::new(store.clone(), Duration::from_secs(60));
        assert!(cache.get("slack", "s").await.unwrap().is_none());
        assert!(cache.get("slack", "s").await.unwrap().is_none());
        assert_eq!(store.loads.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn secret_json_round_trips_through_escaping() {
        let value = "q\"b\\s\n\t\u{1}é😀";
        let text = encode_secret_json([("k", value)]);
        assert_eq!(
            text.expose_secret(),
            r#"{"k": "q\"b\\s\n\t\u0001\u00e9\ud83d\ude00"}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(text.expose_secret()).unwrap();
        assert_eq!(parsed["k"], value);
        let decoded = decode_secret_json(&text).unwrap();
        assert_eq!(decoded[0].1.expose_secret(), value);
    }

    #[test]
    fn decode_errors_never_quote_the_content() {
        for bad in [
            r#"{"url": "hunter2""#,
            r#"["hunter2"]"#,
            r#""hunter2""#,
            r#"{"url": ["hunter2"]}"#,
            r#"{"url": "hunter2"} hunter2"#,
        ] {
            let err = decode_secret_json(&SecretString::from(bad)).unwrap_err();
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}
