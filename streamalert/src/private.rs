//! Not public API. Used by the code `streamalert-macros` generates; may change in any release.

pub use crate::location::Location;
pub use crate::output::OutputEntry;
pub use crate::publisher::PublisherEntry;
pub use crate::rule::{DynamicOutput, DynamicOutputs, Rule, RuleFn, RuleOutcome, StaticPublishers};
pub use inventory;
pub use serde_json;
pub use streamalert_macros::{__check_refs, __service_table};
#[cfg(feature = "jemalloc")]
pub use tikv_jemallocator::Jemalloc;

use crate::alert::{Alert, Context, Record};
use crate::output::Output;
use crate::publisher::{Publication, PublishError, Publisher};

/// Implemented by `#[publisher]` for the items it registers: the name rules store on alerts.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a publisher",
    label = "not registered with `#[streamalert::publisher]`",
    note = "annotate a `fn(&Alert, Publication) -> Publication` or an `impl Publisher for T` with `#[streamalert::publisher]`"
)]
pub trait RegisteredPublisher {
    /// The registered name.
    const NAME: &'static str;
}

/// Implemented by `#[output]` for the output types it registers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a streamalert output",
    label = "not registered with `#[streamalert::output]`",
    note = "annotate the output type with `#[streamalert::output(service = \"…\")]`"
)]
pub trait OutputDecl {
    /// The service name.
    const SERVICE: &'static str;
}

/// Makes the instance of a registered output; the bound is the "is an output" check.
pub fn make_output<T: Output + Default>() -> Box<dyn Output> {
    Box::new(T::default())
}

/// Makes the instance of a registered publisher type; the bound is the "is a publisher" check.
pub fn make_publisher<T: Publisher + Default>() -> Box<dyn Publisher> {
    Box::new(T::default())
}

/// The return type of a publisher function: a publication, or a result of one.
pub trait PublishOutcome {
    /// The publication or the error.
    fn into_result(self) -> Result<Publication, PublishError>;
}

impl PublishOutcome for Publication {
    fn into_result(self) -> Result<Publication, PublishError> {
        Ok(self)
    }
}

impl PublishOutcome for Result<Publication, PublishError> {
    fn into_result(self) -> Result<Publication, PublishError> {
        self
    }
}

/// Adapts a publisher function to [`Publisher`].
pub struct FnPublisher(pub fn(&Alert, Publication) -> Result<Publication, PublishError>);

impl Publisher for FnPublisher {
    fn publish(
        &self,
        alert: &Alert,
        publication: Publication,
    ) -> Result<Publication, PublishError> {
        (self.0)(alert, publication)
    }
}

/// Calls a dynamic-output function of either arity.
pub fn call_dynamic_outputs<F, A>(
    f: F,
    record: &Record,
    context: &Context,
) -> Result<Vec<String>, String>
where
    F: DynamicOutputFn<A>,
{
    f.call(record, context)
}

/// A function usable as a dynamic output: `fn(&Record) -> R` or `fn(&Record, &Context) -> R`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a dynamic output",
    label = "expected `fn(&Record) -> R` or `fn(&Record, &Context) -> R`",
    note = "R may be `&str`, `String`, `Vec<_>`, `Option<_>` or a `Result` of those"
)]
pub trait DynamicOutputFn<A> {
    /// Calls the function.
    fn call(&self, record: &Record, context: &Context) -> Result<Vec<String>, String>;
}

impl<F, R> DynamicOutputFn<(Record,)> for F
where
    F: Fn(&Record) -> R,
    R: DynamicOutputs,
{
    fn call(&self, record: &Record, _: &Context) -> Result<Vec<String>, String> {
        self(record).into_outputs()
    }
}

impl<F, R> DynamicOutputFn<(Record, Context)> for F
where
    F: Fn(&Record, &Context) -> R,
    R: DynamicOutputs,
{
    fn call(&self, record: &Record, context: &Context) -> Result<Vec<String>, String> {
        self(record, context).into_outputs()
    }
}
