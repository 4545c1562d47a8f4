use streamalert::prelude::*;
streamalert::services!();

#[rule(outputs = ["slack:secops"])]
fn root_login(rec: &Record) -> bool {
    rec["user"] == "root"
}

fn main() {}
