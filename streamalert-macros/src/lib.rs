//! Procedural macros of [`streamalert`](https://docs.rs/streamalert). Depend on `streamalert`,
//! which re-exports them; the generated code refers only to `::streamalert::__private`.

mod args;
mod builtin;
mod ctxt;
mod keys;
mod kw;
mod output;
mod paths;
mod publisher;
mod rule;
mod services;
mod suggest;

use proc_macro::TokenStream;

/// Registers an output service: a `Default` type implementing `streamalert::Output`.
///
/// # Grammar
///
/// ```text
/// #[output(service = "<kebab-case name>" [, fields = ["<field>", …]])]
/// ```
///
/// `fields` lists the `@<service>.<field>` publication keys the output reads; publishers that
/// set other keys of this service do not compile.
///
/// # Compile-time checks
///
/// - the service name is kebab-case and not the name of a built-in service;
/// - the type implements `streamalert::Output`;
/// - two outputs of one crate cannot declare the same service.
///
/// List custom outputs once at the crate root with `streamalert::services!(…)` (or
/// `streamalert::main!(…)`), so rules and publishers can name them.
///
/// # Generated code
///
/// The type unchanged; an `inventory` registration with `file!()`/`line!()`; a hidden
/// `macro_rules!` under the type's name that carries the service and its fields to
/// `services!`.
#[proc_macro_attribute]
pub fn output(args: TokenStream, item: TokenStream) -> TokenStream {
    output::expand(args.into(), item.into()).into()
}

/// Registers a publisher: a function `fn(&Alert, Publication) -> Publication` (or returning
/// `Result<Publication, PublishError>`), or an `impl Publisher for T` block of a `Default` type.
///
/// # Grammar
///
/// ```text
/// #[publisher]                     // name: module path + item name
/// #[publisher(name = "<name>")]    // an explicit registered name
/// ```
///
/// # Compile-time checks
///
/// Every `"@service.field"` literal in the body (macro calls included) must be well formed and
/// name a known service and one of its fields (`did you mean` suggestions included). A function
/// publisher takes exactly two parameters and is neither `async` nor generic.
///
/// # Generated code
///
/// The item unchanged; for a function, a hidden braced struct of the same name in the type
/// namespace, so `#[rule(publishers = [my_fn])]` can name it; an `inventory` registration.
#[proc_macro_attribute]
pub fn publisher(args: TokenStream, item: TokenStream) -> TokenStream {
    publisher::expand(args.into(), item.into()).into()
}

/// Registers a rule: `fn(&Record) -> bool` or `fn(&Record, &mut Context) -> bool` (either may
/// return `Result<bool, E>`). The doc comment is the rule's description.
///
/// # Grammar
///
/// ```text
/// #[rule(
///     logs = ["<log type>", …],                 // and/or
///     datatypes = ["<normalized type>", …],
///     outputs = ["<service>:<descriptor>", …],
///     dynamic_outputs = [path, …],              // fn(&Record[, &Context]) -> outputs
///     publishers = path | [path, …] | { "<service>[:<descriptor>]" => path | [path, …], … },
///     matchers = [path, …],                     // fn(&Record) -> bool
///     req_subkeys = { "<key>": ["<subkey>", …], … },
///     context = { <JSON object> },
///     merge_by_keys = ["<key>", …],
///     merge_window_mins = <minutes>,
///     disabled,
/// )]
/// ```
///
/// # Semantics
///
/// For each output, publishers of the bare service run first, then those of the exact
/// `service:descriptor`.
///
/// # Compile-time checks
///
/// `logs` or `datatypes` present; every output is `service:descriptor` with a known service and
/// a descriptor free of spaces and colons; every publisher-map key is an output of the rule or
/// its service; every publisher path names a `#[publisher]`; the function's shape. All mistakes
/// are reported in one build.
///
/// The check of the outputs goes through the crate's service table, so the crate root needs
/// `streamalert::main!(…)` or `streamalert::services!(…)`; without one, rustc reports
/// ``cannot find `__streamalert_services` in `crate` `` at the rule.
#[proc_macro_attribute]
pub fn rule(args: TokenStream, item: TokenStream) -> TokenStream {
    rule::expand(args.into(), item.into()).into()
}

/// Declares the crate's service table: the built-in services plus the custom outputs listed.
/// Write it once at the crate root of a crate with rules or publishers that use custom outputs.
///
/// ```text
/// streamalert::services!(crate::outputs::MyTicketing, ::shared_outputs::Splunk);
/// ```
///
/// List each output type (or a `use` re-export of it; a `type` alias does not carry the
/// companion macro). A path to a type without `#[output]` fails with "`X` is not a streamalert
/// output", after rustc's own ``cannot find `X` in …`` for the companion macro.
#[proc_macro]
pub fn services(input: TokenStream) -> TokenStream {
    services::expand_services(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The processor binary's `main`: the service table (built-ins plus any custom outputs listed),
/// a `fn main` that runs the command line (`process`, `dispatch`, `list`, …), and jemalloc as
/// the allocator when `streamalert`'s `jemalloc` feature is on (`global_allocator!`).
///
/// ```text
/// streamalert::main!();                              // built-in outputs only
/// streamalert::main!(crate::outputs::MyTicketing);   // plus custom outputs
/// ```
#[proc_macro]
pub fn main(input: TokenStream) -> TokenStream {
    let table =
        services::expand_services(input.into()).unwrap_or_else(syn::Error::into_compile_error);
    quote::quote! {
        #table
        ::streamalert::global_allocator!();
        fn main() -> ::std::process::ExitCode {
            ::streamalert::cli::run_with_version(::core::env!("CARGO_PKG_VERSION"))
        }
    }
    .into()
}

#[doc(hidden)]
#[proc_macro]
pub fn __service_table(input: TokenStream) -> TokenStream {
    services::expand_table(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

#[doc(hidden)]
#[proc_macro]
pub fn __check_refs(input: TokenStream) -> TokenStream {
    services::expand_check(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The built-in service table (`&[(service, fields)]`), for the runtime's tests.
#[doc(hidden)]
#[proc_macro]
pub fn __builtin_services(_input: TokenStream) -> TokenStream {
    builtin::expression().into()
}
