use streamalert::prelude::*;
streamalert::services!();

#[rule(logs = ["osquery:differential"], outputs = ["slack"])]
fn root_login(rec: &Record) -> bool {
    rec["user"] == "root"
}

fn main() {}
