//! The ledger's promises as a user meets them, on the quickstart binary: a poison record never
//! strands the others, an unreadable row is quarantined and reported, deliveries are given up
//! after `max_attempts`, and the `ledger` command shows, replays and prunes them.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Output;

/// An osquery login of `user` (the quickstart's `osquery_root_login` fires for root), with
/// `pid` written as given.
fn osquery_line(user: &str, pid: &str) -> String {
    format!(
        r#"{{"log_type":"osquery:differential","record":{{"action":"added","columns":{{"host":"10.0.2.2","pid":{pid},"username":"{user}"}},"hostIdentifier":"web-01","name":"pack_incident-response_last"}}}}"#
    )
}

/// A configuration directory in `workdir`: the `file` output writes to `file_path`, the ledger
/// is `ledger.sqlite3`, with extra processor settings.
fn write_conf(workdir: &Path, file_path: &str, extra: &Value) -> PathBuf {
    let conf = workdir.join("conf");
    std::fs::create_dir_all(&conf).expect("conf dir");
    let outputs = json!({"file": {"alerts": file_path}, "stdout": ["console"]});
    std::fs::write(conf.join("outputs.json"), outputs.to_string()).expect("outputs.json");
    let mut settings = json!({"ledger": {"path": "ledger.sqlite3"}});
    if let (Some(settings), Some(extra)) = (settings.as_object_mut(), extra.as_object()) {
        settings.extend(extra.clone());
    }
    std::fs::write(conf.join("processor.json"), settings.to_string()).expect("processor.json");
    conf
}

/// A `file` output path that cannot be written: its directory is a regular file.
fn blocked_path(workdir: &Path) -> String {
    std::fs::write(workdir.join("blocker"), "not a directory").expect("blocker");
    "blocker/alerts.jsonl".to_owned()
}

fn quickstart(workdir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .current_dir(workdir)
        .args(args)
        .output()
        .expect("the quickstart binary runs")
}

/// Runs `args` followed by `--config conf` in `workdir`.
fn run(workdir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = args.to_vec();
    all.extend(["--config", "conf"]);
    let out = quickstart(workdir, &all);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Processes `lines` as one input file.
fn process(workdir: &Path, lines: &[String]) -> (Option<i32>, String, String) {
    let input = workdir.join("input.jsonl");
    std::fs::write(&input, lines.join("\n")).expect("input");
    run(
        workdir,
        &["process", "--input", input.to_str().expect("utf-8")],
    )
}

/// The lines of the `file` output at `out/alerts.jsonl`, parsed.
fn delivered(workdir: &Path) -> Vec<Value> {
    std::fs::read_to_string(workdir.join("out/alerts.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// The alert ids in the ledger with their `pid` values as stored.
fn alert_ids(workdir: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(workdir.join("ledger.sqlite3")).expect("ledger");
    let mut statement = conn
        .prepare(
            "SELECT a.alert_id, i.item FROM alerts a JOIN alert_items i ON i.id = a.id ORDER BY a.alert_id",
        )
        .expect("query");
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("read")
}

/// The issue's scenario: a record with `"pid":1e400` and a good one, the `file` output failing.
/// After outputs.json is fixed, `retry` delivers both (the 1e400 record once stranded every
/// alert), each exactly once.
#[test]
fn a_poison_number_no_longer_strands_the_alerts() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let dir = workdir.path();
    write_conf(dir, &blocked_path(dir), &json!({}));
    let (code, _, err) = process(
        dir,
        &[osquery_line("root", "1e400"), osquery_line("root", "4242")],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("alerts: 2, deliveries sent: 2, failed: 2, pending: 2"),
        "{err}"
    );
    write_conf(dir, "out/alerts.jsonl", &json!({}));
    let (code, _, err) = run(dir, &["retry"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("deliveries sent: 2, failed: 0, pending: 0"),
        "{err}"
    );
    assert!(err.contains("quarantined: 0"), "{err}");
    let mut pids: Vec<String> = delivered(dir)
        .iter()
        .map(|alert| alert["record"]["columns"]["pid"].to_string())
        .collect();
    pids.sort();
    // The `file` output writes the number as `process` read it.
    assert_eq!(pids, ["1e+400", "4242"].map(str::to_owned).to_vec());
}

/// A row the ledger cannot read back (here a torn item) is quarantined: `retry` delivers the
/// other alert, logs the quarantined one with its id and rule, counts it and exits 1;
/// `validate`, `ledger status` and `ledger list` report it.
#[test]
fn an_unreadable_row_is_quarantined_reported_and_never_blocks_the_other_alert() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let dir = workdir.path();
    write_conf(dir, &blocked_path(dir), &json!({}));
    let (code, _, err) = process(dir, &[osquery_line("root", "1"), osquery_line("root", "2")]);
    assert_eq!(code, Some(1), "{err}");
    let ids = alert_ids(dir);
    let (bad, item) = &ids[0];
    let (good, _) = &ids[1];
    {
        let conn = rusqlite::Connection::open(dir.join("ledger.sqlite3")).expect("ledger");
        conn.execute(
            "UPDATE alert_items SET item = ?2 WHERE id = (SELECT id FROM alerts WHERE alert_id = ?1)",
            [bad, &item[..item.len() / 2].to_owned()],
        )
        .expect("tear the item");
    }
    write_conf(dir, "out/alerts.jsonl", &json!({}));

    let (code, _, err) = run(dir, &["retry"]);
    assert_eq!(code, Some(1), "quarantined alerts fail the run: {err}");
    assert!(err.contains("deliveries sent: 1, failed: 0"), "{err}");
    assert!(err.contains("quarantined: 1"), "{err}");
    assert!(
        err.lines().any(|line| line.contains("quarantined")
            && line.contains(bad.as_str())
            && line.contains("osquery_root_login")),
        "{err}"
    );
    let delivered: Vec<Value> = delivered(dir).iter().map(|a| a["id"].clone()).collect();
    assert_eq!(delivered, [json!(good)]);

    let (code, out, _) = run(dir, &["validate"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "alert {bad} of rule osquery_root_login is quarantined in the ledger"
        )),
        "{out}"
    );
    let (code, out, _) = run(dir, &["ledger", "status"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("quarantined 1"), "{out}");
    let (code, out, _) = run(dir, &["ledger", "list", "--state", "quarantined", "--json"]);
    assert_eq!(code, Some(0));
    let listed: Value = serde_json::from_str(out.trim()).expect("one JSON line");
    assert_eq!(listed["alert_id"], json!(bad));
    assert_eq!(listed["rule"], "osquery_root_login");
    assert!(
        listed["reason"]
            .as_str()
            .is_some_and(|r| r.contains("stored item is not JSON")),
        "{listed}"
    );
    let (code, out, _) = run(dir, &["ledger", "show", bad]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("status: quarantined: stored item is not JSON"),
        "{out}"
    );
}

/// With `max_attempts: 2`, a delivery failing twice is given up: the next `retry` sends
/// nothing and succeeds. The `ledger` command lists and shows it, `replay --dead` makes it
/// pending, `retry` delivers it, and `prune` deletes the complete alerts.
#[test]
fn dead_deliveries_are_listed_shown_replayed_and_then_pruned() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let dir = workdir.path();
    let settings = json!({"max_attempts": 5, "max_attempts_by_service": {"file": 2}});
    write_conf(dir, &blocked_path(dir), &settings);
    let (code, _, err) = process(dir, &[osquery_line("root", "1")]);
    assert_eq!(code, Some(1), "{err}");
    let (code, _, err) = run(dir, &["retry"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("failed: 1, pending: 0, given up (dead): 1"),
        "{err}"
    );
    let (code, _, err) = run(dir, &["retry"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("alerts: 0, deliveries sent: 0, failed: 0"),
        "{err}"
    );

    let (code, out, _) = run(dir, &["ledger", "status"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("alerts: open 1, complete 0"), "{out}");
    assert!(
        out.contains("deliveries: pending 0, failed 0, dead 1, sent 1"),
        "{out}"
    );
    assert!(out.contains("oldest pending alert: none"), "{out}");
    assert!(out.contains("  file:alerts: dead 1"), "{out}");
    assert!(out.contains("  stdout:console: sent 1"), "{out}");

    let (code, out, _) = run(
        dir,
        &[
            "ledger",
            "list",
            "--state",
            "dead",
            "--output",
            "file:alerts",
            "--json",
        ],
    );
    assert_eq!(code, Some(0));
    let dead: Value = serde_json::from_str(out.trim()).expect("one JSON line");
    assert_eq!(dead["output"], "file:alerts");
    assert_eq!(dead["state"], "dead");
    assert_eq!(dead["attempts"], 2);
    assert!(
        dead["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("I/O error")),
        "{dead}"
    );
    let id = dead["alert_id"].as_str().expect("id").to_owned();
    let (_, out, _) = run(
        dir,
        &[
            "ledger",
            "list",
            "--state",
            "dead",
            "--output",
            "stdout:console",
        ],
    );
    assert_eq!(out, "", "nothing dead for stdout");
    let (code, out, _) = run(dir, &["ledger", "list"]);
    assert_eq!(code, Some(0));
    assert!(
        out.starts_with(&format!(
            "{id}\tosquery_root_login\tfile:alerts\tdead\tattempts 2\t"
        )),
        "{out}"
    );

    let (code, out, _) = run(dir, &["ledger", "show", &id]);
    assert_eq!(code, Some(0));
    assert!(out.contains("rule: osquery_root_login"), "{out}");
    assert!(out.contains("  file:alerts: dead, attempts 2"), "{out}");
    assert!(out.contains("  stdout:console: sent, attempts 1"), "{out}");
    assert!(
        out.contains("\"RuleName\": \"osquery_root_login\""),
        "{out}"
    );

    write_conf(dir, "out/alerts.jsonl", &settings);
    let (code, out, _) = run(
        dir,
        &["ledger", "replay", "--dead", "--output", "file:alerts"],
    );
    assert_eq!(code, Some(0));
    assert!(out.starts_with("replayed 1 deliveries"), "{out}");
    let (code, _, err) = run(dir, &["retry"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("deliveries sent: 1, failed: 0, pending: 0"),
        "{err}"
    );
    assert_eq!(delivered(dir).len(), 1);

    let (code, out, _) = run(dir, &["ledger", "prune", "--older-than", "1d"]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("pruned 0 complete alerts"), "{out}");
    let (code, out, _) = run(dir, &["ledger", "prune", "--older-than", "0s"]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("pruned 1 complete alerts"), "{out}");
    let (_, out, _) = run(dir, &["ledger", "status"]);
    assert!(out.contains("alerts: open 0, complete 0"), "{out}");
}

/// A `process` run with a pending delivery, then `prune`: nothing pending is deleted.
#[test]
fn prune_never_deletes_a_pending_alert() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let dir = workdir.path();
    write_conf(dir, &blocked_path(dir), &json!({}));
    let (code, _, _) = process(dir, &[osquery_line("root", "1")]);
    assert_eq!(code, Some(1));
    let (code, out, _) = run(dir, &["ledger", "prune", "--older-than", "0s"]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("pruned 0 complete alerts"), "{out}");
    let (_, out, _) = run(dir, &["ledger", "status"]);
    assert!(out.contains("alerts: open 1"), "{out}");
    assert!(out.contains("oldest pending alert: created "), "{out}");
}

/// Clear errors: an unknown alert id is named; a missing ledger file is named and not created;
/// `replay` needs alert ids or `--dead`.
#[test]
fn the_ledger_command_names_what_it_cannot_find() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let dir = workdir.path();
    write_conf(dir, "out/alerts.jsonl", &json!({}));
    let (code, _, err) = run(dir, &["ledger", "status"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no ledger at ledger.sqlite3"), "{err}");
    assert!(
        !dir.join("ledger.sqlite3").exists(),
        "the command created a ledger"
    );

    let (code, _, _) = process(dir, &[osquery_line("root", "1")]);
    assert_eq!(code, Some(0));
    for args in [
        ["ledger", "show", "no-such-alert"],
        ["ledger", "replay", "no-such-alert"],
    ] {
        let (code, _, err) = run(dir, &args);
        assert_eq!(code, Some(1), "{args:?}");
        assert!(
            err.contains("alert no-such-alert is not in the ledger (ledger.sqlite3)"),
            "{err}"
        );
    }
    let (code, _, err) = run(dir, &["ledger", "replay"]);
    assert_eq!(code, Some(2), "a usage error: {err}");
    let (code, _, err) = run(dir, &["ledger", "prune", "--older-than", "7y"]);
    assert_eq!(code, Some(2), "a usage error: {err}");
    assert!(err.contains("`7y` is not a duration"), "{err}");
}

/// The help names the ledger command, its subcommands and the states.
#[test]
fn help_explains_the_ledger_command_and_its_states() {
    let workdir = tempfile::tempdir().expect("temp dir");
    let out = quickstart(workdir.path(), &["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("ledger"), "{help}");
    assert!(help.contains("\"max_attempts\": 10"), "{help}");
    assert!(help.contains("\"retention_days\": 7"), "{help}");
    let out = quickstart(workdir.path(), &["ledger", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for word in [
        "status",
        "list",
        "show",
        "replay",
        "prune",
        "--alerts-table",
        "dead",
        "quarantined",
    ] {
        assert!(help.contains(word), "{word} in {help}");
    }
    let out = quickstart(workdir.path(), &["retry", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("max_attempts") && help.contains("quarantined"),
        "{help}"
    );
}
