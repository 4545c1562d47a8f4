use streamalert::prelude::*;

#[rule(logs = ["osquery:differential"], output = ["slack:secops"], merge_window_mins = 5)]
fn root_login(rec: &Record) -> bool {
    rec["user"] == "root"
}

fn main() {}
