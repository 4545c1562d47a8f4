use streamalert::prelude::*;
streamalert::services!(::ext_outputs::Ticketing);

#[publisher]
fn route(_: &Alert, mut p: Publication) -> Publication {
    p.insert("@ticketing.queu", "secops");
    p.insert("@ticketing.assignee", "alice");
    p
}

fn main() {}
