use streamalert::prelude::*;

// Both mistakes are reported: the unknown argument, and the item that is not a function.
#[rule(logs = ["osquery:differential"], outputs = ["slack:secops"], severity = "high")]
struct RootLogin;

streamalert::main!();
