// `builtin` outputs take their fields from the built-in table only; a service missing from the
// table is named.
#[derive(Default)]
#[streamalert::output(service = "slack", builtin, fields = ["text"])]
pub struct MySlack;

#[derive(Default)]
#[streamalert::output(service = "not-built-in", builtin)]
pub struct Other;

fn main() {}
