use streamalert::prelude::*;
streamalert::services!();

#[rule(logs = ["osquery:differential"], outputs = ["slack:sec ops", "pagerduty:on:call"])]
fn root_login(rec: &Record) -> bool {
    rec["user"] == "root"
}

fn main() {}
