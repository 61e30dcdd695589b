//! Code generation for `#[derive(ApiTable)]` (the input has passed `valid::check`).

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::ast::{Shape, Table};

/// `impl ::loadguard::dylib::ApiTable`: the symbol list as a constant (names checked to be C
/// strings at compile time), and a loader with one resolver call per field, in field order.
pub(crate) fn api_table(table: &Table<'_>) -> TokenStream {
    let ident = table.ident;
    let mut symbols = Vec::new();
    let mut inits = Vec::new();
    for (index, field) in table.fields.iter().enumerate() {
        let mut name = field.symbol().into_bytes();
        name.push(0);
        let name = Literal::byte_string(&name);
        let field_ident = field.ident;
        let (ty, optional) = match field.shape {
            Shape::OptionFn(f) => (quote!(#f), true),
            Shape::Fn(f) => (quote!(#f), false),
            // `valid::check` rejected this table; generate nothing misleading.
            Shape::Other => return TokenStream::new(),
        };
        if optional {
            symbols.push(quote!(::loadguard::dylib::Symbol::optional(#name)));
            inits.push(quote! {
                #field_ident: unsafe { resolver.optional::<#ty>(&symbols[#index]) }
            });
        } else {
            symbols.push(quote!(::loadguard::dylib::Symbol::required(#name)));
            inits.push(quote! {
                #field_ident: unsafe { resolver.required::<#ty>(&symbols[#index]) }?
            });
        }
    }
    quote! {
        #[automatically_derived]
        impl ::loadguard::dylib::ApiTable for #ident {
            const SYMBOLS: &'static [::loadguard::dylib::Symbol] = &[#(#symbols),*];

            unsafe fn load(
                resolver: &mut ::loadguard::dylib::Resolver<'_>,
            ) -> ::loadguard::Result<Self> {
                let symbols = <Self as ::loadguard::dylib::ApiTable>::SYMBOLS;
                // The caller of `load` promised that every symbol has the signature of its
                // field; each field is resolved exactly once, in declaration order.
                ::core::result::Result::Ok(Self { #(#inits,)* })
            }
        }
    }
}
