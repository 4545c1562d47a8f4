//! The publisher test vectors, every file read at run time from `vectors/`:
//!
//! - `publisher-chains` (kind `publisher-chain`, `publishers-rules.md` §1.3–§1.5, §3): the alert's
//!   stored publishers → [`Chain::for_output`] → names, chain kind and publication;
//! - `publishers` (kind `publisher`, §3): one registered publisher, taken from the registry by its
//!   StreamAlert name, applied to a publication;
//! - `rule-description` (kind `function`, §3.4): `RuleDescriptionParser.parse` / `.present`;
//! - `elide` (kind `function`, §1.7): `elide_string_middle`.
//!
//! Each test runs every vector of its category, then fails with the category's pass count and
//! every failure, so one broken vector does not hide the others.

use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use streamalert::publisher::{self, Chain};
use streamalert::publishers::description::RuleDescriptionParser;
use streamalert::text::elide_string_middle;
use streamalert::{Alert, Publication};

/// The vector schema every file declares.
const SCHEMA: &str = "streamalert-vectors/1";

/// The registered name of the publisher whose key-removal helper `(helper used by …)` vectors
/// exercise.
const REMOVE_FIELDS: &str = "publishers.community.generic.remove_fields";

// ---------------------------------------------------------------------------------------------
// Loading and tallying
// ---------------------------------------------------------------------------------------------

/// One vector file: its path and parsed content.
struct Vector {
    path: PathBuf,
    value: Value,
}

impl Vector {
    fn id(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

fn category_dir(category: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("vectors")
        .join(category)
}

/// Every vector of the category, sorted by file name.
fn load(category: &str) -> Vec<Vector> {
    streamalert_tests::load_vectors(category)
        .into_iter()
        .map(|(path, value)| Vector { path, value })
        .collect()
}

/// The outcome of running one category.
struct Tally {
    category: &'static str,
    files: usize,
    /// `(groups, passed)` per vector, the groups being the publishers or function under test.
    results: Vec<(Vec<String>, bool)>,
    failures: Vec<String>,
}

impl Tally {
    fn new(category: &'static str, files: usize) -> Self {
        Self {
            category,
            files,
            results: Vec::new(),
            failures: Vec::new(),
        }
    }

    fn record(&mut self, id: &str, groups: &[String], outcome: Result<(), String>) {
        if let Err(problem) = &outcome {
            self.failures.push(format!("{id} {groups:?}: {problem}"));
        }
        self.results.push((groups.to_vec(), outcome.is_ok()));
    }

    /// `group: passed/total` lines, sorted by group (a vector counts for each of its groups).
    fn breakdown(&self) -> String {
        let groups: BTreeSet<&String> =
            self.results.iter().flat_map(|(groups, _)| groups).collect();
        groups
            .into_iter()
            .map(|group| {
                let of_group: Vec<bool> = self
                    .results
                    .iter()
                    .filter(|(groups, _)| groups.contains(group))
                    .map(|(_, ok)| *ok)
                    .collect();
                let passed = of_group.iter().filter(|ok| **ok).count();
                format!("  {group}: {passed}/{}", of_group.len())
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn finish(self) {
        let passed = self.results.iter().filter(|(_, ok)| *ok).count();
        let summary = format!(
            "{}: {passed}/{} vectors passed ({} files in {})\n{}",
            self.category,
            self.results.len(),
            self.files,
            category_dir(self.category).display(),
            self.breakdown()
        );
        println!("{summary}");
        assert!(self.files > 0, "{summary}\nno vector files found");
        assert!(
            self.failures.is_empty(),
            "{summary}\nfailures:\n{}",
            self.failures.join("\n")
        );
    }
}

/// Runs `check(vector, input, expected)` on every vector of `category` (on every entry of a
/// vector's `cases`, each with the shared input underneath).
fn run_category(
    category: &'static str,
    kind: &str,
    check: impl Fn(&Value, &Value, &Value) -> Result<(), String>,
) {
    let vectors = load(category);
    let mut tally = Tally::new(category, vectors.len());
    for vector in &vectors {
        let id = vector.id();
        let groups = groups_of(&vector.value);
        let outcome = check_header(&vector.value, category, kind, &id)
            .and_then(|()| run_cases(&vector.value, &check))
            .and_then(|cases| match cases {
                0 => Err("`cases` is empty: the vector checks nothing".to_owned()),
                _ => Ok(()),
            });
        tally.record(&id, &groups, outcome);
    }
    tally.finish();
}

/// The publishers or the function a vector exercises, for the per-group counts: the vector's
/// `publisher` or `function`, or the publishers a chain vector expects to run.
fn groups_of(vector: &Value) -> Vec<String> {
    let input = &vector["input"];
    if let Some(name) = input["publisher"]
        .as_str()
        .or_else(|| vector["function"].as_str())
    {
        return vec![name.to_owned()];
    }
    let chain = vector["expected"]["chain"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let names: BTreeSet<String> = chain
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        return vec!["(no chain)".to_owned()];
    }
    names.into_iter().collect()
}

/// The fields every vector has, and no `decision_conflict`: such a vector's `expected` shows
/// StreamAlert's behaviour, not this crate's, and needs a check of its own.
fn check_header(vector: &Value, category: &str, kind: &str, id: &str) -> Result<(), String> {
    expect_eq("schema", &vector["schema"], &Value::from(SCHEMA))?;
    expect_eq("category", &vector["category"], &Value::from(category))?;
    expect_eq("kind", &vector["kind"], &Value::from(kind))?;
    expect_eq("id", &vector["id"], &Value::from(id))?;
    match vector.get("decision_conflict") {
        Some(conflict) => Err(format!(
            "has a decision_conflict this test does not handle: {conflict}"
        )),
        None => Ok(()),
    }
}

/// The vector's `input`/`expected`, or each of its `cases` with the shared input underneath;
/// the number of cases checked.
fn run_cases(
    vector: &Value,
    check: &impl Fn(&Value, &Value, &Value) -> Result<(), String>,
) -> Result<usize, String> {
    let Some(cases) = vector.get("cases") else {
        return check(vector, &vector["input"], &vector["expected"]).map(|()| 1);
    };
    let cases = cases.as_array().ok_or("`cases` is not a list")?;
    for (i, case) in cases.iter().enumerate() {
        let mut input = object(&vector["input"], "input")?.clone();
        input.extend(object(&case["input"], "case input")?.clone());
        check(vector, &Value::Object(input), &case["expected"])
            .map_err(|e| format!("case {i}: {e}"))?;
    }
    Ok(cases.len())
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

/// Fails on `expected` keys this test does not know, so a new vector shape cannot pass silently.
fn known_keys(expected: &Value, known: &[&str]) -> Result<(), String> {
    let unknown: Vec<&String> = object(expected, "expected")?
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "expected holds keys this test does not check: {unknown:?}"
        ))
    }
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
    run_category(
        "publisher-chains",
        "publisher-chain",
        |_, input, expected| {
            known_keys(
                expected,
                &[
                    "chain",
                    "result_kind",
                    "publication",
                    "top_level_key_order",
                    "key_order",
                ],
            )?;
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
    run_category("publishers", "publisher", |_, input, expected| {
        known_keys(
            expected,
            &[
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
        )?;
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
    run_category("rule-description", "function", |vector, input, expected| {
        known_keys(expected, &["result"])?;
        let description = match &input["description"] {
            Value::Null => None,
            other => Some(text(other, "description")?),
        };
        let function = text(&vector["function"], "function")?;
        let actual = match function {
            "RuleDescriptionParser.parse" => RuleDescriptionParser::parse(description).to_json(),
            "RuleDescriptionParser.present" => {
                RuleDescriptionParser::present(description).to_json()
            }
            other => return Err(format!("unknown function `{other}`")),
        };
        expect_eq("result", &actual, &expected["result"])?;
        // Fields come in order of first appearance (the parse vectors' note); `present` keeps
        // that order in `fields`, which becomes the order of AttachRuleInfo's field list.
        check_nested_key_order(&actual, &expected["result"])
    });
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
    run_category("elide", "function", |vector, input, expected| {
        known_keys(expected, &["result"])?;
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
