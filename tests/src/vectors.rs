//! One harness for every vector test: run a check on every vector of a category, collect every
//! failure, and end with one assertion that lists them all by file.
//!
//! The harness cannot be fooled by a vector it does not understand: each test declares the
//! [`Shape`]s it handles (kind, functions, top-level fields, `input` and `expected` keys), and a
//! vector of another kind or with a field or key outside its shape fails instead of being
//! skipped. A vector the test does not run must be listed with [`Harness::not_applicable`] and a
//! reason; a vector with a `decision_conflict` (StreamAlert behaviour that a "Decision:" line of
//! the spec changes) must be given the Decision's value with [`Harness::decision`]. A panic in a
//! check is one failure of that vector, not the end of the run.
//!
//! ```
//! use streamalert_tests::vectors::{Harness, Shape};
//!
//! const ELIDE: Shape = Shape {
//!     kind: "function",
//!     functions: &["elide_string_middle"],
//!     fields: &["input", "expected"],
//!     input: &["text", "max_length"],
//!     expected: &["result"],
//! };
//! Harness::new("elide", &[ELIDE]).run(|vector| {
//!     let text = vector.input()["text"].as_str().ok_or("`text` is not a string")?;
//!     if text.is_empty() { Err("empty text".to_owned()) } else { Ok(()) }
//! });
//! ```

use futures_util::FutureExt as _;
use serde_json::{Map, Value};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

/// The fields every vector may have (`vectors/README.md`, "Fields common to every vector").
pub const COMMON_FIELDS: [&str; 10] = [
    "schema",
    "id",
    "category",
    "kind",
    "function",
    "stage",
    "title",
    "origin",
    "note",
    "decision_conflict",
];

/// The keys of one entry of a vector's `cases`.
const CASE_KEYS: [&str; 3] = ["input", "expected", "note"];

/// The vector schema this harness reads.
const SCHEMA: &str = "streamalert-vectors/1";

/// The categories whose vectors several test suites share, and which suite runs which:
/// `(category, the vector's "service", or else its "function", test suite)` (a suite: a file of
/// `tests/tests` or `tests/tests/it`). A vector of such a category whose service or function is
/// not listed fails in every suite that shares it.
pub const SPLIT: &[(&str, &str, &str)] = &[
    ("outputs", "aws-cloudwatch-log", "aws_outputs"),
    ("outputs", "aws-firehose", "aws_outputs"),
    ("outputs", "aws-lambda", "aws_outputs"),
    ("outputs", "aws-lambda-v2", "aws_outputs"),
    ("outputs", "aws-s3", "aws_outputs"),
    ("outputs", "aws-ses", "aws_outputs"),
    ("outputs", "aws-sns", "aws_outputs"),
    ("outputs", "aws-sqs", "aws_outputs"),
    ("outputs", "carbonblack", "saas_ticketing_vectors"),
    ("outputs", "demisto", "saas_ticketing_vectors"),
    ("outputs", "github", "saas_ticketing_vectors"),
    ("outputs", "jira", "saas_ticketing_vectors"),
    ("outputs", "jira-v2", "saas_ticketing_vectors"),
    ("outputs", "komand", "saas_ticketing_vectors"),
    ("outputs", "phantom", "saas_ticketing_vectors"),
    ("outputs", "victorops", "saas_ticketing_vectors"),
    ("outputs", "pagerduty", "saas_vectors"),
    ("outputs", "pagerduty-incident", "saas_vectors"),
    ("outputs", "pagerduty-v2", "saas_vectors"),
    ("outputs", "slack", "saas_vectors"),
    ("outputs", "teams", "saas_vectors"),
    ("output-helpers", "demisto.labels", "saas_ticketing_vectors"),
    ("output-helpers", "pagerduty.contexts", "saas_vectors"),
    (
        "output-helpers",
        "pagerduty_incident.work_context",
        "saas_vectors",
    ),
    ("output-helpers", "slack.custom_attachments", "saas_vectors"),
    (
        "output-helpers",
        "slack.default_attachments",
        "saas_vectors",
    ),
    (
        "output-helpers",
        "slack.record_to_mrkdwn_lines",
        "saas_vectors",
    ),
];

/// A vector shape a test handles: a vector matches when its `kind` is `kind` and its `function`
/// is one of `functions` (or it has none and `functions` is empty).
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// The vector's `kind`.
    pub kind: &'static str,
    /// The `function` values handled; empty: the vector has no `function`.
    pub functions: &'static [&'static str],
    /// Top-level fields beyond [`COMMON_FIELDS`] (`input`, `expected`, `cases`, ...).
    pub fields: &'static [&'static str],
    /// Keys an `input` object may have (the vector's and each case's).
    pub input: &'static [&'static str],
    /// Keys an `expected` object may have (the vector's and each case's).
    pub expected: &'static [&'static str],
}

impl Shape {
    fn matches(&self, kind: &str, function: Option<&str>) -> bool {
        self.kind == kind
            && match function {
                None => self.functions.is_empty(),
                Some(function) => self.functions.contains(&function),
            }
    }

    /// Checks every field and key of `vector` against this shape.
    fn check(&self, vector: &Value) -> Result<(), String> {
        let mut top: Vec<&str> = COMMON_FIELDS.to_vec();
        top.extend(self.fields);
        known_keys("vector", vector, &top)?;
        self.check_pair(vector, "")?;
        if let Some(cases) = vector.get("cases") {
            let cases = cases.as_array().ok_or("`cases` is not a list")?;
            for (n, case) in cases.iter().enumerate() {
                known_keys(&format!("case {n}"), case, &CASE_KEYS)?;
                self.check_pair(case, &format!("case {n} "))?;
            }
        }
        Ok(())
    }

    fn check_pair(&self, holder: &Value, prefix: &str) -> Result<(), String> {
        for (key, known) in [("input", self.input), ("expected", self.expected)] {
            if let Some(value) = holder.get(key).filter(|v| v.is_object()) {
                known_keys(&format!("{prefix}`{key}`"), value, known)?;
            }
        }
        Ok(())
    }
}

/// Fails, naming them, when `object` has keys outside `known` (or is not an object).
fn known_keys(what: &str, object: &Value, known: &[&str]) -> Result<(), String> {
    let object = object
        .as_object()
        .ok_or_else(|| format!("{what} is not an object"))?;
    let unknown: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|key| !known.contains(key))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{what} has key(s) {unknown:?} this test does not handle"
        ))
    }
}

/// One case of a vector: its `input` (laid over the vector-level `input`) and its `expected`.
pub type Case = (Map<String, Value>, Value);

/// One vector file, its header checked.
#[derive(Debug, Clone)]
pub struct Vector {
    /// The file.
    pub path: PathBuf,
    /// `id` (the file stem).
    pub id: String,
    /// The whole vector, with the Decision values of [`Harness::decision`] applied.
    pub value: Value,
}

impl Vector {
    /// `function`, if any.
    pub fn function(&self) -> Option<&str> {
        self.value["function"].as_str()
    }

    /// The vector-level `input` (`Null` when absent).
    pub fn input(&self) -> &Value {
        &self.value["input"]
    }

    /// The vector-level `expected` (`Null` when absent).
    pub fn expected(&self) -> &Value {
        &self.value["expected"]
    }

    /// The cases of the vector: each entry of `cases` with its `input` laid over the
    /// vector-level `input`, or the vector's own `input` and `expected` when it has no `cases`.
    pub fn cases(&self) -> Result<Vec<Case>, String> {
        let shared = match self.input() {
            Value::Null => Map::new(),
            Value::Object(map) => map.clone(),
            _ => return Err("`input` is not an object".to_owned()),
        };
        let pair = |holder: &Value| -> Result<Case, String> {
            let mut input = shared.clone();
            match holder.get("input") {
                None => {}
                Some(Value::Object(own)) => input.extend(own.clone()),
                Some(_) => return Err("a case `input` is not an object".to_owned()),
            }
            Ok((input, holder["expected"].clone()))
        };
        match self.value.get("cases") {
            Some(list) => list
                .as_array()
                .ok_or("`cases` is not a list")?
                .iter()
                .map(pair)
                .collect(),
            None => Ok(vec![pair(&self.value)?]),
        }
    }
}

/// A category's vectors and what the test declares about them; see the module documentation.
#[derive(Debug)]
pub struct Harness {
    category: &'static str,
    /// The directory holding the categories ([`vectors_dir`]; another one in unit tests).
    root: PathBuf,
    shapes: &'static [Shape],
    not_applicable: Vec<(&'static str, &'static str)>,
    /// This test suite's name in [`SPLIT`], for a category several suites share.
    split: Option<&'static str>,
    decisions: Vec<(&'static str, &'static str, Value)>,
}

impl Harness {
    /// A harness for `vectors/<category>` that handles the vectors of `shapes`.
    pub fn new(category: &'static str, shapes: &'static [Shape]) -> Self {
        Self {
            category,
            root: vectors_dir(),
            shapes,
            not_applicable: Vec::new(),
            split: None,
            decisions: Vec::new(),
        }
    }

    /// Does not run the vector `id`, for `reason` (printed with the summary). Fails when no
    /// vector has that id.
    pub fn not_applicable(mut self, id: &'static str, reason: &'static str) -> Self {
        self.not_applicable.push((id, reason));
        self
    }

    /// Declares the category shared by several test suites ([`SPLIT`]) and this one `test`:
    /// a vector [`SPLIT`] gives to another binary is not applicable here, one it gives to none
    /// fails.
    pub fn shared_as(mut self, test: &'static str) -> Self {
        self.split = Some(test);
        self
    }

    /// The spec's Decision for the vector `id` (which must have a `decision_conflict`): the
    /// value at the JSON `pointer` (e.g. `/expected/result`) is replaced by `value` before the
    /// check runs.
    pub fn decision(mut self, id: &'static str, pointer: &'static str, value: Value) -> Self {
        self.decisions.push((id, pointer, value));
        self
    }

    /// Runs `check` on every vector of the category; panics once, listing every failure.
    pub fn run(self, mut check: impl FnMut(&Vector) -> Result<(), String>) {
        let mut report = Report::default();
        for vector in self.prepare(&mut report) {
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| check(&vector)));
            report.record(&vector, outcome);
        }
        report.finish(self.category);
    }

    /// [`Harness::run`] for an async `check`, awaited one vector after the other.
    pub async fn run_async<F, Fut>(self, mut check: F)
    where
        F: FnMut(Vector) -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let mut report = Report::default();
        for vector in self.prepare(&mut report) {
            let outcome = AssertUnwindSafe(check(vector.clone())).catch_unwind().await;
            report.record(&vector, outcome);
        }
        report.finish(self.category);
    }

    /// Loads the category and returns the vectors to check; every other outcome (unreadable
    /// file, unknown shape, missing Decision, not applicable) is written to `report`.
    fn prepare(&self, report: &mut Report) -> Vec<Vector> {
        let mut ready = Vec::new();
        let mut seen = Vec::new();
        for (path, loaded) in load_from(&self.root, self.category) {
            let name = file_name(&path);
            let mut value = match loaded {
                Ok(value) => value,
                Err(problem) => {
                    report.failures.push(format!("{name}: {problem}"));
                    continue;
                }
            };
            let id = value["id"].as_str().unwrap_or_default().to_owned();
            seen.push(id.clone());
            if let Some((_, reason)) = self.not_applicable.iter().find(|(na, _)| *na == id) {
                report
                    .summary
                    .push(format!("{name}: not applicable: {reason}"));
                continue;
            }
            if let Some(test) = self.split {
                match self.runner(&value) {
                    Ok(runner) if runner == test => {}
                    Ok(runner) => {
                        report.summary.push(format!("{name}: run by {runner}"));
                        continue;
                    }
                    Err(problem) => {
                        report.failures.push(format!("{name}: {problem}"));
                        continue;
                    }
                }
            }
            match self.shaped(&id, &mut value) {
                Ok(()) => ready.push(Vector { path, id, value }),
                Err(problem) => report.failures.push(format!("{name}: {problem}")),
            }
        }
        let listed = self
            .not_applicable
            .iter()
            .map(|(id, _)| *id)
            .chain(self.decisions.iter().map(|(id, _, _)| *id));
        for id in listed {
            if !seen.iter().any(|s| s == id) {
                report.failures.push(format!(
                    "{}: the test lists vector {id}, which does not exist",
                    self.category
                ));
            }
        }
        ready
    }

    /// The test suite [`SPLIT`] gives `value` to.
    fn runner(&self, value: &Value) -> Result<&'static str, String> {
        let selector = value["service"]
            .as_str()
            .or_else(|| value["function"].as_str())
            .ok_or("the vector has neither a `service` nor a `function`")?;
        SPLIT
            .iter()
            .find(|(category, key, _)| *category == self.category && *key == selector)
            .map(|(.., test)| *test)
            .ok_or_else(|| format!("no test runs {selector:?}: add it to vectors::SPLIT"))
    }

    /// Checks `value` against the shapes and applies its Decision.
    fn shaped(&self, id: &str, value: &mut Value) -> Result<(), String> {
        let kind = value["kind"].as_str().unwrap_or_default().to_owned();
        let function = value["function"].as_str();
        let shape = self
            .shapes
            .iter()
            .find(|shape| shape.matches(&kind, function))
            .ok_or_else(|| {
                format!("kind {kind:?} with function {function:?} is not handled by this test")
            })?;
        shape.check(value)?;
        let decisions: Vec<_> = self.decisions.iter().filter(|(d, ..)| *d == id).collect();
        match (
            value.get("decision_conflict").cloned(),
            decisions.is_empty(),
        ) {
            (None, true) => {}
            (None, false) => {
                return Err(
                    "a Decision is listed but the vector has no decision_conflict".to_owned(),
                );
            }
            (Some(conflict), true) => {
                return Err(format!(
                    "decision_conflict {conflict}: list the Decision's value with Harness::decision"
                ));
            }
            (Some(_), false) => {
                for (_, pointer, decided) in decisions {
                    let slot = value.pointer_mut(pointer).ok_or_else(|| {
                        format!("Decision pointer {pointer} is not in the vector")
                    })?;
                    *slot = decided.clone();
                }
            }
        }
        Ok(())
    }
}

/// The failures and summary lines of one run.
#[derive(Default)]
struct Report {
    failures: Vec<String>,
    summary: Vec<String>,
    checked: usize,
}

impl Report {
    fn record(&mut self, vector: &Vector, outcome: std::thread::Result<Result<(), String>>) {
        self.checked += 1;
        let name = file_name(&vector.path);
        let problem = match outcome {
            Ok(Ok(())) => {
                self.summary.push(format!("{name}: ok"));
                return;
            }
            Ok(Err(problem)) => problem,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                format!("panicked: {message}")
            }
        };
        self.summary.push(format!("{name}: FAILED"));
        self.failures.push(format!("{name}: {problem}"));
    }

    fn finish(self, category: &str) {
        println!("{}", self.summary.join("\n"));
        assert!(
            self.failures.is_empty(),
            "{} failure(s) in vectors/{category}:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        assert!(
            self.checked > 0,
            "no vector of vectors/{category} was checked"
        );
    }
}

/// `category/file.json` for messages.
fn file_name(path: &Path) -> String {
    let mut parts = path.iter().rev().take(2).collect::<Vec<_>>();
    parts.reverse();
    parts
        .iter()
        .map(|p| p.to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The directory holding the vector categories.
fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

/// Every `*.json` of `vectors/<category>`, sorted, each parsed and its header checked
/// (`schema`, `id` == file stem, `category` == directory) or the problem.
pub fn load_category(category: &str) -> Vec<(PathBuf, Result<Value, String>)> {
    load_from(&vectors_dir(), category)
}

/// [`load_category`] under `root`.
fn load_from(root: &Path, category: &str) -> Vec<(PathBuf, Result<Value, String>)> {
    let dir = root.join(category);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect(),
        Err(e) => return vec![(dir, Err(format!("reading the directory: {e}")))],
    };
    files.sort();
    if files.is_empty() {
        return vec![(dir, Err("no vector in the directory".to_owned()))];
    }
    files
        .into_iter()
        .map(|path| {
            let loaded = load_file(&path, category);
            (path, loaded)
        })
        .collect()
}

fn load_file(path: &Path, category: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading: {e}"))?;
    let vector: Value = serde_json::from_str(&text).map_err(|e| format!("parsing: {e}"))?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    for (field, want) in [("schema", SCHEMA), ("id", stem), ("category", category)] {
        if vector[field] != want {
            return Err(format!("`{field}` is {}, expected {want:?}", vector[field]));
        }
    }
    if !vector["kind"].is_string() {
        return Err("`kind` is not a string".to_owned());
    }
    Ok(vector)
}

/// The categories (directories of `vectors/`) that no test source file hands to a
/// [`Harness`] (`Harness::new("<category>"`), and the test suites [`SPLIT`] names that are not
/// among the sources. `sources` are the test directories to scan, relative to the workspace
/// root.
pub fn unread_categories(sources: &[&str]) -> Result<Vec<String>, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut text = String::new();
    let mut binaries = Vec::new();
    for source in sources {
        let dir = root.join(source);
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.extension().is_some_and(|ext| ext == "rs") {
                binaries.extend(path.file_stem().map(|s| s.to_string_lossy().into_owned()));
                text += &std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    let dir = vectors_dir();
    let mut unread = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if !path.is_dir() {
            continue;
        }
        let category = path.file_name().unwrap_or_default().to_string_lossy();
        if !text.contains(&format!("Harness::new(\"{category}\"")) {
            unread.push(category.into_owned());
        }
    }
    for (category, selector, test) in SPLIT {
        if !binaries.iter().any(|b| b == test) {
            unread.push(format!("{category} ({selector}): no test suite {test}"));
        }
    }
    unread.sort();
    Ok(unread)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SHAPE: &[Shape] = &[Shape {
        kind: "k",
        functions: &[],
        fields: &["input", "expected"],
        input: &["x"],
        expected: &["result"],
    }];

    /// A category `cat` of the given vectors (id, extra fields) in a fresh directory.
    fn category(vectors: &[(&str, Value)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(root.path().join("cat")).expect("category dir");
        for (id, extra) in vectors {
            let mut vector = json!({
                "schema": SCHEMA, "id": id, "category": "cat", "kind": "k",
                "input": {"x": 1}, "expected": {"result": 1},
            });
            for (key, value) in extra.as_object().expect("extra fields") {
                vector[key] = value.clone();
            }
            let file = root.path().join("cat").join(format!("{id}.json"));
            std::fs::write(file, vector.to_string()).expect("vector file");
        }
        root
    }

    /// Runs `harness` on `root` with a check comparing `expected.result` with `input.x`;
    /// the failure message, if the run fails.
    fn run(harness: Harness, root: &Path) -> Option<String> {
        let harness = Harness {
            root: root.to_owned(),
            ..harness
        };
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            harness.run(|vector| {
                if vector.input()["x"] == json!("panic") {
                    panic!("the check panicked");
                }
                if vector.input()["x"] == vector.expected()["result"] {
                    Ok(())
                } else {
                    Err(format!("result {}", vector.expected()["result"]))
                }
            });
        }));
        outcome
            .err()
            .map(|panic| panic.downcast_ref::<String>().cloned().unwrap_or_default())
    }

    #[test]
    fn every_failure_is_listed_and_a_panic_is_one_failure() {
        let root = category(&[
            ("a", json!({"expected": {"result": 2}})),
            ("b", json!({"input": {"x": "panic"}})),
            ("c", json!({})),
            ("d", json!({"input": {"x": 1, "y": 2}})),
            ("e", json!({"kind": "other"})),
        ]);
        let message = run(Harness::new("cat", SHAPE), root.path()).expect("a failure");
        assert!(
            message.starts_with("4 failure(s) in vectors/cat"),
            "{message}"
        );
        assert!(message.contains("cat/a.json: result 2"), "{message}");
        assert!(
            message.contains("cat/b.json: panicked: the check panicked"),
            "{message}"
        );
        assert!(
            message.contains(r#"cat/d.json: `input` has key(s) ["y"]"#),
            "{message}"
        );
        assert!(message.contains(r#"cat/e.json: kind "other""#), "{message}");
        assert!(!message.contains("cat/c.json"), "{message}");
    }

    #[test]
    fn a_decision_conflict_needs_the_decisions_value() {
        let conflict = json!({"expected": {"result": 2}, "decision_conflict": "Rust gives 1"});
        let root = category(&[("a", conflict)]);
        let message = run(Harness::new("cat", SHAPE), root.path()).expect("a failure");
        assert!(
            message.contains("decision_conflict \"Rust gives 1\""),
            "{message}"
        );

        let decided = Harness::new("cat", SHAPE).decision("a", "/expected/result", json!(1));
        assert_eq!(run(decided, root.path()), None);
    }

    #[test]
    fn listed_vectors_must_exist_and_a_decision_needs_a_conflict() {
        let root = category(&[("a", json!({})), ("b", json!({"expected": {"result": 2}}))]);
        let harness = Harness::new("cat", SHAPE)
            .not_applicable("b", "shown in the summary")
            .not_applicable("gone", "no such vector")
            .decision("a", "/expected/result", json!(1));
        let message = run(harness, root.path()).expect("a failure");
        assert!(message.starts_with("2 failure(s)"), "{message}");
        assert!(
            message.contains("vector gone, which does not exist"),
            "{message}"
        );
        assert!(
            message.contains("cat/a.json: a Decision is listed"),
            "{message}"
        );
    }

    #[test]
    fn an_empty_category_fails() {
        let root = category(&[]);
        let message = run(Harness::new("cat", SHAPE), root.path()).expect("a failure");
        assert!(message.contains("no vector in the directory"), "{message}");
    }
}
