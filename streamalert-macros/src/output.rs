//! `#[output(service = "…", fields = […])]`
//!
//! [`parse_args`] and [`parse_item`] read the attribute and the type into an [`Output`],
//! [`validate`] records every mistake in a [`Ctxt`], and [`codegen`] emits the registration and
//! the companion macro of a valid output.

use crate::args::{parse_pairs, skip_value, string_list};
use crate::ctxt::{Ctxt, fallback};
use crate::paths::{PRIVATE, location, private_at};
use crate::{builtin, keys, kw};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{LitStr, Token};

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut cx = Ctxt::default();
    let args = parse_args(args, &mut cx);
    let item_ast: syn::Item = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(error) => return fallback(item, TokenStream::new(), cx.abort(error)),
    };
    let Some(output) = parse_item(&item_ast, args, &mut cx) else {
        return match cx.check() {
            Ok(()) => item,
            Err(errors) => fallback(item, TokenStream::new(), errors),
        };
    };
    validate(&output, &mut cx);
    match cx.check() {
        Ok(()) => codegen(&output, item),
        Err(errors) => fallback(item, stubs(&output), errors),
    }
}

/// The arguments of `#[output]`, as written.
#[derive(Default)]
struct Args {
    service: Option<LitStr>,
    fields: Vec<LitStr>,
    /// The `fields` key, to point at when `builtin` forbids it.
    fields_key: Option<Ident>,
    builtin: Option<Ident>,
}

/// An output: its arguments and the type they annotate.
struct Output<'a> {
    ident: &'a Ident,
    vis: &'a syn::Visibility,
    args: Args,
}

impl Output<'_> {
    /// The fields the output reads: a built-in output's come from the built-in table.
    fn fields(&self) -> Vec<LitStr> {
        match (&self.args.builtin, &self.args.service) {
            (Some(_), Some(service)) => builtin::fields(&service.value())
                .unwrap_or_default()
                .iter()
                .map(|field| LitStr::new(field, service.span()))
                .collect(),
            _ => self.args.fields.clone(),
        }
    }
}

fn parse_args(tokens: TokenStream, cx: &mut Ctxt) -> Args {
    let mut args = Args::default();
    parse_pairs(tokens, cx, |key, input, cx| {
        match key.to_string().as_str() {
            kw::SERVICE => {
                input.parse::<Token![=]>()?;
                let lit: LitStr = input.parse()?;
                if args.service.replace(lit).is_some() {
                    cx.error_spanned_by(key, "`service` is set more than once");
                }
            }
            kw::FIELDS => {
                args.fields_key = Some(key.clone());
                input.parse::<Token![=]>()?;
                for field in string_list(input)? {
                    let text = field.value();
                    if !is_field_name(&text) {
                        cx.error_spanned_by(
                            &field,
                            format!("publication field `{text}` must be a snake_case identifier"),
                        );
                    }
                    args.fields.push(field);
                }
            }
            kw::BUILTIN => args.builtin = Some(key.clone()),
            other => {
                cx.error_spanned_by(
                    key,
                    format!(
                        "unknown argument `{other}` of `#[output]`; expected one of: {}",
                        kw::quoted(&[kw::SERVICE, kw::FIELDS])
                    ),
                );
                skip_value(input)?;
            }
        }
        Ok(())
    });
    args
}

/// The annotated type; `None` (with the error recorded) when it is not a struct or an enum.
fn parse_item<'a>(item: &'a syn::Item, args: Args, cx: &mut Ctxt) -> Option<Output<'a>> {
    let (ident, vis) = match item {
        syn::Item::Struct(s) => (&s.ident, &s.vis),
        syn::Item::Enum(e) => (&e.ident, &e.vis),
        other => {
            cx.error_spanned_by(
                other,
                "`#[output]` goes on the struct or enum that implements `streamalert::Output`",
            );
            return None;
        }
    };
    Some(Output { ident, vis, args })
}

fn validate(output: &Output<'_>, cx: &mut Ctxt) {
    let args = &output.args;
    let Some(service) = &args.service else {
        cx.syn_error(syn::Error::new(
            Span::call_site(),
            "`#[output]` needs the service name: `#[output(service = \"my-service\")]`",
        ));
        return;
    };
    let name = service.value();
    if let Err(message) = keys::check_service_name(&name) {
        cx.error_spanned_by(service, message);
    } else if args.builtin.is_none() && builtin::fields(&name).is_some() {
        cx.error_spanned_by(
            service,
            format!("output service `{name}` is built into streamalert; give your output another service name"),
        );
    }
    if let Some(builtin_key) = &args.builtin {
        // The built-in table is the one source of a built-in service's fields.
        if let Some(key) = &args.fields_key {
            cx.error_spanned_by(
                key,
                "a `builtin` output takes its fields from the built-in table (streamalert-macros/src/builtin.rs); remove `fields`",
            );
        }
        if builtin::fields(&name).is_none() {
            cx.error_spanned_by(
                builtin_key,
                format!("`{name}` is not in the built-in table (streamalert-macros/src/builtin.rs); add it there"),
            );
        }
    }
}

/// The type unchanged, the `OutputDecl` impl and `inventory` registration, and (for a custom
/// output) the companion macro `services!` reaches through the type's path.
fn codegen(output: &Output<'_>, item: TokenStream) -> TokenStream {
    let Output { ident, args, .. } = output;
    let Some(service) = &args.service else {
        unreachable!("validate() requires a service");
    };
    let fields = output.fields();
    let location = location(ident.span());
    let private = private_at(ident.span());
    let registration = quote_spanned! {ident.span()=>
        const _: () = {
            impl #private::OutputDecl for #ident {
                const SERVICE: &'static str = #service;
            }
            #private::inventory::submit! {
                #private::OutputEntry {
                    service: #service,
                    fields: &[#(#fields),*],
                    make: #private::make_output::<#ident>,
                    location: #location,
                }
            }
        };
    };
    let companion = if args.builtin.is_some() {
        TokenStream::new()
    } else {
        companion(output, service, quote! { (#service [#(#fields)*]) })
    };
    quote! { #item #registration #companion }
}

/// What other code names when the output has an error: its `OutputDecl` impl and a companion
/// that adds nothing to the table, so a `services!` listing the type reports no second error.
/// The companion is named after the service, so it needs a valid, custom service name.
fn stubs(output: &Output<'_>) -> TokenStream {
    let Output { ident, args, .. } = output;
    let Some(service) = &args.service else {
        return TokenStream::new();
    };
    let decl = quote! {
        const _: () = {
            impl #PRIVATE::OutputDecl for #ident {
                const SERVICE: &'static str = #service;
            }
        };
    };
    let named = keys::check_service_name(&service.value()).is_ok();
    let companion = if named && args.builtin.is_none() {
        companion(output, service, TokenStream::new())
    } else {
        TokenStream::new()
    };
    quote! { #decl #companion }
}

/// A hidden `macro_rules!` under the type's name that appends `entry` to the `services!` chain
/// and calls the next output's companion, or `__service_table!` after the last. It is named
/// after the service, so two outputs of one crate cannot declare the same service.
fn companion(output: &Output<'_>, service: &LitStr, entry: TokenStream) -> TokenStream {
    let Output { ident, vis, .. } = output;
    let macro_name = format_ident!("__streamalert_output_{}", service.value().replace('-', "_"));
    quote! {
        #[doc(hidden)]
        #[macro_export]
        macro_rules! #macro_name {
            (@collect [ [$($next:tt)*] $($rest:tt)* ] [ $($acc:tt)* ]) => {
                $($next)*! { @collect [ $($rest)* ] [ $($acc)* #entry ] }
            };
            (@collect [] [ $($acc:tt)* ]) => {
                #PRIVATE::__service_table! { $($acc)* #entry }
            };
        }
        #[doc(hidden)]
        #[allow(unused_imports)]
        #vis use #macro_name as #ident;
    }
}

fn is_field_name(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_with_a_mistake_keeps_a_companion_that_adds_nothing() {
        let out = expand(quote! { service = "slack" }, quote! { pub struct MySlack; }).to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("OutputDecl for MySlack"), "{out}");
        assert!(
            out.contains("macro_rules ! __streamalert_output_slack"),
            "{out}"
        );
        // Only in `SERVICE`: the companion's two arms add no `("slack" […])` entry.
        assert_eq!(out.matches("\"slack\"").count(), 1, "{out}");
        assert!(!out.contains("inventory"), "{out}");
    }
}
