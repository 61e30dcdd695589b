//! The shape of a `#[derive(ApiTable)]` input: the struct, its fields, and what each field's
//! type looks like. Reading only; the rules live in `valid`.

use proc_macro2::Span;
use syn::{Data, DeriveInput, Fields, GenericArgument, Ident, PathArguments, Type, TypeBareFn};

use super::Errors;
use super::attr::{self, FieldAttrs};

/// A struct that derives `ApiTable`.
pub(crate) struct Table<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) generics: &'a syn::Generics,
    pub(crate) fields: Vec<Field<'a>>,
}

/// One named field.
pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    pub(crate) shape: Shape<'a>,
    pub(crate) attrs: FieldAttrs,
}

/// What the field's type is, as written (the derive cannot see through type aliases).
pub(crate) enum Shape<'a> {
    /// `unsafe extern "C" fn(…) -> …`
    Fn(&'a TypeBareFn),
    /// `Option<unsafe extern "C" fn(…) -> …>`
    OptionFn(&'a TypeBareFn),
    /// Anything else.
    Other,
}

impl<'a> Table<'a> {
    /// Reads the input, recording attribute errors and a struct of the wrong kind in
    /// `errors` and going on, so that `valid` can add its findings to the same report. A
    /// struct without named fields yields a table with no fields.
    pub(crate) fn from_syn(input: &'a DeriveInput, errors: &mut Errors) -> Self {
        attr::reject_container_attrs(&input.attrs, errors);
        let named = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => Some(named),
                Fields::Unnamed(unnamed) => {
                    errors.at(
                        unnamed,
                        "ApiTable needs named fields: each field name is the default symbol \
                         name, so a tuple struct has nothing to resolve by",
                    );
                    None
                }
                Fields::Unit => {
                    errors.at(
                        &input.ident,
                        "ApiTable needs a struct with named function-pointer fields, not a unit \
                         struct",
                    );
                    None
                }
            },
            Data::Enum(data) => {
                errors.at(
                    data.enum_token,
                    "ApiTable can only be derived for a struct of function pointers, not an enum",
                );
                None
            }
            Data::Union(data) => {
                errors.at(
                    data.union_token,
                    "ApiTable can only be derived for a struct of function pointers, not a union",
                );
                None
            }
        };
        let mut fields = Vec::new();
        for field in named.into_iter().flat_map(|named| &named.named) {
            // Named fields always have an ident; skip defensively rather than panic.
            let Some(ident) = &field.ident else { continue };
            let attrs = attr::field_attrs(&field.attrs, errors);
            fields.push(Field {
                ident,
                ty: &field.ty,
                shape: Shape::of(&field.ty),
                attrs,
            });
        }
        Self {
            ident: &input.ident,
            generics: &input.generics,
            fields,
        }
    }
}

impl<'a> Field<'a> {
    /// The symbol this field resolves: `#[api(symbol = "…")]`, else the field name (without
    /// `r#`).
    pub(crate) fn symbol(&self) -> String {
        match &self.attrs.symbol {
            Some(lit) => lit.value(),
            None => syn::ext::IdentExt::unraw(self.ident).to_string(),
        }
    }

    /// Where errors about the symbol name point: the `symbol = "…"` literal if there is one,
    /// else the field name.
    pub(crate) fn symbol_span(&self) -> Span {
        match &self.attrs.symbol {
            Some(lit) => lit.span(),
            None => self.ident.span(),
        }
    }

    /// The function-pointer type inside the field's type, if it has that shape.
    pub(crate) fn bare_fn(&self) -> Option<&'a TypeBareFn> {
        match self.shape {
            Shape::Fn(f) | Shape::OptionFn(f) => Some(f),
            Shape::Other => None,
        }
    }
}

impl<'a> Shape<'a> {
    fn of(ty: &'a Type) -> Self {
        match strip(ty) {
            Type::BareFn(f) => Self::Fn(f),
            Type::Path(path) if path.qself.is_none() => {
                let Some(last) = path.path.segments.last() else {
                    return Self::Other;
                };
                if last.ident != "Option" || !is_option_path(&path.path) {
                    return Self::Other;
                }
                let PathArguments::AngleBracketed(args) = &last.arguments else {
                    return Self::Other;
                };
                let mut types = args.args.iter();
                match (types.next(), types.next()) {
                    (Some(GenericArgument::Type(inner)), None) => match strip(inner) {
                        Type::BareFn(f) => Self::OptionFn(f),
                        _ => Self::Other,
                    },
                    _ => Self::Other,
                }
            }
            _ => Self::Other,
        }
    }
}

/// `Option`, `option::Option`, `core::option::Option`, `std::option::Option` (with or without
/// a leading `::`).
fn is_option_path(path: &syn::Path) -> bool {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    matches!(
        names.as_slice(),
        ["Option"] | ["option", "Option"] | ["core" | "std", "option", "Option"]
    )
}

/// Looks through parentheses and invisible groups (macro-substituted types).
fn strip(ty: &Type) -> &Type {
    match ty {
        Type::Paren(inner) => strip(&inner.elem),
        Type::Group(inner) => strip(&inner.elem),
        other => other,
    }
}
