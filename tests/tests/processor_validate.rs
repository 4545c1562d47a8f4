//! `validate` catches each problem it is documented to catch, one test each, and all at once.

mod processor_support;

use processor_support::*;
use serde_json::{Value, json};
use std::path::Path;
use streamalert::prelude::*;

streamalert::services!(Vault);

/// An output whose token is secret: it needs stored credentials.
#[derive(Default)]
#[output(service = "vault")]
pub struct Vault;

#[streamalert::async_trait]
impl Output for Vault {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor("a name"),
            OutputProperty::new("token", "the API token")
                .masked()
                .secret(),
        ]
    }

    async fn dispatch(
        &self,
        delivery: &streamalert::output::Delivery<'_>,
    ) -> Result<(), DispatchError> {
        delivery.credentials.require("token").map(|_| ())
    }
}

/// Every event, to two files.
#[rule(logs = ["test:event"], outputs = ["file:alerts", "file:extra"])]
fn two_files(rec: &Record) -> bool {
    rec.is_object()
}

#[test]
fn cli_child() {
    if !child_main() {
        assert!(streamalert::registry().output("vault").is_some());
    }
}

/// The configuration this binary needs, without problems.
fn clean() -> Value {
    json!({"file": {"alerts": "out/alerts.jsonl", "extra": "out/extra.jsonl"}})
}

fn validate(dir: &Path, outputs: &Value, processor: Option<&Value>) -> (Option<i32>, Vec<String>) {
    let conf = write_config(dir, outputs, processor);
    let run = run_cli(
        dir,
        &["validate", "--config", conf.to_str().expect("utf-8")],
    );
    let problems = String::from_utf8_lossy(&run.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("problem: ").map(str::to_owned))
        .collect();
    (code(&run), problems)
}

#[test]
fn a_clean_configuration_passes() {
    let dir = scratch("validate-clean");
    let conf = write_config(&dir, &clean(), None);
    let run = run_cli(
        &dir,
        &["validate", "--config", conf.to_str().expect("utf-8")],
    );
    let out = String::from_utf8_lossy(&run.stdout);
    assert_eq!(code(&run), Some(0), "{out}{}", stderr(&run));
    assert!(out.contains("ok: "), "{out}");
}

#[test]
fn a_rule_output_missing_from_outputs_json_is_reported() {
    let dir = scratch("validate-descriptor");
    let (code, problems) = validate(&dir, &json!({"file": {"alerts": "out/a.jsonl"}}), None);
    assert_eq!(code, Some(1));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("rule `two_files` ("),
        "{problems:?}"
    );
    assert!(
        problems[0]
            .ends_with("output `file:extra`: descriptor `extra` of `file` is not in outputs.json"),
        "{problems:?}"
    );
}

#[test]
fn a_descriptor_without_stored_credentials_is_reported() {
    let dir = scratch("validate-credentials");
    let mut outputs = clean();
    outputs["vault"] = json!(["main"]);
    let (code, problems) = validate(&dir, &outputs, None);
    assert_eq!(code, Some(1));
    assert_eq!(
        problems,
        [
            "outputs.json: `vault:main`: no credentials are stored for this descriptor (it needs token)"
        ]
    );
}

#[test]
fn an_output_service_not_compiled_in_is_reported() {
    let dir = scratch("validate-compiled");
    let mut outputs = clean();
    outputs["no-such-service"] = json!(["x"]);
    let (code, problems) = validate(&dir, &outputs, None);
    assert_eq!(code, Some(1));
    assert_eq!(
        problems,
        [
            "outputs.json: `no-such-service:x`: the `no-such-service` output is not compiled into this binary (enable its cargo feature)"
        ]
    );
}

#[test]
fn a_descriptor_no_output_reference_can_name_is_reported() {
    let dir = scratch("validate-grammar");
    let mut outputs = clean();
    outputs["file"]["my alerts"] = json!("out/m.jsonl");
    let (code, problems) = validate(&dir, &outputs, None);
    assert_eq!(code, Some(1));
    assert_eq!(
        problems,
        [
            "outputs.json: the descriptor `my alerts` of output `file:my alerts` may not contain ' '; no rule can name it"
        ]
    );
}

#[test]
fn an_unknown_publisher_on_a_waiting_alert_is_reported() {
    let dir = scratch("validate-publisher");
    let conf = write_config(
        &dir,
        &clean(),
        Some(&json!({"ledger": {"path": "ledger.sqlite3"}})),
    );
    // An alert from elsewhere (StreamAlert's alerts table) naming a publisher this binary lacks,
    // for an output that is not configured: it fails and waits in the ledger.
    let event = json!({
        "RuleName": "old_rule", "AlertID": "a-1", "Attempts": 1, "Created": "2024-01-01T00:00:00.000000Z",
        "Record": "{\"n\":1}", "Outputs": ["file:gone"], "Publishers": {"file": ["publishers.removed.Layout"]}
    });
    let dispatch = run_cli_with_stdin(
        &dir,
        &["dispatch", "--config", conf.to_str().expect("utf-8")],
        Some(event.to_string().as_bytes()),
    );
    assert_eq!(code(&dispatch), Some(1), "{}", stderr(&dispatch));
    assert_eq!(stdout_json(&dispatch), [json!({"file:gone": false})]);

    let (code, problems) = validate(
        &dir,
        &clean(),
        Some(&json!({"ledger": {"path": "ledger.sqlite3"}})),
    );
    assert_eq!(code, Some(1));
    assert_eq!(
        problems,
        [
            "ledger: open alert a-1 of rule `old_rule` names publisher `publishers.removed.Layout`, which this binary does not register (it would be skipped)"
        ]
    );
}

#[test]
fn a_rate_limit_for_a_destination_not_in_outputs_json_is_reported_and_refused_by_process() {
    let dir = scratch("validate-rate-limit");
    let settings = json!({"rate_limits": {"file:alertz": {"per_second": 1, "burst": 1}}});
    let (status, problems) = validate(&dir, &clean(), Some(&settings));
    assert_eq!(status, Some(1));
    assert_eq!(
        problems,
        ["processor.json: `rate_limits` names `file:alertz`, which does not exist in outputs.json"]
    );
    let conf = dir.join("conf");
    let run = run_cli(
        &dir,
        &[
            "process",
            "--input",
            "-",
            "--config",
            conf.to_str().expect("utf-8"),
        ],
    );
    assert_ne!(code(&run), Some(0));
    assert!(
        stderr(&run)
            .contains("`rate_limits` names `file:alertz`, which does not exist in outputs.json"),
        "{}",
        stderr(&run)
    );
}

#[test]
fn a_malformed_settings_file_is_reported_with_path_and_line() {
    let dir = scratch("validate-settings");
    let conf = write_config(&dir, &clean(), None);
    std::fs::write(
        conf.join("processor.json"),
        "{\n  \"concurrency\": 4,\n  \"ledgr\": {}\n}\n",
    )
    .expect("write");
    let run = run_cli(
        &dir,
        &["validate", "--config", conf.to_str().expect("utf-8")],
    );
    let out = String::from_utf8_lossy(&run.stdout);
    assert_eq!(code(&run), Some(1));
    let expected = format!("problem: {}:3:", conf.join("processor.json").display());
    assert!(out.contains(&expected), "{out}");
    assert!(out.contains("unknown field `ledgr`"), "{out}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let dir = scratch("validate-all");
    let outputs =
        json!({"file": {"alerts": "a.jsonl"}, "vault": ["main"], "no-such-service": ["x"]});
    let (code, problems) = validate(&dir, &outputs, Some(&json!({"concurrency": 0})));
    assert_eq!(code, Some(1));
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(
        problems[0].contains("`concurrency` is 0; it must be from 1 to 10000"),
        "{problems:#?}"
    );
}
