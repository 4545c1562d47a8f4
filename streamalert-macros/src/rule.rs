//! `#[rule(logs = […], outputs = […], publishers = …, …)]` on a rule function.
//!
//! [`parse`] reads the arguments into a [`Rule`], [`validate`] records every mistake in a
//! [`Ctxt`], and [`codegen`] turns a valid rule into its registration (thiserror's
//! `expand.rs` shape).

use crate::args::{doc_comment, parse_pairs, path_list, skip_value, string_list};
use crate::ctxt::{Ctxt, fallback};
use crate::paths::{PRIVATE, location, private_at, services_table};
use crate::{keys, kw};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{LitInt, LitStr, Path, Token};

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut cx = Ctxt::default();
    let args = parse_args(args, &mut cx);
    let function: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(error) => return fallback(item, TokenStream::new(), cx.abort(error)),
    };
    let rule = Rule {
        args,
        function: &function,
    };
    validate(&rule, &mut cx);
    match cx.check() {
        Ok(()) => codegen(&rule, item),
        // Nothing names a rule, so the function alone is the stub: calls to it still compile.
        Err(errors) => fallback(item, TokenStream::new(), errors),
    }
}

/// A rule: the arguments of `#[rule]` and the function they annotate.
struct Rule<'a> {
    args: Args,
    function: &'a syn::ItemFn,
}

/// A rule's publishers as written: one path, a list, or a map of keys to one path or a list.
enum Publishers {
    List(Vec<Path>),
    Map(Vec<(LitStr, Vec<Path>)>),
}

/// The arguments of `#[rule]`, as written.
#[derive(Default)]
struct Args {
    logs: Option<Vec<LitStr>>,
    datatypes: Option<Vec<LitStr>>,
    outputs: Vec<LitStr>,
    dynamic_outputs: Vec<Path>,
    publishers: Option<Publishers>,
    matchers: Vec<Path>,
    req_subkeys: Vec<(LitStr, Vec<LitStr>)>,
    context: Option<TokenStream>,
    merge_by_keys: Vec<LitStr>,
    merge_window_mins: Option<LitInt>,
    disabled: bool,
}

fn parse_args(tokens: TokenStream, cx: &mut Ctxt) -> Args {
    let mut args = Args::default();
    let mut seen: Vec<String> = Vec::new();
    parse_pairs(tokens, cx, |key, input, cx| {
        let name = key.to_string();
        if seen.contains(&name) {
            cx.error_spanned_by(key, format!("`{name}` is set more than once"));
        }
        seen.push(name.clone());
        if name == kw::DISABLED {
            args.disabled = true;
            return Ok(());
        }
        if !kw::RULE_ARGUMENTS.contains(&name.as_str()) {
            cx.error_spanned_by(
                key,
                format!(
                    "unknown argument `{name}` of `#[rule]`; expected one of: {}",
                    kw::quoted(kw::RULE_ARGUMENTS)
                ),
            );
            return skip_value(input);
        }
        input.parse::<Token![=]>()?;
        match name.as_str() {
            kw::LOGS => args.logs = Some(string_list(input)?),
            kw::DATATYPES => args.datatypes = Some(string_list(input)?),
            kw::OUTPUTS => args.outputs = string_list(input)?,
            kw::DYNAMIC_OUTPUTS => args.dynamic_outputs = path_list(input)?,
            kw::MATCHERS => args.matchers = path_list(input)?,
            kw::MERGE_BY_KEYS => args.merge_by_keys = string_list(input)?,
            kw::MERGE_WINDOW_MINS => args.merge_window_mins = Some(input.parse()?),
            kw::PUBLISHERS => args.publishers = Some(parse_publishers(input)?),
            kw::REQ_SUBKEYS => args.req_subkeys = parse_req_subkeys(input)?,
            kw::CONTEXT => args.context = Some(parse_context(input)?),
            _ => unreachable!("every listed argument is handled"),
        }
        Ok(())
    });
    args
}

fn parse_context(input: ParseStream<'_>) -> syn::Result<TokenStream> {
    let group: proc_macro2::Group = input.parse()?;
    if group.delimiter() != proc_macro2::Delimiter::Brace {
        return Err(syn::Error::new(
            group.span(),
            "`context` is a JSON object: `context = { \"key\": value }`",
        ));
    }
    Ok(quote! { #group })
}

fn parse_publishers(input: ParseStream<'_>) -> syn::Result<Publishers> {
    if input.peek(syn::token::Brace) {
        let content;
        syn::braced!(content in input);
        let mut entries = Vec::new();
        while !content.is_empty() {
            let key: LitStr = content.parse()?;
            content.parse::<Token![=>]>()?;
            let paths = if content.peek(syn::token::Bracket) {
                path_list(&content)?
            } else {
                vec![content.parse()?]
            };
            entries.push((key, paths));
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        Ok(Publishers::Map(entries))
    } else if input.peek(syn::token::Bracket) {
        Ok(Publishers::List(path_list(input)?))
    } else {
        Ok(Publishers::List(vec![input.parse()?]))
    }
}

fn parse_req_subkeys(input: ParseStream<'_>) -> syn::Result<Vec<(LitStr, Vec<LitStr>)>> {
    let content;
    syn::braced!(content in input);
    let mut entries = Vec::new();
    while !content.is_empty() {
        let key: LitStr = content.parse()?;
        content.parse::<Token![:]>()?;
        entries.push((key, string_list(&content)?));
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(entries)
}

/// Records every mistake of the arguments and of the function's shape.
fn validate(rule: &Rule<'_>, cx: &mut Ctxt) {
    let Rule { args, function } = rule;
    let sig = &function.sig;
    let ident = &sig.ident;

    if args.logs.is_none() && args.datatypes.is_none() {
        cx.syn_error(syn::Error::new(
            Span::call_site(),
            format!("rule `{ident}` must declare `logs = [\"…\"]` or `datatypes = [\"…\"]` to say which records it applies to"),
        ));
    }
    let mut outputs: Vec<(String, String)> = Vec::new();
    for output in &args.outputs {
        match keys::parse_output(&output.value()) {
            Ok((service, descriptor)) => outputs.push((service.to_owned(), descriptor.to_owned())),
            Err(message) => cx.error_spanned_by(output, message),
        }
    }
    if let Some(Publishers::Map(entries)) = &args.publishers {
        for (key, _) in entries {
            check_publisher_key(key, &outputs, cx);
        }
    }
    if let Some(token) = &sig.asyncness {
        cx.error_spanned_by(
            token,
            "a rule cannot be `async`; rules decide on one record and must not wait",
        );
    }
    if !sig.generics.params.is_empty() {
        cx.error_spanned_by(&sig.generics, "a rule cannot be generic");
    }
    let arity = sig.inputs.len();
    if !(1..=2).contains(&arity) {
        let span = if arity == 0 {
            ident.span()
        } else {
            sig.inputs.span()
        };
        cx.syn_error(syn::Error::new(
            span,
            format!("a rule takes `(record: &Record)` or `(record: &Record, context: &mut Context)`, found {arity} parameters"),
        ));
    }
    if arity == 2 && args.context.is_none() {
        cx.error_spanned_by(
            &sig.inputs,
            format!("rule `{ident}` takes a context but declares none; add `context = {{}}` (or a JSON object) to `#[rule]`"),
        );
    }
}

/// A publisher-map key must be one of the rule's outputs or the service of one.
fn check_publisher_key(key: &LitStr, outputs: &[(String, String)], cx: &mut Ctxt) {
    let text = key.value();
    let matches = outputs
        .iter()
        .any(|(service, descriptor)| text == *service || text == format!("{service}:{descriptor}"));
    if matches {
        return;
    }
    let listed = if outputs.is_empty() {
        "the rule has no outputs".to_owned()
    } else {
        let names: Vec<String> = outputs.iter().map(|(s, d)| format!("`{s}:{d}`")).collect();
        format!("its outputs are {}", names.join(", "))
    };
    let services: Vec<&str> = outputs.iter().map(|(s, _)| s.as_str()).collect();
    let exact: Vec<String> = outputs.iter().map(|(s, d)| format!("{s}:{d}")).collect();
    let suggestion = crate::suggest::closest(
        &text,
        services
            .iter()
            .copied()
            .chain(exact.iter().map(String::as_str)),
    );
    let hint = suggestion
        .map(|s| format!("; did you mean \"{s}\"?"))
        .unwrap_or_default();
    cx.error_spanned_by(
        key,
        format!("publisher key \"{text}\" matches no output of this rule{hint} ({listed}; a key is an output or its service)"),
    );
}

/// The function unchanged, its `inventory` registration, and the check of its outputs
/// against the crate's service table. Only called on a rule [`validate`] accepted.
fn codegen(rule: &Rule<'_>, item: TokenStream) -> TokenStream {
    let Rule { args, function } = rule;
    let sig = &function.sig;
    let ident = &sig.ident;
    let name = ident.to_string();
    let description =
        doc_comment(&function.attrs).unwrap_or_else(|| "No rule description provided".to_owned());
    let strings = |list: &[LitStr]| quote! { &[#(#list),*] };
    let logs = match &args.logs {
        Some(list) => {
            let list = strings(list);
            quote! { ::core::option::Option::Some(#list) }
        }
        None => quote! { ::core::option::Option::None },
    };
    let datatypes = strings(args.datatypes.as_deref().unwrap_or_default());
    let outputs = strings(&args.outputs);
    let merge_by_keys = strings(&args.merge_by_keys);
    let merge_window_mins = args
        .merge_window_mins
        .as_ref()
        .map_or_else(|| quote! { 0 }, |lit| quote! { #lit });
    let disabled = args.disabled;
    let at_sig = private_at(sig.span());
    let func = if sig.inputs.len() == 2 {
        quote_spanned! {sig.span()=>
            #at_sig::RuleFn::WithContext(|record, context| #at_sig::RuleOutcome::into_outcome(#ident(record, context)))
        }
    } else {
        quote_spanned! {sig.span()=>
            #at_sig::RuleFn::Record(|record| #at_sig::RuleOutcome::into_outcome(#ident(record)))
        }
    };
    let matchers = args.matchers.iter().map(|path| {
        let at_path = private_at(path.span());
        quote_spanned! {path.span()=>
            |record| #at_path::RuleOutcome::into_outcome(#path(record))
        }
    });
    let dynamic_outputs = args.dynamic_outputs.iter().map(|path| {
        let name = path_text(path);
        let at_path = private_at(path.span());
        quote_spanned! {path.span()=>
            #at_path::DynamicOutput {
                name: #name,
                func: |record, context| #at_path::call_dynamic_outputs(#path, record, context),
            }
        }
    });
    let req_subkeys = args
        .req_subkeys
        .iter()
        .map(|(key, subkeys)| quote! { (#key, &[#(#subkeys),*]) });
    let context = match &args.context {
        Some(object) => quote! {
            ::core::option::Option::Some(|| match #PRIVATE::serde_json::json!(#object) {
                #PRIVATE::serde_json::Value::Object(map) => map,
                _ => ::core::unreachable!("a braced JSON literal is an object"),
            })
        },
        None => quote! { ::core::option::Option::None },
    };
    let publishers = match &args.publishers {
        None => quote! { #PRIVATE::StaticPublishers::None },
        Some(Publishers::List(paths)) => {
            let names = paths.iter().map(publisher_name);
            quote! { #PRIVATE::StaticPublishers::List(&[#(#names),*]) }
        }
        Some(Publishers::Map(entries)) => {
            let entries = entries.iter().map(|(key, paths)| {
                let names = paths.iter().map(publisher_name);
                quote! { (#key, &[#(#names),*]) }
            });
            quote! { #PRIVATE::StaticPublishers::Map(&[#(#entries),*]) }
        }
    };
    let check = if args.outputs.is_empty() {
        TokenStream::new()
    } else {
        let table = services_table();
        let outputs = &args.outputs;
        let kind = syn::Ident::new(kw::RULE, Span::call_site());
        quote! { #table! { #kind [ #(#outputs)* ] } }
    };
    let location = location(Span::call_site());
    quote! {
        #item
        const _: () = {
            #PRIVATE::inventory::submit! {
                #PRIVATE::Rule {
                    name: #name,
                    description: #description,
                    logs: #logs,
                    datatypes: #datatypes,
                    outputs: #outputs,
                    dynamic_outputs: &[#(#dynamic_outputs),*],
                    matchers: &[#(#matchers),*],
                    req_subkeys: &[#(#req_subkeys),*],
                    publishers: #publishers,
                    context: #context,
                    merge_by_keys: #merge_by_keys,
                    merge_window_mins: #merge_window_mins,
                    disabled: #disabled,
                    func: #func,
                    location: #location,
                }
            }
        };
        #check
    }
}

fn publisher_name(path: &Path) -> TokenStream {
    let at_path = private_at(path.span());
    quote_spanned! {path.span()=> <#path as #at_path::RegisteredPublisher>::NAME }
}

/// A path as written, without the spaces `to_string` puts around `::`: `teams::owner`.
fn path_text(path: &syn::Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let prefix = if path.leading_colon.is_some() {
        "::"
    } else {
        ""
    };
    format!("{prefix}{}", segments.join("::"))
}
