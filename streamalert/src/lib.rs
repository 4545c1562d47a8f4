//! Build your own typed alert processor: detection **rules**, **publishers** (how an alert is
//! laid out for one output) and your own **outputs**, registered by procedural macros and
//! checked while your crate compiles; `cargo build` yields one binary that evaluates the rules,
//! composes the alerts, delivers them to Slack, PagerDuty, Jira, S3 and the rest, and records
//! every delivery in a ledger so that an alert not delivered is retried. It re-imagines the
//! alert processor of Airbnb's StreamAlert and stays wire-compatible with it.
//!
//! ```no_run,standalone_crate
//! use streamalert::prelude::*;
//!
//! /// Alert when anyone logs in as root.
//! #[rule(logs = ["osquery:differential"], outputs = ["slack:secops"])]
//! fn root_login(rec: &Record) -> bool {
//!     rec["columns"]["user"] == "root"
//! }
//!
//! // The service table and the command line (`process`, `dispatch`, `retry`, `ledger`, …);
//! // `streamalert::main!();` is shorthand for these lines.
//! streamalert::services!();
//! fn main() -> std::process::ExitCode {
//!     streamalert::cli::run()
//! }
//! ```
//!
//! Where to start:
//! - [`rule`](mod@rule), [`publisher`](mod@publisher) and [`output`](mod@output) (the
//!   attributes [`macro@rule`], [`macro@publisher`] and [`macro@output`]) for what you write;
//! - [`processor`] for what happens to an alert (ledger first, then the outputs, then the
//!   outcome), [`ledger`] for what is recorded, [`config`] for `outputs.json` and
//!   `processor.json`;
//! - [`outputs`] and [`publishers`] for the built-in outputs and StreamAlert's publishers;
//! - [`cli`] for the command line `main!` gives your binary.
//!
//! Features: `saas` (default: the HTTP outputs), `aws` (the AWS outputs, the DynamoDB ledger,
//! the Lambda runtime), `full` (both), `jemalloc` (jemalloc as the binary's allocator, see
//! [`global_allocator!`]). The repository's README has the tour, the delivery
//! guarantees and the deploy recipe.

// The README's examples are compiled and run as doc tests (not part of the package's docs).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

// MIGRATING.md's Rust examples too.
#[cfg(doctest)]
#[doc = include_str!("../../MIGRATING.md")]
struct MigratingDoctests;

// Lets the macros' `::streamalert::…` paths resolve inside this crate too.
extern crate self as streamalert;

pub mod alert;
mod allocator;
mod atomic_write;
#[cfg(feature = "aws")]
pub mod aws;
pub mod cli;
pub mod config;
pub mod creds;
mod fault;
pub mod json;
#[cfg(test)]
mod layers;
pub mod ledger;
mod location;
pub mod output;
mod output_ref;
pub mod outputs;
pub mod processor;
pub mod publisher;
pub mod publishers;
pub mod registry;
pub mod rule;
pub mod testing;
pub mod text;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use alert::{Alert, Context, Record};
#[cfg(feature = "aws")]
pub use cli::lambda;
pub use output::{DispatchError, Output, OutputProperty};
pub use publisher::{Publication, PublishError, Publisher};
pub use registry::registry;

pub use streamalert_macros::{main, output, publisher, rule, services};

#[doc(no_inline)]
pub use async_trait::async_trait;

/// Everything a rule, publisher or output module usually needs, in one `use`.
///
/// ```
/// use streamalert::prelude::*;
///
/// fn is_root(rec: &Record) -> bool {
///     rec["user"] == "root"
/// }
/// # assert!(is_root(&serde_json::json!({"user": "root"})));
/// ```
pub mod prelude {
    pub use crate::alert::{Alert, Context, Record};
    pub use crate::output::{Delivery, DispatchError, Output, OutputProperty};
    pub use crate::publisher::{Publication, PublishError, Publisher};
    pub use crate::{output, publisher, rule, services};
}

// The built-in service table, so the built-in publishers' `@service.field` keys are checked too.
services!();
