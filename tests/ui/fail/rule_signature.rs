use streamalert::prelude::*;

#[rule(logs = ["osquery:differential"])]
fn no_record() -> bool {
    true
}

#[rule(logs = ["osquery:differential"])]
fn wrong_type(rec: &String) -> bool {
    rec.is_empty()
}

#[rule(logs = ["osquery:differential"])]
fn wrong_return(rec: &Record) -> String {
    rec.to_string()
}

#[rule(logs = ["osquery:differential"])]
async fn not_async(_: &Record) -> bool {
    true
}

#[rule(logs = ["osquery:differential"])]
fn context_not_declared(_: &Record, _: &mut Context) -> bool {
    true
}

fn main() {}
