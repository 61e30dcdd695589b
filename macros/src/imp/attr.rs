//! `#[api(...)]`: `symbol = "Name"` and `optional` on fields; nothing on the struct.

use syn::{Attribute, LitStr};

use super::Errors;

/// What a field's `#[api(...)]` attributes say.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    /// `symbol = "…"`: the exported name, when it differs from the field name.
    pub(crate) symbol: Option<LitStr>,
    /// `optional`: the key word itself, kept for its span.
    pub(crate) optional: Option<syn::Path>,
}

/// Parses every `#[api]` on a field, recording each problem and going on with the rest.
pub(crate) fn field_attrs(attrs: &[Attribute], errors: &mut Errors) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("api")) {
        let res = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("symbol") {
                let lit: LitStr = meta.value()?.parse()?;
                check_symbol(&lit, errors);
                if out.symbol.is_some() {
                    errors.at(&meta.path, "duplicate `symbol` for this field");
                } else {
                    out.symbol = Some(lit);
                }
            } else if meta.path.is_ident("optional") {
                if meta.input.peek(syn::Token![=]) || meta.input.peek(syn::token::Paren) {
                    return Err(meta.error("`optional` takes no value: write `#[api(optional)]`"));
                }
                if out.optional.is_some() {
                    errors.at(&meta.path, "duplicate `optional` for this field");
                } else {
                    out.optional = Some(meta.path.clone());
                }
            } else {
                errors.at(
                    &meta.path,
                    "unknown `api` option: expected `symbol = \"…\"` or `optional`",
                );
                // Skip the option's value so the rest of the list is still checked.
                if meta.input.peek(syn::Token![=]) {
                    let _: syn::Expr = meta.value()?.parse()?;
                } else if meta.input.peek(syn::token::Paren) {
                    meta.parse_nested_meta(|_| Ok(()))?;
                }
            }
            Ok(())
        });
        errors.keep(res);
    }
    out
}

/// The struct itself takes no options; say so instead of ignoring a typo'd attribute.
pub(crate) fn reject_container_attrs(attrs: &[Attribute], errors: &mut Errors) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("api")) {
        errors.at(
            attr,
            "`#[api(...)]` goes on fields (`symbol = \"…\"`, `optional`), not on the struct",
        );
    }
}

/// A symbol must be a non-empty C string.
fn check_symbol(lit: &LitStr, errors: &mut Errors) {
    let value = lit.value();
    if value.is_empty() {
        errors.at(lit, "symbol name is empty");
    } else if value.contains('\0') {
        errors.at(
            lit,
            "symbol name contains a NUL byte, which no C symbol can",
        );
    }
}
