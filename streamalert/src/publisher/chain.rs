use super::{DEFAULT_PUBLISHER, DefaultPublisher, Publication, PublishError, Publisher, lookup};
use crate::alert::Alert;
use serde_json::Value;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The publishers of one output, in order, ready to run (StreamAlert's composite publisher).
///
/// Assembled from the names stored on an alert: a name or a list applies to every output; in a
/// map, the entry of the bare service comes first, then the entry of `service:descriptor`.
/// Unknown names are dropped with an error log; when none is left the chain is the bare
/// [`DefaultPublisher`].
///
/// ```
/// use streamalert::publisher::Chain;
/// use serde_json::json;
///
/// let stored = json!({"slack": ["does.not.exist"], "slack:secops": "streamalert.shared.publisher.DefaultPublisher"});
/// let chain = Chain::for_output(&stored, "slack", "secops");
/// assert_eq!(chain.names(), ["streamalert.shared.publisher.DefaultPublisher"]);
/// assert!(!chain.is_default());
/// assert!(Chain::for_output(&json!(null), "slack", "secops").is_default());
/// ```
#[derive(Clone, Default)]
pub struct Chain {
    publishers: Vec<(&'static str, &'static dyn Publisher)>,
}

impl Chain {
    /// The chain for `service:descriptor` from an alert's stored `publishers` value.
    pub fn for_output(stored: &Value, service: &str, descriptor: &str) -> Self {
        let mut names = Vec::new();
        match stored {
            Value::String(name) => names.push(name.as_str()),
            Value::Array(list) => names.extend(list.iter().filter_map(Value::as_str)),
            Value::Object(map) => {
                for key in [service.to_owned(), format!("{service}:{descriptor}")] {
                    match map.get(&key) {
                        Some(Value::Array(list)) => {
                            names.extend(list.iter().filter_map(Value::as_str))
                        }
                        Some(Value::String(name)) => names.push(name.as_str()),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        Self::from_names(names)
    }

    /// The chain of the registered publishers among `names`, in order (duplicates kept).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let publishers = names
            .into_iter()
            .filter_map(|name| match lookup(name) {
                Some(found) => Some(found),
                None => {
                    tracing::error!(publisher = name, "Publisher [{name}] does not exist");
                    None
                }
            })
            .collect();
        Self { publishers }
    }

    /// True when no valid publisher was named and the bare [`DefaultPublisher`] runs.
    pub fn is_default(&self) -> bool {
        self.publishers.is_empty()
    }

    /// The registered names of the chain's publishers, in order.
    pub fn names(&self) -> Vec<&'static str> {
        if self.is_default() {
            return vec![DEFAULT_PUBLISHER];
        }
        self.publishers.iter().map(|(name, _)| *name).collect()
    }

    /// Runs the chain on an empty publication. The first error or panic aborts it and names
    /// the publisher.
    pub fn publish(&self, alert: &Alert) -> Result<Publication, ChainError> {
        if self.is_default() {
            return run(
                DEFAULT_PUBLISHER,
                &DefaultPublisher,
                alert,
                Publication::new(),
            );
        }
        self.publishers
            .iter()
            .try_fold(Publication::new(), |publication, (name, publisher)| {
                run(name, *publisher, alert, publication)
            })
    }
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Chain").field(&self.names()).finish()
    }
}

fn run(
    name: &'static str,
    publisher: &dyn Publisher,
    alert: &Alert,
    publication: Publication,
) -> Result<Publication, ChainError> {
    let outcome = catch_unwind(AssertUnwindSafe(|| publisher.publish(alert, publication)))
        .unwrap_or_else(|panic| Err(PublishError::Panicked(crate::text::panic_message(&*panic))));
    outcome.map_err(|error| {
        tracing::error!(publisher = name, %error, "publisher failed");
        ChainError {
            publisher: name,
            error,
        }
    })
}

/// A publisher of a chain failed; the output is not delivered and stays pending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("publisher `{publisher}` failed: {error}")]
pub struct ChainError {
    /// The registered name of the publisher that failed.
    pub publisher: &'static str,
    /// What went wrong.
    pub error: PublishError,
}
