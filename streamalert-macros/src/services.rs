//! The per-crate service table: `services!`, its builder `__service_table!`, and the check
//! `__check_refs!` that `#[rule]` and `#[publisher]` reach through it.
//!
//! `services!(a::Out, ::other::Out2)` calls the companion macro `#[output]` emitted under each
//! output's name; each appends its service and fields and calls the next, and the last calls
//! `__service_table!`, which defines `crate::__streamalert_services!`. That macro hands the
//! table plus the caller's literals (with their spans) to `__check_refs!`.

use crate::builtin;
use crate::ctxt::Ctxt;
use crate::paths::{PRIVATE, private_at};
use crate::suggest::closest;
use crate::{keys, kw};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Ident, LitStr, Token};

/// `services!(path, …)`: asserts each path names an output, then calls the first one's
/// companion macro, which starts the chain.
pub(crate) fn expand_services(input: TokenStream) -> syn::Result<TokenStream> {
    let paths =
        syn::parse::Parser::parse2(Punctuated::<syn::Path, Token![,]>::parse_terminated, input)?;
    let mut paths = paths.into_iter();
    let Some(first) = paths.next() else {
        return Ok(quote! { #PRIVATE::__service_table! {} });
    };
    let rest: Vec<_> = paths.collect();
    let all = std::iter::once(&first).chain(&rest);
    let checks = all.map(|path| {
        let private = private_at(path.span());
        quote_spanned! {path.span()=>
            let _ = <#path as #private::OutputDecl>::SERVICE;
        }
    });
    Ok(quote! {
        const _: () = { #(#checks)* };
        #first! { @collect [ #([#rest])* ] [] }
    })
}

/// One `("service" ["field" …])` entry of the table.
struct Entry {
    service: LitStr,
    fields: Vec<LitStr>,
}

impl Parse for Entry {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let content;
        syn::parenthesized!(content in input);
        let service = content.parse()?;
        let fields;
        syn::bracketed!(fields in content);
        let mut list = Vec::new();
        while !fields.is_empty() {
            list.push(fields.parse()?);
        }
        Ok(Self {
            service,
            fields: list,
        })
    }
}

fn parse_entries(input: ParseStream<'_>) -> syn::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    while input.peek(syn::token::Paren) {
        entries.push(input.parse()?);
    }
    Ok(entries)
}

/// `__service_table!{ ("svc" ["field" …]) … }`: checks the custom services, defines the table.
pub(crate) fn expand_table(input: TokenStream) -> syn::Result<TokenStream> {
    let entries = syn::parse::Parser::parse2(parse_entries, input)?;
    let mut cx = Ctxt::default();
    validate_table(&entries, &mut cx);
    cx.check()?;
    Ok(table_codegen(&entries))
}

/// A custom service is not built in and is declared once.
fn validate_table(entries: &[Entry], cx: &mut Ctxt) {
    for (i, entry) in entries.iter().enumerate() {
        let name = entry.service.value();
        if builtin::fields(&name).is_some() {
            cx.error_spanned_by(
                &entry.service,
                format!("output service `{name}` is built into streamalert"),
            );
        }
        if entries[..i]
            .iter()
            .any(|earlier| earlier.service.value() == name)
        {
            cx.error_spanned_by(
                &entry.service,
                format!("output service `{name}` is declared by two outputs listed in `services!`; service names must be unique"),
            );
        }
    }
}

/// `crate::__streamalert_services!`: hands the table and the caller's literals to
/// `__check_refs!`.
fn table_codegen(entries: &[Entry]) -> TokenStream {
    let rows = entries
        .iter()
        .map(|Entry { service, fields }| quote! { (#service [#(#fields)*]) });
    quote! {
        #[doc(hidden)]
        macro_rules! __streamalert_service_table {
            ($($refs:tt)*) => {
                #PRIVATE::__check_refs! { [ #(#rows)* ] $($refs)* }
            };
        }
        #[doc(hidden)]
        #[allow(unused_imports)]
        pub(crate) use __streamalert_service_table as __streamalert_services;
    }
}

/// What a `#[rule]` or `#[publisher]` hands to the table for checking.
struct References {
    custom: Vec<Entry>,
    kind: Ident,
    literals: Vec<LitStr>,
}

impl Parse for References {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let table;
        syn::bracketed!(table in input);
        let custom = parse_entries(&table)?;
        let kind = input.parse()?;
        let list;
        syn::bracketed!(list in input);
        let mut literals = Vec::new();
        while !list.is_empty() {
            literals.push(list.parse()?);
        }
        Ok(Self {
            custom,
            kind,
            literals,
        })
    }
}

/// `__check_refs!{ [table] rule ["svc:desc" …] }` or `… publisher ["@svc.field" …]`: expands to
/// nothing, or to the errors.
pub(crate) fn expand_check(input: TokenStream) -> syn::Result<TokenStream> {
    let refs: References = syn::parse2(input)?;
    let mut cx = Ctxt::default();
    validate_references(&refs, &mut cx);
    cx.check().map(|()| TokenStream::new())
}

/// Every service a literal names is in the table, and (for a publication key) so is its field.
fn validate_references(refs: &References, cx: &mut Ctxt) {
    let custom: Vec<(String, Vec<String>)> = refs
        .custom
        .iter()
        .map(|e| {
            (
                e.service.value(),
                e.fields.iter().map(LitStr::value).collect(),
            )
        })
        .collect();
    let table = Table { custom: &custom };
    let is_rule = refs.kind == kw::RULE;
    for literal in &refs.literals {
        let text = literal.value();
        let parsed = if is_rule {
            keys::parse_output(&text)
        } else {
            keys::parse_key(&text)
        };
        // Malformed literals were already reported where they were written.
        let Ok((service, field)) = parsed else {
            continue;
        };
        match table.fields(service) {
            None => cx.error_spanned_by(literal, table.unknown_service(service)),
            Some(fields) if !is_rule && !fields.contains(&field) => {
                cx.error_spanned_by(literal, unknown_field(service, field, &fields))
            }
            Some(_) => {}
        }
    }
}

struct Table<'a> {
    custom: &'a [(String, Vec<String>)],
}

impl Table<'_> {
    fn fields(&self, service: &str) -> Option<Vec<&str>> {
        builtin::fields(service).map(<[&str]>::to_vec).or_else(|| {
            self.custom
                .iter()
                .find(|(name, _)| name == service)
                .map(|(_, fields)| fields.iter().map(String::as_str).collect())
        })
    }

    fn services(&self) -> impl Iterator<Item = &str> {
        builtin::SERVICES
            .iter()
            .map(|(name, _)| *name)
            .chain(self.custom.iter().map(|(name, _)| name.as_str()))
    }

    fn unknown_service(&self, service: &str) -> String {
        match closest(service, self.services()) {
            Some(suggestion) => {
                format!("unknown output service \"{service}\"; did you mean \"{suggestion}\"?")
            }
            None => format!(
                "unknown output service \"{service}\"; declare it with `#[output(service = \"{service}\")]` and list the type in `streamalert::services!(…)`"
            ),
        }
    }
}

fn unknown_field(service: &str, field: &str, fields: &[&str]) -> String {
    match closest(field, fields.iter().copied()) {
        Some(suggestion) => {
            format!(
                "output service \"{service}\" has no publication field \"{field}\"; did you mean \"{suggestion}\"?"
            )
        }
        None if fields.is_empty() => {
            format!(
                "output service \"{service}\" has no publication field \"{field}\"; it reads no `@{service}.*` keys"
            )
        }
        None => format!(
            "output service \"{service}\" has no publication field \"{field}\"; its fields are: {}",
            fields
                .iter()
                .map(|f| format!("\"{f}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
