//! Searching a record for a key at any depth (StreamAlert's `get_keys` / `get_first_key`).

use serde_json::Value;
use std::collections::VecDeque;

/// The key StreamAlert's normalizer adds to records; searches never enter it.
pub const NORMALIZATION_KEY: &str = "streamalert_normalization";

/// Every value stored under `key` at any depth, breadth first, at most `max_matches` of them.
///
/// A dict holding the key contributes its value first; then its non-empty dicts and lists are
/// searched in insertion order (a matched container included). Values under
/// `streamalert_normalization` are never entered.
///
/// ```
/// use streamalert::json::get_keys;
/// use serde_json::json;
/// let data = json!({"a": {"id": 1}, "id": 0, "list": [{"id": 2}], "streamalert_normalization": {"id": 9}});
/// assert_eq!(get_keys(&data, "id", None), [&json!(0), &json!(1), &json!(2)]);
/// assert_eq!(get_keys(&data, "id", Some(1)), [&json!(0)]);
/// ```
pub fn get_keys<'a>(data: &'a Value, key: &str, max_matches: Option<usize>) -> Vec<&'a Value> {
    let mut results = Vec::new();
    if max_matches == Some(0) {
        return results;
    }
    let mut queue: VecDeque<&Value> = VecDeque::from([data]);
    while let Some(container) = queue.pop_front() {
        match container {
            Value::Object(map) => {
                if let Some(found) = map.get(key) {
                    results.push(found);
                    if Some(results.len()) == max_matches {
                        break;
                    }
                }
                queue.extend(
                    map.iter()
                        .filter(|(k, v)| {
                            k.as_str() != NORMALIZATION_KEY && is_nonempty_container(v)
                        })
                        .map(|(_, v)| v),
                );
            }
            Value::Array(items) => queue.extend(items.iter().filter(|v| is_nonempty_container(v))),
            _ => {}
        }
    }
    results
}

/// The first value under `key` found by [`get_keys`], if any.
///
/// ```
/// use streamalert::json::get_first_key;
/// let data = serde_json::json!({"detail": {"userName": "alice"}});
/// assert_eq!(get_first_key(&data, "userName"), Some(&serde_json::json!("alice")));
/// assert_eq!(get_first_key(&data, "missing"), None);
/// ```
pub fn get_first_key<'a>(data: &'a Value, key: &str) -> Option<&'a Value> {
    get_keys(data, key, Some(1)).into_iter().next()
}

fn is_nonempty_container(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    }
}
