use crate::alert::Record;
use serde::ser::SerializeMap as _;
use serde_json::{Map, Value};
use std::ops::{Deref, DerefMut, Index};
use std::sync::{Arc, OnceLock};

/// The JSON object a publisher chain builds and an output sends: owned and insertion-ordered.
///
/// Publishers take it by value and return it, so a chain never deep-copies. Keys named
/// `@service.field` are read by that service's output; everything else is payload.
///
/// The default publication ([`Alert::output_dict`](crate::Alert::output_dict)) and
/// [`add_record`](crate::publishers::generic::add_record) share the alert's record instead of
/// copying it: [`get`](Self::get), indexing, [`keys`](Self::keys),
/// [`entries`](Self::entries), serializing and
/// [`PythonJson::dump_object`](crate::json::PythonJson::dump_object) read it in place; the
/// record is copied once, when the publication is changed or read as a whole `Map` (through
/// `Deref`).
///
/// ```
/// use streamalert::Publication;
/// let mut p = Publication::new();
/// p.insert("@slack.text", "root login");
/// p.insert("count", 2);
/// assert_eq!(p.keys().collect::<Vec<_>>(), ["@slack.text", "count"]);
/// assert_eq!(p["@slack.text"], "root login");
/// ```
#[derive(Clone, Default)]
pub struct Publication {
    /// Every entry, in order; while `shared` is set, the `"record"` entry is a placeholder.
    map: Map<String, Value>,
    /// Boxed: most publications share nothing and stay small.
    shared: Option<Box<SharedRecord>>,
}

/// The alert's record, standing in for the placeholder `"record"` entry of a publication.
#[derive(Clone)]
struct SharedRecord {
    record: Arc<Record>,
    /// The whole map, made on the first read through `Deref`.
    whole: OnceLock<Map<String, Value>>,
}

/// The key of the shared record.
const RECORD: &str = "record";

impl Publication {
    /// An empty publication, where every chain starts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `"record"` to `record`, shared, not copied (the key keeps its position if it
    /// exists, as with [`insert`](Self::insert)).
    pub(crate) fn share_record(&mut self, record: Arc<Record>) {
        self.map.insert(RECORD.to_owned(), Value::Null);
        self.shared = Some(Box::new(SharedRecord {
            record,
            whole: OnceLock::new(),
        }));
    }

    /// The value of `key`, if any (a shared record is read in place).
    ///
    /// ```
    /// use streamalert::Publication;
    /// let mut p = Publication::new();
    /// p.insert("count", 2);
    /// assert_eq!(p.get("count"), Some(&2.into()));
    /// assert_eq!(p.get("missing"), None);
    /// ```
    pub fn get(&self, key: &str) -> Option<&Value> {
        match &self.shared {
            Some(shared) if key == RECORD => Some(&shared.record),
            _ => self.map.get(key),
        }
    }

    /// True if the publication has `key`.
    ///
    /// ```
    /// use streamalert::Publication;
    /// let mut p = Publication::new();
    /// p.insert("count", 2);
    /// assert!(p.contains_key("count") && !p.contains_key("record"));
    /// ```
    pub fn contains_key(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The keys in order.
    ///
    /// ```
    /// use streamalert::Publication;
    /// let mut p = Publication::new();
    /// p.insert("b", 1);
    /// p.insert("a", 2);
    /// assert_eq!(p.keys().collect::<Vec<_>>(), ["b", "a"]);
    /// assert_eq!((p.len(), p.is_empty()), (2, false));
    /// ```
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &String> {
        self.map.keys()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if the publication has no entry.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The entries in order (a shared record read in place).
    ///
    /// ```
    /// use streamalert::Publication;
    /// let mut p = Publication::new();
    /// p.insert("b", 1);
    /// p.insert("a", 2);
    /// assert_eq!(p.entries().map(|(key, _)| key.as_str()).collect::<Vec<_>>(), ["b", "a"]);
    /// ```
    pub fn entries(&self) -> impl ExactSizeIterator<Item = (&String, &Value)> {
        self.map.iter().map(|(key, value)| match &self.shared {
            Some(shared) if key == RECORD => (key, &*shared.record),
            _ => (key, value),
        })
    }

    /// Sets `key` to `value`, keeping the key's position if it exists; returns the old value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        let key = key.into();
        if key == RECORD {
            // The shared record is replaced, not copied.
            self.shared = None;
        }
        self.forget_whole();
        self.map.insert(key, value.into())
    }

    /// Removes `key`, keeping the order of the other keys; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        if key == RECORD {
            return self.deref_mut().shift_remove(key);
        }
        self.forget_whole();
        self.map.shift_remove(key)
    }

    /// The publication as a plain JSON object.
    pub fn into_map(mut self) -> Map<String, Value> {
        self.own_record();
        self.map
    }

    /// Drops the whole map made for `Deref`, which a change of another entry makes stale.
    fn forget_whole(&mut self) {
        if let Some(shared) = &mut self.shared {
            shared.whole = OnceLock::new();
        }
    }

    /// Copies the shared record into the map (or takes the whole map already made).
    fn own_record(&mut self) {
        if let Some(shared) = self.shared.take() {
            match shared.whole.into_inner() {
                Some(whole) => self.map = whole,
                None => {
                    if let Some(slot) = self.map.get_mut(RECORD) {
                        *slot = Arc::unwrap_or_clone(shared.record);
                    }
                }
            }
        }
    }
}

impl Deref for Publication {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Self::Target {
        match &self.shared {
            None => &self.map,
            Some(shared) => shared.whole.get_or_init(|| {
                self.entries()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            }),
        }
    }
}

impl DerefMut for Publication {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.own_record();
        &mut self.map
    }
}

impl Index<&str> for Publication {
    type Output = Value;

    /// The value of `key`; panics if there is none, as `Map`'s indexing does.
    fn index(&self, key: &str) -> &Value {
        self.get(key)
            .unwrap_or_else(|| panic!("the publication has no key {key:?}"))
    }
}

impl PartialEq for Publication {
    /// Equal entries, in any order (as `Map` compares).
    fn eq(&self, other: &Self) -> bool {
        self.map.len() == other.map.len()
            && self
                .entries()
                .all(|(key, value)| other.get(key) == Some(value))
    }
}

impl std::fmt::Debug for Publication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.entries()).finish()
    }
}

impl serde::Serialize for Publication {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.map.len()))?;
        for (key, value) in self.entries() {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> serde::Deserialize<'de> for Publication {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Map::deserialize(deserializer).map(Self::from)
    }
}

impl From<Map<String, Value>> for Publication {
    fn from(map: Map<String, Value>) -> Self {
        Self { map, shared: None }
    }
}

impl From<Publication> for Value {
    fn from(publication: Publication) -> Self {
        Value::Object(publication.into_map())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A publication sharing `record` between two other keys.
    fn sharing(record: &Arc<Record>) -> Publication {
        let map = json!({"before": 1, "record": null, "after": 2});
        let Value::Object(map) = map else {
            unreachable!()
        };
        let mut publication = Publication::from(map);
        publication.share_record(Arc::clone(record));
        publication
    }

    /// Read in place, the shared record is the alert's own: nothing is copied until the
    /// publication changes it or is read as a whole map, and it reads the same every way.
    #[test]
    fn a_shared_record_is_read_in_place_and_copied_only_on_change() {
        let record = Arc::new(json!({"user": "root", "n": 1.50}));
        let p = sharing(&record);
        assert!(std::ptr::eq(p.get("record").unwrap(), &*record));
        assert!(std::ptr::eq(&p["record"], &*record));
        let entries: Vec<_> = p.entries().collect();
        assert!(std::ptr::eq(entries[1].1, &*record));
        assert_eq!(Arc::strong_count(&record), 2, "shared, not copied");
        assert_eq!(p.keys().collect::<Vec<_>>(), ["before", "record", "after"]);
        assert_eq!((p.get("before"), p.get("missing")), (Some(&json!(1)), None));
        assert_eq!(
            (p.len(), p.is_empty(), p.contains_key("record")),
            (3, false, true)
        );
        assert!(!p.contains_key("missing") && Publication::new().is_empty());
        let whole = json!({"before": 1, "record": {"user": "root", "n": 1.50}, "after": 2});
        let whole_map = whole.as_object().unwrap().clone();
        assert_eq!(serde_json::to_value(&p).unwrap(), whole);
        let made = |p: &Publication| p.shared.as_ref().is_some_and(|s| s.whole.get().is_some());
        assert!(!made(&p), "no whole map made by these reads");
        assert_eq!(Value::Object((*p).clone()), whole);
        assert!(made(&p), "`Deref` makes it");
        assert_eq!(format!("{p:?}"), format!("{whole_map:?}"));
        assert_eq!(p, Publication::from(whole_map.clone()));
        assert_ne!(p, Publication::new());
        let mut differs = whole_map.clone();
        differs.insert("after".into(), 3.into());
        assert_ne!(p, Publication::from(differs));
        let read: Publication = serde_json::from_value(whole.clone()).unwrap();
        assert_eq!(
            (read["record"]["user"].as_str(), read.len()),
            (Some("root"), 3)
        );

        // Another key changes: the record stays shared, and the whole map follows the change.
        let mut other = sharing(&record);
        assert_eq!(other.iter().count(), 3, "the whole map, made");
        other.insert("later", 3);
        other.remove("before");
        assert!(std::ptr::eq(other.get("record").unwrap(), &*record));
        assert_eq!(
            other
                .iter()
                .map(|(key, _)| key.as_str())
                .collect::<Vec<_>>(),
            ["record", "after", "later"]
        );

        // The record itself changes: the publication gets its own copy.
        let mut changed = sharing(&record);
        changed.get_mut("record").unwrap()["user"] = "alice".into();
        assert_eq!(changed["record"]["user"], "alice");
        assert_eq!(record["user"], "root", "the alert's record is untouched");
        let mut replaced = sharing(&record);
        replaced.insert("record", 5);
        assert_eq!(
            Value::from(replaced),
            json!({"before": 1, "record": 5, "after": 2})
        );
        assert_eq!(Value::from(sharing(&record)), whole);
    }
}
