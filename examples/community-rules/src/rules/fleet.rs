//! Fleet (`rules/community/fleet/`).

use streamalert::prelude::*;

/// author:       gavinelder
/// description:  Alert when a user carries out a bad action.
/// reference:    N/A
/// playbook:     (a) Reach out to the user who made the modification and confirm intent.
///               (b) Link appropriate Jira ticket.
#[rule(logs = ["fleet:results"], outputs = ["file:alerts", "stdout:console"], disabled)]
fn fleet_bad_action(rec: &Record) -> bool {
    // `columns.get('bad_action', '1') == '1'`: a missing column counts as a bad action.
    rec["columns"]
        .as_object()
        .is_some_and(|columns| columns.get("bad_action").is_none_or(|v| v == "1"))
}
