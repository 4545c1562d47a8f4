use streamalert::prelude::*;
streamalert::services!(::ext_outputs::Ticketing);

#[rule(logs = ["osquery:differential"], outputs = ["ticketng:soc"])]
fn root_login(rec: &Record) -> bool {
    rec["user"] == "root"
}

fn main() {}
