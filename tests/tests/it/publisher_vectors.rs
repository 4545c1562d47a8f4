//! The publisher test vectors, every file read at run time from `vectors/`:
//!
//! - `publisher-chains` (kind `publisher-chain`, `publishers-rules.md` §1.3–§1.5, §3): the alert's
//!   stored publishers → [`Chain::for_output`] → names, chain kind and publication;
//! - `publishers` (kind `publisher`, §3): one registered publisher, taken from the registry by its
//!   StreamAlert name, applied to a publication;
//! - `rule-description` (kind `function`, §3.4): `RuleDescriptionParser.parse` / `.present`;
//! - `elide` (kind `function`, §1.7): `elide_string_middle`.
//!
//! Each test runs every vector of its category through the shared harness
//! ([`streamalert_tests::vectors`]), which fails on a kind, field or key the test does not
//! declare and lists every failure at the end, so one broken vector does not hide the others.

use serde_json::{Map, Value};
use std::collections::BTreeSet;
use streamalert::publisher::{self, Chain};
use streamalert::publishers::description::RuleDescriptionParser;
use streamalert::text::elide_string_middle;
use streamalert::{Alert, Publication};
use streamalert_tests::vectors::{Harness, Shape};

/// The registered name of the publisher whose key-removal helper `(helper used by …)` vectors
/// exercise.
const REMOVE_FIELDS: &str = "publishers.community.generic.remove_fields";

// ---------------------------------------------------------------------------------------------
// Running a category
// ---------------------------------------------------------------------------------------------

/// Runs `check(vector, input, expected)` on every vector of `harness` (on every entry of a
/// vector's `cases`, each with the shared input underneath).
fn run_category(harness: Harness, check: impl Fn(&Value, &Value, &Value) -> Result<(), String>) {
    harness.run(|vector| {
        let cases = vector.cases()?;
        if cases.is_empty() {
            return Err("`cases` is empty: the vector checks nothing".to_owned());
        }
        let numbered = vector.value.get("cases").is_some();
        for (i, (input, expected)) in cases.into_iter().enumerate() {
            check(&vector.value, &Value::Object(input), &expected).map_err(|e| {
                if numbered {
                    format!("case {i}: {e}")
                } else {
                    e
                }
            })?;
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Comparisons
// ---------------------------------------------------------------------------------------------

fn expect_eq(what: &str, actual: &Value, expected: &Value) -> Result<(), String> {
    if actual == expected {
        Ok(())
    } else {
        Err(format!(
            "{what} differs\n    expected: {expected}\n      actual: {actual}"
        ))
    }
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{what} is not an object: {value}"))
}

fn text<'a>(value: &'a Value, what: &str) -> Result<&'a str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("{what} is not a string: {value}"))
}

/// The keys of `actual`, in order, against the list under `expected[order_key]`, if present.
fn check_key_order(
    actual: &Map<String, Value>,
    expected: &Value,
    order_key: &str,
) -> Result<(), String> {
    let Some(order) = expected.get(order_key) else {
        return Ok(());
    };
    let keys: Vec<Value> = actual.keys().map(|k| Value::from(k.as_str())).collect();
    expect_eq(order_key, &Value::Array(keys), order)
}

/// The publication as a value, plus key order where the vector gives one.
fn check_publication(publication: &Publication, expected: &Value) -> Result<(), String> {
    expect_eq(
        "publication",
        &Value::from(publication.clone()),
        &expected["publication"],
    )?;
    check_key_order(publication, expected, "top_level_key_order")?;
    check_key_order(publication, expected, "key_order")
}

fn alert_from(input: &Value) -> Result<Alert, String> {
    Alert::from_fields(object(&input["alert"], "input.alert")?).map_err(|e| format!("alert: {e}"))
}

// ---------------------------------------------------------------------------------------------
// publisher-chains
// ---------------------------------------------------------------------------------------------

#[test]
fn publisher_chain_vectors() {
    const SHAPES: &[Shape] = &[Shape {
        kind: "publisher-chain",
        functions: &[],
        fields: &["input", "expected"],
        // `alert_overrides` is informative: `alert` already has them applied.
        input: &["alert", "alert_overrides", "descriptor", "output_service"],
        expected: &[
            "chain",
            "result_kind",
            "publication",
            "top_level_key_order",
            "key_order",
        ],
    }];
    run_category(
        Harness::new("publisher-chains", SHAPES),
        |_, input, expected| {
            let alert = alert_from(input)?;
            let service = text(&input["output_service"], "output_service")?;
            let descriptor = text(&input["descriptor"], "descriptor")?;
            let chain = Chain::for_output(&alert.publishers, service, descriptor);
            let names: Vec<Value> = chain.names().into_iter().map(Value::from).collect();
            expect_eq("chain", &Value::Array(names), &expected["chain"])?;
            check_result_kind(&chain, &expected["result_kind"])?;
            let publication = chain
                .publish(&alert)
                .map_err(|e| format!("chain failed: {e}"))?;
            check_publication(&publication, expected)
        },
    );
}

/// `CompositePublisher` (names were found, each step gets its own copy) or the bare
/// `DefaultPublisher (not wrapped)`.
fn check_result_kind(chain: &Chain, expected: &Value) -> Result<(), String> {
    let actual = if chain.is_default() {
        "DefaultPublisher (not wrapped)"
    } else {
        "CompositePublisher"
    };
    expect_eq("result_kind", &Value::from(actual), expected)
}

// ---------------------------------------------------------------------------------------------
// publishers
// ---------------------------------------------------------------------------------------------

#[test]
fn single_publisher_vectors() {
    const SHAPES: &[Shape] = &[Shape {
        kind: "publisher",
        functions: &[],
        fields: &["input", "expected"],
        input: &["alert", "publication", "publisher"],
        expected: &[
            "publication",
            "key_order",
            "top_level_key_order",
            "attachment_count",
            "text_lengths",
            "first",
            "middle",
            "last",
            "text_prefixes",
            "last_text_suffix",
        ],
    }];
    run_category(Harness::new("publishers", SHAPES), |_, input, expected| {
        let mut alert = alert_from(input)?;
        let publication: Publication = match input.get("publication") {
            Some(value) => object(value, "input.publication")?.clone().into(),
            None => Publication::new(),
        };
        let name = text(&input["publisher"], "publisher")?;
        let registered = match publisher::get(name) {
            Some(found) => found,
            None if is_remove_fields_helper(name) => {
                let patterns = removed_key_patterns(&publication, &expected["publication"]);
                alert
                    .context
                    .insert("remove_fields".into(), patterns.into());
                publisher::get(REMOVE_FIELDS).ok_or("remove_fields is not registered")?
            }
            None => return Err(format!("publisher `{name}` is not registered")),
        };
        let published = registered
            .publish(&alert, publication)
            .map_err(|e| format!("publish failed: {e}"))?;
        if expected.get("publication").is_some() {
            check_publication(&published, expected)
        } else {
            check_attachment_summary(&published, expected)
        }
    });
}

/// `(helper used by remove_fields)`: the key-removal routine behind `remove_fields`.
fn is_remove_fields_helper(name: &str) -> bool {
    name.starts_with('(') && name.contains("remove_fields")
}

/// The helper vector does not record its regex, only which keys vanish; each vanished key name
/// becomes an anchored pattern, so the vector checks where (at which depths, inside lists)
/// removal happens and that nothing else changes.
fn removed_key_patterns(before: &Publication, after: &Value) -> Vec<Value> {
    let mut before_keys = BTreeSet::new();
    collect_keys(&Value::from(before.clone()), &mut before_keys);
    let mut after_keys = BTreeSet::new();
    collect_keys(after, &mut after_keys);
    before_keys
        .difference(&after_keys)
        .map(|key| Value::from(format!("^{}$", regex_escape(key))))
        .collect()
}

fn collect_keys(value: &Value, keys: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                keys.insert(key.clone());
                collect_keys(child, keys);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_keys(item, keys)),
        _ => {}
    }
}

/// Escapes the regex meta characters (those `regex::escape` escapes).
fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if r"\.+*?()|[]{}^$#&-~".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The described form of a large `@slack.attachments` result (AttachFullRecord): count, text
/// lengths in code points, the non-text fields of the first, middle and last attachments, text
/// prefixes of the leading attachments and the suffix of the last text.
fn check_attachment_summary(publication: &Publication, expected: &Value) -> Result<(), String> {
    let attachments = publication
        .get("@slack.attachments")
        .and_then(Value::as_array)
        .ok_or("the publication has no list `@slack.attachments`")?;
    expect_eq(
        "attachment_count",
        &Value::from(attachments.len()),
        &expected["attachment_count"],
    )?;
    let texts = attachments
        .iter()
        .map(|a| text(&a["text"], "attachment text"))
        .collect::<Result<Vec<_>, _>>()?;
    let lengths: Vec<Value> = texts
        .iter()
        .map(|t| Value::from(t.chars().count()))
        .collect();
    expect_eq(
        "text_lengths",
        &Value::Array(lengths),
        &expected["text_lengths"],
    )?;
    let last = attachments.len().saturating_sub(1);
    for (i, attachment) in attachments.iter().enumerate() {
        let role = match i {
            0 if last == 0 => continue, // first and last at once: described by neither shape alone
            0 => "first",
            i if i == last => "last",
            _ => "middle",
        };
        let mut without_text = object(attachment, "attachment")?.clone();
        without_text.shift_remove("text");
        expect_eq(
            &format!("attachment {i} ({role}) without text"),
            &Value::Object(without_text),
            &expected[role],
        )?;
    }
    let prefixes = expected["text_prefixes"]
        .as_array()
        .ok_or("text_prefixes is not a list")?;
    for (i, prefix) in prefixes.iter().enumerate() {
        let prefix = text(prefix, "text prefix")?;
        let actual = texts
            .get(i)
            .ok_or_else(|| format!("no attachment {i} for its text prefix"))?;
        if !actual.starts_with(prefix) {
            return Err(format!(
                "text {i} does not start with {prefix:?}: {actual:.80?}"
            ));
        }
    }
    let suffix = text(&expected["last_text_suffix"], "last_text_suffix")?;
    let last_text = texts.last().ok_or("no attachments")?;
    if !last_text.ends_with(suffix) {
        return Err(format!("the last text does not end with {suffix:?}"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// rule-description
// ---------------------------------------------------------------------------------------------

#[test]
fn rule_description_vectors() {
    const SHAPES: &[Shape] = &[Shape {
        kind: "function",
        functions: &[
            "RuleDescriptionParser.parse",
            "RuleDescriptionParser.present",
        ],
        fields: &["input", "expected"],
        input: &["description"],
        expected: &["result"],
    }];
    run_category(
        Harness::new("rule-description", SHAPES),
        |vector, input, expected| {
            let description = match &input["description"] {
                Value::Null => None,
                other => Some(text(other, "description")?),
            };
            let function = text(&vector["function"], "function")?;
            let actual = match function {
                "RuleDescriptionParser.parse" => {
                    RuleDescriptionParser::parse(description).to_json()
                }
                "RuleDescriptionParser.present" => {
                    RuleDescriptionParser::present(description).to_json()
                }
                other => return Err(format!("unknown function `{other}`")),
            };
            expect_eq("result", &actual, &expected["result"])?;
            // Fields come in order of first appearance (the parse vectors' note); `present` keeps
            // that order in `fields`, which becomes the order of AttachRuleInfo's field list.
            check_nested_key_order(&actual, &expected["result"])
        },
    );
}

/// The key order of every object in `actual` against `expected`, at every depth.
fn check_nested_key_order(actual: &Value, expected: &Value) -> Result<(), String> {
    if let (Value::Object(a), Value::Object(e)) = (actual, expected) {
        let actual_keys: Vec<&String> = a.keys().collect();
        let expected_keys: Vec<&String> = e.keys().collect();
        if actual_keys != expected_keys {
            return Err(format!(
                "key order differs: expected {expected_keys:?}, actual {actual_keys:?}"
            ));
        }
        for (key, value) in a {
            check_nested_key_order(value, &e[key])?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// elide
// ---------------------------------------------------------------------------------------------

#[test]
fn elide_vectors() {
    const SHAPES: &[Shape] = &[Shape {
        kind: "function",
        functions: &["elide_string_middle"],
        fields: &["input", "expected"],
        input: &["text", "max_length"],
        expected: &["result"],
    }];
    run_category(Harness::new("elide", SHAPES), |vector, input, expected| {
        let function = text(&vector["function"], "function")?;
        if function != "elide_string_middle" {
            return Err(format!("unknown function `{function}`"));
        }
        let source = text(&input["text"], "text")?;
        let max_length = input["max_length"]
            .as_u64()
            .ok_or("max_length is not a non-negative integer")?;
        let max_length = usize::try_from(max_length).map_err(|e| e.to_string())?;
        let actual = elide_string_middle(source, max_length);
        // Byte-exact text.
        let wanted = text(&expected["result"], "result")?;
        if actual == wanted {
            Ok(())
        } else {
            Err(format!(
                "result differs\n    expected: {wanted:?}\n      actual: {actual:?}"
            ))
        }
    });
}
