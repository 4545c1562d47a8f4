use streamalert::prelude::*;
streamalert::services!(::ext_outputs::Ticketing);

#[publisher]
fn route(_: &Alert, p: Publication) -> Publication {
    p
}

#[rule(
    logs = ["osquery:differential"],
    outputs = ["ticketing:soc"],
    publishers = { "ticketing:noc" => route }
)]
fn root_login(rec: &Record) -> bool {
    rec["user"] == "root"
}

fn main() {}
