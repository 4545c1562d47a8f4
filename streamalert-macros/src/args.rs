//! Parsing helpers shared by the attribute macros.

use proc_macro2::{TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Ident, LitStr, Token};

/// `[ "a", "b" ]`
pub(crate) fn string_list(input: ParseStream<'_>) -> syn::Result<Vec<LitStr>> {
    let content;
    syn::bracketed!(content in input);
    Ok(Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?
        .into_iter()
        .collect())
}

/// `[ path, path ]`
pub(crate) fn path_list(input: ParseStream<'_>) -> syn::Result<Vec<syn::Path>> {
    let content;
    syn::bracketed!(content in input);
    Ok(
        Punctuated::<syn::Path, Token![,]>::parse_terminated(&content)?
            .into_iter()
            .collect(),
    )
}

/// Parses `key = value, flag, …` pairs, calling `each` with the key and the stream at its value.
/// Errors of one pair are collected in `errors` and parsing moves on to the next pair.
pub(crate) fn parse_pairs(
    tokens: TokenStream,
    errors: &mut crate::ctxt::Ctxt,
    mut each: impl FnMut(&Ident, ParseStream<'_>, &mut crate::ctxt::Ctxt) -> syn::Result<()>,
) {
    let parser = |input: ParseStream<'_>| -> syn::Result<()> {
        while !input.is_empty() {
            let key: Ident = input.call(syn::ext::IdentExt::parse_any)?;
            if let Err(error) = each(&key, input, errors) {
                errors.syn_error(error);
                // Skip to the next top-level comma so later arguments are still checked.
                while !input.is_empty() && !input.peek(Token![,]) {
                    input.parse::<TokenTree>()?;
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(())
    };
    if let Err(error) = parser.parse2(tokens) {
        errors.syn_error(error);
    }
}

/// Every string literal starting with `@` anywhere in `tokens`, including inside macro calls,
/// except format strings (`format!("@demisto.{key}")`), whose keys exist only at run time.
pub(crate) fn key_literals(tokens: TokenStream, found: &mut Vec<LitStr>) {
    for tree in tokens {
        match tree {
            TokenTree::Group(group) => key_literals(group.stream(), found),
            TokenTree::Literal(literal) => {
                if let Ok(lit) = syn::parse2::<LitStr>(TokenTree::Literal(literal).into())
                    && lit.value().starts_with('@')
                    && !lit.value().contains(['{', '}'])
                {
                    found.push(lit);
                }
            }
            _ => {}
        }
    }
}

/// The text of `///` doc comments, one line each, with the single leading space removed.
pub(crate) fn doc_comment(attrs: &[syn::Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').map(str::to_owned).unwrap_or(line))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// Skips the rest of one `key = value` pair, up to the next top-level comma.
pub(crate) fn skip_value(input: ParseStream<'_>) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(Token![,]) {
        input.parse::<TokenTree>()?;
    }
    Ok(())
}
