//! `#[declared]`: a struct read field by field from a JSON object, every problem at once.
//!
//! ```ignore
//! #[declared(check = check_contact)]
//! #[derive(Debug, Serialize)]
//! pub struct Contact {
//!     pub name: String,
//!     #[serde(rename = "phoneNumber")]
//!     pub phone_number: Phone,
//!     pub email: Option<Email>,
//! }
//! ```
//!
//! Each field is read under its key: serde's `rename` when it has one, else its name (in
//! camelCase under the struct's `#[serde(rename_all = "camelCase")]`), so the key that reads
//! the field, names it in problems and serializes it is written once. On a
//! struct that derives `Serialize`, an `Option` field with no serde `skip_serializing_if` of
//! its own is left out when it is `None`, as every provider here wants. The macro implements
//! `ponte::validate::DeclaredObject` (read the fields in their order, then the `check`, a
//! function over the values read) and `ponte::validate::Field`, which also refuses keys the
//! struct does not declare. A field marked `#[declared(rest)]` (a `Remainder`) takes every other
//! key instead, for objects whose other keys are open.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Attribute, Data, DeriveInput, Expr, ExprLit, Fields, Lit, Meta, Path, Token, Type};

#[proc_macro_attribute]
pub fn declared(args: TokenStream, item: TokenStream) -> TokenStream {
    match expand(args.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// What `#[declared(…)]` says: the check across fields, if any.
fn check_of(args: Tokens) -> syn::Result<Option<Path>> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut check = None;
    for meta in metas {
        match meta {
            Meta::NameValue(nv) if nv.path.is_ident("check") => match nv.value {
                Expr::Path(path) => check = Some(path.path),
                other => return Err(syn::Error::new_spanned(other, "check = a function's path")),
            },
            other => return Err(syn::Error::new_spanned(other, "expected check = function")),
        }
    }
    Ok(check)
}

fn expand(args: Tokens, item: Tokens) -> syn::Result<Tokens> {
    let check = check_of(args)?;
    let mut input: DeriveInput = syn::parse2(item)?;
    let serializes = derives(&input.attrs, "Serialize")?;
    let camel_case = match serde_value(&input.attrs, "rename_all")?.as_deref() {
        None => false,
        Some("camelCase") => true,
        Some(_) => {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "#[declared] knows rename_all = \"camelCase\" only",
            ));
        }
    };
    let Data::Struct(data) = &mut input.data else {
        return Err(syn::Error::new_spanned(
            &input,
            "#[declared] takes a struct",
        ));
    };
    let Fields::Named(fields) = &mut data.fields else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[declared] takes named fields",
        ));
    };
    let mut read = Vec::new();
    let mut placeholders = Vec::new();
    for field in fields.named.iter_mut() {
        let name = field.ident.clone().expect("named fields have names");
        let ty = &field.ty;
        if take_rest_marker(&mut field.attrs)? {
            read.push(quote! {
                #name: <#ty as ::ponte::validate::Remainder>::read_rest(fields, cx, p)
            });
            placeholders.push(quote! { #name: <#ty as ::core::default::Default>::default() });
            continue;
        }
        let key = match serde_value(&field.attrs, "rename")? {
            Some(key) => key,
            None if camel_case => camel(&name.to_string()),
            None => name.to_string(),
        };
        read.push(quote! { #name: ::ponte::validate::read_key(fields, #key, cx, p) });
        placeholders.push(quote! { #name: ::ponte::validate::Field::placeholder() });
        if serializes
            && is_option(ty)
            && serde_value(&field.attrs, "skip_serializing_if")?.is_none()
        {
            field
                .attrs
                .push(syn::parse_quote!(#[serde(skip_serializing_if = "Option::is_none")]));
        }
    }
    let ident = &input.ident;
    let check = check.map(|check| quote! { #check(&mut read, fields, cx, p); });
    Ok(quote! {
        #input

        impl ::ponte::validate::DeclaredObject for #ident {
            fn read_fields(
                fields: &mut ::ponte::validate::Fields<'_>,
                cx: &::ponte::validate::ValidationContext,
                p: &mut ::ponte::validate::Problems,
            ) -> Self {
                #[allow(unused_mut)]
                let mut read = Self { #(#read,)* };
                #check
                read
            }
        }

        impl ::ponte::validate::Field for #ident {
            fn read(
                value: &::serde_json::Value,
                at: &str,
                cx: &::ponte::validate::ValidationContext,
                p: &mut ::ponte::validate::Problems,
            ) -> Option<Self> {
                let mut fields = ::ponte::validate::Fields::object(value, at, p)?;
                let read = <Self as ::ponte::validate::DeclaredObject>::read_fields(&mut fields, cx, p);
                fields.reject_unknown(p, |_| false);
                Some(read)
            }

            fn placeholder() -> Self {
                Self { #(#placeholders,)* }
            }
        }
    })
}

/// Whether the struct derives `name` (`#[derive(…, Serialize)]`).
fn derives(attrs: &[Attribute], name: &str) -> syn::Result<bool> {
    for attr in attrs.iter().filter(|a| a.path().is_ident("derive")) {
        let paths = attr.parse_args_with(Punctuated::<Path, Token![,]>::parse_terminated)?;
        if paths
            .iter()
            .any(|p| p.segments.last().is_some_and(|s| s.ident == name))
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The string value of `#[serde(name = "…")]` among `attrs`, if any.
fn serde_value(attrs: &[Attribute], name: &str) -> syn::Result<Option<String>> {
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let metas = attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)?;
        for meta in metas {
            if let Meta::NameValue(nv) = meta
                && nv.path.is_ident(name)
                && let Expr::Lit(ExprLit {
                    lit: Lit::Str(text),
                    ..
                }) = nv.value
            {
                return Ok(Some(text.value()));
            }
        }
    }
    Ok(None)
}

/// Removes `#[declared(rest)]` from a field's attributes; true when it was there.
fn take_rest_marker(attrs: &mut Vec<Attribute>) -> syn::Result<bool> {
    let mut rest = false;
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        if attr.path().is_ident("declared") {
            let path: Path = attr.parse_args()?;
            if !path.is_ident("rest") {
                return Err(syn::Error::new_spanned(path, "expected #[declared(rest)]"));
            }
            rest = true;
        } else {
            kept.push(attr);
        }
    }
    *attrs = kept;
    Ok(rest)
}

/// `message_timeout_flow_id` → `messageTimeoutFlowId`, as serde's `rename_all = "camelCase"`.
fn camel(snake: &str) -> String {
    let mut words = snake.split('_');
    let mut out = words.next().unwrap_or_default().to_string();
    for word in words {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// Whether `ty` is written `Option<…>`.
fn is_option(ty: &Type) -> bool {
    matches!(ty, Type::Path(path) if path.qself.is_none()
        && path.path.segments.last().is_some_and(|s| s.ident == "Option"))
}
