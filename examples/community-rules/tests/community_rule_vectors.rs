//! The `community-rules` test vectors (`tests/vectors/community-rules`, spec §4.9, §4.11): for
//! each, the vector's rule must be registered, its verdict on the vector's parsed record must
//! be `should_trigger`, and running every rule of this crate on the record (with the vector's
//! log type) must trigger exactly `all_rules_triggered_for_this_log_type`.
//!
//! Every file of the directory is read at run time; nothing of the vectors is copied here.

// The rules are the binary's own module, compiled into this test too (a test cannot import a
// binary crate).
#[path = "../src/rules/mod.rs"]
mod rules;

streamalert::services!();

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use streamalert::rule::{Payload, RulesEngine};

fn vector_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/community-rules");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

fn names(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .expect("a list of rule names")
        .iter()
        .map(|name| name.as_str().expect("a rule name").to_owned())
        .collect()
}

#[test]
fn every_community_rule_vector_gives_the_recorded_verdict() {
    let files = vector_files();
    assert!(!files.is_empty(), "no community-rules vector found");
    let engine = RulesEngine::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable vector");
        let vector: Value = serde_json::from_str(&text).expect("valid JSON");
        let id = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("file name");
        assert_eq!(vector["id"], id, "{id}: id");
        assert_eq!(vector["category"], "community-rules", "{id}: category");
        assert_eq!(vector["kind"], "rule-event", "{id}: kind");
        let input = &vector["input"];
        let expected = &vector["expected"];
        let rule_name = input["rule"].as_str().expect("input.rule");
        let log = input["log"].as_str().expect("input.log");
        let rule = streamalert::registry()
            .rule(rule_name)
            .unwrap_or_else(|| panic!("{id}: rule {rule_name} is not ported"));
        let payload = Payload::new(log, input["record"].clone());

        let verdict = engine.evaluate(rule, &payload).is_some();
        assert_eq!(
            Value::Bool(verdict),
            expected["should_trigger"],
            "{id}: verdict of {rule_name}"
        );
        let triggered: BTreeSet<String> = engine
            .run(&payload)
            .into_iter()
            .map(|alert| alert.rule_name)
            .collect();
        assert_eq!(
            triggered,
            names(&expected["all_rules_triggered_for_this_log_type"]),
            "{id}: every rule on the record"
        );
    }
    println!("{} community-rules vectors passed", files.len());
}
