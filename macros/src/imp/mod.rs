//! The macros' implementation, on `proc_macro2` types only.
//!
//! Every path between these modules goes through `super::` so that this directory can also be
//! included with `#[path]` by the expansion snapshot suite (`snapshots/tests/macros.rs`), which
//! then tests exactly the code the compiler runs.

pub(crate) mod ast;
pub(crate) mod attr;
pub(crate) mod expand;
pub(crate) mod os_call;
pub(crate) mod valid;

use proc_macro2::TokenStream;

/// `#[derive(ApiTable)]`: parse, check everything (collecting every error), then generate.
pub(crate) fn api_table(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<syn::DeriveInput>(input) {
        Ok(input) => input,
        Err(err) => return err.to_compile_error(),
    };
    // One report: attribute and shape errors from `ast`, then every rule from `valid`.
    let mut errors = Errors::default();
    let table = ast::Table::from_syn(&input, &mut errors);
    valid::check(&table, &mut errors);
    match errors.finish() {
        Ok(()) => expand::api_table(&table),
        Err(err) => err.to_compile_error(),
    }
}

/// Collects spanned errors so that one pass reports every problem (`syn::Error::combine`).
#[derive(Default)]
pub(crate) struct Errors {
    first: Option<syn::Error>,
}

impl Errors {
    /// Adds one error.
    pub(crate) fn push(&mut self, err: syn::Error) {
        match &mut self.first {
            Some(first) => first.combine(err),
            None => self.first = Some(err),
        }
    }

    /// Adds an error pointing at `tokens`.
    pub(crate) fn at(&mut self, tokens: impl quote::ToTokens, msg: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, msg));
    }

    /// Keeps the value of `res`, or records its error.
    pub(crate) fn keep<T>(&mut self, res: syn::Result<T>) -> Option<T> {
        res.map_err(|err| self.push(err)).ok()
    }

    /// `Err` with everything collected, if anything was.
    pub(crate) fn finish(self) -> syn::Result<()> {
        self.first.map_or(Ok(()), Err)
    }
}
