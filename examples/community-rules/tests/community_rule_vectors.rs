//! The `community-rules` test vectors (`tests/vectors/community-rules`, spec §4.9, §4.11): for
//! each, the vector's rule must be registered, its verdict on the vector's parsed record must
//! be `should_trigger`, and running every rule of this crate on the record (with the vector's
//! log type) must trigger exactly `all_rules_triggered_for_this_log_type`.
//!
//! Every file of the directory is read at run time by the shared harness; nothing of the
//! vectors is copied here.

// The rules are the binary's own module, compiled into this test too (a test cannot import a
// binary crate).
#[path = "../src/rules/mod.rs"]
mod rules;

streamalert::services!();

use serde_json::Value;
use std::collections::BTreeSet;
use streamalert::rule::{Payload, RulesEngine};
use streamalert_tests::vectors::{Harness, Shape};

/// The one shape of the community-rules vectors.
const SHAPES: &[Shape] = &[Shape {
    kind: "rule-event",
    functions: &[],
    fields: &["input", "expected"],
    // `upstream_file` is informative: the StreamAlert test event the record comes from.
    input: &["rule", "log", "record", "upstream_file"],
    expected: &["should_trigger", "all_rules_triggered_for_this_log_type"],
}];

fn names(value: &Value) -> Result<BTreeSet<String>, String> {
    value
        .as_array()
        .ok_or("not a list of rule names")?
        .iter()
        .map(|name| {
            name.as_str()
                .map(str::to_owned)
                .ok_or("not a rule name".to_owned())
        })
        .collect()
}

#[test]
fn every_community_rule_vector_gives_the_recorded_verdict() {
    let engine = RulesEngine::new();
    Harness::new("community-rules", SHAPES).run(|vector| {
        let input = vector.input();
        let expected = vector.expected();
        let rule_name = input["rule"].as_str().ok_or("input.rule is not text")?;
        let log = input["log"].as_str().ok_or("input.log is not text")?;
        let rule = streamalert::registry()
            .rule(rule_name)
            .ok_or_else(|| format!("rule {rule_name} is not ported"))?;
        let payload = Payload::new(log, input["record"].clone());

        let verdict = engine.evaluate(rule, &payload).is_some();
        if Value::Bool(verdict) != expected["should_trigger"] {
            return Err(format!("verdict of {rule_name}: {verdict}"));
        }
        let triggered: BTreeSet<String> = engine
            .run(&payload)
            .into_iter()
            .map(|alert| alert.rule_name)
            .collect();
        let wanted = names(&expected["all_rules_triggered_for_this_log_type"])?;
        if triggered == wanted {
            Ok(())
        } else {
            Err(format!(
                "every rule on the record: {triggered:?}, expected {wanted:?}"
            ))
        }
    });
}
