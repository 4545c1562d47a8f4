//! Merging alerts of one rule: StreamAlert's `Alert.can_merge`, `Alert.merge` and the alert
//! merger's grouping (`publishers-rules.md` §2.7).
//!
//! A rule with `merge_by_keys` and a non-zero merge window sends each alert to the required
//! output at once; its other outputs receive one merged alert per group of alerts that share
//! the merge keys' values and fit in one window. [`merge_groups`] forms the groups and
//! [`Alert::merge`] builds each group's merged alert.
//!
//! Values are compared as Python compares them, because StreamAlert's merge decisions and the
//! common/diff split use Python's `==`: objects regardless of key order, `1 == 1.0`, and
//! `true == 1`.

use super::{Alert, Timestamp};
use crate::json::{get_first_key, py_eq};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The most alerts one merge group holds (StreamAlert's `AlertMergeGroup.MAX_ALERTS_PER_GROUP`);
/// it caps the size of a merged alert. Further matching alerts start a new group.
///
/// ```
/// use streamalert::Alert;
/// use streamalert::alert::{MAX_ALERTS_PER_GROUP, Timestamp, merge_groups};
///
/// let mut alert = Alert::new("r", serde_json::json!({"host": "h1"}), ["slack:c"]);
/// alert.merge_by_keys = vec!["host".into()];
/// alert.merge_window_mins = 5;
/// alert.created = "2000-01-01T00:00:00.000000Z".parse().unwrap();
/// let alerts = vec![alert; MAX_ALERTS_PER_GROUP + 1];
/// let groups = merge_groups(&alerts, Timestamp::now());
/// assert_eq!(groups.len(), 2);
/// assert_eq!(groups[0].len(), MAX_ALERTS_PER_GROUP);
/// assert_eq!(groups[1], [MAX_ALERTS_PER_GROUP]);
/// ```
pub const MAX_ALERTS_PER_GROUP: usize = 50;

/// The `MergedBy` value of a merge key the oldest alert's record does not hold.
///
/// ```
/// use streamalert::Alert;
/// use streamalert::alert::MERGED_BY_MISSING;
///
/// let mut alert = Alert::new("r", serde_json::json!({"other": 1}), ["slack:c"]);
/// alert.merge_by_keys = vec!["host".into()];
/// let merged = Alert::merge([&alert]).unwrap();
/// assert_eq!(merged.record["MergedBy"]["host"], MERGED_BY_MISSING);
/// ```
pub const MERGED_BY_MISSING: &str = "(n/a)";

impl Alert {
    /// True when `other` may be merged with this alert (StreamAlert's `Alert.can_merge`):
    ///
    /// 1. both alerts are [merge-enabled](Alert::merge_enabled);
    /// 2. the newer alert was created at most the **older** alert's merge window after the older
    ///    one (exactly on the edge still merges);
    /// 3. both have the same merge keys, compared as sets;
    /// 4. for every merge key, the first value found in each record
    ///    ([`get_first_key`], breadth first, never inside
    ///    `streamalert_normalization`) is equal. A key missing from a record counts as `null`,
    ///    so a key missing from both records matches.
    ///
    /// The answer does not depend on which alert is `self`.
    ///
    /// ```
    /// use streamalert::Alert;
    /// use serde_json::json;
    ///
    /// let alert = |record, created: &str| {
    ///     let mut alert = Alert::new("r", record, ["slack:c"]);
    ///     alert.merge_by_keys = vec!["host".into()];
    ///     alert.merge_window_mins = 10;
    ///     alert.created = created.parse().unwrap();
    ///     alert
    /// };
    /// let first = alert(json!({"host": "h1", "n": 1}), "2000-01-01T00:00:00.000000Z");
    /// let edge = alert(json!({"detail": {"host": "h1"}}), "2000-01-01T00:10:00.000000Z");
    /// let late = alert(json!({"host": "h1"}), "2000-01-01T00:10:00.000001Z");
    /// let other_host = alert(json!({"host": "h2"}), "2000-01-01T00:01:00.000000Z");
    /// assert!(first.can_merge(&edge) && edge.can_merge(&first));
    /// assert!(!first.can_merge(&late));
    /// assert!(!first.can_merge(&other_host));
    /// ```
    pub fn can_merge(&self, other: &Alert) -> bool {
        if !self.merge_enabled() || !other.merge_enabled() {
            return false;
        }
        // Python's min/max: on equal times `self` is the older one (either way the window of an
        // equally old alert cannot be exceeded).
        let (older, newer) = if other.created < self.created {
            (other, self)
        } else {
            (self, other)
        };
        if newer.created > older.created.plus_minutes(older.merge_window_mins) {
            return false;
        }
        let keys = |alert: &Alert| {
            alert
                .merge_by_keys
                .iter()
                .cloned()
                .collect::<BTreeSet<String>>()
        };
        if keys(self) != keys(other) {
            return false;
        }
        self.merge_by_keys.iter().all(|key| {
            let mine = get_first_key(&self.record, key).unwrap_or(&Value::Null);
            let theirs = get_first_key(&other.record, key).unwrap_or(&Value::Null);
            py_eq(mine, theirs)
        })
    }

    /// Combines alerts into one new merged alert (StreamAlert's `Alert.merge`); `None` when
    /// there are no alerts. The caller decides which alerts belong together, normally with
    /// [`merge_groups`].
    ///
    /// The alerts are put in `created` order (equal times keep their given order). The merge
    /// keys are those of the oldest alert; they are removed from every record at every object
    /// depth (arrays are not entered) before the records are split into the values common to
    /// all of them ([`Alert::compute_common`]) and each record's differences
    /// ([`Alert::compute_diff`]). The merged record holds, in this order:
    ///
    /// | key | value |
    /// |---|---|
    /// | `AlertCount` | the number of alerts |
    /// | `AlertTimeFirst`, `AlertTimeLast` | the oldest and newest `created` |
    /// | `MergedBy` | each merge key (in the oldest alert's order) with its first value in the oldest alert's original record, or [`MERGED_BY_MISSING`] |
    /// | `OtherCommonKeys` | the common values |
    /// | `ValueDiffs` | each alert's differences, keyed by its `created`; of alerts created at the same time, the later one's differences win |
    ///
    /// The merged alert takes its outputs from the newest alert and its rule name, cluster,
    /// context, log source and type, publishers, description and source from the oldest; it is
    /// staged if any alert is. It gets a new id, is created now, has 0 attempts, and has no merge
    /// keys or window: it is not merge-enabled, so all its outputs remain to be sent.
    ///
    /// ```
    /// use streamalert::Alert;
    /// use serde_json::json;
    ///
    /// let alert = |record, created: &str, output: &str| {
    ///     let mut alert = Alert::new("failed_logins", record, [output]);
    ///     alert.merge_by_keys = vec!["user".into()];
    ///     alert.merge_window_mins = 5;
    ///     alert.created = created.parse().unwrap();
    ///     alert
    /// };
    /// let newer = alert(json!({"user": "bob", "ip": "10.0.0.2", "kind": "ssh"}),
    ///                   "2000-01-01T00:03:00.000000Z", "slack:new");
    /// let older = alert(json!({"user": "bob", "ip": "10.0.0.1", "kind": "ssh"}),
    ///                   "2000-01-01T00:00:00.000000Z", "slack:old");
    ///
    /// let merged = Alert::merge([&newer, &older]).unwrap();
    /// assert_eq!(*merged.record, json!({
    ///     "AlertCount": 2,
    ///     "AlertTimeFirst": "2000-01-01T00:00:00.000000Z",
    ///     "AlertTimeLast": "2000-01-01T00:03:00.000000Z",
    ///     "MergedBy": {"user": "bob"},
    ///     "OtherCommonKeys": {"kind": "ssh"},
    ///     "ValueDiffs": {
    ///         "2000-01-01T00:00:00.000000Z": {"ip": "10.0.0.1"},
    ///         "2000-01-01T00:03:00.000000Z": {"ip": "10.0.0.2"}
    ///     }
    /// }));
    /// assert_eq!(merged.outputs.iter().collect::<Vec<_>>(), ["slack:new"]);
    /// assert!(!merged.merge_enabled());
    /// assert!(Alert::merge(&Vec::<Alert>::new()).is_none());
    /// ```
    pub fn merge<'a, I>(alerts: I) -> Option<Alert>
    where
        I: IntoIterator<Item = &'a Alert>,
    {
        let mut alerts: Vec<&Alert> = alerts.into_iter().collect();
        alerts.sort_by_key(|alert| alert.created); // stable, like Python's sorted()
        let (&first, &last) = (alerts.first()?, alerts.last()?);

        let mut merge_keys: Vec<&str> = Vec::new();
        for key in &first.merge_by_keys {
            if !merge_keys.contains(&key.as_str()) {
                merge_keys.push(key);
            }
        }
        let records: Vec<Value> = alerts
            .iter()
            .map(|alert| clean_record(&alert.record, &merge_keys))
            .collect();
        let objects: Option<Vec<&Map<String, Value>>> =
            records.iter().map(Value::as_object).collect();
        // Records are objects in practice; should one not be, nothing is common and each
        // record is its own difference.
        let common = objects
            .map(|objects| Alert::compute_common(&objects))
            .unwrap_or_default();

        let merged_by: Map<String, Value> = merge_keys
            .iter()
            .map(|&key| {
                let value = get_first_key(&first.record, key).cloned();
                (
                    key.to_owned(),
                    value.unwrap_or_else(|| MERGED_BY_MISSING.into()),
                )
            })
            .collect();
        let mut value_diffs = Map::new();
        for (alert, record) in alerts.iter().zip(&records) {
            let diff = match record {
                Value::Object(record) if !common.is_empty() => {
                    Value::Object(Alert::compute_diff(&common, record))
                }
                other => other.clone(),
            };
            // A repeated timestamp keeps its first position and takes the later value.
            value_diffs.insert(alert.created.to_string(), diff);
        }
        let first_created = alerts
            .iter()
            .map(|alert| alert.created)
            .min()
            .unwrap_or(first.created);
        let last_created = alerts
            .iter()
            .map(|alert| alert.created)
            .max()
            .unwrap_or(last.created);

        let mut record = Map::with_capacity(6);
        record.insert("AlertCount".into(), alerts.len().into());
        record.insert("AlertTimeFirst".into(), first_created.to_string().into());
        record.insert("AlertTimeLast".into(), last_created.to_string().into());
        record.insert("MergedBy".into(), Value::Object(merged_by));
        record.insert("OtherCommonKeys".into(), Value::Object(common));
        record.insert("ValueDiffs".into(), Value::Object(value_diffs));

        let mut merged = Alert::new(
            first.rule_name.clone(),
            Value::Object(record),
            last.outputs.iter().cloned(),
        );
        merged.cluster = first.cluster.clone();
        merged.context = first.context.clone();
        merged.log_source = first.log_source.clone();
        merged.log_type = first.log_type.clone();
        merged.publishers = first.publishers.clone();
        merged.rule_description = first.rule_description.clone();
        merged.source_entity = first.source_entity.clone();
        merged.source_service = first.source_service.clone();
        merged.staged = alerts.iter().any(|alert| alert.staged);
        Some(merged)
    }

    /// The values common to every record (StreamAlert's `Alert._compute_common`): no records
    /// give `{}`, one record gives itself. Otherwise each key of the first record is kept when
    /// every other record holds an equal value; when the values differ but are objects in every
    /// record, their common part is kept if it is not empty. Keys keep the first record's order.
    ///
    /// ```
    /// use streamalert::Alert;
    /// use serde_json::json;
    ///
    /// let a = json!({"abc": 123, "nested": {"A": 1, "B": 2}, "kind": "x"});
    /// let b = json!({"abc": 123, "def": 456, "nested": {"A": 1}, "kind": {"y": 1}});
    /// let common = Alert::compute_common(&[a.as_object().unwrap(), b.as_object().unwrap()]);
    /// assert_eq!(serde_json::Value::Object(common), json!({"abc": 123, "nested": {"A": 1}}));
    /// ```
    pub fn compute_common(records: &[&Map<String, Value>]) -> Map<String, Value> {
        let Some((first, others)) = records.split_first() else {
            return Map::new();
        };
        if others.is_empty() {
            return (*first).clone();
        }
        let mut common = Map::new();
        for (key, value) in *first {
            let Some(values) = others
                .iter()
                .map(|record| record.get(key))
                .collect::<Option<Vec<&Value>>>()
            else {
                continue; // absent from some record
            };
            if values.iter().all(|other| py_eq(other, value)) {
                common.insert(key.clone(), value.clone());
                continue;
            }
            let Value::Object(object) = value else {
                continue;
            };
            let Some(nested) = values
                .iter()
                .map(|other| other.as_object())
                .collect::<Option<Vec<_>>>()
            else {
                continue; // not an object everywhere: nothing partially common
            };
            let nested_common = Alert::compute_common(&[vec![object], nested].concat());
            if !nested_common.is_empty() {
                common.insert(key.clone(), Value::Object(nested_common));
            }
        }
        common
    }

    /// The part of `record` that is not in `common` (StreamAlert's `Alert._compute_diff`). An
    /// empty `common` gives the whole record. Otherwise each key of the record is kept when
    /// `common` lacks it or holds a different value; when both values are objects only their
    /// difference is kept, if it is not empty. Keys keep the record's order.
    ///
    /// ```
    /// use streamalert::Alert;
    /// use serde_json::json;
    ///
    /// let common = json!({"abc": 123, "nested": {"A": 1}});
    /// let record = json!({"abc": 123, "nested": {"A": 1, "B": 2}, "new": true});
    /// let diff = Alert::compute_diff(common.as_object().unwrap(), record.as_object().unwrap());
    /// assert_eq!(serde_json::Value::Object(diff), json!({"nested": {"B": 2}, "new": true}));
    /// ```
    pub fn compute_diff(
        common: &Map<String, Value>,
        record: &Map<String, Value>,
    ) -> Map<String, Value> {
        if common.is_empty() {
            return record.clone();
        }
        let mut diff = Map::new();
        for (key, value) in record {
            match (common.get(key), value) {
                (Some(shared), _) if py_eq(value, shared) => {}
                (Some(Value::Object(shared)), Value::Object(object)) => {
                    let nested = Alert::compute_diff(shared, object);
                    if !nested.is_empty() {
                        diff.insert(key.clone(), Value::Object(nested));
                    }
                }
                _ => {
                    diff.insert(key.clone(), value.clone());
                }
            }
        }
        diff
    }
}

/// Groups merge candidates as StreamAlert's alert merger does (`AlertMerger._merge_groups`),
/// returning each group as indexes into `alerts`, oldest first. Each group is meant to become
/// one [`Alert::merge`].
///
/// `alerts` are one rule's merge candidates: merge-enabled alerts already sent to their
/// immediate outputs. They are walked in `created` order (equal times keep their given order):
///
/// 1. an alert joins the first group that holds fewer than [`MAX_ALERTS_PER_GROUP`] alerts and
///    whose first alert [can merge](Alert::can_merge) with it;
/// 2. an alert that joins no group starts a new one if its own merge window has passed
///    (`now >= created + window`);
/// 3. otherwise the walk stops: that alert and every later one wait for a later run, since
///    alerts yet to come may still merge with them.
///
/// ```
/// use streamalert::Alert;
/// use streamalert::alert::{Timestamp, merge_groups};
/// use serde_json::json;
///
/// let alert = |host: &str, created: &str| {
///     let mut alert = Alert::new("r", json!({"host": host}), ["slack:c"]);
///     alert.merge_by_keys = vec!["host".into()];
///     alert.merge_window_mins = 5;
///     alert.created = created.parse().unwrap();
///     alert
/// };
/// let alerts = [
///     alert("h1", "2000-01-01T00:02:00.000000Z"),
///     alert("h2", "2000-01-01T00:01:00.000000Z"),
///     alert("h1", "2000-01-01T00:00:00.000000Z"),
///     alert("h1", "2000-01-01T00:20:00.000000Z"), // window still open at `now`
///     alert("h2", "2000-01-01T00:21:00.000000Z"), // after the stop: waits too
/// ];
/// let now: Timestamp = "2000-01-01T00:22:00.000000Z".parse().unwrap();
/// assert_eq!(merge_groups(&alerts, now), [vec![2, 0], vec![1]]);
///
/// let merged: Vec<Alert> = merge_groups(&alerts, now)
///     .iter()
///     .filter_map(|group| Alert::merge(group.iter().map(|&i| &alerts[i])))
///     .collect();
/// assert_eq!(merged[0].record["AlertCount"], 2);
/// ```
pub fn merge_groups(alerts: &[Alert], now: Timestamp) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..alerts.len()).collect();
    order.sort_by_key(|&index| alerts[index].created);

    let mut groups: Vec<Vec<usize>> = Vec::new();
    for index in order {
        let alert = &alerts[index];
        let joined = groups.iter_mut().find(|group| {
            group.len() < MAX_ALERTS_PER_GROUP
                && group
                    .first()
                    .is_some_and(|&head| alert.can_merge(&alerts[head]))
        });
        match joined {
            Some(group) => group.push(index),
            None if now < alert.created.plus_minutes(alert.merge_window_mins) => break,
            None => groups.push(vec![index]),
        }
    }
    groups
}

/// The record without any key in `keys`, at every object depth; arrays are copied as they are.
fn clean_record(value: &Value, keys: &[&str]) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| !keys.contains(&key.as_str()))
                .map(|(key, value)| (key.clone(), clean_record(value, keys)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    fn alert(record: Value, created: &str, keys: &[&str], window: u64) -> Alert {
        let mut alert = Alert::new("r", record, ["slack:c"]);
        alert.merge_by_keys = keys.iter().map(|key| (*key).to_owned()).collect();
        alert.merge_window_mins = window;
        alert.created = created.parse().expect("test timestamp");
        alert
    }

    #[test]
    fn clean_record_removes_keys_at_every_object_depth_but_not_in_arrays() {
        let record = json!({
            "k": 1, "a": {"k": 2, "b": {"k": 3, "keep": 4}}, "list": [{"k": 5}], "z": "k"
        });
        let cleaned = clean_record(&record, &["k"]);
        assert_eq!(
            cleaned,
            json!({"a": {"b": {"keep": 4}}, "list": [{"k": 5}], "z": "k"})
        );
        let order: Vec<&String> = cleaned
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(order, ["a", "list", "z"]);
        assert_eq!(clean_record(&json!([{"k": 1}]), &["k"]), json!([{"k": 1}]));
    }

    #[test]
    fn common_recurses_only_into_objects_present_everywhere() {
        let a = object(
            json!({"n": {"x": 1, "y": 2}, "m": {"x": 1}, "o": {"x": 1}, "p": 1, "q": {"r": {"s": 1}}}),
        );
        let b = object(
            json!({"n": {"x": 1, "y": 3}, "m": [1], "o": {"x": 2}, "p": 1.0, "q": {"r": {"s": 1, "t": 2}}}),
        );
        let c = object(
            json!({"n": {"y": 2, "x": 1}, "m": {"x": 1}, "o": {"x": 1}, "p": true, "q": {"r": {"s": 1}}}),
        );
        let common = Alert::compute_common(&[&a, &b, &c]);
        // `m` is an array in one record; `o` has nothing in common; `p` is 1 == 1.0 == True.
        assert_eq!(
            Value::Object(common),
            json!({"n": {"x": 1}, "p": 1, "q": {"r": {"s": 1}}})
        );
    }

    #[test]
    fn common_of_zero_and_one_record() {
        assert!(Alert::compute_common(&[]).is_empty());
        let only = object(json!({"a": {"b": 1}}));
        assert_eq!(Alert::compute_common(&[&only]), only);
    }

    #[test]
    fn common_skips_keys_missing_from_any_record() {
        let a = object(json!({"a": 1, "b": 2}));
        let b = object(json!({"b": 2}));
        let c = object(json!({"a": 1, "b": 2}));
        assert_eq!(
            Value::Object(Alert::compute_common(&[&a, &b, &c])),
            json!({"b": 2})
        );
    }

    #[test]
    fn diff_keeps_type_changes_and_drops_empty_nested_diffs() {
        let common = object(json!({"a": {"b": 1}, "c": {"d": 1}, "e": 1, "f": {}}));
        let record = object(json!({"a": 5, "c": {"d": 1.0}, "e": {"x": 1}, "f": {}, "g": null}));
        let diff = Alert::compute_diff(&common, &record);
        assert_eq!(
            Value::Object(diff),
            json!({"a": 5, "e": {"x": 1}, "g": null})
        );
    }

    #[test]
    fn diff_with_empty_common_is_the_record() {
        let record = object(json!({"a": {"b": {}}}));
        assert_eq!(Alert::compute_diff(&Map::new(), &record), record);
    }

    #[test]
    fn can_merge_treats_missing_and_null_alike() {
        let a = alert(json!({"k": null}), "2000-01-01T00:00:00.000000Z", &["k"], 5);
        let b = alert(json!({}), "2000-01-01T00:00:00.000000Z", &["k"], 5);
        assert!(a.can_merge(&b));
        let c = alert(json!({"k": 0}), "2000-01-01T00:00:00.000000Z", &["k"], 5);
        assert!(!a.can_merge(&c));
    }

    #[test]
    fn can_merge_never_looks_inside_normalization() {
        let a = alert(
            json!({"streamalert_normalization": {"k": 1}}),
            "2000-01-01T00:00:00.000000Z",
            &["k"],
            5,
        );
        let b = alert(
            json!({"streamalert_normalization": {"k": 2}}),
            "2000-01-01T00:00:00.000000Z",
            &["k"],
            5,
        );
        assert!(a.can_merge(&b));
    }

    #[test]
    fn merge_of_one_alert_has_the_cleaned_record_as_common() {
        let one = alert(
            json!({"k": 1, "x": {"k": 2, "y": 3}}),
            "2000-01-01T00:00:00.000000Z",
            &["k"],
            5,
        );
        let merged = Alert::merge([&one]).expect("one alert");
        assert_eq!(merged.record["MergedBy"], json!({"k": 1}));
        assert_eq!(merged.record["OtherCommonKeys"], json!({"x": {"y": 3}}));
        assert_eq!(
            merged.record["ValueDiffs"],
            json!({"2000-01-01T00:00:00.000000Z": {}})
        );
    }

    #[test]
    fn merged_by_keeps_null_and_dedups_keys_in_rule_order() {
        let one = alert(
            json!({"b": null, "a": 1}),
            "2000-01-01T00:00:00.000000Z",
            &["b", "a", "b"],
            5,
        );
        let merged = Alert::merge([&one]).expect("one alert");
        let merged_by = merged.record["MergedBy"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(merged_by.keys().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(Value::Object(merged_by), json!({"b": null, "a": 1}));
    }

    #[test]
    fn merge_of_non_object_records_keeps_them_whole() {
        let a = alert(json!({"k": 1}), "2000-01-01T00:00:00.000000Z", &["k"], 5);
        let b = alert(json!([1, 2]), "2000-01-01T00:01:00.000000Z", &["k"], 5);
        let merged = Alert::merge([&a, &b]).expect("two alerts");
        assert_eq!(merged.record["OtherCommonKeys"], json!({}));
        assert_eq!(
            merged.record["ValueDiffs"]["2000-01-01T00:01:00.000000Z"],
            json!([1, 2])
        );
        assert_eq!(
            merged.record["ValueDiffs"]["2000-01-01T00:00:00.000000Z"],
            json!({})
        );
    }

    #[test]
    fn grouping_stops_at_the_first_alert_still_in_its_window() {
        let alerts = [
            alert(json!({"k": 1}), "2000-01-01T00:00:00.000000Z", &["k"], 5),
            alert(json!({"k": 2}), "2000-01-01T00:04:00.000000Z", &["k"], 10),
            alert(json!({"k": 1}), "2000-01-01T00:05:00.000000Z", &["k"], 5),
        ];
        // Alert 2 would join group [0], but alert 1 (window open until 00:14) stops the walk.
        let now: Timestamp = "2000-01-01T00:10:00.000000Z"
            .parse()
            .expect("test timestamp");
        assert_eq!(merge_groups(&alerts, now), [vec![0]]);
        // Exactly at the end of its window an alert starts a group.
        let now: Timestamp = "2000-01-01T00:14:00.000000Z"
            .parse()
            .expect("test timestamp");
        assert_eq!(merge_groups(&alerts, now), [vec![0, 2], vec![1]]);
        assert!(merge_groups(&[], now).is_empty());
    }
}
