//! Outputs: where alerts are delivered.
//!
//! An output is a type implementing [`Output`] registered with
//! [`#[output(service = "…")]`](macro@crate::output). Each configured instance of a service is named
//! by a *descriptor* (`slack:secops` is the `secops` instance of `slack`); its settings come
//! from `outputs.json` and its secrets from the credential store. [`OutputRef`] parses the
//! `service:descriptor` text wherever an output is named.

pub mod batch;
mod credentials;
mod error;
#[cfg(feature = "http")]
pub mod http;
mod jitter;
pub mod pacing;
mod property;

pub use crate::output_ref::{OutputRef, OutputRefError};
pub use credentials::{CredentialError, CredentialProvider, Credentials, NoCredentials};
pub use error::{DispatchError, ErrorKind};
#[cfg(feature = "http")]
pub use http::{Http, HttpReply, HttpRequest};
pub use jitter::full_jitter;
pub use property::OutputProperty;

use crate::alert::Alert;
use crate::config::Synchronous;
use crate::location::Location;
use crate::publisher::Publication;
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

/// One delivery: what an output needs to send one alert to one of its descriptors.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Delivery<'a> {
    /// The alert being delivered.
    pub alert: &'a Alert,
    /// The descriptor of the output instance, e.g. `secops` in `slack:secops`.
    pub descriptor: &'a str,
    /// The publication the output's publisher chain produced.
    pub publication: &'a Publication,
    /// The descriptor's secrets from the credential store (empty for outputs without any).
    pub credentials: &'a Credentials,
    /// The descriptor's value in `outputs.json` for services configured as a map
    /// (`{"file": {"alerts": "out/alerts.jsonl"}}`); `None` for list-style services.
    pub setting: Option<&'a str>,
    /// The ledger's `synchronous` setting: under [`Synchronous::Full`] an output that writes a
    /// local file (`file`) flushes it to disk before reporting success, so a delivery the
    /// ledger records as sent survives a power loss as the record does.
    pub synchronous: Synchronous,
}

impl<'a> Delivery<'a> {
    /// A delivery of `publication` for `alert` to `descriptor`, with no credentials or setting.
    ///
    /// ```
    /// use streamalert::{Alert, Publication, output::{Credentials, Delivery}};
    /// let alert = Alert::new("r", serde_json::json!({}), ["stdout:console"]);
    /// let publication = Publication::new();
    /// let delivery = Delivery::new(&alert, "console", &publication).with_setting(Some("x"));
    /// assert_eq!(delivery.setting, Some("x"));
    /// ```
    pub fn new(alert: &'a Alert, descriptor: &'a str, publication: &'a Publication) -> Self {
        static NONE: std::sync::OnceLock<Credentials> = std::sync::OnceLock::new();
        Self {
            alert,
            descriptor,
            publication,
            credentials: NONE.get_or_init(Credentials::default),
            setting: None,
            synchronous: Synchronous::default(),
        }
    }

    /// The same delivery with these credentials.
    pub fn with_credentials(self, credentials: &'a Credentials) -> Self {
        Self {
            credentials,
            ..self
        }
    }

    /// The same delivery with this `outputs.json` setting.
    pub fn with_setting(self, setting: Option<&'a str>) -> Self {
        Self { setting, ..self }
    }

    /// The same delivery under this `synchronous` setting of the ledger.
    ///
    /// ```
    /// use streamalert::{Alert, Publication, config::Synchronous, output::Delivery};
    /// let alert = Alert::new("r", serde_json::json!({}), ["file:alerts"]);
    /// let publication = Publication::new();
    /// let delivery = Delivery::new(&alert, "alerts", &publication);
    /// assert_eq!(delivery.synchronous, Synchronous::Normal);
    /// assert_eq!(delivery.with_synchronous(Synchronous::Full).synchronous, Synchronous::Full);
    /// ```
    pub fn with_synchronous(self, synchronous: Synchronous) -> Self {
        Self {
            synchronous,
            ..self
        }
    }
}

/// An output service: sends one publication of one alert to one configured descriptor.
///
/// ```standalone_crate
/// use streamalert::prelude::*;
///
/// /// Counts alerts instead of sending them.
/// #[derive(Default)]
/// #[output(service = "counter")]
/// pub struct Counter(std::sync::atomic::AtomicUsize);
///
/// #[streamalert::async_trait]
/// impl Output for Counter {
///     fn properties(&self) -> Vec<OutputProperty> {
///         vec![OutputProperty::descriptor("a name for this counter")]
///     }
///
///     async fn dispatch(&self, _: &Delivery<'_>) -> Result<(), DispatchError> {
///         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         Ok(())
///     }
/// }
/// # streamalert::services!(Counter);
/// # fn main() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a streamalert output",
    label = "this type does not implement `streamalert::Output`",
    note = "implement `streamalert::Output` for it (with `#[streamalert::async_trait]`)"
)]
#[async_trait::async_trait]
pub trait Output: Send + Sync + 'static {
    /// The properties `output set` prompts for, in order, starting with the descriptor.
    fn properties(&self) -> Vec<OutputProperty>;

    /// Sends the delivery. An error says what failed and whether a retry may succeed.
    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError>;
}

/// An output service as `#[output]` registers it.
pub struct OutputEntry {
    /// The service name, e.g. `slack`.
    pub service: &'static str,
    /// The `@service.field` publication keys it reads.
    pub fields: &'static [&'static str],
    /// Makes the instance the process uses.
    pub make: fn() -> Box<dyn Output>,
    /// Where it is defined.
    pub location: Location,
}

impl fmt::Debug for OutputEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputEntry")
            .field("service", &self.service)
            .field("fields", &self.fields)
            .field("location", &self.location)
            .finish()
    }
}

inventory::collect!(OutputEntry);

/// Every registered output service, in no particular order (the registry sorts them).
pub(crate) fn entries() -> impl Iterator<Item = &'static OutputEntry> {
    inventory::iter::<OutputEntry>.into_iter()
}

/// The process's instance of the output registered for `service`.
///
/// ```
/// assert!(streamalert::output::instance("file").is_some());
/// assert!(streamalert::output::instance("no-such-service").is_none());
/// ```
pub fn instance(service: &str) -> Option<&'static dyn Output> {
    static INSTANCES: OnceLock<HashMap<&'static str, Box<dyn Output>>> = OnceLock::new();
    INSTANCES
        .get_or_init(|| {
            // A duplicate service is reported by `registry().problems()`; the one defined last
            // (by file and line) is used.
            let mut entries: Vec<_> = entries().collect();
            entries.sort_by_key(|entry| (entry.service, entry.location));
            entries
                .into_iter()
                .map(|entry| (entry.service, (entry.make)()))
                .collect()
        })
        .get(service)
        .map(|output| &**output)
}
