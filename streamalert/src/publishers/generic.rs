//! Generic publishers for any output (StreamAlert's `publishers/community/generic.py`), each
//! registered as `publishers.community.generic.<name>`.

use crate::alert::Alert;
use crate::json::{NORMALIZATION_KEY, get_keys, py_str};
use crate::publisher::{Publication, PublishError, Publisher, RECORD};
use regex::{Regex, RegexSet};
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

/// Sets `record` to the alert's record; other keys are untouched.
///
/// Registered as `publishers.community.generic.add_record`.
///
/// ```
/// use streamalert::{Alert, Publication, publishers::generic::add_record};
/// use serde_json::json;
///
/// let alert = Alert::new("r", json!({"user": "root"}), ["slack:c"]);
/// let publication = add_record(&alert, Publication::new());
/// assert_eq!(publication["record"], json!({"user": "root"}));
/// ```
#[crate::publisher(name = "publishers.community.generic.add_record")]
pub fn add_record(alert: &Alert, mut publication: Publication) -> Publication {
    publication.share_record(Arc::clone(&alert.record));
    publication
}

/// Erases everything: always returns an empty publication.
///
/// Registered as `publishers.community.generic.blank`.
///
/// ```
/// use streamalert::{Alert, Publication, publishers::generic::blank};
///
/// let alert = Alert::new("r", serde_json::json!({}), ["slack:c"]);
/// let mut publication = Publication::new();
/// publication.insert("k", 1);
/// assert!(blank(&alert, publication).is_empty());
/// ```
#[crate::publisher(name = "publishers.community.generic.blank")]
pub fn blank(_alert: &Alert, _publication: Publication) -> Publication {
    Publication::new()
}

/// Removes the top-level keys only useful internally: `staged`, `publishers` and `outputs`.
///
/// Registered as `publishers.community.generic.remove_internal_fields`.
///
/// ```
/// use streamalert::{Alert, Publication, publishers::generic::remove_internal_fields};
/// use streamalert::publisher::DefaultPublisher;
/// use streamalert::Publisher;
///
/// let alert = Alert::new("r", serde_json::json!({}), ["slack:c"]);
/// let publication = DefaultPublisher.publish(&alert, Publication::new()).unwrap();
/// let publication = remove_internal_fields(&alert, publication);
/// assert!(publication.get("outputs").is_none() && publication.get("staged").is_none());
/// assert_eq!(publication["rule_name"], "r");
/// ```
#[crate::publisher(name = "publishers.community.generic.remove_internal_fields")]
pub fn remove_internal_fields(_alert: &Alert, mut publication: Publication) -> Publication {
    for key in ["staged", "publishers", "outputs"] {
        publication.remove(key);
    }
    publication
}

/// Deletes every key, at any depth and inside lists, that one of the regular expressions in
/// the alert's context list `remove_fields` finds (an unanchored search: `id` also removes
/// `ids`; use `^id$` for the exact key). The whole subtree under a deleted key goes with it.
///
/// A pattern the regex engine cannot compile (look-around, backreferences) is an error naming
/// the pattern (spec decision P14), as is a `remove_fields` value that is not a list of strings.
///
/// Registered as `publishers.community.generic.remove_fields`.
///
/// ```
/// use streamalert::{Alert, Publication, publishers::generic::remove_fields};
/// use serde_json::json;
///
/// let mut alert = Alert::new("r", json!({}), ["slack:c"]);
/// alert.context.insert("remove_fields".into(), json!(["type$", "^secret$"]));
/// let publication: Publication = json!({"log_type": "json", "record": [{"secret": 1, "x": 2}]})
///     .as_object().unwrap().clone().into();
/// let publication = remove_fields(&alert, publication).unwrap();
/// assert_eq!(serde_json::Value::from(publication), json!({"record": [{"x": 2}]}));
///
/// alert.context.insert("remove_fields".into(), json!(["(?<=a)b"]));
/// let error = remove_fields(&alert, Publication::new()).unwrap_err();
/// assert!(error.to_string().contains("(?<=a)b"));
/// ```
#[crate::publisher(name = "publishers.community.generic.remove_fields")]
pub fn remove_fields(alert: &Alert, publication: Publication) -> Result<Publication, PublishError> {
    let patterns = context_strings(alert, "remove_fields")?;
    let matcher = compile_patterns(&patterns)?;
    Ok(without_matching_keys(publication, &matcher))
}

/// Deletes every key containing `streamalert_normalization`, at any depth and inside lists
/// (an unanchored search, like `remove_fields` with that pattern).
///
/// Registered as `publishers.community.generic.remove_streamalert_normalization`.
///
/// ```
/// use streamalert::{Alert, Publication, publishers::generic::remove_streamalert_normalization};
/// use serde_json::json;
///
/// let alert = Alert::new("r", json!({}), ["slack:c"]);
/// let publication: Publication = json!({"record": {"a": 1, "streamalert_normalization": {"ip": []}}})
///     .as_object().unwrap().clone().into();
/// let publication = remove_streamalert_normalization(&alert, publication);
/// assert_eq!(publication["record"], json!({"a": 1}));
/// ```
#[crate::publisher(name = "publishers.community.generic.remove_streamalert_normalization")]
pub fn remove_streamalert_normalization(_alert: &Alert, publication: Publication) -> Publication {
    without_matching_keys(publication, &KeyMatcher::Substring(NORMALIZATION_KEY))
}

/// Flattens the whole publication into one level whose keys are paths (`a.b`, `list[0]`),
/// sorted by code point. Empty objects and lists produce no entry.
///
/// Registered as `publishers.community.generic.enumerate_fields`.
///
/// ```
/// use streamalert::{Alert, Publication, publishers::generic::enumerate_fields};
/// use serde_json::json;
///
/// let alert = Alert::new("r", json!({}), ["slack:c"]);
/// let publication: Publication = json!({"top": {"mid": ["a", "b"], "none": {}}, "Top": 1})
///     .as_object().unwrap().clone().into();
/// let flat = enumerate_fields(&alert, publication);
/// assert_eq!(flat.keys().collect::<Vec<_>>(), ["Top", "top.mid[0]", "top.mid[1]"]);
/// ```
#[crate::publisher(name = "publishers.community.generic.enumerate_fields")]
pub fn enumerate_fields(_alert: &Alert, publication: Publication) -> Publication {
    let mut leaves = Vec::new();
    push_leaves(Value::from(publication), &mut String::new(), &mut leaves);
    // A stable sort keeps colliding paths in document order, next to each other: the last
    // of them wins (as inserting each into a map would have it).
    leaves.sort_by(|a, b| a.0.cmp(&b.0));
    leaves.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            std::mem::swap(&mut later.1, &mut kept.1);
        }
        same
    });
    Publication::from_sorted(leaves)
}

/// Keeps only the fields named in the alert's context list `populate_fields`, moved to the top
/// level. Each value is the list of every value found under that key at any depth, breadth
/// first ([`get_keys`]) — always a list, possibly empty (spec decision P1).
///
/// Registered as `publishers.community.generic.populate_fields`.
///
/// ```
/// use streamalert::{Alert, Publication, publishers::generic::populate_fields};
/// use serde_json::json;
///
/// let mut alert = Alert::new("r", json!({}), ["slack:c"]);
/// alert.context.insert("populate_fields".into(), json!(["user", "missing"]));
/// let publication: Publication = json!({"record": {"user": "root"}, "other": 1})
///     .as_object().unwrap().clone().into();
/// let publication = populate_fields(&alert, publication).unwrap();
/// assert_eq!(serde_json::Value::from(publication), json!({"user": ["root"], "missing": []}));
/// ```
#[crate::publisher(name = "publishers.community.generic.populate_fields")]
pub fn populate_fields(
    alert: &Alert,
    publication: Publication,
) -> Result<Publication, PublishError> {
    let fields = context_strings(alert, "populate_fields")?;
    let source = Value::from(publication);
    let mut populated = Publication::new();
    for field in fields {
        let found: Vec<Value> = get_keys(&source, field, None)
            .into_iter()
            .cloned()
            .collect();
        populated.insert(field, found);
    }
    Ok(populated)
}

/// Joins every *scalar array* (a list holding no objects or lists, the empty list included)
/// that is the value of an object key into one string: each element printed as Python's
/// `str()` (`True`, `None`, `1.0`), separated by `delimiter` (a newline by default).
///
/// A scalar array directly inside a list is not converted (spec decision P13). Subclassing in
/// StreamAlert means a different `delimiter` here; see
/// [`PrettyPrintArrays`](super::pagerduty::PrettyPrintArrays).
///
/// Registered as `publishers.community.generic.StringifyArrays`.
///
/// ```
/// use streamalert::{Alert, Publication, Publisher, publishers::generic::StringifyArrays};
/// use serde_json::json;
///
/// let alert = Alert::new("r", json!({}), ["slack:c"]);
/// let publication: Publication = json!({"a": [1, true, null], "b": [[1, 2]], "c": []})
///     .as_object().unwrap().clone().into();
/// let publication = StringifyArrays::default().publish(&alert, publication).unwrap();
/// assert_eq!(serde_json::Value::from(publication), json!({"a": "1\nTrue\nNone", "b": [[1, 2]], "c": ""}));
/// ```
#[derive(Debug, Clone)]
pub struct StringifyArrays {
    /// What goes between the elements: `"\n"`.
    pub delimiter: String,
}

impl Default for StringifyArrays {
    fn default() -> Self {
        Self {
            delimiter: "\n".to_owned(),
        }
    }
}

impl StringifyArrays {
    /// True for a list whose elements are neither objects nor lists (the empty list included).
    ///
    /// ```
    /// use streamalert::publishers::generic::StringifyArrays;
    /// use serde_json::json;
    /// assert!(StringifyArrays::is_scalar_array(&json!([1, "a", null])));
    /// assert!(StringifyArrays::is_scalar_array(&json!([])));
    /// assert!(!StringifyArrays::is_scalar_array(&json!([[1]])));
    /// assert!(!StringifyArrays::is_scalar_array(&json!("a")));
    /// ```
    pub fn is_scalar_array(value: &Value) -> bool {
        value.as_array().is_some_and(|items| {
            items
                .iter()
                .all(|item| !item.is_object() && !item.is_array())
        })
    }

    /// The elements printed with Python's `str()` and joined with [`Self::delimiter`].
    ///
    /// ```
    /// use streamalert::publishers::generic::StringifyArrays;
    /// use serde_json::json;
    /// let joined = StringifyArrays::default().stringify(&[json!(1.0), json!(false), json!("x")]);
    /// assert_eq!(joined, "1.0\nFalse\nx");
    /// ```
    pub fn stringify(&self, items: &[Value]) -> String {
        join_py_str(items, &self.delimiter)
    }
}

#[crate::publisher(name = "publishers.community.generic.StringifyArrays")]
impl Publisher for StringifyArrays {
    fn publish(
        &self,
        _alert: &Alert,
        publication: Publication,
    ) -> Result<Publication, PublishError> {
        Ok(stringify_arrays(publication, &self.delimiter))
    }
}

/// Converts every scalar array that is an object value, at any depth, with `delimiter`.
pub(crate) fn stringify_arrays(publication: Publication, delimiter: &str) -> Publication {
    let mut root = Value::from(publication);
    let mut queue = VecDeque::from([&mut root]);
    while let Some(node) = queue.pop_front() {
        match node {
            Value::Object(map) => {
                for item in map.values_mut() {
                    match scalar_items(item).map(|items| join_py_str(items, delimiter)) {
                        Some(text) => *item = Value::String(text),
                        None => queue.push_back(item),
                    }
                }
            }
            Value::Array(items) => queue.extend(items.iter_mut()),
            _ => {}
        }
    }
    into_publication(root)
}

/// The elements of a scalar array, or `None` for anything else.
fn scalar_items(value: &Value) -> Option<&[Value]> {
    value
        .as_array()
        .filter(|_| StringifyArrays::is_scalar_array(value))
        .map(Vec::as_slice)
}

/// The items printed with Python's `str()`, joined with `delimiter`.
fn join_py_str(items: &[Value], delimiter: &str) -> String {
    items.iter().map(py_str).collect::<Vec<_>>().join(delimiter)
}

/// How keys to delete are recognised.
enum KeyMatcher<'a> {
    /// Any of these regular expressions finds a match in the key.
    Patterns(Arc<RegexSet>),
    /// The key contains this text.
    Substring(&'a str),
}

impl KeyMatcher<'_> {
    fn matches(&self, key: &str) -> bool {
        match self {
            Self::Patterns(set) => set.is_match(key),
            Self::Substring(text) => key.contains(text),
        }
    }
}

/// How many pattern lists [`compile_patterns`] keeps compiled (a rule's context, and so its
/// list, is the same for all its alerts).
const COMPILED_LISTS: usize = 64;

/// The patterns compiled, from a cache of the last [`COMPILED_LISTS`] lists (a list that does
/// not compile is not kept: its error is made again).
fn compile_patterns(patterns: &[&str]) -> Result<KeyMatcher<'static>, PublishError> {
    type Compiled = Vec<(Vec<String>, Arc<RegexSet>)>;
    static CACHE: Mutex<Compiled> = Mutex::new(Vec::new());
    let same = |list: &[String]| list.iter().map(String::as_str).eq(patterns.iter().copied());
    let cached = CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .find(|(list, _)| same(list))
        .map(|(_, set)| Arc::clone(set));
    if let Some(set) = cached {
        return Ok(KeyMatcher::Patterns(set));
    }
    let set = Arc::new(compile_set(patterns)?);
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= COMPILED_LISTS {
        cache.remove(0);
    }
    let list = patterns.iter().map(|p| (*p).to_owned()).collect();
    cache.push((list, Arc::clone(&set)));
    Ok(KeyMatcher::Patterns(set))
}

/// Compiles each pattern on its own first, so that an error names the pattern that failed.
fn compile_set(patterns: &[&str]) -> Result<RegexSet, PublishError> {
    for pattern in patterns {
        Regex::new(pattern).map_err(|error| {
            PublishError::failed(format!(
                "remove_fields pattern `{pattern}` cannot be compiled: {error}"
            ))
        })?;
    }
    RegexSet::new(patterns).map_err(|error| {
        PublishError::failed(format!(
            "remove_fields patterns cannot be compiled: {error}"
        ))
    })
}

/// `publication` without the keys `matcher` matches, at any depth: a shared record is copied
/// without them ([`pruned_copy`]) instead of copied whole, then pruned.
fn without_matching_keys(publication: Publication, matcher: &KeyMatcher<'_>) -> Publication {
    let mut record_pruned = false;
    let mut map = publication.into_map_copying_record(|record| {
        record_pruned = true;
        pruned_copy(record, matcher)
    });
    map.retain(|key, _| !matcher.matches(key));
    for (key, value) in &mut map {
        if !(record_pruned && key == RECORD) {
            delete_matching_keys(value, matcher);
        }
    }
    map.into()
}

/// A copy of `value` as [`delete_matching_keys`] leaves it, made without copying what it
/// deletes: a subtree with no matching key is cloned whole.
fn pruned_copy(value: &Value, matcher: &KeyMatcher<'_>) -> Value {
    if !has_matching_key(value, matcher) {
        return value.clone();
    }
    match value {
        Value::Object(map) => {
            let mut copy = Map::with_capacity(map.len());
            for (key, child) in map.iter().filter(|(key, _)| !matcher.matches(key)) {
                copy.insert(key.clone(), pruned_copy(child, matcher));
            }
            Value::Object(copy)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|child| pruned_copy(child, matcher))
                .collect(),
        ),
        scalar => scalar.clone(),
    }
}

/// Whether any object in `value`, at any depth, has a key `matcher` matches.
fn has_matching_key(value: &Value, matcher: &KeyMatcher<'_>) -> bool {
    let mut stack = vec![value];
    while let Some(node) = stack.pop() {
        match node {
            Value::Object(map) => {
                if map.keys().any(|key| matcher.matches(key)) {
                    return true;
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    false
}

/// Deletes the matching keys of every object at any depth, lists included (StreamAlert's
/// `_delete_dictionary_fields`). Deleting with several patterns at once gives the same result
/// as one pass per pattern: a key survives when no pattern matches it or any of its parents.
fn delete_matching_keys(root: &mut Value, matcher: &KeyMatcher<'_>) {
    let mut queue = VecDeque::from([root]);
    while let Some(node) = queue.pop_front() {
        match node {
            Value::Object(map) => {
                map.retain(|key, _| !matcher.matches(key));
                queue.extend(map.values_mut());
            }
            Value::Array(items) => queue.extend(items.iter_mut()),
            _ => {}
        }
    }
}

/// The strings of the alert's context list `key` (none when the key is absent).
fn context_strings<'a>(alert: &'a Alert, key: &str) -> Result<Vec<&'a str>, PublishError> {
    let Some(value) = alert.context.get(key) else {
        return Ok(Vec::new());
    };
    let not_strings = || {
        PublishError::failed(format!(
            "context `{key}` must be a list of strings, found {value}"
        ))
    };
    value
        .as_array()
        .ok_or_else(not_strings)?
        .iter()
        .map(|item| item.as_str().ok_or_else(not_strings))
        .collect()
}

/// Pushes every leaf of `value` with its path, in document order: `path.key` below an
/// object (`key` while the path is empty), `path[index]` below a list. `path` is one buffer
/// for the whole walk: a leaf's path is copied once, when it is pushed.
fn push_leaves(value: Value, path: &mut String, leaves: &mut Vec<(String, Value)>) {
    let parent = path.len();
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if parent > 0 {
                    path.push('.');
                }
                path.push_str(&key);
                push_leaves(child, path, leaves);
                path.truncate(parent);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.into_iter().enumerate() {
                // Writing an integer to a `String` cannot fail.
                let _ = write!(path, "[{index}]");
                push_leaves(child, path, leaves);
                path.truncate(parent);
            }
        }
        leaf => leaves.push((path.clone(), leaf)),
    }
}

/// The publication of an object value (an empty one for anything else, which the callers
/// never produce: they only edit inside the object).
fn into_publication(value: Value) -> Publication {
    match value {
        Value::Object(map) => map.into(),
        _ => Publication::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn publication(value: Value) -> Publication {
        into_publication(value)
    }

    fn alert_with_context(context: Value) -> Alert {
        let mut alert = Alert::new("r", json!({}), ["slack:c"]);
        alert.context = context.as_object().cloned().unwrap_or_default();
        alert
    }

    /// A list is compiled once and then shared; another list, or a list that does not
    /// compile, is not mistaken for it.
    #[test]
    fn remove_fields_patterns_are_compiled_once_per_list() {
        let set = |patterns: &[&str]| match compile_patterns(patterns) {
            Ok(KeyMatcher::Patterns(set)) => set,
            _ => panic!("{patterns:?} compiles to a set"),
        };
        let first = set(&["^cache_a$", "b"]);
        assert!(Arc::ptr_eq(&first, &set(&["^cache_a$", "b"])));
        let other = set(&["^cache_a$"]);
        assert!(!Arc::ptr_eq(&first, &other));
        assert!(other.is_match("cache_a") && !other.is_match("b"));
        for _ in 0..2 {
            assert!(compile_patterns(&["(?<=a)b"]).is_err());
        }
    }

    /// The record is shared with the alert until a later publisher changes it.
    #[test]
    fn add_record_shares_the_alerts_record() {
        let alert = Alert::new("r", json!({"user": "root"}), ["slack:c"]);
        let mut added = add_record(&alert, publication(json!({"a": 1, "record": 0, "b": 2})));
        assert!(std::ptr::eq(&added["record"], &*alert.record));
        assert_eq!(added.keys().collect::<Vec<_>>(), ["a", "record", "b"]);
        added.get_mut("record").unwrap()["user"] = "alice".into();
        assert_eq!(
            (&added["record"]["user"], &alert.record["user"]),
            (&json!("alice"), &json!("root"))
        );
    }

    #[test]
    fn remove_fields_applies_every_pattern_at_every_depth() {
        let alert = alert_with_context(json!({"remove_fields": ["id", "^x$"]}));
        let input = publication(
            json!({"ids": 1, "keep": [{"identity": 2, "x": 3, "y": {"x": 4, "xx": 5}}]}),
        );
        let output = remove_fields(&alert, input).unwrap();
        assert_eq!(Value::from(output), json!({"keep": [{"y": {"xx": 5}}]}));
    }

    /// A shared record is copied without the keys removed; the result is what removing them
    /// from a whole copy gives, at every depth and in lists, whether or not the record is
    /// shared, and the alert's record is left as it was.
    #[test]
    fn removing_keys_from_a_shared_record_matches_removing_them_from_a_copy() {
        let record = json!({
            "a": {"streamalert_normalization": 1, "b": [{"x_streamalert_normalization_y": 2, "c": 3}, 4]},
            "streamalert_normalization": {"ip": [{"values": ["198.51.100.23"]}]},
            "untouched": {"deep": [[{"k": null}]], "n": 1.50},
            "record": {"id": 5},
            "ids": [{"identity": 6, "z": 7}]
        });
        let cases = [
            (
                json!({"remove_fields": ["id"]}),
                json!({
                    "a": {"streamalert_normalization": 1, "b": [{"x_streamalert_normalization_y": 2, "c": 3}, 4]},
                    "streamalert_normalization": {"ip": [{"values": ["198.51.100.23"]}]},
                    "untouched": {"deep": [[{"k": null}]], "n": 1.50},
                    "record": {}
                }),
                json!({"streamalert_normalization": 1, "k": 3}),
            ),
            (
                json!({"remove_fields": ["^rec"]}),
                Value::Null,
                json!({"streamalert_normalization": 1, "ids": 2, "k": 3}),
            ),
            (
                json!({}),
                json!({
                    "a": {"b": [{"c": 3}, 4]},
                    "untouched": {"deep": [[{"k": null}]], "n": 1.50},
                    "record": {"id": 5},
                    "ids": [{"identity": 6, "z": 7}]
                }),
                json!({"ids": 2, "k": 3}),
            ),
        ];
        // Beside the record, a value with keys to remove too.
        let beside = json!({"id": "x", "keep": {"streamalert_normalization": 1, "ids": 2, "k": 3}});
        for (context, expected, expected_keep) in cases {
            let mut alert = alert_with_context(context.clone());
            alert.record = Arc::new(record.clone());
            let remove = |publication: Publication| match context.get("remove_fields") {
                Some(_) => remove_fields(&alert, publication).unwrap(),
                None => remove_streamalert_normalization(&alert, publication),
            };
            let shared = remove(add_record(&alert, publication(beside.clone())));
            let mut whole = beside.clone();
            whole["record"] = record.clone();
            let owned = remove(publication(whole));
            assert_eq!(Value::from(shared.clone()), Value::from(owned), "{context}");
            assert_eq!(shared["keep"], expected_keep, "{context}");
            assert_eq!(
                shared.get("record").cloned().unwrap_or(Value::Null),
                expected,
                "{context}"
            );
            assert_eq!(
                *alert.record, record,
                "the alert's record is unchanged: {context}"
            );
        }
    }

    #[test]
    fn remove_fields_rejects_non_string_patterns() {
        let alert = alert_with_context(json!({"remove_fields": "^x$"}));
        assert!(remove_fields(&alert, Publication::new()).is_err());
        let alert = alert_with_context(json!({"remove_fields": [1]}));
        assert!(remove_fields(&alert, Publication::new()).is_err());
    }

    #[test]
    fn enumerate_fields_keeps_the_last_of_colliding_paths() {
        let alert = alert_with_context(json!({}));
        let flat = enumerate_fields(
            &alert,
            publication(json!({"a": {"b": 1}, "a.b": 2, "n": null})),
        );
        assert_eq!(Value::from(flat), json!({"a.b": 2, "n": null}));
        let flat = enumerate_fields(&alert, publication(json!({"a.b": 2, "a": {"b": 1}})));
        assert_eq!(Value::from(flat), json!({"a.b": 1}));
    }

    /// Paths at every depth: an empty key adds nothing at the top level and a bare `.` below
    /// it, lists of lists index twice, empty objects and lists leave no entry.
    #[test]
    fn enumerate_fields_paths_empty_keys_nested_lists_and_empty_containers() {
        let alert = alert_with_context(json!({}));
        let nested = json!({
            "": {"x": 1},
            "a": {"": 2, "l": [[3], [], {"k": 4}, [[5]]]},
            "e": {},
            "n": null
        });
        let flat = enumerate_fields(&alert, publication(nested));
        assert_eq!(
            flat.keys().collect::<Vec<_>>(),
            ["a.", "a.l[0][0]", "a.l[2].k", "a.l[3][0][0]", "n", "x"]
        );
        assert_eq!(
            Value::from(flat),
            json!({"a.": 2, "a.l[0][0]": 3, "a.l[2].k": 4, "a.l[3][0][0]": 5, "n": null, "x": 1})
        );
    }

    #[test]
    fn stringify_arrays_walks_lists_of_objects() {
        let input = publication(json!({"l": [{"k": ["x", 2.5]}, ["y"]]}));
        let output = stringify_arrays(input, "|");
        assert_eq!(Value::from(output), json!({"l": [{"k": "x|2.5"}, ["y"]]}));
    }

    #[test]
    fn populate_fields_never_enters_normalization() {
        let alert = alert_with_context(json!({"populate_fields": ["ip"]}));
        let input = publication(json!({"streamalert_normalization": {"ip": [1]}, "r": {"ip": 2}}));
        assert_eq!(
            Value::from(populate_fields(&alert, input).unwrap()),
            json!({"ip": [2]})
        );
    }
}
