use streamalert::prelude::*;
streamalert::services!();

#[publisher]
fn summarize(alert: &Alert, mut p: Publication) -> Publication {
    p.insert("@slack.txt", alert.rule_name.clone());
    p.insert("@jira.summary", alert.rule_name.clone());
    p
}

#[rule(
    outputs = ["slak:secops", "pagerduty", "jira:x y"],
    publishers = { "github" => summarize },
)]
fn root_login(rec: &Record) -> bool {
    rec["user"] == "root"
}

fn main() {}
