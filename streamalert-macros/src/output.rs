//! `#[output(service = "…", fields = […])]`

use crate::args::{parse_pairs, skip_value, string_list};
use crate::ctxt::{Ctxt, with_errors};
use crate::{builtin, keys};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{LitStr, Token};

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let result = expand_checked(args, item.clone());
    with_errors(item, result)
}

fn expand_checked(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut cx = Ctxt::default();
    let mut service: Option<LitStr> = None;
    let mut fields: Vec<LitStr> = Vec::new();
    let mut builtin: Option<proc_macro2::Ident> = None;
    let mut fields_key: Option<proc_macro2::Ident> = None;
    parse_pairs(args, &mut cx, |key, input, cx| {
        match key.to_string().as_str() {
            "service" => {
                input.parse::<Token![=]>()?;
                let lit: LitStr = input.parse()?;
                if service.replace(lit).is_some() {
                    cx.error_spanned_by(key, "`service` is set more than once");
                }
            }
            "fields" => {
                fields_key = Some(key.clone());
                input.parse::<Token![=]>()?;
                for field in string_list(input)? {
                    let text = field.value();
                    if !is_field_name(&text) {
                        cx.error_spanned_by(
                            &field,
                            format!("publication field `{text}` must be a snake_case identifier"),
                        );
                    }
                    fields.push(field);
                }
            }
            "builtin" => builtin = Some(key.clone()),
            other => {
                cx.error_spanned_by(
                    key,
                    format!("unknown argument `{other}` of `#[output]`; expected one of: `service`, `fields`"),
                );
                skip_value(input)?;
            }
        }
        Ok(())
    });

    let item_ast: syn::Item = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(error) => return Err(cx.abort(error)),
    };
    let (ident, vis) = match &item_ast {
        syn::Item::Struct(s) => (&s.ident, &s.vis),
        syn::Item::Enum(e) => (&e.ident, &e.vis),
        other => {
            cx.error_spanned_by(
                other,
                "`#[output]` goes on the struct or enum that implements `streamalert::Output`",
            );
            return cx.check().map(|()| TokenStream::new());
        }
    };

    let Some(service) = service else {
        cx.syn_error(syn::Error::new(
            Span::call_site(),
            "`#[output]` needs the service name: `#[output(service = \"my-service\")]`",
        ));
        return cx.check().map(|()| TokenStream::new());
    };
    let name = service.value();
    if let Err(message) = keys::check_service_name(&name) {
        cx.error_spanned_by(&service, message);
    } else if builtin.is_none() && builtin::fields(&name).is_some() {
        cx.error_spanned_by(
            &service,
            format!("output service `{name}` is built into streamalert; give your output another service name"),
        );
    }
    if let Some(builtin_key) = &builtin {
        // The built-in table is the one source of a built-in service's fields.
        if let Some(key) = &fields_key {
            cx.error_spanned_by(
                key,
                "a `builtin` output takes its fields from the built-in table (streamalert-macros/src/builtin.rs); remove `fields`",
            );
        }
        match builtin::fields(&name) {
            Some(table) => {
                fields = table
                    .iter()
                    .map(|field| LitStr::new(field, service.span()))
                    .collect();
            }
            None => cx.error_spanned_by(
                builtin_key,
                format!("`{name}` is not in the built-in table (streamalert-macros/src/builtin.rs); add it there"),
            ),
        }
    }
    cx.check()?;

    let registration = quote_spanned! {ident.span()=>
        const _: () = {
            impl ::streamalert::__private::OutputDecl for #ident {
                const SERVICE: &'static str = #service;
            }
            ::streamalert::__private::inventory::submit! {
                ::streamalert::__private::OutputEntry {
                    service: #service,
                    fields: &[#(#fields),*],
                    make: ::streamalert::__private::make_output::<#ident>,
                    location: ::streamalert::__private::Location { file: ::core::file!(), line: ::core::line!() },
                }
            }
        };
    };
    let companion = if builtin.is_some() {
        TokenStream::new()
    } else {
        let macro_name = format_ident!("__streamalert_output_{}", name.replace('-', "_"));
        quote! {
            #[doc(hidden)]
            #[macro_export]
            macro_rules! #macro_name {
                (@collect [ [$($next:tt)*] $($rest:tt)* ] [ $($acc:tt)* ]) => {
                    $($next)*! { @collect [ $($rest)* ] [ $($acc)* (#service [#(#fields)*]) ] }
                };
                (@collect [] [ $($acc:tt)* ]) => {
                    ::streamalert::__private::__service_table! { $($acc)* (#service [#(#fields)*]) }
                };
            }
            #[doc(hidden)]
            #[allow(unused_imports)]
            #vis use #macro_name as #ident;
        }
    };
    Ok(quote! { #item #registration #companion })
}

fn is_field_name(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
