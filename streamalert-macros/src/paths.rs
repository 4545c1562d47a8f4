//! The paths generated code names: the runtime's `::streamalert::__private` module (and
//! `::core`), so no expansion depends on the user's imports or prelude.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};

/// `::streamalert::__private`, spanned at the macro call (what `quote!` gives its own tokens).
pub(crate) const PRIVATE: Private = Private;

/// See [`PRIVATE`].
#[derive(Clone, Copy)]
pub(crate) struct Private;

impl ToTokens for Private {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(private_at(Span::call_site()));
    }
}

/// `::streamalert::__private` spanned at `span`, for code whose errors point at user tokens.
pub(crate) fn private_at(span: Span) -> TokenStream {
    quote_spanned! {span=> ::streamalert::__private }
}

/// The registration's source location, `Location { file: file!(), line: line!() }`, spanned
/// at `span` (whose line it records).
pub(crate) fn location(span: Span) -> TokenStream {
    let private = private_at(span);
    quote_spanned! {span=> #private::Location { file: ::core::file!(), line: ::core::line!() } }
}

/// The table a crate's `services!` (or `main!`) defines; rules and publishers call it.
pub(crate) fn services_table() -> TokenStream {
    quote! { crate::__streamalert_services }
}
