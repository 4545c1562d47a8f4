use streamalert::prelude::*;
streamalert::services!();

/// Not annotated with `#[publisher]`.
struct Tidy;

#[rule(logs = ["osquery:differential"], outputs = ["slack:secops"], publishers = [Tidy])]
fn root_login(rec: &Record) -> bool {
    rec["user"] == "root"
}

fn main() {}
