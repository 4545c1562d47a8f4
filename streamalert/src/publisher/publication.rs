use crate::alert::Record;
use serde::ser::SerializeMap as _;
use serde_json::map::Entry;
use serde_json::{Map, Value};
use std::ops::{Deref, DerefMut, Index};
use std::sync::{Arc, OnceLock};

/// The JSON object a publisher chain builds and an output sends: owned and insertion-ordered.
///
/// Publishers take it by value and return it, so a chain never deep-copies. Keys named
/// `@service.field` are read by that service's output; everything else is payload.
///
/// Two forms are read in place instead of being made into a map: the default publication
/// ([`Alert::output_dict`](crate::Alert::output_dict)) and
/// [`add_record`](crate::publishers::generic::add_record) share the alert's record instead of
/// copying it, and [`enumerate_fields`](crate::publishers::generic::enumerate_fields) keeps its
/// sorted entries as a list instead of hashing every path. [`get`](Self::get), indexing,
/// [`keys`](Self::keys), [`entries`](Self::entries), [`remove`](Self::remove) of another key,
/// serializing and [`PythonJson::dump_object`](crate::json::PythonJson::dump_object) read them
/// in place; the map is made once, when the publication is changed or read as a whole `Map`
/// (through `Deref`).
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
    /// Every entry in order, but those `held` holds: a shared record's entry is a placeholder
    /// here, and sorted entries leave the map empty.
    map: Map<String, Value>,
    /// Boxed: most publications hold nothing outside the map and stay small.
    held: Option<Box<Held>>,
}

/// Entries a publication reads in place until it is changed.
#[derive(Clone)]
struct Held {
    entries: HeldEntries,
    /// The whole map, made on the first read through `Deref`.
    whole: OnceLock<Map<String, Value>>,
}

#[derive(Clone)]
enum HeldEntries {
    /// The alert's record, standing in for the placeholder `"record"` entry of the map.
    Record(Arc<Record>),
    /// Every entry (the map is empty), keys unique and in code point order.
    Sorted(Vec<(String, Value)>),
}

/// The key of the shared record.
pub(crate) const RECORD: &str = "record";

impl Publication {
    /// An empty publication, where every chain starts.
    pub fn new() -> Self {
        Self::default()
    }

    /// A publication of `entries`, whose keys are unique and sorted by code point, read in
    /// place (no key is hashed until the publication is changed).
    pub(crate) fn from_sorted(entries: Vec<(String, Value)>) -> Self {
        debug_assert!(entries.windows(2).all(|pair| pair[0].0 < pair[1].0));
        let mut publication = Self::new();
        publication.hold(HeldEntries::Sorted(entries));
        publication
    }

    /// Sets `"record"` to `record`, shared, not copied (the key keeps its position if it
    /// exists, as with [`insert`](Self::insert); a record shared before is not copied either).
    pub(crate) fn share_record(&mut self, record: Arc<Record>) {
        match self.map.get_mut(RECORD) {
            // The placeholder set in place: the default publication has the key, and
            // `insert` would make a new `String` of it for every alert.
            Some(placeholder) => *placeholder = Value::Null,
            None => _ = self.insert(RECORD, Value::Null),
        }
        self.hold(HeldEntries::Record(record));
    }

    /// Holds `entries` beside the map, read in place.
    fn hold(&mut self, entries: HeldEntries) {
        let whole = OnceLock::new();
        self.held = Some(Box::new(Held { entries, whole }));
    }

    /// The value of `key`, if any (held entries are read in place).
    ///
    /// ```
    /// use streamalert::Publication;
    /// let mut p = Publication::new();
    /// p.insert("count", 2);
    /// assert_eq!(p.get("count"), Some(&2.into()));
    /// assert_eq!(p.get("missing"), None);
    /// ```
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self.held.as_deref().map(|held| &held.entries) {
            Some(HeldEntries::Record(record)) if key == RECORD => Some(record),
            Some(HeldEntries::Sorted(entries)) => {
                let index = position(entries, key).ok()?;
                Some(&entries[index].1)
            }
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
        self.get(key).is_some()
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
        self.entries().map(|(key, _)| key)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// True if the publication has no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries in order (held entries read in place).
    ///
    /// ```
    /// use streamalert::Publication;
    /// let mut p = Publication::new();
    /// p.insert("b", 1);
    /// p.insert("a", 2);
    /// assert_eq!(p.entries().map(|(key, _)| key.as_str()).collect::<Vec<_>>(), ["b", "a"]);
    /// ```
    pub fn entries(&self) -> impl ExactSizeIterator<Item = (&String, &Value)> {
        let (record, sorted) = match self.held.as_deref().map(|held| &held.entries) {
            Some(HeldEntries::Record(record)) => (Some(&**record), &[][..]),
            Some(HeldEntries::Sorted(entries)) => (None, &entries[..]),
            None => (None, &[][..]),
        };
        Entries {
            map: self.map.iter(),
            record,
            sorted: sorted.iter(),
        }
    }

    /// Sets `key` to `value`, keeping the key's position if it exists; returns the old value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        let key = key.into();
        match self.held.as_deref().map(|held| &held.entries) {
            // The shared record is replaced, not copied.
            Some(HeldEntries::Record(_)) if key == RECORD => self.held = None,
            Some(HeldEntries::Record(_)) => self.forget_whole(),
            Some(HeldEntries::Sorted(_)) => self.make_map(),
            None => {}
        }
        // Through the entry: `insert` reserves room before it looks the key up, so a full
        // map (the default publication's is) would grow even for a key it has.
        match self.map.entry(key) {
            Entry::Occupied(mut occupied) => Some(occupied.insert(value.into())),
            Entry::Vacant(vacant) => {
                vacant.insert(value.into());
                None
            }
        }
    }

    /// Removes `key`, keeping the order of the other keys; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        match self.held.as_deref_mut() {
            Some(Held {
                entries: HeldEntries::Sorted(entries),
                whole,
            }) => {
                let index = position(entries, key).ok()?;
                *whole = OnceLock::new();
                return Some(entries.remove(index).1);
            }
            Some(Held {
                entries: HeldEntries::Record(_),
                ..
            }) if key == RECORD => self.make_map(),
            Some(_) => self.forget_whole(),
            None => {}
        }
        self.map.shift_remove(key)
    }

    /// The publication as a plain JSON object.
    pub fn into_map(mut self) -> Map<String, Value> {
        self.make_map();
        self.map
    }

    /// The publication as a plain JSON object, a shared record made by `copy` instead of
    /// copied whole: a publisher that changes the record copies only what it keeps. `copy` is
    /// called only for a record still shared with someone else (one that is not is moved, as
    /// [`into_map`](Self::into_map) does).
    pub(crate) fn into_map_copying_record(
        mut self,
        copy: impl FnOnce(&Record) -> Record,
    ) -> Map<String, Value> {
        self.make_map_with(copy);
        self.map
    }

    /// Drops the whole map made for `Deref`, which a change of another entry makes stale.
    fn forget_whole(&mut self) {
        if let Some(held) = &mut self.held {
            held.whole = OnceLock::new();
        }
    }

    /// Moves the held entries into the map (or takes the whole map already made).
    fn make_map(&mut self) {
        self.make_map_with(Record::clone);
    }

    /// [`make_map`](Self::make_map), a record still shared made by `copy`.
    fn make_map_with(&mut self, copy: impl FnOnce(&Record) -> Record) {
        let Some(held) = self.held.take() else {
            return;
        };
        if let Some(whole) = held.whole.into_inner() {
            self.map = whole;
            return;
        }
        match held.entries {
            HeldEntries::Record(record) => {
                if let Some(slot) = self.map.get_mut(RECORD) {
                    *slot = Arc::try_unwrap(record).unwrap_or_else(|shared| copy(&shared));
                }
            }
            HeldEntries::Sorted(entries) => self.map = entries.into_iter().collect(),
        }
    }
}

/// Where `key` is in `entries` sorted by key (or where it would go).
fn position(entries: &[(String, Value)], key: &str) -> Result<usize, usize> {
    entries.binary_search_by(|(entry, _)| entry.as_str().cmp(key))
}

/// The iterator of [`Publication::entries`]: the map's entries (the shared record in place of
/// its placeholder), then the sorted entries (one of the two is empty).
struct Entries<'a> {
    map: serde_json::map::Iter<'a>,
    record: Option<&'a Value>,
    sorted: std::slice::Iter<'a, (String, Value)>,
}

impl<'a> Iterator for Entries<'a> {
    type Item = (&'a String, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        match (self.map.next(), self.record) {
            (Some((key, _)), Some(record)) if key == RECORD => Some((key, record)),
            (Some(entry), _) => Some(entry),
            (None, _) => self.sorted.next().map(|(key, value)| (key, value)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.map.len() + self.sorted.len();
        (len, Some(len))
    }
}

impl ExactSizeIterator for Entries<'_> {}

impl Deref for Publication {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Self::Target {
        match &self.held {
            None => &self.map,
            Some(held) => held.whole.get_or_init(|| {
                self.entries()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            }),
        }
    }
}

impl DerefMut for Publication {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.make_map();
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
        self.len() == other.len()
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
        let mut map = serializer.serialize_map(Some(self.len()))?;
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
        Self { map, held: None }
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

    /// Sorted entries read as the map they stand for, without one; removing keeps them held,
    /// and any other change makes the map, in the same order.
    #[test]
    fn sorted_entries_are_read_in_place_until_changed() {
        let entries = vec![("a".to_owned(), json!(1)), ("b.c".to_owned(), json!("x"))];
        let map: Map<String, Value> = entries.iter().cloned().collect();
        let held = |p: &Publication| p.held.is_some();
        let p = Publication::from_sorted(entries.clone());
        assert_eq!(
            (p.get("b.c"), p.get("b"), p.get("0")),
            (Some(&json!("x")), None, None)
        );
        assert_eq!(
            (&p["a"], p.contains_key("a"), p.contains_key("c")),
            (&json!(1), true, false)
        );
        assert_eq!(p.keys().collect::<Vec<_>>(), ["a", "b.c"]);
        assert_eq!((p.len(), p.is_empty(), p.entries().len()), (2, false, 2));
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"a": 1, "b.c": "x"})
        );
        assert_eq!(format!("{p:?}"), format!("{map:?}"));
        assert_eq!(p, Publication::from(map.clone()));
        assert!(held(&p) && p.map.is_empty(), "no map made by these reads");
        assert_eq!(*p, map, "`Deref` makes the whole map");
        assert!(Publication::from_sorted(Vec::new()).is_empty());

        let mut removed = Publication::from_sorted(entries.clone());
        assert_eq!(removed.iter().count(), 2, "the whole map, made");
        assert_eq!(
            (removed.remove("a"), removed.remove("z")),
            (Some(json!(1)), None)
        );
        assert!(held(&removed) && removed.map.is_empty());
        assert_eq!(removed.iter().count(), 1, "the whole map, made again");
        assert_eq!(Value::from(removed), json!({"b.c": "x"}));

        let mut inserted = Publication::from_sorted(entries);
        assert_eq!(inserted.insert("0", 0), None);
        assert_eq!(inserted.insert("a", 2), Some(json!(1)));
        assert!(!held(&inserted));
        assert_eq!(inserted.keys().collect::<Vec<_>>(), ["a", "b.c", "0"]);
        assert_eq!(Value::from(inserted), json!({"a": 2, "b.c": "x", "0": 0}));
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
        let made = |p: &Publication| p.held.as_ref().is_some_and(|s| s.whole.get().is_some());
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
        let mut removed = sharing(&record);
        assert_eq!(removed.remove("record").as_ref(), Some(&*record));
        assert_eq!(Value::from(removed), json!({"before": 1, "after": 2}));
    }
}
