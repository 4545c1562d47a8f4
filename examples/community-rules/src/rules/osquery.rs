//! osquery (`rules/community/osquery/`).

use streamalert::prelude::*;
use streamalert::rule::matchers::osquery;

/// author:           chunyong-lin
/// description:      Detect on ssh login activity to the linux host based on osquery
///                   last table. This rule assumes we use default osquery pack
///                   shipped with osquery package located at
///                   /usr/share/osquery/packs/incident-response.conf on the linux
///                   host. Update the pack name in rules/matchers/matchers.py if different.
/// reference:        https://osquery.io/schema/4.1.2#last
#[rule(
    logs = ["osquery:differential"],
    matchers = [osquery::added, osquery::user_login],
    outputs = ["file:alerts", "stdout:console"],
)]
fn ssh_login_activity(_: &Record) -> bool {
    true
}
