//! Publishers: transforms of an alert into the [`Publication`] one output sends.
//!
//! A publisher is registered under a name with [`#[publisher]`](macro@crate::publisher); a rule names
//! the publishers of each of its outputs, the names are stored on the alert, and when an output
//! is delivered its [`Chain`] is assembled from those names (generic `service` entries before
//! `service:descriptor` ones) and run on an empty publication. With no valid name the
//! [`DefaultPublisher`] is used: it returns [`Alert::output_dict`].

mod chain;
mod publication;
mod spec;

pub use chain::{Chain, ChainError};
pub use publication::Publication;
pub(crate) use publication::RECORD;
pub use spec::PublisherSpec;

use crate::alert::Alert;
use crate::location::Location;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// A transformation `(alert, publication) -> publication`.
///
/// Implement it on a `Default` type and register it with `#[publisher]` on the `impl` block,
/// or write a plain function and put `#[publisher]` on it.
///
/// ```standalone_crate
/// use streamalert::prelude::*;
///
/// /// Adds the rule name as the Slack text.
/// #[derive(Default)]
/// pub struct RuleNameAsText;
///
/// #[publisher]
/// impl Publisher for RuleNameAsText {
///     fn publish(&self, alert: &Alert, mut p: Publication) -> Result<Publication, PublishError> {
///         p.insert("@slack.text", alert.rule_name.clone());
///         Ok(p)
///     }
/// }
/// # streamalert::services!();
/// # fn main() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a publisher",
    label = "this type does not implement `streamalert::Publisher`",
    note = "implement `streamalert::Publisher` for it, or put `#[publisher]` on a `fn(&Alert, Publication) -> Publication`"
)]
pub trait Publisher: Send + Sync + 'static {
    /// Returns the next publication. An error aborts the chain and the delivery of its output.
    fn publish(&self, alert: &Alert, publication: Publication)
    -> Result<Publication, PublishError>;
}

/// Why a publisher could not publish; the output's delivery fails and stays pending for retry.
///
/// ```
/// use streamalert::PublishError;
/// let err = PublishError::missing_key("record");
/// assert_eq!(err.to_string(), "missing key `record`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// A key the publisher needs is absent (Python's `KeyError`).
    #[error("missing key `{0}`")]
    MissingKey(String),
    /// Anything else, in the publisher's own words.
    #[error("{0}")]
    Failed(String),
    /// The publisher panicked; the panic message.
    #[error("panicked: {0}")]
    Panicked(String),
}

impl PublishError {
    /// A [`PublishError::MissingKey`] naming `key`.
    pub fn missing_key(key: impl Into<String>) -> Self {
        Self::MissingKey(key.into())
    }

    /// A [`PublishError::Failed`] with `message`.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed(message.into())
    }
}

/// StreamAlert's registered name of the [`DefaultPublisher`].
pub const DEFAULT_PUBLISHER: &str = "streamalert.shared.publisher.DefaultPublisher";

/// Ignores the incoming publication and returns the alert's [`Alert::output_dict`].
///
/// ```
/// use streamalert::{Alert, Publication, Publisher, publisher::DefaultPublisher};
/// let alert = Alert::new("r", serde_json::json!({"k": 1}), ["slack:c"]);
/// let p = DefaultPublisher.publish(&alert, Publication::new()).unwrap();
/// assert_eq!(p["rule_name"], "r");
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct DefaultPublisher;

#[crate::publisher(name = "streamalert.shared.publisher.DefaultPublisher")]
impl Publisher for DefaultPublisher {
    fn publish(&self, alert: &Alert, _: Publication) -> Result<Publication, PublishError> {
        // The record is shared with the alert, not copied (`Publication`'s copy on write).
        let mut publication = Publication::from(alert.output_dict_with(serde_json::Value::Null));
        publication.share_record(Arc::clone(&alert.record));
        Ok(publication)
    }
}

/// The publisher registered under `name`, if any.
///
/// ```
/// assert!(streamalert::publisher::get("streamalert.shared.publisher.DefaultPublisher").is_some());
/// assert!(streamalert::publisher::get("does.not.exist").is_none());
/// ```
pub fn get(name: &str) -> Option<&'static dyn Publisher> {
    lookup(name).map(|(_, publisher)| publisher)
}

/// The registered name (with a `'static` lifetime) and instance for `name`, if any.
pub(crate) fn lookup(name: &str) -> Option<(&'static str, &'static dyn Publisher)> {
    instances()
        .get_key_value(name)
        .map(|(name, publisher)| (*name, &**publisher))
}

/// Every registered publisher name, sorted.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<_> = instances().keys().copied().collect();
    names.sort_unstable();
    names
}

/// One instance per registered name, made on first use (StreamAlert instantiates each class once).
fn instances() -> &'static HashMap<&'static str, Box<dyn Publisher>> {
    static INSTANCES: OnceLock<HashMap<&'static str, Box<dyn Publisher>>> = OnceLock::new();
    INSTANCES.get_or_init(|| {
        let mut map = HashMap::new();
        for entry in entries() {
            // A duplicate name is reported by `registry().problems()`; the first one stays.
            map.entry(entry.name).or_insert_with(|| (entry.make)());
        }
        map
    })
}

/// A publisher as `#[publisher]` registers it.
pub struct PublisherEntry {
    /// Its registered name (StreamAlert's fully qualified name for the built-in ones).
    pub name: &'static str,
    /// Makes the one instance the process uses.
    pub make: fn() -> Box<dyn Publisher>,
    /// Where it is defined.
    pub location: Location,
}

impl fmt::Debug for PublisherEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublisherEntry")
            .field("name", &self.name)
            .field("location", &self.location)
            .finish()
    }
}

inventory::collect!(PublisherEntry);

/// Every registered publisher, in no particular order (the registry sorts them).
pub(crate) fn entries() -> impl Iterator<Item = &'static PublisherEntry> {
    inventory::iter::<PublisherEntry>.into_iter()
}
