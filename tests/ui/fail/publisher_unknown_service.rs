use streamalert::prelude::*;
streamalert::services!();

#[publisher]
fn summarize(alert: &Alert, mut p: Publication) -> Publication {
    p.insert("@pagerdty.summary", alert.rule_name.clone());
    p
}

fn main() {}
