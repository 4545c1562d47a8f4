#![doc = include_str!("../../README.md")]

// Lets the macros' `::streamalert::…` paths resolve inside this crate too.
extern crate self as streamalert;

pub mod alert;
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
