use streamalert::prelude::*;

#[publisher]
fn one_argument(p: Publication) -> Publication {
    p
}

#[publisher]
fn wrong_types(alert: &str, p: Publication) -> Publication {
    let _ = alert;
    p
}

#[publisher]
fn wrong_return(_: &Alert, p: Publication) -> String {
    p.len().to_string()
}

fn main() {}
