use streamalert::prelude::*;
streamalert::services!();

#[publisher]
fn tidy(_: &Alert, p: Publication) -> Publication {
    p
}

#[rule(
    logs = ["osquery:differential"],
    outputs = ["slack:secops", "pagerduty-v2:oncall"],
    publishers = { "pagerduty" => tidy, "slack:analysts" => tidy, "slack" => tidy }
)]
fn root_login(rec: &Record) -> bool {
    rec["user"] == "root"
}

fn main() {}
