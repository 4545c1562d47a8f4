//! The integration suites that register nothing of their own (no rule, publisher or output),
//! in one test binary: each suite is a module (`cargo test --workspace --test it -- ledger_sqlite::`
//! runs one). Every test binary links the AWS SDK (about 90 MB and a link step each), so one
//! binary instead of sixteen is most of a test build.
//!
//! The suites that register rules, publishers or outputs stay binaries of their own
//! (`tests/tests/*.rs`): the registry is the binary's, and each of them asserts what its own
//! registrations do.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support {
    pub mod saas;
}
#[path = "../aws_support/mod.rs"]
mod aws_support;

mod alert_vectors;
mod aws_outputs;
mod cli_terminal;
mod crash_faults;
mod creds_aws;
mod creds_cli;
mod creds_local;
mod http_faults;
mod ledger_sqlite;
mod ledger_states;
mod pacing;
mod pagerduty_incident_flows;
mod publisher_vectors;
mod retry_pages;
mod saas_plus;
mod saas_smtp;
mod saas_ticketing_flows;
mod saas_ticketing_vectors;
mod saas_vectors;
