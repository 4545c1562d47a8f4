//! Functions rules use (StreamAlert's `rules/helpers/base.py` and the helpers it re-exports).
//!
//! They keep StreamAlert's semantics, Python quirks included, so community rules port line by
//! line: a text test on something that is not text is `false`; [`py_eq`] is Python's `==`
//! (`1 == 1.0`, `true == 1`); [`is_truthy`] is Python's truthiness.
//!
//! ```
//! use streamalert::rule::helpers::{contains_any, get_keys, is_truthy};
//! use serde_json::json;
//!
//! let rec = json!({"detail": {"requestParameters": {"cidrIp": "0.0.0.0/0"}}, "errorCode": ""});
//! assert_eq!(get_keys(&rec, "cidrIp", None), [&json!("0.0.0.0/0")]);
//! assert!(contains_any(&rec["detail"]["requestParameters"]["cidrIp"], ["0.0.0.0"]));
//! assert!(!is_truthy(&rec["errorCode"]));
//! ```

mod glob;
mod net;

pub use crate::json::{get_first_key, get_keys};
pub use glob::{fnmatch, path_match};
pub use net::{in_network, valid_ip};

use crate::alert::Record;
use crate::json::NORMALIZATION_KEY;
use serde_json::{Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// A value the text helpers accept: `str`, `String`, or a JSON value (text only when it is a
/// JSON string). Python's helpers return `false` for a non-string; so do these.
///
/// ```
/// use streamalert::rule::helpers::MaybeText;
/// assert_eq!("a".maybe_text(), Some("a"));
/// assert_eq!(serde_json::json!("b").maybe_text(), Some("b"));
/// assert_eq!(serde_json::json!(1).maybe_text(), None);
/// ```
pub trait MaybeText {
    /// The text, when there is some.
    fn maybe_text(&self) -> Option<&str>;
}

impl MaybeText for str {
    fn maybe_text(&self) -> Option<&str> {
        Some(self)
    }
}

impl MaybeText for String {
    fn maybe_text(&self) -> Option<&str> {
        Some(self)
    }
}

impl MaybeText for Value {
    fn maybe_text(&self) -> Option<&str> {
        self.as_str()
    }
}

impl<T: MaybeText + ?Sized> MaybeText for &T {
    fn maybe_text(&self) -> Option<&str> {
        (**self).maybe_text()
    }
}

/// True when `text` is text that starts with any of `prefixes`.
///
/// ```
/// use streamalert::rule::helpers::starts_with_any;
/// use serde_json::json;
/// assert!(starts_with_any("staff.fake_login", ["staff."]));
/// assert!(starts_with_any(&json!("abc"), ["x", "a"]));
/// assert!(!starts_with_any(&json!(1), ["1"]));
/// ```
pub fn starts_with_any<T, I, S>(text: &T, prefixes: I) -> bool
where
    T: MaybeText + ?Sized,
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    text.maybe_text()
        .is_some_and(|text| prefixes.into_iter().any(|p| text.starts_with(p.as_ref())))
}

/// True when `text` is text that ends with any of `suffixes`.
///
/// ```
/// use streamalert::rule::helpers::ends_with_any;
/// assert!(ends_with_any("foo.evil.com.", [".evil.com."]));
/// assert!(!ends_with_any("evil.com.", [".evil.com."]));
/// ```
pub fn ends_with_any<T, I, S>(text: &T, suffixes: I) -> bool
where
    T: MaybeText + ?Sized,
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    text.maybe_text()
        .is_some_and(|text| suffixes.into_iter().any(|s| text.ends_with(s.as_ref())))
}

/// True when `text` is text that contains any of `substrings`.
///
/// ```
/// use streamalert::rule::helpers::contains_any;
/// assert!(contains_any("uri=http://acs.amazonaws.com/groups/global/AllUsers", ["/AllUsers"]));
/// assert!(!contains_any("abc", ["d"]));
/// ```
pub fn contains_any<T, I, S>(text: &T, substrings: I) -> bool
where
    T: MaybeText + ?Sized,
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    text.maybe_text()
        .is_some_and(|text| substrings.into_iter().any(|s| text.contains(s.as_ref())))
}

/// True when `text` is text matching any of the shell-style `patterns` ([`fnmatch`]).
///
/// ```
/// use streamalert::rule::helpers::matches_any;
/// assert!(matches_any("abc", ["x*", "a*c"]));
/// assert!(!matches_any("abc", ["a?"]));
/// ```
pub fn matches_any<T, I, S>(text: &T, patterns: I) -> bool
where
    T: MaybeText + ?Sized,
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    text.maybe_text()
        .is_some_and(|text| patterns.into_iter().any(|p| fnmatch(text, p.as_ref())))
}

/// True when `text` is a path matching any of `patterns` component by component
/// ([`path_match`]): unlike [`matches_any`], `*` stays within one directory.
///
/// ```
/// use streamalert::rule::helpers::path_matches_any;
/// assert!(path_matches_any("/Users/foobar/path/to/file", ["/Users/*/path/*/file"]));
/// assert!(!path_matches_any("/Users/foobar/path/to/file", ["/Users/*/file"]));
/// ```
pub fn path_matches_any<T, I, S>(text: &T, patterns: I) -> bool
where
    T: MaybeText + ?Sized,
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    text.maybe_text()
        .is_some_and(|text| patterns.into_iter().any(|p| path_match(text, p.as_ref())))
}

/// Python's truthiness of a JSON value: `null`, `false`, `0`, `0.0`, `""`, `[]` and `{}` are
/// false, everything else is true.
///
/// ```
/// use streamalert::rule::helpers::is_truthy;
/// use serde_json::json;
/// assert!(is_truthy(&json!("AccessDenied")));
/// assert!(!is_truthy(&json!("")));
/// assert!(!is_truthy(&json!(0)));
/// assert!(!is_truthy(&json!(null)));
/// ```
pub fn is_truthy(value: &Value) -> bool {
    !crate::alert::is_falsy(value)
}

pub use crate::json::py_eq;

/// Python's `int(value)` of a JSON value: integers as they are, floats truncated, booleans as
/// 0 and 1, text parsed as a base-10 integer (surrounding whitespace, a sign and `_` between
/// digits allowed). `None` where Python raises.
///
/// ```
/// use streamalert::rule::helpers::py_int;
/// use serde_json::json;
/// assert_eq!(py_int(&json!("7")), Some(7));
/// assert_eq!(py_int(&json!(" -1_000 ")), Some(-1000));
/// assert_eq!(py_int(&json!(7.9)), Some(7));
/// assert_eq!(py_int(&json!("7.0")), None);
/// assert_eq!(py_int(&json!(null)), None);
/// ```
pub fn py_int(value: &Value) -> Option<i64> {
    match value {
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 9.2e18)
                .map(|f| f.trunc() as i64)
        }),
        Value::String(s) => parse_py_int(s.trim()),
        _ => None,
    }
}

fn parse_py_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let well_formed = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|c| c.is_ascii_digit() || c == '_');
    if !well_formed {
        return None;
    }
    let magnitude: i64 = digits.replace('_', "").parse().ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// True when the epoch time `unixtime` (seconds; a number or numeric text) lies within the
/// last hour. A falsy time (`null`, `""`, `0`) or one that is not an integer is `false`.
///
/// ```
/// use streamalert::rule::helpers::last_hour;
/// use serde_json::json;
/// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
/// assert!(last_hour(&json!(now - 60)));
/// assert!(last_hour(&json!((now - 60).to_string())));
/// assert!(!last_hour(&json!(now - 7200)));
/// assert!(!last_hour(&json!("")));
/// ```
pub fn last_hour(unixtime: &Value) -> bool {
    last_hours(unixtime, 1)
}

/// True when the epoch time `unixtime` lies within the last `hours` hours (as [`last_hour`]).
///
/// ```
/// use streamalert::rule::helpers::last_hours;
/// use serde_json::json;
/// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
/// assert!(last_hours(&json!(now - 7200), 3));
/// assert!(!last_hours(&json!(now - 7200), 1));
/// ```
pub fn last_hours(unixtime: &Value, hours: i64) -> bool {
    last_hours_at(unixtime, hours, now_secs())
}

/// [`last_hours`] at the given current time (epoch seconds).
pub(crate) fn last_hours_at(unixtime: &Value, hours: i64, now: i64) -> bool {
    if !is_truthy(unixtime) {
        return false;
    }
    py_int(unixtime).is_some_and(|time| now.saturating_sub(time) <= hours.saturating_mul(3600))
}

/// The current time in whole epoch seconds (Python's `int(time.time())`).
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// True when `data` holds `search` at any depth: a leaf (a value that is neither list nor
/// object) equal to it in Python's sense ([`py_eq`]).
///
/// ```
/// use streamalert::rule::helpers::data_has_value;
/// use serde_json::json;
/// let data = json!({"a": [{"b": "needle"}], "c": 5});
/// assert!(data_has_value(&data, &json!("needle")));
/// assert!(data_has_value(&data, &json!(5.0)));
/// assert!(!data_has_value(&data, &json!("need")));
/// ```
pub fn data_has_value(data: &Value, search: &Value) -> bool {
    any_leaf(data, &mut |leaf| py_eq(leaf, search))
}

/// True when `data` holds, at any depth, a text leaf containing `substring`.
///
/// ```
/// use streamalert::rule::helpers::data_has_value_with_substring;
/// use serde_json::json;
/// assert!(data_has_value_with_substring(&json!({"a": ["xx-needle-xx"]}), "needle"));
/// assert!(!data_has_value_with_substring(&json!({"a": 1}), "1"));
/// ```
pub fn data_has_value_with_substring(data: &Value, substring: &str) -> bool {
    any_leaf(data, &mut |leaf| {
        leaf.as_str().is_some_and(|text| text.contains(substring))
    })
}

/// True when `data` holds, at any depth, a truthy leaf matching any of the shell-style
/// `patterns` ([`matches_any`]).
///
/// ```
/// use streamalert::rule::helpers::data_has_value_from_list;
/// use serde_json::json;
/// assert!(data_has_value_from_list(&json!({"a": {"b": "/tmp/evil.sh"}}), ["/tmp/*"]));
/// assert!(!data_has_value_from_list(&json!({"a": ""}), ["*"]));
/// ```
pub fn data_has_value_from_list<I, S>(data: &Value, patterns: I) -> bool
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let patterns: Vec<S> = patterns.into_iter().collect();
    any_leaf(data, &mut |leaf| {
        is_truthy(leaf) && matches_any(leaf, patterns.iter().map(AsRef::as_ref))
    })
}

/// True when `data` holds, at any depth, a non-empty text leaf containing any of `needles`.
///
/// StreamAlert raises (and so the rule does not trigger) when it meets a truthy leaf that is
/// not text before a match; here such a leaf simply does not match.
///
/// ```
/// use streamalert::rule::helpers::data_has_value_from_substring_list;
/// use serde_json::json;
/// let params = json!({"AccessControlList": {"x_amz_grant_read": "uri=http://acs.amazonaws.com/groups/global/AllUsers"}});
/// assert!(data_has_value_from_substring_list(&params, ["groups/global/AllUsers"]));
/// assert!(!data_has_value_from_substring_list(&params, ["AuthenticatedUsers"]));
/// ```
pub fn data_has_value_from_substring_list<I, S>(data: &Value, needles: I) -> bool
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let needles: Vec<S> = needles.into_iter().collect();
    any_leaf(data, &mut |leaf| {
        leaf.as_str()
            .is_some_and(|text| needles.iter().any(|n| text.contains(n.as_ref())))
    })
}

/// Visits the leaves of `data` depth first (object values and list elements in order) until
/// `test` returns true.
fn any_leaf(data: &Value, test: &mut dyn FnMut(&Value) -> bool) -> bool {
    match data {
        Value::Array(items) => items.iter().any(|item| any_leaf(item, test)),
        Value::Object(map) => map.values().any(|value| any_leaf(value, test)),
        leaf => test(leaf),
    }
}

/// The JSON value in `text`, or an empty object when it does not parse (StreamAlert's
/// `safe_json_loads`).
///
/// ```
/// use streamalert::rule::helpers::safe_json_loads;
/// use serde_json::json;
/// assert_eq!(safe_json_loads(r#"{"auto_generated": false}"#)["auto_generated"], json!(false));
/// assert_eq!(safe_json_loads("not json"), json!({}));
/// ```
pub fn safe_json_loads(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::Object(Map::new()))
}

/// Why a helper refused its arguments.
///
/// ```
/// use streamalert::rule::helpers::{HelperError, random_bool};
/// assert_eq!(random_bool(2.0), Err(HelperError::Probability(2.0)));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum HelperError {
    /// [`random_bool`] needs a probability between 0 and 1.
    #[error("Probability must be between 0.0 and 1.0, found {0}")]
    Probability(f64),
}

/// `true` with probability `probability_of_true` (0 to 1): for very noisy rules where a sample
/// of the matches is enough.
///
/// ```
/// use streamalert::rule::helpers::random_bool;
/// assert_eq!(random_bool(1.0), Ok(true));
/// assert!(random_bool(1.5).is_err());
/// ```
pub fn random_bool(probability_of_true: f64) -> Result<bool, HelperError> {
    if !(0.0..=1.0).contains(&probability_of_true) {
        return Err(HelperError::Probability(probability_of_true));
    }
    let bits = u64::from_le_bytes(
        uuid::Uuid::new_v4().as_bytes()[..8]
            .try_into()
            .unwrap_or([0; 8]),
    );
    // 53 random bits give a uniform float in [0, 1), as Python's `random.random()`.
    let sample = (bits >> 11) as f64 / (1u64 << 53) as f64;
    Ok(sample <= probability_of_true)
}

/// Every distinct value the normalizer recorded for `datatype` (e.g. `command`, `sourceAddress`)
/// under the record's `streamalert_normalization` key; empty when there is none. This is how a
/// rule declared with `datatypes` reads its values (StreamAlert's
/// `Normalizer.get_values_for_normalized_type`).
///
/// ```
/// use streamalert::rule::helpers::normalized_values;
/// use serde_json::json;
/// let rec = json!({"streamalert_normalization": {"command": [
///     {"function": null, "values": ["ls -l", "id"]},
///     {"function": null, "values": ["id"]},
/// ]}});
/// assert_eq!(normalized_values(&rec, "command"), [&json!("ls -l"), &json!("id")]);
/// assert!(normalized_values(&rec, "path").is_empty());
/// ```
pub fn normalized_values<'a>(record: &'a Record, datatype: &str) -> Vec<&'a Value> {
    let mut values: Vec<&Value> = Vec::new();
    let results = record
        .get(NORMALIZATION_KEY)
        .and_then(|types| types.get(datatype))
        .and_then(Value::as_array);
    for value in results
        .into_iter()
        .flatten()
        .filter_map(|result| result.get("values").and_then(Value::as_array))
        .flatten()
    {
        if !values.contains(&value) {
            values.push(value);
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn last_hours_follows_python() {
        let now = 1_700_000_000;
        assert!(last_hours_at(&json!(now - 3600), 1, now));
        assert!(!last_hours_at(&json!(now - 3601), 1, now));
        assert!(last_hours_at(&json!(format!("{}", now - 10)), 1, now));
        assert!(!last_hours_at(&json!(0), 1, now));
        assert!(!last_hours_at(&json!("0"), 1, now));
        assert!(!last_hours_at(&json!("soon"), 1, now));
        assert!(last_hours_at(&json!(now + 100), 1, now));
    }

    #[test]
    fn py_eq_and_int() {
        assert!(py_eq(&json!(false), &json!(0)));
        assert!(!py_eq(&json!(null), &json!(false)));
        assert!(!py_eq(&json!([1]), &json!([1, 2])));
        assert!(!py_eq(&json!({"a": 1}), &json!({"b": 1})));
        assert!(py_eq(&json!(u64::MAX), &json!(u64::MAX)));
        assert!(!py_eq(&json!(u64::MAX), &json!(u64::MAX - 1)));
        assert_eq!(py_int(&json!("+5")), Some(5));
        assert_eq!(py_int(&json!("1__0")), None);
        assert_eq!(py_int(&json!("-")), None);
        assert_eq!(py_int(&json!(true)), Some(1));
    }

    #[test]
    fn leaf_searches() {
        let data = json!({"a": [true, {"b": "x-AllUsers"}], "n": null});
        assert!(data_has_value_from_substring_list(&data, ["AllUsers"]));
        assert!(data_has_value(&data, &json!(null)));
        assert!(data_has_value(&data, &json!(1)));
        assert!(!data_has_value_from_list(&json!([0, null, ""]), ["*"]));
    }

    #[test]
    fn random_bool_edges() {
        assert_eq!(random_bool(0.0).map(|_| ()), Ok(()));
        assert_eq!(random_bool(-0.1), Err(HelperError::Probability(-0.1)));
        assert!(random_bool(f64::NAN).is_err());
    }
}
