//! Error accumulation: every mistake of one invocation is reported in one build.
//!
//! serde_derive's guard: a [`Ctxt`] must end in [`Ctxt::check`] or [`Ctxt::abort`]; dropping
//! one that still holds errors panics, so no early return can lose what was recorded.

use proc_macro2::TokenStream;
use quote::ToTokens;
use std::fmt::Display;

/// Collects spanned errors; [`Ctxt::check`] folds them into one.
pub(crate) struct Ctxt {
    /// `None` once checked.
    errors: Option<Vec<syn::Error>>,
}

impl Default for Ctxt {
    fn default() -> Self {
        Self {
            errors: Some(Vec::new()),
        }
    }
}

impl Ctxt {
    /// Records an error pointing at `tokens`.
    pub(crate) fn error_spanned_by<T: ToTokens, M: Display>(&mut self, tokens: T, message: M) {
        self.syn_error(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    /// Records an error that is already spanned.
    pub(crate) fn syn_error(&mut self, error: syn::Error) {
        self.errors.get_or_insert_with(Vec::new).push(error);
    }

    /// All recorded errors combined, or `Ok` if there were none.
    pub(crate) fn check(mut self) -> syn::Result<()> {
        match combine(self.take()) {
            Some(combined) => Err(combined),
            None => Ok(()),
        }
    }

    /// Ends the expansion at `error` (a mistake after which nothing else can be checked),
    /// reported after the errors recorded so far.
    pub(crate) fn abort(mut self, error: syn::Error) -> syn::Error {
        match combine(self.take()) {
            Some(mut combined) => {
                combined.combine(error);
                combined
            }
            None => error,
        }
    }

    fn take(&mut self) -> Vec<syn::Error> {
        self.errors.take().unwrap_or_default()
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if self.errors.is_some() && !std::thread::panicking() {
            panic!("streamalert-macros: a Ctxt was dropped without check() or abort()");
        }
    }
}

fn combine(errors: Vec<syn::Error>) -> Option<syn::Error> {
    errors.into_iter().reduce(|mut combined, error| {
        combined.combine(error);
        combined
    })
}

/// What an attribute macro emits on error: the user's item unchanged (it keeps compiling and
/// IDEs keep working), `stubs` for what other code names (so one mistake does not cascade into
/// unrelated errors elsewhere), and the errors.
pub(crate) fn fallback(item: TokenStream, stubs: TokenStream, errors: syn::Error) -> TokenStream {
    let errors = errors.to_compile_error();
    quote::quote! { #item #stubs #errors }
}
