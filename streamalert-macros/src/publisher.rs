//! `#[publisher]` on a function or on an `impl Publisher for T` block.
//!
//! [`parse_args`], [`key_literals`] and [`parse_target`] read the attribute and the item into a
//! [`Publisher`], [`validate`] records every mistake in a [`Ctxt`], and [`codegen`] emits the
//! registration of a valid publisher.

use crate::args::{key_literals, parse_pairs, skip_value};
use crate::ctxt::{Ctxt, fallback};
use crate::paths::{PRIVATE, location, private_at, services_table};
use crate::{keys, kw};
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{LitStr, Token};

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut cx = Ctxt::default();
    let name = parse_args(args, &mut cx);
    let mut keys = Vec::new();
    key_literals(item.clone(), &mut keys);
    validate_keys(&keys, &mut cx);
    let parsed = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(parsed) => parsed,
        Err(error) => return fallback(item, TokenStream::new(), cx.abort(error)),
    };
    let target = match parse_target(&parsed) {
        Ok(target) => target,
        Err(error) => return fallback(item, TokenStream::new(), cx.abort(error)),
    };
    let publisher = Publisher { name, keys, target };
    validate(&publisher, &mut cx);
    match cx.check() {
        Ok(()) => codegen(&publisher, item),
        Err(errors) => fallback(item, stubs(&publisher), errors),
    }
}

/// A publisher: its registered name (if given), the `"@service.field"` literals of its body,
/// and the item it annotates.
struct Publisher<'a> {
    name: Option<LitStr>,
    keys: Vec<LitStr>,
    target: Target<'a>,
}

/// What `#[publisher]` annotates.
enum Target<'a> {
    /// `fn(&Alert, Publication) -> Publication`
    Fn(&'a syn::ItemFn),
    /// `impl Publisher for T`
    Impl(&'a syn::ItemImpl),
    /// The publisher type itself.
    Type(&'a syn::Ident),
}

fn parse_args(tokens: TokenStream, cx: &mut Ctxt) -> Option<LitStr> {
    let mut name: Option<LitStr> = None;
    parse_pairs(tokens, cx, |key, input, cx| {
        if key == kw::NAME {
            input.parse::<Token![=]>()?;
            name = Some(input.parse()?);
        } else {
            cx.error_spanned_by(
                key,
                format!(
                    "unknown argument `{key}` of `#[publisher]`; expected `{} = \"…\"`",
                    kw::NAME
                ),
            );
            skip_value(input)?;
        }
        Ok(())
    });
    name
}

fn parse_target(item: &syn::Item) -> syn::Result<Target<'_>> {
    match item {
        syn::Item::Fn(function) => Ok(Target::Fn(function)),
        syn::Item::Impl(block) => Ok(Target::Impl(block)),
        syn::Item::Struct(syn::ItemStruct { ident, .. })
        | syn::Item::Enum(syn::ItemEnum { ident, .. }) => Ok(Target::Type(ident)),
        other => Err(syn::Error::new_spanned(
            other,
            "`#[publisher]` goes on `fn name(alert: &Alert, publication: Publication) -> Publication`, on `impl Publisher for YourType`, or on the type itself",
        )),
    }
}

/// Every key literal is well formed; whether its service and field exist is the service
/// table's check (`__check_refs!`).
fn validate_keys(keys_found: &[LitStr], cx: &mut Ctxt) {
    for key in keys_found {
        if let Err(message) = keys::parse_key(&key.value()) {
            cx.error_spanned_by(key, message);
        }
    }
}

fn validate(publisher: &Publisher<'_>, cx: &mut Ctxt) {
    match &publisher.target {
        Target::Fn(function) => check_fn_shape(function, cx),
        Target::Impl(block) => {
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
            if type_name(block).is_none() {
                cx.error_spanned_by(
                    &block.self_ty,
                    "`#[publisher]` needs a named type: `impl Publisher for MyPublisher`",
                );
            }
        }
        Target::Type(_) => {}
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

/// The last segment of the implementing type's path: the default registered name.
fn type_name(block: &syn::ItemImpl) -> Option<syn::Ident> {
    match &*block.self_ty {
        syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.clone()),
        _ => None,
    }
}

/// The item unchanged, its registration, and the check of its keys against the crate's
/// service table. Only called on a publisher [`validate`] accepted.
fn codegen(publisher: &Publisher<'_>, item: TokenStream) -> TokenStream {
    let registration = match &publisher.target {
        Target::Fn(function) => {
            let ident = &function.sig.ident;
            let at_sig = private_at(function.sig.span());
            let call = quote_spanned! {function.sig.span()=>
                #at_sig::PublishOutcome::into_result(#ident(alert, publication))
            };
            let name = fn_name(publisher, function);
            let location = location(Span::call_site());
            quote! {
                #name
                const _: () = {
                    #PRIVATE::inventory::submit! {
                        #PRIVATE::PublisherEntry {
                            name: <#ident as #PRIVATE::RegisteredPublisher>::NAME,
                            make: || ::std::boxed::Box::new(#PRIVATE::FnPublisher(|alert, publication| #call)),
                            location: #location,
                        }
                    }
                };
            }
        }
        Target::Impl(block) => match type_name(block) {
            Some(type_name) => {
                register_type(&block.self_ty, &registered_name(publisher, &type_name))
            }
            None => unreachable!("validate() requires a named type"),
        },
        Target::Type(ident) => register_type(ident, &registered_name(publisher, ident)),
    };
    let check = if publisher.keys.is_empty() {
        TokenStream::new()
    } else {
        let table = services_table();
        let keys = &publisher.keys;
        let kind = syn::Ident::new(kw::PUBLISHER, Span::call_site());
        quote! { #table! { #kind [ #(#keys)* ] } }
    };
    quote! { #item #registration #check }
}

/// What rules name when the publisher has an error: its registered name (and, for a
/// function, the hidden struct carrying it), so `publishers = [it]` reports no second error.
fn stubs(publisher: &Publisher<'_>) -> TokenStream {
    match &publisher.target {
        Target::Fn(function) => fn_name(publisher, function),
        Target::Impl(block) => match type_name(block) {
            Some(type_name) => name_impl(&block.self_ty, &registered_name(publisher, &type_name)),
            None => TokenStream::new(),
        },
        Target::Type(ident) => name_impl(ident, &registered_name(publisher, ident)),
    }
}

/// A hidden braced struct named like the function, in the type namespace, carrying the
/// registered name, so `#[rule(publishers = [my_fn])]` can name the function.
fn fn_name(publisher: &Publisher<'_>, function: &syn::ItemFn) -> TokenStream {
    let ident = &function.sig.ident;
    let vis = &function.vis;
    let name = registered_name(publisher, ident);
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #ident {}
        impl #PRIVATE::RegisteredPublisher for #ident {
            const NAME: &'static str = #name;
        }
    }
}

fn name_impl(ty: &dyn ToTokens, name: &TokenStream) -> TokenStream {
    quote! {
        impl #PRIVATE::RegisteredPublisher for #ty {
            const NAME: &'static str = #name;
        }
    }
}

/// Registers a `Default` type implementing `Publisher` under `name`.
fn register_type(ty: &dyn ToTokens, name: &TokenStream) -> TokenStream {
    let at_ty = private_at(ty.span());
    let make = quote_spanned! {ty.span()=> #at_ty::make_publisher::<#ty> };
    let name_impl = name_impl(ty, name);
    let location = location(Span::call_site());
    quote! {
        #name_impl
        const _: () = {
            #PRIVATE::inventory::submit! {
                #PRIVATE::PublisherEntry {
                    name: <#ty as #PRIVATE::RegisteredPublisher>::NAME,
                    make: #make,
                    location: #location,
                }
            }
        };
    }
}

/// The explicit `name = "…"`, or the module path and the item's name.
fn registered_name(publisher: &Publisher<'_>, ident: &syn::Ident) -> TokenStream {
    match &publisher.name {
        Some(name) => quote! { #name },
        None => {
            let ident = ident.to_string();
            quote! { ::core::concat!(::core::module_path!(), "::", #ident) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publisher_with_a_mistake_keeps_its_name_but_is_not_registered() {
        let item = quote! { fn tidy(p: Publication) -> Publication { p } };
        let out = expand(TokenStream::new(), item).to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("struct tidy"), "{out}");
        assert!(out.contains("RegisteredPublisher for tidy"), "{out}");
        assert!(!out.contains("inventory"), "{out}");
    }
}
