use streamalert::prelude::*;
streamalert::services!();

#[publisher]
fn summarize(alert: &Alert, mut p: Publication) -> Publication {
    p.insert("@slack", alert.rule_name.clone());
    p.insert(format!("{}", "@slack.text.extra"), 1);
    p
}

fn main() {}
