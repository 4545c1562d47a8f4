use streamalert::prelude::*;

#[rule(logs = ["osquery:differential"], outputs = ["slack:secops"])]
fn root_login(rec: &Record) -> bool {
    rec["user"] == "root"
}

fn main() {}
