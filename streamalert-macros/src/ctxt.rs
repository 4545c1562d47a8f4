//! Error accumulation: every mistake of one invocation is reported in one build.

use proc_macro2::TokenStream;
use quote::ToTokens;
use std::fmt::Display;

/// Collects spanned errors; [`Ctxt::check`] folds them into one.
#[derive(Default)]
pub(crate) struct Ctxt {
    errors: Vec<syn::Error>,
}

impl Ctxt {
    /// Records an error pointing at `tokens`.
    pub(crate) fn error_spanned_by<T: ToTokens, M: Display>(&mut self, tokens: T, message: M) {
        self.errors
            .push(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    /// Records an error that is already spanned.
    pub(crate) fn syn_error(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// All recorded errors combined, or `Ok` if there were none.
    pub(crate) fn check(self) -> syn::Result<()> {
        let mut errors = self.errors.into_iter();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for error in errors {
            combined.combine(error);
        }
        Err(combined)
    }
}

/// The user's item followed by the errors, so the item keeps compiling (and IDEs keep working).
pub(crate) fn with_errors(item: TokenStream, result: syn::Result<TokenStream>) -> TokenStream {
    match result {
        Ok(expanded) => expanded,
        Err(errors) => {
            let errors = errors.to_compile_error();
            quote::quote! { #item #errors }
        }
    }
}
