use serde_json::{Map, Value};
use std::ops::{Deref, DerefMut};

/// The JSON object a publisher chain builds and an output sends: owned and insertion-ordered.
///
/// Publishers take it by value and return it, so a chain never deep-copies. Keys named
/// `@service.field` are read by that service's output; everything else is payload.
///
/// ```
/// use streamalert::Publication;
/// let mut p = Publication::new();
/// p.insert("@slack.text", "root login");
/// p.insert("count", 2);
/// assert_eq!(p.keys().collect::<Vec<_>>(), ["@slack.text", "count"]);
/// assert_eq!(p["@slack.text"], "root login");
/// ```
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Publication(Map<String, Value>);

impl Publication {
    /// An empty publication, where every chain starts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`, keeping the key's position if it exists; returns the old value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        self.0.insert(key.into(), value.into())
    }

    /// Removes `key`, keeping the order of the other keys; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.0.shift_remove(key)
    }

    /// The publication as a plain JSON object.
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }
}

impl Deref for Publication {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Publication {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl From<Map<String, Value>> for Publication {
    fn from(map: Map<String, Value>) -> Self {
        Self(map)
    }
}

impl From<Publication> for Value {
    fn from(publication: Publication) -> Self {
        Value::Object(publication.0)
    }
}
