//! The `vectors/assembly` test vectors (`publishers-rules.md` §1.5), every file of the directory
//! read at run time:
//!
//! - kind `assembly`, stage `alert-processor`: the chain the alert processor assembles for one
//!   output from the alert's stored `publishers` ([`Chain::for_output`]), or from a list of names
//!   ([`Chain::from_names`], StreamAlert's `create_composite_publisher`);
//! - kind `rule-publishers`, stage `rules-engine`: the per-output publisher map the rules engine
//!   stores on an alert ([`PublisherSpec::from_json`] + [`PublisherSpec::for_outputs`],
//!   StreamAlert's `_configure_publishers`).
//!
//! Log lines a vector expects (`error_log`, `warning`, `error`) are captured with a scoped
//! `tracing` subscriber and checked too.

use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex};
use streamalert::prelude::*;
use streamalert::publisher::{Chain, PublisherSpec};
use streamalert_tests::vectors::{Harness, Shape};

// ---------------------------------------------------------------------------------------------
// The test publishers the vectors name. `P1`…`P4` are distinct registered publishers; `T.`
// abbreviates StreamAlert's test module `tests.unit.streamalert.rules_engine.test_rules_engine`,
// and these publishers are registered under the abbreviated names the vectors use.
// ---------------------------------------------------------------------------------------------

#[streamalert::publisher(name = "P1")]
fn p1(_: &Alert, p: Publication) -> Publication {
    p
}

#[streamalert::publisher(name = "P2")]
fn p2(_: &Alert, p: Publication) -> Publication {
    p
}

#[streamalert::publisher(name = "P3")]
fn p3(_: &Alert, p: Publication) -> Publication {
    p
}

#[streamalert::publisher(name = "P4")]
fn p4(_: &Alert, p: Publication) -> Publication {
    p
}

/// StreamAlert's `that_publisher`: a function publisher.
#[streamalert::publisher(name = "T.that_publisher")]
fn that_publisher(_: &Alert, p: Publication) -> Publication {
    p
}

/// StreamAlert's `ThisPublisher`: a class publisher.
#[derive(Default)]
struct ThisPublisher;

#[streamalert::publisher(name = "T.ThisPublisher")]
impl Publisher for ThisPublisher {
    fn publish(&self, _: &Alert, p: Publication) -> Result<Publication, PublishError> {
        Ok(p)
    }
}

// ---------------------------------------------------------------------------------------------
// Placeholders and encodings of the vectors (README "Conventions and placeholders"), all here.
// ---------------------------------------------------------------------------------------------

/// `"<ref>NAME"`: a direct reference to the publisher registered as NAME. In Rust a reference is
/// a path in `#[rule(publishers = …)]` that the compiler resolves to the registered name, so it
/// stands for the string NAME, which must be registered.
const REF_PREFIX: &str = "<ref>";

/// REPUB-07 describes its `rule_publishers` instead of giving it: "an object that is neither str,
/// list, dict nor a publisher, e.g. 5 or a tuple". It is the number 5.
const NOT_A_DECLARATION_PREFIX: &str = "<an object that is neither";

/// The value that stands for the description above.
fn not_a_declaration() -> Value {
    json!(5)
}

/// `expected.result_kind` of a chain that is the bare DefaultPublisher (no composite).
const KIND_BARE_DEFAULT: &str = "DefaultPublisher (not wrapped)";
/// `expected.result_kind` of a composite chain.
const KIND_COMPOSITE: &str = "CompositePublisher";
/// `expected.result` of an `ASM-UT-*` vector whose chain is the bare DefaultPublisher (a list
/// stands for a composite of those publishers).
const RESULT_BARE_DEFAULT: &str = "DefaultPublisher";

/// `expected` keys holding log lines, with the level each is logged at.
const LOG_KEYS: [(&str, tracing::Level); 3] = [
    ("error_log", tracing::Level::ERROR),
    ("error", tracing::Level::ERROR),
    ("warning", tracing::Level::WARN),
];

/// Replaces every placeholder in `value` (strings only, at any depth).
fn resolve_placeholders(value: &Value) -> Result<Value, String> {
    Ok(match value {
        Value::String(text) if text.starts_with(REF_PREFIX) => {
            let name = &text[REF_PREFIX.len()..];
            if streamalert::publisher::get(name).is_none() {
                return Err(format!("{text}: no publisher is registered as `{name}`"));
            }
            Value::String(name.to_owned())
        }
        Value::String(text) if text.starts_with(NOT_A_DECLARATION_PREFIX) => not_a_declaration(),
        Value::String(text) if text.starts_with('<') && text.ends_with('>') => {
            return Err(format!("unknown placeholder {text}"));
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(resolve_placeholders)
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| Ok((key.clone(), resolve_placeholders(value)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

// ---------------------------------------------------------------------------------------------
// The operations under test.
// ---------------------------------------------------------------------------------------------

/// Kind `assembly`: the chain, rendered in the shape of the vector's `expected`.
fn assembly(input: &Value, expected: &Map<String, Value>) -> Result<Value, String> {
    let chain = if let Some(names) = input.get("create_composite_publisher") {
        let names = names
            .as_array()
            .ok_or("create_composite_publisher is not a list")?;
        let names = names
            .iter()
            .map(|name| {
                name.as_str()
                    .ok_or_else(|| format!("name {name} is not a string"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Chain::from_names(names)
    } else {
        let text = |key: &str| {
            input[key]
                .as_str()
                .ok_or_else(|| format!("input.{key} is not a string"))
        };
        let stored = input
            .get("alert_publishers")
            .ok_or("input.alert_publishers is missing")?;
        Chain::for_output(stored, text("output_service")?, text("descriptor")?)
    };
    let mut actual = Map::new();
    for key in expected.keys() {
        let value = match key.as_str() {
            "result_kind" => json!(if chain.is_default() {
                KIND_BARE_DEFAULT
            } else {
                KIND_COMPOSITE
            }),
            "chain" => json!(chain.names()),
            "result" if chain.is_default() => json!(RESULT_BARE_DEFAULT),
            "result" => json!(chain.names()),
            key if is_log_key(key) => continue,
            other => return Err(format!("unknown expected key `{other}`")),
        };
        actual.insert(key.clone(), value);
    }
    Ok(Value::Object(actual))
}

/// Kind `rule-publishers`: the `publishers` value stored on the alert.
fn rule_publishers(input: &Value, expected: &Map<String, Value>) -> Result<Value, String> {
    let declared = resolve_placeholders(
        input
            .get("rule_publishers")
            .ok_or("input.rule_publishers is missing")?,
    )?;
    let outputs = input["outputs"]
        .as_array()
        .ok_or("input.outputs is not a list")?;
    let outputs = outputs
        .iter()
        .map(|output| {
            output
                .as_str()
                .ok_or_else(|| format!("output {output} is not a string"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let stored = PublisherSpec::from_json(&declared).for_outputs(outputs);
    let mut actual = Map::new();
    for key in expected.keys() {
        match key.as_str() {
            "result" => actual.insert(key.clone(), stored.clone()),
            key if is_log_key(key) => continue,
            other => return Err(format!("unknown expected key `{other}`")),
        };
    }
    Ok(Value::Object(actual))
}

fn is_log_key(key: &str) -> bool {
    LOG_KEYS.iter().any(|(name, _)| *name == key)
}

// ---------------------------------------------------------------------------------------------
// Running one vector.
// ---------------------------------------------------------------------------------------------

fn check(vector: &Value) -> Result<(), String> {
    let kind = vector["kind"].as_str().ok_or("no kind")?;
    let stage = vector["stage"].as_str().ok_or("no stage")?;
    let input = &vector["input"];
    let expected = vector["expected"].as_object().ok_or("no expected object")?;
    let (actual, logs) = capture_logs(|| match (kind, stage) {
        ("assembly", "alert-processor") => assembly(input, expected),
        ("rule-publishers", "rules-engine") => rule_publishers(input, expected),
        _ => Err(format!("unknown kind/stage {kind}/{stage}")),
    });
    let actual = actual?;
    // Compared as JSON values: object key order does not count (the key order of a
    // `rule-publishers` result is unspecified; serde_json's map equality ignores order).
    let wanted: Map<String, Value> = expected
        .iter()
        .filter(|(key, _)| !is_log_key(key))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if actual != Value::Object(wanted.clone()) {
        return Err(format!(
            "expected {}\n      actual   {actual}",
            Value::Object(wanted)
        ));
    }
    for (key, level) in LOG_KEYS {
        if let Some(line) = expected.get(key) {
            let pattern = LogPattern::from_vector(line)?;
            if !logs
                .iter()
                .any(|(lvl, message)| *lvl == level && pattern.matches(message))
            {
                return Err(format!(
                    "expected a {level} log {pattern:?} ({key}); logged {logs:?}"
                ));
            }
        }
    }
    Ok(())
}

/// The shapes of the assembly vectors: the alert processor's chain, the rules engine's map.
const SHAPES: &[Shape] = &[
    Shape {
        kind: "assembly",
        functions: &[],
        fields: &["input", "expected"],
        input: &[
            "alert_publishers",
            "create_composite_publisher",
            "descriptor",
            "output_service",
        ],
        expected: &["chain", "error_log", "result", "result_kind"],
    },
    Shape {
        kind: "rule-publishers",
        functions: &[],
        fields: &["input", "expected"],
        input: &["outputs", "rule_publishers"],
        expected: &["error", "result", "warning"],
    },
];

#[test]
fn assembly_vectors() {
    Harness::new("assembly", SHAPES).run(|vector| check(&vector.value));
}

// ---------------------------------------------------------------------------------------------
// Helpers: loading, log capture.
// ---------------------------------------------------------------------------------------------

/// A log line as a vector gives it: `["template with %s", args…]` (the exact message) or a bare
/// `"template with %s"` whose `%s` stand for any text.
#[derive(Debug)]
enum LogPattern {
    Exact(String),
    Template(String),
}

impl LogPattern {
    fn from_vector(line: &Value) -> Result<Self, String> {
        match line {
            Value::String(template) => Ok(Self::Template(template.clone())),
            Value::Array(parts) => {
                let (template, args) = parts.split_first().ok_or("empty log line")?;
                let mut message = template
                    .as_str()
                    .ok_or("log template is not a string")?
                    .to_owned();
                for arg in args {
                    let arg = arg.as_str().map_or_else(|| arg.to_string(), str::to_owned);
                    message = message.replacen("%s", &arg, 1);
                }
                Ok(Self::Exact(message))
            }
            other => Err(format!("log line {other} is neither a string nor a list")),
        }
    }

    fn matches(&self, message: &str) -> bool {
        match self {
            Self::Exact(text) => message == text,
            Self::Template(template) => {
                let parts: Vec<&str> = template.split("%s").collect();
                let (first, rest) = parts.split_first().expect("split yields one part at least");
                let Some(mut remaining) = message.strip_prefix(first) else {
                    return false;
                };
                for (index, part) in rest.iter().enumerate() {
                    if index + 1 == rest.len() {
                        return remaining.ends_with(part);
                    }
                    match remaining.find(part) {
                        Some(at) => remaining = &remaining[at + part.len()..],
                        None => return false,
                    }
                }
                remaining.is_empty()
            }
        }
    }
}

type Logs = Vec<(tracing::Level, String)>;

/// Runs `f` with a subscriber on this thread that records every event's level and message.
fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, Logs) {
    let logs = Arc::new(Mutex::new(Vec::new()));
    let result = tracing::subscriber::with_default(Capture(Arc::clone(&logs)), f);
    let logs = std::mem::take(&mut *logs.lock().expect("log buffer"));
    (result, logs)
}

struct Capture(Arc<Mutex<Logs>>);

impl tracing::Subscriber for Capture {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        // Always ask `enabled`: other test threads may have no subscriber.
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        self.0
            .lock()
            .expect("log buffer")
            .push((*event.metadata().level(), message.0));
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}
