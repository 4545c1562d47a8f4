//! The `vectors/engine` test vectors (`publishers-rules.md` §2.1, §4): required sub-keys, output
//! validation, dynamic-output arguments, context copies, rule selection by log type, staging and
//! the alert of a staged rule. Every file of the directory is read at run time and dispatched on
//! its `function`, else its `id`.
//!
//! The rules the vectors describe are declared below with `#[streamalert::rule]`; each check
//! first asserts that the registered declaration is the one the vector states (so the vector
//! stays the source of truth), then runs the real engine.

use serde_json::{Map, Value, json};
use std::cell::RefCell;
use std::collections::BTreeSet;
use streamalert::prelude::*;
use streamalert::publisher::{DefaultPublisher, PublisherSpec};
use streamalert::rule::{Payload, Rule, RulesEngine, has_required_subkeys, is_valid_output};
use streamalert_tests::vectors::{Harness, Shape, Vector};

streamalert::services!();

/// The log type of the test rules that no vector gives one for.
const TEST_LOG: &str = "test:log";

// ---------------------------------------------------------------------------------------------
// Test publishers (`T.` abbreviates StreamAlert's test module
// `tests.unit.streamalert.rules_engine.test_rules_engine`; registered under the names the
// vectors use).
// ---------------------------------------------------------------------------------------------

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
// Test rules.
// ---------------------------------------------------------------------------------------------

/// ENG-01: a rule with `req_subkeys` that triggers on every record.
#[streamalert::rule(logs = ["test:log"], req_subkeys = { "data": ["location"] })]
fn req_subkeys_rule(_: &Record) -> bool {
    true
}

thread_local! {
    /// ENG-03: the output `case_output` returns for the current case.
    static CASE_OUTPUT: RefCell<Option<String>> = const { RefCell::new(None) };
    /// ENG-05: every call of `record_call`: the record and the context it received.
    static DYNAMIC_CALLS: RefCell<Vec<(Value, Value)>> = const { RefCell::new(Vec::new()) };
}

/// ENG-03: a dynamic output returning the output of the current case.
fn case_output(_: &Record) -> Option<String> {
    CASE_OUTPUT.with_borrow(Clone::clone)
}

/// ENG-03: its outputs come from `case_output`.
#[streamalert::rule(logs = ["test:log"], dynamic_outputs = [case_output])]
fn output_check_rule(_: &Record) -> bool {
    true
}

/// ENG-05: a dynamic output of arity 2 that records its arguments and adds no output.
fn record_call(record: &Record, context: &Context) -> Option<String> {
    DYNAMIC_CALLS
        .with_borrow_mut(|calls| calls.push((record.clone(), Value::Object(context.clone()))));
    None
}

/// ENG-05, `rule_context: null`.
#[streamalert::rule(logs = ["test:log"], dynamic_outputs = [record_call])]
fn dyn_args_no_context(_: &Record) -> bool {
    true
}

/// ENG-05, `rule_context: {"test": true}`.
#[streamalert::rule(logs = ["test:log"], dynamic_outputs = [record_call], context = { "test": true })]
fn dyn_args_context(_: &Record, _: &mut Context) -> bool {
    true
}

/// ENG-05, `rule_context: {}`.
#[streamalert::rule(logs = ["test:log"], dynamic_outputs = [record_call], context = {})]
fn dyn_args_empty_context(_: &Record, _: &mut Context) -> bool {
    true
}

/// ENG-07's `input.rule`, a description: "context={} ; body sets context['relevant']='data'
/// then merges the record into context; returns true".
#[streamalert::rule(logs = ["test:log"], context = {})]
fn context_deepcopy(record: &Record, context: &mut Context) -> bool {
    context.insert("relevant".into(), "data".into());
    if let Some(fields) = record.as_object() {
        context.extend(fields.clone());
    }
    true
}

/// ENG-09.
#[streamalert::rule(logs = ["log_type_01"])]
fn rule_01(_: &Record) -> bool {
    true
}

/// ENG-09.
#[streamalert::rule(logs = ["log_type_02"])]
fn rule_02(_: &Record) -> bool {
    true
}

/// ENG-09.
#[streamalert::rule(logs = ["log_type_01", "log_type_02"])]
fn rule_03(_: &Record) -> bool {
    true
}

/// ENG-09.
#[streamalert::rule(logs = ["log_type_03"])]
fn rule_04(_: &Record) -> bool {
    true
}

/// ENG-09's note: a rule with only `datatypes` applies to every log type.
#[streamalert::rule(datatypes = ["username"])]
fn datatypes_only_rule(_: &Record) -> bool {
    true
}

/// ENG-09's note: a disabled rule is never returned.
#[streamalert::rule(logs = ["log_type_01", "log_type_02", "log_type_03"], disabled)]
fn disabled_rule(_: &Record) -> bool {
    true
}

/// rule description
#[streamalert::rule(
    logs = ["log_type"],
    outputs = ["slack:test", "demisto:test"],
    publishers = {
        "demisto" => DefaultPublisher,
        "slack" => [that_publisher],
        "slack:test" => [ThisPublisher],
    },
)]
fn test_rule(_: &Record) -> bool {
    true
}

// ---------------------------------------------------------------------------------------------
// Placeholders and encodings of the vectors, all here.
// ---------------------------------------------------------------------------------------------

/// `"<ref>NAME"` (RULE-ANALYSIS-02): a direct reference to the publisher registered as NAME; in
/// Rust, a path in `#[rule(publishers = …)]` that resolves to the registered name NAME.
const REF_PREFIX: &str = "<ref>";

/// ENG-05 `call_args`: the dynamic-output function received the record.
const ARG_RECORD: &str = "record";
/// ENG-05 `call_args`: the dynamic-output function received the rule's context.
const ARG_CONTEXT: &str = "rule.context";

/// ENG-07: the rule its description stands for.
const ENG_07_RULE: &str = "context_deepcopy";

/// ENG-05: the test rule for each `rule_context` (the first whose declared context equals it).
const ENG_05_RULES: [&str; 3] = [
    "dyn_args_no_context",
    "dyn_args_context",
    "dyn_args_empty_context",
];

fn resolve_refs(value: &Value) -> Value {
    match value {
        Value::String(text) => {
            Value::String(text.strip_prefix(REF_PREFIX).unwrap_or(text).to_owned())
        }
        Value::Array(items) => Value::Array(items.iter().map(resolve_refs).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve_refs(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// The checks, one per vector.
// ---------------------------------------------------------------------------------------------

type Check = Result<usize, String>;

fn rule(name: &str) -> Result<&'static Rule, String> {
    streamalert::registry()
        .rule(name)
        .ok_or_else(|| format!("rule `{name}` is not registered"))
}

/// A payload of `record` with the rule's first log type (or [`TEST_LOG`]).
fn payload_for(rule: &Rule, record: Value) -> Payload {
    let log = rule
        .logs
        .and_then(|logs| logs.first().copied())
        .unwrap_or(TEST_LOG);
    Payload::new(log, record)
}

fn declared_context(rule: &Rule) -> Value {
    rule.context
        .map_or(Value::Null, |make| Value::Object(make()))
}

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(message()) }
}

fn cases(vector: &Value) -> Result<&Vec<Value>, String> {
    vector["cases"]
        .as_array()
        .ok_or_else(|| "no cases".to_owned())
}

/// ENG-01: `req_subkeys` needs each key to hold an object with every sub-key present (any value).
fn eng_req_subkeys(vector: &Value) -> Check {
    let rule = rule("req_subkeys_rule")?;
    let declared: Map<String, Value> = rule
        .req_subkeys
        .iter()
        .map(|(key, subkeys)| ((*key).to_owned(), json!(subkeys)))
        .collect();
    ensure(
        Value::Object(declared.clone()) == vector["input"]["req_subkeys"],
        || {
            format!(
                "req_subkeys_rule declares {declared:?}, the vector {}",
                vector["input"]["req_subkeys"]
            )
        },
    )?;
    let engine = RulesEngine::with_rules(vec![rule]);
    for (index, case) in cases(vector)?.iter().enumerate() {
        let record = case["input"]["record"].clone();
        let expected = &case["expected"]["result"];
        let result = has_required_subkeys(rule, &record);
        ensure(json!(result) == *expected, || {
            format!("case {index}: has_required_subkeys = {result}, expected {expected}")
        })?;
        // The rule always triggers, so the engine alerts exactly when the sub-keys are present.
        let alerted = engine.evaluate(rule, &payload_for(rule, record)).is_some();
        ensure(json!(alerted) == *expected, || {
            format!("case {index}: the engine alerted = {alerted}, expected {expected}")
        })?;
    }
    Ok(cases(vector)?.len())
}

/// ENG-03: an output is valid when it is a string containing `:`.
fn eng_valid_output(vector: &Value) -> Check {
    let rule = rule("output_check_rule")?;
    let engine = RulesEngine::with_rules(vec![rule]);
    for (index, case) in cases(vector)?.iter().enumerate() {
        let output = &case["input"]["output"];
        let expected = &case["expected"]["result"];
        let Some(output) = output.as_str() else {
            // Not a string: Rust outputs are `&str`/`String`, so such a value cannot reach the
            // engine at all (the type system rejects it); it is never a valid output.
            ensure(*expected == json!(false), || {
                format!("case {index}: non-string output {output} expected valid")
            })?;
            continue;
        };
        let result = is_valid_output(output);
        ensure(json!(result) == *expected, || {
            format!("case {index}: is_valid_output({output:?}) = {result}, expected {expected}")
        })?;
        // Through the engine: a dynamic output returning it; only valid outputs are kept.
        CASE_OUTPUT.set(Some(output.to_owned()));
        let alert = engine.evaluate(rule, &payload_for(rule, json!({})));
        CASE_OUTPUT.set(None);
        let kept = alert
            .ok_or_else(|| format!("case {index}: output_check_rule did not alert"))?
            .outputs
            .contains(output);
        ensure(json!(kept) == *expected, || {
            format!("case {index}: engine kept {output:?} = {kept}, expected {expected}")
        })?;
    }
    Ok(cases(vector)?.len())
}

/// ENG-05: what a dynamic-output function receives. Decision P6 changes the `{}` case.
fn eng_dynamic_output_args(vector: &Value) -> Check {
    for (index, case) in cases(vector)?.iter().enumerate() {
        let rule_context = &case["input"]["rule_context"];
        let name = ENG_05_RULES
            .into_iter()
            .find(|name| rule(name).is_ok_and(|rule| declared_context(rule) == *rule_context))
            .ok_or_else(|| {
                format!("case {index}: no ENG-05 test rule declares the context {rule_context}")
            })?;
        let rule = rule(name)?;
        let record = json!({"case": index});
        DYNAMIC_CALLS.take();
        let engine = RulesEngine::with_rules(vec![rule]);
        engine
            .evaluate(rule, &payload_for(rule, record.clone()))
            .ok_or_else(|| format!("case {index}: {name} did not alert"))?;
        let calls = DYNAMIC_CALLS.take();
        let [(received_record, received_context)] = calls.as_slice() else {
            return Err(format!(
                "case {index}: {name}: the dynamic output was called {} times, expected once",
                calls.len()
            ));
        };
        // The arguments the function received, named as the vector names them: the record, and
        // the rule's context when the rule declares one. Without one it gets an empty context.
        let mut call_args = Vec::new();
        if *received_record == record {
            call_args.push(ARG_RECORD);
        }
        match rule.context {
            Some(make) if *received_context == Value::Object(make()) => call_args.push(ARG_CONTEXT),
            Some(_) => {
                return Err(format!(
                    "case {index}: {name}: received context {received_context}, not the rule's"
                ));
            }
            None => ensure(*received_context == json!({}), || {
                format!(
                    "case {index}: {name}: received context {received_context} without one declared"
                )
            })?,
        }
        let (expected, why) = if rule_context.as_object().is_some_and(Map::is_empty) {
            // StreamAlert passes only the record (an empty context is falsy).
            (
                json!([ARG_RECORD, ARG_CONTEXT]),
                "Decision P6: a rule that declares a context, even {}, passes it to dynamic-output functions of arity 2",
            )
        } else {
            (case["expected"]["call_args"].clone(), "vector")
        };
        ensure(json!(call_args) == expected, || {
            format!("case {index}: {name}: call args {call_args:?}, expected {expected} ({why})")
        })?;
    }
    Ok(cases(vector)?.len())
}

/// ENG-07: each evaluation starts from a fresh copy of the declared context.
fn eng_context_deepcopy(vector: &Value) -> Check {
    let rule = rule(ENG_07_RULE)?;
    ensure(declared_context(rule) == json!({}), || {
        format!(
            "{ENG_07_RULE} declares {}, the description says context={{}}",
            declared_context(rule)
        )
    })?;
    let engine = RulesEngine::with_rules(vec![rule]);
    for (index, case) in cases(vector)?.iter().enumerate() {
        let alert = engine
            .evaluate(rule, &payload_for(rule, case["input"]["record"].clone()))
            .ok_or_else(|| format!("case {index}: {ENG_07_RULE} did not alert"))?;
        let expected = &case["expected"]["rule_context_after"];
        ensure(Value::Object(alert.context.clone()) == *expected, || {
            format!(
                "case {index}: context {:?}, expected {expected}",
                alert.context
            )
        })?;
    }
    Ok(cases(vector)?.len())
}

/// ENG-09: the enabled rules of a log type, in order.
fn eng_rules_for_log_type(vector: &Value) -> Check {
    let declared = vector["input"]["rules"]
        .as_object()
        .ok_or("input.rules is not an object")?;
    let mut rules = Vec::new();
    for (name, logs) in declared {
        let rule = rule(name)?;
        ensure(json!(rule.logs) == *logs, || {
            format!("{name} declares logs {:?}, the vector {logs}", rule.logs)
        })?;
        rules.push(rule);
    }
    let expected = vector["expected"]["result"]
        .as_object()
        .ok_or("expected.result is not an object")?;
    let engine = RulesEngine::with_rules(rules.clone());
    for (log_type, names) in expected {
        let found: Vec<&str> = engine
            .rules_for_log_type(log_type)
            .map(|rule| rule.name)
            .collect();
        ensure(json!(found) == *names, || {
            format!("{log_type}: {found:?}, expected {names}")
        })?;
    }
    // The note: a datatypes-only rule is returned for every log type, a disabled one never.
    let extra = [rule("datatypes_only_rule")?, rule("disabled_rule")?];
    ensure(extra[0].logs.is_none() && extra[1].disabled, || {
        "note rules are misdeclared".to_owned()
    })?;
    let engine = RulesEngine::with_rules(rules.into_iter().chain(extra).collect());
    for (log_type, names) in expected {
        let found: Vec<&str> = engine
            .rules_for_log_type(log_type)
            .map(|rule| rule.name)
            .collect();
        let mut wanted: Vec<Value> = names.as_array().cloned().unwrap_or_default();
        wanted.push(json!(extra[0].name));
        ensure(json!(found) == json!(wanted), || {
            format!("note, {log_type}: {found:?}, expected {wanted:?}")
        })?;
    }
    Ok(expected.len())
}

/// ENG-11: `is_staged` from the rules table (`Staged`, default false; no table: false).
fn eng_is_staged(vector: &Value) -> Check {
    let cases = cases(vector)?;
    // The rule the tables describe: the only one any case names.
    let named: BTreeSet<&str> = cases
        .iter()
        .filter_map(|case| case["input"]["rule_table_info"].as_object())
        .flat_map(|table| table.keys().map(String::as_str))
        .collect();
    let [name] = named.into_iter().collect::<Vec<_>>()[..] else {
        return Err("ENG-11 cases name more or fewer than one rule".to_owned());
    };
    let rule = rule(name)?;
    for (index, case) in cases.iter().enumerate() {
        let input = &case["input"];
        // The rules table maps to the engine's staged rule names: those whose `Staged` is true.
        let engine = RulesEngine::with_rules(vec![rule]);
        let engine = match input.get("rule_table_info").and_then(Value::as_object) {
            Some(table) => engine.with_staged_rules(
                table
                    .iter()
                    .filter(|(_, info)| info["Staged"].as_bool().unwrap_or(false))
                    .map(|(name, _)| name.clone()),
            ),
            None if input.get("rule_table").is_some_and(Value::is_null) => engine,
            None => {
                return Err(format!(
                    "case {index}: neither rule_table nor rule_table_info"
                ));
            }
        };
        let expected = &case["expected"]["result"];
        let staged = engine.is_staged(name);
        ensure(json!(staged) == *expected, || {
            format!("case {index}: is_staged = {staged}, expected {expected}")
        })?;
        let alert = engine
            .evaluate(rule, &payload_for(rule, json!({})))
            .ok_or_else(|| format!("case {index}: {name} did not alert"))?;
        ensure(json!(alert.staged) == *expected, || {
            format!(
                "case {index}: alert.staged = {}, expected {expected}",
                alert.staged
            )
        })?;
    }
    Ok(cases.len())
}

/// RULE-ANALYSIS-02: the alert of a staged rule (`_rule_analysis`, §2.1 and §4.6).
fn rule_analysis(vector: &Value) -> Check {
    let declared = &vector["input"]["rule"];
    let name = declared["name"]
        .as_str()
        .ok_or("input.rule.name is not a string")?;
    let rule = rule(name)?;
    ensure(json!(rule.description) == declared["description"], || {
        format!("{name}: description {:?}", rule.description)
    })?;
    ensure(json!(rule.outputs) == declared["outputs"], || {
        format!("{name}: outputs {:?}", rule.outputs)
    })?;
    let publishers = PublisherSpec::from(rule.publishers);
    let wanted = PublisherSpec::from_json(&resolve_refs(&declared["publishers"]));
    ensure(publishers == wanted, || {
        format!("{name}: publishers {publishers:?}, the vector {wanted:?}")
    })?;

    let input = &vector["input"]["payload"];
    let text = |key: &str| input[key].as_str().map(str::to_owned);
    let mut payload = Payload::new(
        text("log_schema_type").ok_or("payload.log_schema_type")?,
        input["record"].clone(),
    );
    payload.cluster = text("cluster");
    payload.data_type = text("data_type");
    payload.resource = text("resource");
    payload.service = text("service");

    let engine = RulesEngine::with_rules(vec![rule]);
    let engine = if declared["staged"] == json!(true) {
        engine.with_staged_rules([name])
    } else {
        engine
    };
    let alerts = engine.run(&payload);
    let [alert] = alerts.as_slice() else {
        return Err(format!("{} alerts, expected one", alerts.len()));
    };
    let dict = alert.output_dict();
    let expected = vector["expected"]["alert"]
        .as_object()
        .ok_or("expected.alert is not an object")?;
    for (field, wanted) in expected {
        let actual = dict
            .get(field)
            .ok_or_else(|| format!("the alert has no field {field}"))?;
        // Sets (outputs) are sorted lists on both sides: `output_dict` lists them sorted.
        ensure(actual == wanted, || {
            format!("alert.{field} = {actual}, expected {wanted}")
        })?;
    }
    // §2.1: the fields the engine fills from the rule and the payload.
    let filled = [
        ("rule_name", json!(name)),
        ("record", input["record"].clone()),
        ("cluster", input["cluster"].clone()),
        ("log_source", input["log_schema_type"].clone()),
        ("log_type", input["data_type"].clone()),
        ("source_entity", input["resource"].clone()),
        ("source_service", input["service"].clone()),
        ("rule_description", json!(rule.description)),
        ("context", json!({})),
    ];
    for (field, wanted) in filled {
        ensure(dict[field] == wanted, || {
            format!("§2.1: alert.{field} = {}, expected {wanted}", dict[field])
        })?;
    }
    if alert.staged {
        // §1.5 A / §4.6: a staged alert keeps `{}` publishers; the alerts table stores null.
        ensure(dict["publishers"] == json!({}), || {
            format!("§4.6: staged alert publishers {}", dict["publishers"])
        })?;
        let item = alert.to_item();
        ensure(item.get("Publishers") == Some(&Value::Null), || {
            format!("§1.5: staged item Publishers {:?}", item.get("Publishers"))
        })?;
    }
    Ok(1)
}

// ---------------------------------------------------------------------------------------------
// Running every vector.
// ---------------------------------------------------------------------------------------------

/// The shapes of the engine vectors: one rules-engine operation each, told apart by their
/// input, and `RulesEngine.rule_analysis`.
const SHAPES: &[Shape] = &[
    Shape {
        kind: "engine",
        functions: &[],
        fields: &["input", "expected", "cases"],
        input: &[
            "output",
            "record",
            "req_subkeys",
            "rule",
            "rule_context",
            "rule_table",
            "rule_table_info",
            "rules",
        ],
        expected: &["call_args", "result", "rule_context_after"],
    },
    Shape {
        kind: "engine",
        functions: &["RulesEngine.rule_analysis"],
        fields: &["input", "expected"],
        input: &["payload", "rule"],
        expected: &["alert"],
    },
];

/// Runs the check of the operation `vector` exercises: its `function`, or else the input key
/// that only that operation takes.
fn check(vector: &Vector) -> Result<(), String> {
    if vector.function() == Some("RulesEngine.rule_analysis") {
        return rule_analysis(&vector.value).map(drop);
    }
    let keys: BTreeSet<String> = vector
        .cases()?
        .into_iter()
        .flat_map(|(input, _)| input.keys().cloned().collect::<Vec<_>>())
        .collect();
    let has = |key: &str| keys.contains(key);
    let operation: fn(&Value) -> Check = if has("req_subkeys") {
        eng_req_subkeys
    } else if has("output") {
        eng_valid_output
    } else if has("rule_context") {
        eng_dynamic_output_args
    } else if has("rule") && has("record") {
        eng_context_deepcopy
    } else if has("rules") {
        eng_rules_for_log_type
    } else if has("rule_table") {
        eng_is_staged
    } else {
        return Err(format!("no engine operation takes the input keys {keys:?}"));
    };
    operation(&vector.value).map(drop)
}

#[test]
fn engine_vectors() {
    Harness::new("engine", SHAPES).run(check);
}
