//! A test-only processor binary for the crash-and-fault suite (`tests/tests/crash_faults.rs`):
//! one rule that alerts on every `test:event` record and sends the alert to an HTTP endpoint
//! (`webhook:sink`) and to a file (`file:alerts`), so every kind of output meets every crash.

use streamalert::prelude::*;

/// Every `test:event` record is an alert.
#[rule(logs = ["test:event"], outputs = ["webhook:sink", "file:alerts"])]
fn every_event(_: &Record) -> bool {
    true
}

streamalert::main!();
