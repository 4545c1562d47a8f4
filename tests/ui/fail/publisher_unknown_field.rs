use streamalert::prelude::*;
streamalert::services!();

#[publisher]
fn summarize(alert: &Alert, mut p: Publication) -> Publication {
    p.insert("@pagerduty-v2.sumary", alert.rule_name.clone());
    p.insert("@aws-s3.bucket", "x");
    p
}

fn main() {}
