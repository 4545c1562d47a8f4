//! A complete StreamAlert-style processor: three detection rules over CloudTrail, osquery and
//! GuardDuty records, two publishers, and the `file` and `stdout` outputs, which need no account.
//! With its `aws` feature (`--features aws`) the same binary also has the AWS outputs, the
//! DynamoDB ledger and the `lambda` command; nothing contacts AWS unless the configuration asks
//! for it.
//!
//! ```text
//! cargo run -p quickstart -- process --input examples/quickstart/data/records.jsonl \
//!     --config examples/quickstart/conf
//! ```

use streamalert::prelude::*;

/// Somebody used the AWS root account outside an AWS service's own activity.
///
/// The root account bypasses IAM policies; its use should be rare and explained.
/// author: secops
/// reference: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user.html
#[rule(
    logs = ["cloudwatch:events"],
    outputs = ["file:alerts", "stdout:console"],
    publishers = { "stdout" => [headline, drop_internal_fields] },
    req_subkeys = { "detail": ["userIdentity", "eventType"] },
)]
fn cloudtrail_root_account_usage(rec: &Record) -> bool {
    let detail = &rec["detail"];
    detail["userIdentity"]["type"] == "Root"
        && detail["userIdentity"].get("invokedBy").is_none()
        && detail["eventType"] != "AwsServiceEvent"
}

/// An interactive login as root on a host, reported by osquery's `last` table.
/// author: hostsec
#[rule(
    logs = ["osquery:differential"],
    outputs = ["file:alerts", "stdout:console"],
    publishers = [headline],
    matchers = [osquery_added],
)]
fn osquery_root_login(rec: &Record) -> bool {
    rec["name"] == "pack_incident-response_last" && rec["columns"]["username"] == "root"
}

/// Every Amazon GuardDuty finding, with the finding's severity in the headline.
#[rule(
    logs = ["cloudwatch:events"],
    outputs = ["file:alerts", "stdout:console"],
    publishers = { "stdout" => headline },
    context = { "severity_field": "severity" },
)]
fn guard_duty_finding(rec: &Record, context: &mut Context) -> bool {
    let is_finding = rec["detail-type"] == "GuardDuty Finding";
    if is_finding {
        context.insert("severity".into(), rec["detail"]["severity"].clone());
    }
    is_finding
}

/// Matches osquery differential rows that were added (not removed).
fn osquery_added(rec: &Record) -> bool {
    rec["action"] == "added"
}

/// A one-line summary first, then the default publication.
#[publisher]
fn headline(alert: &Alert, publication: Publication) -> Publication {
    let mut headline = Publication::new();
    let severity = alert
        .context
        .get("severity")
        .map(|s| format!(" (severity {s})"))
        .unwrap_or_default();
    headline.insert("headline", format!("{}{severity}", alert.rule_name));
    let base = if publication.is_empty() {
        alert.output_dict().into()
    } else {
        publication
    };
    headline.extend(base.into_map());
    headline
}

/// Removes the fields only the processor needs from what goes to the console.
#[publisher]
fn drop_internal_fields(_: &Alert, mut publication: Publication) -> Publication {
    for key in ["publishers", "outputs", "staged"] {
        publication.remove(key);
    }
    publication
}

streamalert::main!();
