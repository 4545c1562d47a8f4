//! `#[publisher]` on a function or on an `impl Publisher for T` block.

use crate::args::{key_literals, parse_pairs, skip_value};
use crate::ctxt::{Ctxt, with_errors};
use crate::keys;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{LitStr, Token};

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let result = expand_checked(args, item.clone());
    with_errors(item, result)
}

fn expand_checked(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut cx = Ctxt::default();
    let mut name: Option<LitStr> = None;
    parse_pairs(args, &mut cx, |key, input, cx| {
        if key == "name" {
            input.parse::<Token![=]>()?;
            name = Some(input.parse()?);
        } else {
            cx.error_spanned_by(
                key,
                format!("unknown argument `{key}` of `#[publisher]`; expected `name = \"…\"`"),
            );
            skip_value(input)?;
        }
        Ok(())
    });

    let mut keys_found = Vec::new();
    key_literals(item.clone(), &mut keys_found);
    for key in &keys_found {
        if let Err(message) = keys::parse_key(&key.value()) {
            cx.error_spanned_by(key, message);
        }
    }

    let location = quote! {
        ::streamalert::__private::Location { file: ::core::file!(), line: ::core::line!() }
    };
    let parsed = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(parsed) => parsed,
        Err(error) => return Err(cx.abort(error)),
    };
    let registration = match parsed {
        syn::Item::Fn(function) => {
            check_fn_shape(&function, &mut cx);
            cx.check()?;
            let ident = &function.sig.ident;
            let vis = &function.vis;
            let name = registered_name(name.as_ref(), ident);
            let call = quote_spanned! {function.sig.span()=>
                ::streamalert::__private::PublishOutcome::into_result(#ident(alert, publication))
            };
            quote! {
                #[doc(hidden)]
                #[allow(non_camel_case_types, dead_code)]
                #vis struct #ident {}
                impl ::streamalert::__private::RegisteredPublisher for #ident {
                    const NAME: &'static str = #name;
                }
                const _: () = {
                    ::streamalert::__private::inventory::submit! {
                        ::streamalert::__private::PublisherEntry {
                            name: <#ident as ::streamalert::__private::RegisteredPublisher>::NAME,
                            make: || ::std::boxed::Box::new(::streamalert::__private::FnPublisher(|alert, publication| #call)),
                            location: #location,
                        }
                    }
                };
            }
        }
        syn::Item::Impl(block) => {
            let is_publisher_impl = block
                .trait_
                .as_ref()
                .and_then(|(path, _)| path.segments.last())
                .is_some_and(|segment| segment.ident == "Publisher");
            if !is_publisher_impl {
                cx.error_spanned_by(
                    &block.self_ty,
                    "`#[publisher]` on an `impl` block needs `impl Publisher for YourType`",
                );
            }
            cx.check()?;
            let self_ty = &block.self_ty;
            let type_name = match &**self_ty {
                syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.clone()),
                _ => None,
            };
            let Some(type_name) = type_name else {
                return Err(syn::Error::new_spanned(
                    self_ty,
                    "`#[publisher]` needs a named type: `impl Publisher for MyPublisher`",
                ));
            };
            register_type(
                self_ty,
                &registered_name(name.as_ref(), &type_name),
                &location,
            )
        }
        syn::Item::Struct(syn::ItemStruct { ident, .. })
        | syn::Item::Enum(syn::ItemEnum { ident, .. }) => {
            cx.check()?;
            register_type(&ident, &registered_name(name.as_ref(), &ident), &location)
        }
        other => {
            return Err(cx.abort(syn::Error::new_spanned(
                other,
                "`#[publisher]` goes on `fn name(alert: &Alert, publication: Publication) -> Publication`, on `impl Publisher for YourType`, or on the type itself",
            )));
        }
    };
    let check = if keys_found.is_empty() {
        TokenStream::new()
    } else {
        quote! { crate::__streamalert_services! { publisher [ #(#keys_found)* ] } }
    };
    Ok(quote! { #item #registration #check })
}

/// Registers a `Default` type implementing `Publisher` under `name`.
fn register_type(
    ty: &dyn quote::ToTokens,
    name: &TokenStream,
    location: &TokenStream,
) -> TokenStream {
    let make = quote_spanned! {ty.span()=> ::streamalert::__private::make_publisher::<#ty> };
    quote! {
        impl ::streamalert::__private::RegisteredPublisher for #ty {
            const NAME: &'static str = #name;
        }
        const _: () = {
            ::streamalert::__private::inventory::submit! {
                ::streamalert::__private::PublisherEntry {
                    name: <#ty as ::streamalert::__private::RegisteredPublisher>::NAME,
                    make: #make,
                    location: #location,
                }
            }
        };
    }
}

fn registered_name(name: Option<&LitStr>, ident: &syn::Ident) -> TokenStream {
    match name {
        Some(name) => quote! { #name },
        None => {
            let ident = ident.to_string();
            quote! { ::core::concat!(::core::module_path!(), "::", #ident) }
        }
    }
}

fn check_fn_shape(function: &syn::ItemFn, cx: &mut Ctxt) {
    let sig = &function.sig;
    if let Some(token) = &sig.asyncness {
        cx.error_spanned_by(
            token,
            "a publisher cannot be `async`; publishers transform JSON and must not wait",
        );
    }
    if !sig.generics.params.is_empty() {
        cx.error_spanned_by(&sig.generics, "a publisher cannot be generic");
    }
    if sig.inputs.len() != 2 {
        let span = if sig.inputs.is_empty() {
            sig.ident.span()
        } else {
            sig.inputs.span()
        };
        cx.syn_error(syn::Error::new(
            span,
            format!(
                "a publisher takes two parameters, `(alert: &Alert, publication: Publication)`, found {}",
                sig.inputs.len()
            ),
        ));
    }
}
