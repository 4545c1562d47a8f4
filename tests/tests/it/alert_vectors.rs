//! Runs every vector of `vectors/alert-model` and `vectors/merge` against the alert model,
//! `Alert::can_merge`, `Alert::compute_diff`, `Alert::merge` and `merge_groups`.
//!
//! The vectors are read from disk when the test runs; nothing of them is repeated here. Each
//! file is dispatched on its `kind`, `function` and the keys of its `input`, and every key of its
//! `expected` (or of each case's `expected`) must be checked by some handler, so a new vector
//! or a new expected key the test does not understand fails the test instead of passing
//! silently; the shapes (kinds, functions, `input` and `expected` keys) are declared for the
//! shared [`Harness`], which fails on any other. The placeholders of `vectors/README.md` are resolved here: `"<now>"` in an input is
//! the current time, `"<utc now>"` in a result must be a time taken during the call and
//! `"<new random uuid4>"` must be a fresh UUID4.

use serde_json::{Map, Value};
use std::fmt::Write as _;
use streamalert::Alert;
use streamalert::alert::{Timestamp, merge_groups};
use streamalert::json::PythonJson;
use streamalert_tests::vectors::{Harness, Shape, Vector, load_category};

/// Input placeholder: the current time when the test runs.
const NOW: &str = "<now>";
/// Result placeholder: a time between the start and the end of the call.
const UTC_NOW: &str = "<utc now>";
/// Result placeholder: any fresh random UUID4.
const NEW_UUID4: &str = "<new random uuid4>";
/// Exception class of the alert constructor's errors, the prefix of an `error` expectation.
const ALERT_CREATION_ERROR: &str = "AlertCreationError";
/// The alert-model vectors: an alert built from snake_case fields, a DynamoDB item or keyword
/// arguments, and what it reports.
const ALERT_MODEL: &[Shape] = &[Shape {
    kind: "alert-model",
    functions: &[],
    fields: &["input", "expected"],
    input: &["alert", "dynamo_item", "kwargs"],
    expected: &[
        "dynamo_key",
        "dynamo_record",
        "dynamo_record_after_roundtrip",
        "error",
        "merge_enabled",
        "output_dict",
        "remaining_outputs",
        "str",
    ],
}];

/// The merge vectors: `can_merge`, `compute_diff`, `merge` and the merger's grouping.
const MERGE: &[Shape] = &[
    Shape {
        kind: "merge",
        functions: &["Alert.can_merge", "Alert.compute_diff", "Alert.merge"],
        fields: &["input", "expected", "cases"],
        input: &[
            "a",
            "b",
            "alerts",
            "alerts_in_given_order",
            "common",
            "record",
        ],
        expected: &[
            "a_can_merge_b",
            "b_can_merge_a",
            "diff",
            "merged_dynamo_record_with_Record_decoded",
            "outputs",
            "record",
        ],
    },
    Shape {
        kind: "merge-grouping",
        functions: &["alert_merger.merge_groups"],
        fields: &["input", "expected"],
        input: &["alerts"],
        expected: &["groups"],
    },
];

/// Every category of `vectors/` must be run by some test through the shared harness
/// (`Harness::new("…"`), and every test suite `vectors::SPLIT` names must exist. (Here because
/// this file runs first alphabetically; it checks the whole `vectors/` directory.)
#[test]
fn every_vector_category_is_read_by_a_test() {
    let unread = streamalert_tests::vectors::unread_categories(&[
        "tests/tests",
        "tests/tests/it",
        "examples/community-rules/tests",
        "examples/quickstart/tests",
    ]);
    assert_eq!(unread, Ok(Vec::new()), "vector categories no test reads");
}

#[test]
fn alert_model_vectors() {
    Harness::new("alert-model", ALERT_MODEL).run(|vector| Run::vector(vector, &[]));
}

#[test]
fn merge_vectors() {
    let pool = merge_alert_pool();
    Harness::new("merge", MERGE).run(|vector| Run::vector(vector, &pool));
}

/// Every alert of every merge vector's input, for the statement-only vectors.
fn merge_alert_pool() -> Vec<Alert> {
    let mut pool = Vec::new();
    // A file that does not load is reported by the merge harness itself.
    for vector in load_category("merge")
        .into_iter()
        .filter_map(|(_, v)| v.ok())
    {
        for (input, _) in cases(&vector).unwrap_or_default() {
            for key in ["a", "b"] {
                pool.extend(input.get(key).and_then(|a| vector_alert(a, 0).ok()));
            }
            let alerts = input.get("alerts").and_then(Value::as_array);
            for (i, alert) in alerts.into_iter().flatten().enumerate() {
                pool.extend(vector_alert(alert, i).ok());
            }
        }
    }
    pool
}

/// Collects the failures of one vector so that its report lists every broken case.
#[derive(Default)]
struct Run {
    failures: Vec<String>,
}

impl Run {
    /// Runs every case of `vector` (a statement-only vector against `pool`).
    fn vector(vector: &Vector, pool: &[Alert]) -> Result<(), String> {
        let mut run = Self::default();
        if is_statement_only(&vector.value) {
            run_statement(&mut run, &vector.id, &vector.value, pool);
        } else {
            run_vector(&mut run, &vector.id, &vector.value);
        }
        if run.failures.is_empty() {
            Ok(())
        } else {
            Err(run.failures.join("\n"))
        }
    }

    fn fail(&mut self, context: &str, problem: &str) {
        self.failures.push(format!("{context}: {problem}"));
    }

    fn check(&mut self, context: &str, outcome: Result<(), String>) {
        if let Err(problem) = outcome {
            self.fail(context, &problem);
        }
    }
}

/// A vector that only states a property: no input, no expected values, no cases.
fn is_statement_only(vector: &Value) -> bool {
    let empty = |key: &str| {
        vector
            .get(key)
            .is_none_or(|v| v.as_object().is_some_and(Map::is_empty))
    };
    empty("input") && empty("expected") && vector.get("cases").is_none()
}

/// One case of a vector: its input and its expected values.
type Case = (Map<String, Value>, Map<String, Value>);

/// The cases of a vector: its `cases`, each input laid over the shared vector-level input, or
/// the vector itself.
fn cases(vector: &Value) -> Result<Vec<Case>, String> {
    let shared = vector["input"].as_object().cloned().unwrap_or_default();
    let pair = |holder: &Value| -> Result<_, String> {
        let mut input = shared.clone();
        if let Some(own) = holder.get("input") {
            input.extend(own.as_object().ok_or("`input` is not an object")?.clone());
        }
        let expected = holder["expected"]
            .as_object()
            .ok_or("`expected` is not an object")?
            .clone();
        Ok((input, expected))
    };
    match vector.get("cases") {
        Some(list) => list
            .as_array()
            .ok_or("`cases` is not a list")?
            .iter()
            .map(pair)
            .collect(),
        None => Ok(vec![pair(vector)?]),
    }
}

fn run_vector(run: &mut Run, id: &str, vector: &Value) {
    let kind = vector["kind"].as_str().unwrap_or_default();
    let function = vector["function"].as_str();
    let cases = match cases(vector) {
        Ok(cases) => cases,
        Err(problem) => return run.fail(id, &problem),
    };
    if cases.is_empty() {
        return run.fail(id, "no case to run");
    }
    for (n, (input, expected)) in cases.iter().enumerate() {
        let context = if vector.get("cases").is_some() {
            format!("{id} case {n}")
        } else {
            id.to_owned()
        };
        match (kind, function) {
            ("alert-model", None) => alert_model(run, &context, input, expected),
            ("merge", Some("Alert.can_merge")) => can_merge(run, &context, input, expected),
            ("merge", Some("Alert.compute_diff")) => compute_diff(run, &context, input, expected),
            ("merge", Some("Alert.merge")) => merge(run, &context, input, expected),
            ("merge-grouping", Some("alert_merger.merge_groups")) => {
                grouping(run, &context, input, expected)
            }
            _ => run.fail(
                &context,
                &format!("no handler for kind {kind:?}, function {function:?}"),
            ),
        }
    }
}

/// Statement-only vectors, checked against the alerts of every other merge vector.
fn run_statement(run: &mut Run, id: &str, vector: &Value, pool: &[Alert]) {
    let note = vector["note"].as_str().unwrap_or_default();
    match (vector["kind"].as_str(), id) {
        // The statement that an alert always merges with itself.
        (Some("merge-grouping"), "GROUP-05") => {
            let pool: Vec<Alert> = pool.iter().filter(|a| a.merge_enabled()).cloned().collect();
            if pool.is_empty() {
                return run.fail(
                    id,
                    "no merge-enabled alert in the other vectors to check the statement with",
                );
            }
            for alert in pool {
                let context = format!("{id} with alert {} created {}", alert.record, alert.created);
                if !alert.can_merge(&alert) {
                    run.fail(&context, "can_merge(itself) is false");
                }
                // Exactly at the end of its window the alert starts a group; its copy must join it.
                let now = alert.created.plus_minutes(alert.merge_window_mins);
                let groups = merge_groups(&[alert.clone(), alert], now);
                if groups != [vec![0, 1]] {
                    run.fail(
                        &context,
                        &format!("groups {groups:?}, expected one group of both copies"),
                    );
                }
            }
        }
        _ => run.fail(
            id,
            &format!("statement-only vector without a check: {note}"),
        ),
    }
}

// ---------- alert model ----------

fn alert_model(
    run: &mut Run,
    context: &str,
    input: &Map<String, Value>,
    expected: &Map<String, Value>,
) {
    let built = if let Some(fields) = input.get("alert") {
        fields
            .as_object()
            .ok_or_else(|| "`alert` is not an object".to_owned())
            .and_then(|fields| {
                Alert::from_fields(fields).map_err(|e| format!("from_fields failed: {e}"))
            })
    } else if let Some(item) = input.get("dynamo_item") {
        Alert::from_item(item).map_err(|e| format!("from_item failed: {e}"))
    } else if let Some(kwargs) = input.get("kwargs") {
        match kwargs.as_object().map(Alert::from_fields) {
            Some(Ok(alert)) => Ok(alert),
            Some(Err(error)) => Err(error.to_string()),
            None => Err("`kwargs` is not an object".to_owned()),
        }
    } else {
        return run.fail(
            context,
            &format!(
                "unknown alert-model input {:?}",
                input.keys().collect::<Vec<_>>()
            ),
        );
    };

    if let Some(want) = expected.get("error") {
        let outcome = match (&built, want.as_str().and_then(|w| w.split_once(": "))) {
            (Ok(alert), _) => Err(format!("expected an error, built {alert}")),
            (Err(_), None) => Err(format!("cannot read expected error {want}")),
            (Err(got), Some((class, message))) if class == ALERT_CREATION_ERROR => {
                if got == message {
                    Ok(())
                } else {
                    Err(format!("error\n  got:      {got}\n  expected: {message}"))
                }
            }
            (Err(_), Some((class, _))) => Err(format!("no Rust error stands for {class}")),
        };
        run.check(&format!("{context} error"), outcome);
        if expected.len() > 1 {
            run.fail(context, "an error vector expects more than the error");
        }
        return;
    }
    let alert = match built {
        Ok(alert) => alert,
        Err(problem) => return run.fail(context, &problem),
    };
    for (key, want) in expected {
        let context = format!("{context} {key}");
        let outcome = match key.as_str() {
            "output_dict" => {
                let dict = alert.output_dict();
                equal_json(&Value::Object(dict.clone()), want, &Clock::NONE)
                    .and_then(|()| same_key_order(&dict, want))
            }
            "dynamo_record" | "dynamo_record_after_roundtrip" => {
                check_item(&alert.to_item(), want, false, &Clock::NONE)
            }
            "merge_enabled" => equal_json(&alert.merge_enabled().into(), want, &Clock::NONE),
            "remaining_outputs" => same_set(&alert.remaining_outputs().into_iter().collect(), want),
            "str" => equal_json(&alert.to_string().into(), want, &Clock::NONE),
            "dynamo_key" => equal_json(&alert.key(), want, &Clock::NONE),
            _ => Err("expected key not checked by this test".to_owned()),
        };
        run.check(&context, outcome);
    }
}

// ---------- merge ----------

/// Builds an alert from a vector's partial snake_case form; `"<now>"` is the current time and
/// `i` (the alert's index in a grouping input) is checked and dropped.
fn vector_alert(fields: &Value, index: usize) -> Result<Alert, String> {
    let mut fields = fields
        .as_object()
        .ok_or("an alert is not an object")?
        .clone();
    if let Some(i) = fields.remove("i")
        && i.as_u64() != u64::try_from(index).ok()
    {
        return Err(format!("alert {index} is marked i = {i}"));
    }
    if fields.get("created").is_some_and(|created| created == NOW) {
        fields.insert("created".into(), Timestamp::now().to_string().into());
    }
    Alert::from_fields(&fields).map_err(|e| format!("alert {index}: {e}"))
}

fn vector_alerts(value: Option<&Value>) -> Result<Vec<Alert>, String> {
    let list = value
        .and_then(Value::as_array)
        .ok_or("the input has no list of alerts")?;
    let alerts = list
        .iter()
        .enumerate()
        .map(|(i, fields)| vector_alert(fields, i))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(alerts)
}

fn pair(input: &Map<String, Value>) -> Result<(Alert, Alert), String> {
    let a = vector_alert(input.get("a").ok_or("no alert `a`")?, 0)?;
    let b = vector_alert(input.get("b").ok_or("no alert `b`")?, 1)?;
    Ok((a, b))
}

fn can_merge(
    run: &mut Run,
    context: &str,
    input: &Map<String, Value>,
    expected: &Map<String, Value>,
) {
    let (a, b) = match pair(input) {
        Ok(pair) => pair,
        Err(problem) => return run.fail(context, &problem),
    };
    for (key, want) in expected {
        let got = match key.as_str() {
            "a_can_merge_b" => a.can_merge(&b),
            "b_can_merge_a" => b.can_merge(&a),
            _ => {
                run.fail(
                    &format!("{context} {key}"),
                    "expected key not checked by this test",
                );
                continue;
            }
        };
        run.check(
            &format!("{context} {key}"),
            equal_json(&got.into(), want, &Clock::NONE),
        );
    }
}

fn compute_diff(
    run: &mut Run,
    context: &str,
    input: &Map<String, Value>,
    expected: &Map<String, Value>,
) {
    let (Some(common), Some(record)) = (
        input.get("common").and_then(Value::as_object),
        input.get("record").and_then(Value::as_object),
    ) else {
        return run.fail(context, "input needs objects `common` and `record`");
    };
    for (key, want) in expected {
        let outcome = match key.as_str() {
            "diff" => equal_json(
                &Value::Object(Alert::compute_diff(common, record)),
                want,
                &Clock::NONE,
            ),
            _ => Err("expected key not checked by this test".to_owned()),
        };
        run.check(&format!("{context} {key}"), outcome);
    }
}

fn merge(run: &mut Run, context: &str, input: &Map<String, Value>, expected: &Map<String, Value>) {
    // `alerts_in_given_order` says the order is deliberately not the creation order.
    let alerts = match vector_alerts(
        input
            .get("alerts")
            .or_else(|| input.get("alerts_in_given_order")),
    ) {
        Ok(alerts) => alerts,
        Err(problem) => return run.fail(context, &problem),
    };
    let start = Timestamp::now();
    let merged = Alert::merge(&alerts);
    let clock = Clock {
        during: Some((start, Timestamp::now())),
    };
    let Some(merged) = merged else {
        return run.fail(context, "merge returned nothing");
    };
    if alerts.iter().any(|alert| alert.alert_id == merged.alert_id) {
        run.fail(context, "the merged alert reuses an input alert's id");
    }
    for (key, want) in expected {
        let outcome = match key.as_str() {
            "record" => equal_json(&merged.record, want, &clock)
                .and_then(|()| same_text(&merged.record_json(), want)),
            "outputs" => same_set(&merged.outputs.iter().cloned().collect(), want),
            "merged_dynamo_record_with_Record_decoded" => {
                check_item(&merged.to_item(), want, true, &clock)
            }
            _ => Err("expected key not checked by this test".to_owned()),
        };
        run.check(&format!("{context} {key}"), outcome);
    }
}

fn grouping(
    run: &mut Run,
    context: &str,
    input: &Map<String, Value>,
    expected: &Map<String, Value>,
) {
    let alerts = match vector_alerts(input.get("alerts")) {
        Ok(alerts) => alerts,
        Err(problem) => return run.fail(context, &problem),
    };
    let groups = merge_groups(&alerts, Timestamp::now());
    for (key, want) in expected {
        let outcome = match key.as_str() {
            "groups" => serde_json::to_value(&groups)
                .map_err(|e| e.to_string())
                .and_then(|got| equal_json(&got, want, &Clock::NONE)),
            _ => Err("expected key not checked by this test".to_owned()),
        };
        run.check(&format!("{context} {key}"), outcome);
    }
}

// ---------- comparison ----------

/// When a result placeholder for "now" may have been taken.
struct Clock {
    during: Option<(Timestamp, Timestamp)>,
}

impl Clock {
    const NONE: Clock = Clock { during: None };
}

/// `actual` equals `expected` as a JSON value (object key order ignored, numbers by their text
/// so that `1` and `1.0` differ), where the result placeholders of `expected` match any value
/// of their shape. The error names the first differing path.
fn equal_json(actual: &Value, expected: &Value, clock: &Clock) -> Result<(), String> {
    compare(actual, expected, clock, "$")
}

fn compare(actual: &Value, expected: &Value, clock: &Clock, path: &str) -> Result<(), String> {
    match (actual, expected) {
        (Value::String(got), Value::String(want)) if want == NEW_UUID4 => {
            if is_uuid4(got) {
                Ok(())
            } else {
                Err(format!("{path}: {got:?} is not a UUID4"))
            }
        }
        (Value::String(got), Value::String(want)) if want == UTC_NOW || want == NOW => {
            let Some((start, end)) = clock.during else {
                return Err(format!(
                    "{path}: placeholder {want} where no time was taken"
                ));
            };
            match got.parse::<Timestamp>() {
                Ok(t) if start <= t && t <= end => Ok(()),
                Ok(t) => Err(format!("{path}: {t} is not between {start} and {end}")),
                Err(e) => Err(format!("{path}: {e}")),
            }
        }
        (Value::Object(got), Value::Object(want)) => {
            if let Some(extra) = got.keys().find(|k| !want.contains_key(*k)) {
                return Err(format!("{path}: unexpected key {extra:?}"));
            }
            want.iter().try_for_each(|(key, want)| match got.get(key) {
                Some(got) => compare(got, want, clock, &format!("{path}.{key}")),
                None => Err(format!("{path}: missing key {key:?}")),
            })
        }
        (Value::Array(got), Value::Array(want)) if got.len() == want.len() => got
            .iter()
            .zip(want)
            .enumerate()
            .try_for_each(|(i, (got, want))| compare(got, want, clock, &format!("{path}[{i}]"))),
        _ if actual == expected => Ok(()),
        _ => Err(format!(
            "{path}:\n  got:      {actual}\n  expected: {expected}"
        )),
    }
}

/// A set shown as a sorted list: compared as a set (`null` stands for an empty set only where
/// the expected value is `null` too).
fn same_set(actual: &Value, expected: &Value) -> Result<(), String> {
    let sorted = |value: &Value| {
        value.as_array().map(|items| {
            let mut texts: Vec<String> = items.iter().map(Value::to_string).collect();
            texts.sort();
            texts
        })
    };
    match (sorted(actual), sorted(expected)) {
        (Some(got), Some(want)) if got == want => Ok(()),
        (None, None) if actual == expected => Ok(()),
        _ => Err(format!("set\n  got:      {actual}\n  expected: {expected}")),
    }
}

/// The top-level keys of `actual` are in the expected order.
fn same_key_order(actual: &Map<String, Value>, expected: &Value) -> Result<(), String> {
    let got: Vec<&String> = actual.keys().collect();
    let want: Vec<&String> = expected
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "key order\n  got:      {got:?}\n  expected: {want:?}"
        ))
    }
}

/// `actual` is the exact compact text StreamAlert stores for the `expected` record, which checks
/// key order at every depth and the encoder.
fn same_text(actual: &str, expected: &Value) -> Result<(), String> {
    let want = PythonJson::COMPACT.dump(expected);
    if actual == want {
        Ok(())
    } else {
        Err(format!(
            "record text\n  got:      {actual}\n  expected: {want}"
        ))
    }
}

/// An alerts-table item against its expectation: `Outputs`/`OutputsSent` as sets, `Record` both
/// as a value and as exact text (`decoded`: the expectation holds the record decoded), the rest
/// as values, and the keys in the expected order.
fn check_item(
    item: &Map<String, Value>,
    expected: &Value,
    decoded: bool,
    clock: &Clock,
) -> Result<(), String> {
    let want = expected
        .as_object()
        .ok_or("the expected item is not an object")?;
    same_key_order(item, expected)?;
    let mut problems = String::new();
    for (key, want) in want {
        let got = item.get(key).unwrap_or(&Value::Null);
        let outcome = match key.as_str() {
            "Outputs" | "OutputsSent" => same_set(got, want),
            "Record" => {
                let text = got.as_str().ok_or("Record is not text")?;
                let record: Value =
                    serde_json::from_str(text).map_err(|e| format!("Record is not JSON: {e}"))?;
                if decoded {
                    equal_json(&record, want, clock).and_then(|()| same_text(text, want))
                } else {
                    let want_text = want.as_str().ok_or("the expected Record is not text")?;
                    let want_record: Value = serde_json::from_str(want_text)
                        .map_err(|e| format!("the expected Record is not JSON: {e}"))?;
                    equal_json(&record, &want_record, clock).and_then(|()| {
                        if text == want_text {
                            Ok(())
                        } else {
                            Err(format!("Record text {text} is not {want_text}"))
                        }
                    })
                }
            }
            _ => equal_json(got, want, clock),
        };
        if let Err(problem) = outcome {
            let _ = write!(problems, "\n  {key}: {problem}");
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Lowercase hyphenated UUID, version 4, RFC 4122 variant.
fn is_uuid4(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
        && bytes[14] == b'4'
        && matches!(bytes[19], b'8' | b'9' | b'a' | b'b')
}
