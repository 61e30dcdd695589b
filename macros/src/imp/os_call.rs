//! `os_call!`: one raw OS call, its failure test, and the loader error built on failure.
//!
//! Parsing collects every problem it can (unknown, repeated and missing keys, a bad `op`,
//! repeated argument names) before reporting; a syntax error inside a value stops parsing there
//! because nothing after it can be read reliably.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{BinOp, Expr, ExprClosure, Ident, LitStr, Token, braced};

use super::Errors;

/// A parsed invocation.
pub(crate) struct OsCall {
    pub(crate) op: LitStr,
    pub(crate) path: Expr,
    pub(crate) args: Vec<Arg>,
    pub(crate) fail: FailTest,
    pub(crate) code: Code,
    pub(crate) call: Expr,
}

/// One `name: value` (or shorthand `name`) in `args: { … }`.
pub(crate) struct Arg {
    pub(crate) name: Ident,
    pub(crate) value: Expr,
}

/// When the call's result means failure.
pub(crate) enum FailTest {
    /// `fail_if: == -1` and the other comparisons.
    Compare(BinOp, Box<Expr>),
    /// `fail_if: is_null`.
    IsNull,
    /// `fail_if: is_err`: the call returns `Result<T, E>` with `E: Into<std::io::Error>`
    /// (std, rustix, memmap2); the code is the one the error value captured inside the call.
    IsErr,
    /// `fail_if: |r| …`, given `&R`.
    Closure(Box<ExprClosure>),
}

/// Where the error code comes from.
pub(crate) enum Code {
    /// errno / `GetLastError`, read right after the failure test.
    Errno,
    /// The call's own `i32` result is the error number.
    Returned,
}

/// Parses and expands; errors become `compile_error!`.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match syn::parse2::<OsCall>(input) {
        Ok(call) => call.expand(),
        // Several `compile_error!`s in a row are not one expression; a block of them is.
        Err(err) => {
            let errors = err.to_compile_error();
            quote!({ #errors })
        }
    }
}

impl Parse for OsCall {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let mut op: Option<LitStr> = None;
        let mut path: Option<Expr> = None;
        let mut args: Option<Vec<Arg>> = None;
        let mut fail: Option<FailTest> = None;
        let mut code: Option<Code> = None;
        let mut call: Option<Expr> = None;
        let mut code_key: Option<Ident> = None;
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            input.parse::<Token![:]>()?;
            let key_name = key.to_string();
            let repeated = match key_name.as_str() {
                "op" => {
                    let lit: LitStr = input.parse()?;
                    if lit.value().is_empty() {
                        errors.at(
                            &lit,
                            "`op` names the failing call, e.g. \"open\"; it is empty",
                        );
                    }
                    op.replace(lit).is_some()
                }
                "path" => path.replace(input.parse()?).is_some(),
                "args" => args.replace(parse_args(input, &mut errors)?).is_some(),
                "fail_if" => fail.replace(input.parse()?).is_some(),
                "code" => {
                    let which: Ident = input.parse()?;
                    code_key = Some(key.clone());
                    let parsed = if which == "errno" {
                        Code::Errno
                    } else if which == "returned" {
                        Code::Returned
                    } else {
                        errors.at(&which, "expected `errno` or `returned`");
                        Code::Errno
                    };
                    code.replace(parsed).is_some()
                }
                "call" => call.replace(input.parse()?).is_some(),
                _ => {
                    errors.at(
                        &key,
                        format!(
                            "unknown key `{key_name}`: expected `op`, `path`, `args`, `fail_if`, \
                             `code` or `call`"
                        ),
                    );
                    // Skip its value so the remaining keys are still checked.
                    let _: Expr = input.parse()?;
                    false
                }
            };
            if repeated {
                errors.at(&key, format!("`{key_name}` given twice"));
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        let span = input.span();
        for (missing, what) in [
            (op.is_none(), "`op: \"name\"` (the failing call's name)"),
            (path.is_none(), "`path: …` (the file the call concerns)"),
            (
                fail.is_none(),
                "`fail_if: …` (when the result means failure)",
            ),
            (call.is_none(), "`call: …` (the OS call itself)"),
        ] {
            if missing {
                errors.push(syn::Error::new(span, format!("os_call! needs {what}")));
            }
        }
        if let (Some(FailTest::IsErr), Some(key)) = (&fail, &code_key) {
            errors.at(
                key,
                "`code` does not apply to `fail_if: is_err`: the error value already carries \
                 the code captured inside the call",
            );
        }
        errors.finish()?;
        match (op, path, fail, call) {
            (Some(op), Some(path), Some(fail), Some(call)) => Ok(Self {
                op,
                path,
                args: args.unwrap_or_default(),
                fail,
                code: code.unwrap_or(Code::Errno),
                call,
            }),
            // `errors.finish()` already returned for every missing key.
            _ => Err(syn::Error::new(span, "os_call!: incomplete invocation")),
        }
    }
}

/// `{ name: value, shorthand, … }`, rejecting a name given twice.
fn parse_args(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Vec<Arg>> {
    let content;
    braced!(content in input);
    let list = Punctuated::<Arg, Token![,]>::parse_terminated(&content)?;
    let mut out: Vec<Arg> = Vec::new();
    for arg in list {
        if out.iter().any(|seen| seen.name == arg.name) {
            errors.at(&arg.name, format!("argument `{}` named twice", arg.name));
        }
        out.push(arg);
    }
    Ok(out)
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name: Ident = input.parse()?;
        let value = if input.peek(Token![:]) {
            input.parse::<Token![:]>()?;
            input.parse()?
        } else {
            syn::parse_quote!(#name)
        };
        Ok(Self { name, value })
    }
}

impl Parse for FailTest {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(Token![|]) || input.peek(Token![||]) || input.peek(Token![move]) {
            return Ok(Self::Closure(Box::new(input.parse()?)));
        }
        if input.peek(Ident) {
            let word: Ident = input.parse()?;
            if word == "is_null" {
                return Ok(Self::IsNull);
            }
            if word == "is_err" {
                return Ok(Self::IsErr);
            }
            return Err(syn::Error::new(
                word.span(),
                "expected a comparison (`== -1`, `!= 0`, `< 0`, …), `is_null`, `is_err`, or a \
                 closure `|r| …`",
            ));
        }
        let op: BinOp = input.parse()?;
        match op {
            BinOp::Eq(_)
            | BinOp::Ne(_)
            | BinOp::Lt(_)
            | BinOp::Le(_)
            | BinOp::Gt(_)
            | BinOp::Ge(_) => Ok(Self::Compare(op, Box::new(input.parse()?))),
            _ => Err(syn::Error::new_spanned(
                op,
                "`fail_if` takes a comparison operator: `==`, `!=`, `<`, `<=`, `>` or `>=`",
            )),
        }
    }
}

impl OsCall {
    /// The expansion. Statement order is the point: call, test, read the OS error, and only
    /// then evaluate the path and arguments and allocate the error.
    pub(crate) fn expand(&self) -> TokenStream {
        // Mixed-site hygiene: the caller's expressions cannot see or shadow these locals.
        let ret = Ident::new("ret", Span::mixed_site());
        let os = Ident::new("os", Span::mixed_site());
        let call = &self.call;
        let op = &self.op;
        let path = &self.path;
        let args = self.args.iter().map(|Arg { name, value }| {
            let name = LitStr::new(&name.to_string(), name.span());
            quote!(.arg(#name, #value))
        });
        // `OsFailure::new` is `#[track_caller]`; spanned at the invocation, it records the
        // line of the `os_call!` in the caller's file.
        let new = quote_spanned!(Span::call_site()=> ::loadguard::OsFailure::new);
        let error = quote! {
            ::core::result::Result::Err(::loadguard::Error::from(#new(#op, #path, #os) #(#args)*))
        };
        if let FailTest::IsErr = self.fail {
            let err = Ident::new("err", Span::mixed_site());
            return quote! {
                match #call {
                    ::core::result::Result::Ok(#ret) => ::core::result::Result::Ok(#ret),
                    ::core::result::Result::Err(#err) => {
                        let #os = ::loadguard::OsError::from_io(
                            &::core::convert::Into::<::std::io::Error>::into(#err),
                        );
                        #error
                    }
                }
            };
        }
        let failed = match &self.fail {
            FailTest::Compare(op, rhs) => quote!(#ret #op (#rhs)),
            FailTest::IsNull => quote!(#ret.is_null()),
            FailTest::Closure(closure) => {
                // Passing the closure through a bound `FnOnce(&R) -> bool` gives its parameter
                // a type, so `|r| *r < 0` needs no annotation.
                let test = Ident::new("test", Span::mixed_site());
                quote! {{
                    fn #test<R, F: ::core::ops::FnOnce(&R) -> bool>(r: &R, f: F) -> bool {
                        f(r)
                    }
                    #test(&#ret, #closure)
                }}
            }
            FailTest::IsErr => unreachable!("expanded above"),
        };
        let read_os = match self.code {
            Code::Errno => quote!(::loadguard::OsError::last()),
            Code::Returned => quote!(::loadguard::OsError::from_code(#ret)),
        };
        quote! {
            {
                let #ret = #call;
                if #failed {
                    let #os = #read_os;
                    #error
                } else {
                    ::core::result::Result::Ok(#ret)
                }
            }
        }
    }
}
