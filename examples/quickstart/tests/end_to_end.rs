//! Runs the quickstart binary as a user would, on the bundled sample and on broken input.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn example_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `quickstart process` in `workdir` (where the `file` output's relative path lands).
fn process(workdir: &Path, input: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .current_dir(workdir)
        .arg("process")
        .arg("--input")
        .arg(input)
        .arg("--config")
        .arg(example_dir().join("conf"))
        .output()
        .expect("the quickstart binary runs")
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

#[test]
fn sample_records_raise_the_expected_alerts_in_both_outputs() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let run = process(workdir.path(), &example_dir().join("data/records.jsonl"));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "quickstart failed: {stderr}");
    assert!(
        stderr.contains("records: 9, malformed: 0, alerts: 4, deliveries sent: 8, failed: 0"),
        "summary line: {stderr}"
    );

    let file = std::fs::read_to_string(workdir.path().join("target/quickstart/alerts.jsonl"))
        .expect("file output written");
    let mut rules: Vec<String> = json_lines(&file)
        .iter()
        .map(|alert| alert["rule_name"].as_str().expect("rule_name").to_owned())
        .collect();
    rules.sort();
    assert_eq!(
        rules,
        [
            "cloudtrail_root_account_usage",
            "guard_duty_finding",
            "osquery_root_login",
            "osquery_root_login"
        ]
    );

    let console = json_lines(&String::from_utf8_lossy(&run.stdout));
    assert_eq!(console.len(), 4, "one console line per alert");
    let root = console
        .iter()
        .find(|a| a["headline"] == "cloudtrail_root_account_usage")
        .expect("root alert on stdout");
    assert!(
        root.get("publishers").is_none(),
        "drop_internal_fields ran after headline on stdout"
    );
    let finding = console
        .iter()
        .find(|a| a["rule_name"] == "guard_duty_finding")
        .expect("GuardDuty alert");
    assert_eq!(
        finding["headline"], "guard_duty_finding (severity 5)",
        "the rule's context reached the publisher"
    );
}

#[test]
fn malformed_lines_are_reported_by_number_and_the_rest_is_processed() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let sample = std::fs::read_to_string(example_dir().join("data/records.jsonl")).expect("sample");
    let first = sample.lines().next().expect("a sample line");
    let input = workdir.path().join("input.jsonl");
    std::fs::write(
        &input,
        format!("{first}\nnot json\n{{\"record\": {{}}}}\n{first}\n"),
    )
    .expect("write input");

    let run = process(workdir.path(), &input);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "malformed input must fail the run");
    assert!(stderr.contains("input.jsonl:2: not valid JSON"), "{stderr}");
    assert!(
        stderr.contains("input.jsonl:3: missing string field `log_type`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("records: 2, malformed: 2, alerts: 2, deliveries sent: 4"),
        "{stderr}"
    );
}

#[test]
fn list_shows_the_registered_rules_with_their_source() {
    let run = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .args(["list", "rules"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success());
    for rule in [
        "cloudtrail_root_account_usage",
        "guard_duty_finding",
        "osquery_root_login",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(rule) && l.contains("src/main.rs:")),
            "{rule} in {stdout}"
        );
    }
}
