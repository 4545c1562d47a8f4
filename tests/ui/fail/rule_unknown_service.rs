use streamalert::prelude::*;
streamalert::services!();

/// Root logins.
#[rule(logs = ["osquery:differential"], outputs = ["slack:secops", "pagerdty:oncall"])]
fn root_login(rec: &Record) -> bool {
    rec["user"] == "root"
}

fn main() {}
