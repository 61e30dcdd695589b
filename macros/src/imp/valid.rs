//! The rules of `#[derive(ApiTable)]`. Every violation in the struct is collected and
//! reported in one pass.

use std::collections::BTreeMap;

use quote::ToTokens;

use super::Errors;
use super::ast::{Shape, Table};

/// ABIs a foreign library's functions can have. `extern fn` without a string means "C".
const ABIS: &[&str] = &["C", "C-unwind", "system", "system-unwind"];

/// Checks the whole table, adding every problem to `errors`.
pub(crate) fn check(table: &Table<'_>, errors: &mut Errors) {
    if !table.generics.params.is_empty() || table.generics.where_clause.is_some() {
        errors.at(
            table.generics,
            "ApiTable cannot be generic: every field must name the one concrete signature the \
             library exports",
        );
    }
    for field in &table.fields {
        let name = field.ident;
        match field.shape {
            Shape::Other => errors.at(
                field.ty,
                format!(
                    "field `{name}` is not a foreign function pointer: write its type as \
                     `unsafe extern \"C\" fn(…)` or `Option<unsafe extern \"C\" fn(…)>` \
                     (the derive cannot see through type aliases)"
                ),
            ),
            Shape::Fn(_) if field.attrs.optional.is_some() => {
                if let Some(optional) = &field.attrs.optional {
                    errors.at(
                        optional,
                        format!(
                            "`optional` field `{name}` must be an `Option<unsafe extern \"C\" \
                             fn(…)>` to hold a missing symbol as `None`"
                        ),
                    );
                }
            }
            Shape::OptionFn(_) if field.attrs.optional.is_none() => errors.at(
                field.ty,
                format!(
                    "field `{name}` is an `Option` but not `#[api(optional)]`: mark it optional \
                     so a missing symbol becomes `None`, or drop the `Option` to require it"
                ),
            ),
            Shape::Fn(_) | Shape::OptionFn(_) => {}
        }
        if let Some(f) = field.bare_fn() {
            if f.unsafety.is_none() {
                errors.at(
                    f.fn_token,
                    format!(
                        "field `{name}` must be an `unsafe` fn pointer: calling into a loaded \
                         library can do anything its code does"
                    ),
                );
            }
            match &f.abi {
                None => errors.at(
                    f.fn_token,
                    format!(
                        "field `{name}` must be an `extern \"C\"` (or `\"system\"`) fn pointer: \
                         a Rust-ABI pointer cannot call a library's exported function"
                    ),
                ),
                Some(abi) => {
                    if let Some(lit) = &abi.name {
                        if !ABIS.contains(&lit.value().as_str()) {
                            errors.at(
                                lit,
                                format!(
                                    "field `{name}` has ABI \"{}\"; a library's exports use one \
                                     of {}",
                                    lit.value(),
                                    ABIS.iter()
                                        .map(|a| format!("\"{a}\""))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
    check_duplicates(table, errors);
}

/// Two fields resolving one symbol would look it up twice and hide which field the author
/// meant. Each such group is reported as combined errors, one per field, each spanned at that
/// field's symbol (its `symbol = "…"` literal, else its name): "first resolved here" on the
/// first, "resolved again here" on every later one, so the diagnostic marks each field and
/// nothing between them.
fn check_duplicates(table: &Table<'_>, errors: &mut Errors) {
    let mut by_symbol: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, field) in table.fields.iter().enumerate() {
        by_symbol.entry(field.symbol()).or_default().push(i);
    }
    // Report in field order so diagnostics read top to bottom.
    let mut groups: Vec<(&String, &Vec<usize>)> = by_symbol
        .iter()
        .filter(|(_, fields)| fields.len() > 1)
        .collect();
    groups.sort_by_key(|(_, fields)| fields[0]);
    for (symbol, indices) in groups {
        let Some((&first, again)) = indices.split_first() else {
            continue;
        };
        let first = &table.fields[first];
        errors.push(syn::Error::new(
            first.symbol_span(),
            format!(
                "symbol `{symbol}` is resolved by {} fields; first resolved here, by field `{}`",
                indices.len(),
                first.ident.to_token_stream()
            ),
        ));
        for &i in again {
            let field = &table.fields[i];
            errors.push(syn::Error::new(
                field.symbol_span(),
                format!(
                    "symbol `{symbol}` resolved again here, by field `{}`: each symbol is \
                     looked up once, so give each field its own `#[api(symbol = \"…\")]`",
                    field.ident.to_token_stream()
                ),
            ));
        }
    }
}
