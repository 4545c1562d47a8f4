//! OneLogin (`rules/community/onelogin/`).

use streamalert::prelude::*;
use streamalert::rule::helpers::py_eq;

/// The OneLogin event type of a user assuming another user's role.
const ASSUMED_ROLE: i64 = 3;

/// author:       @javutin
/// description:  Alert on OneLogin users assuming a different role.
/// reference_1:  https://support.onelogin.com/hc/en-us/articles/202123164-Assuming-Users
/// reference_2:  https://developers.onelogin.com/api-docs/1/events/event-types
#[rule(logs = ["onelogin:events"], outputs = ["file:alerts", "stdout:console"])]
fn onelogin_events_assumed_role(rec: &Record) -> bool {
    py_eq(&rec["event_type_id"], &ASSUMED_ROLE.into())
}
