//! BinaryAlert (`rules/community/binaryalert/`).

use streamalert::prelude::*;

/// author:       Austin Byers (Airbnb CSIRT)
/// description:  BinaryAlert found a binary matching a YARA rule
/// reference:    https://binaryalert.io
#[rule(logs = ["binaryalert"], outputs = ["file:alerts", "stdout:console"])]
fn binaryalert_yara_match(rec: &Record) -> bool {
    rec["NumMatchedRules"].as_f64().is_some_and(|n| n > 0.0)
}
