//! Pretty-printed expansions of `os_call!` and `#[derive(ApiTable)]` for representative inputs.
//!
//! The macro implementation is included from `macros/src/imp/` with `#[path]`, so these
//! snapshots are produced by exactly the code the compiler plugin runs (the proc-macro crate
//! itself cannot export functions to a test). Review a changed snapshot as a diff of the
//! generated code: statement order in `os_call!` (call, test, read the OS error, then build the
//! error) is the property that matters.

#[path = "../../macros/src/imp/mod.rs"]
mod imp;

use proc_macro2::TokenStream;
use quote::quote;

/// Formats items as a file.
fn items(tokens: TokenStream) -> String {
    let file: syn::File = syn::parse2(tokens).expect("expansion parses as items");
    prettyplease::unparse(&file)
}

/// Formats an expression expansion as the body of a function.
fn expr(tokens: TokenStream) -> String {
    items(quote!(fn expansion() { #tokens }))
}

fn os_call(input: TokenStream) -> String {
    expr(imp::os_call::expand(input))
}

fn derive(input: TokenStream) -> String {
    items(imp::api_table(input))
}

#[test]
fn os_call_errno_after_comparison() {
    insta::assert_snapshot!(os_call(quote! {
        op: "pread",
        path: &self.path,
        args: { offset, len: buf.len() },
        fail_if: == -1,
        call: unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), offset) },
    }));
}

#[test]
fn os_call_windows_invalid_handle_and_false() {
    insta::assert_snapshot!(os_call(quote! {
        op: "CreateFileMappingW",
        path: path,
        args: { size },
        fail_if: is_null,
        call: unsafe { CreateFileMappingW(handle, null(), PAGE_READONLY, 0, 0, null()) },
    }));
    insta::assert_snapshot!(os_call(quote! {
        op: "VirtualLock",
        path: &self.path,
        args: { addr: ptr as usize, len },
        fail_if: == FALSE,
        call: unsafe { VirtualLock(ptr, len) },
    }));
}

#[test]
fn os_call_returned_code_closure_and_result() {
    insta::assert_snapshot!(os_call(quote! {
        op: "posix_fadvise",
        path: path,
        fail_if: != 0,
        code: returned,
        call: unsafe { libc::posix_fadvise(fd, 0, 0, libc::POSIX_FADV_WILLNEED) },
    }));
    insta::assert_snapshot!(os_call(quote! {
        op: "lseek",
        path: path,
        fail_if: |r| *r < 0,
        call: unsafe { libc::lseek(fd, 0, libc::SEEK_END) },
    }));
    insta::assert_snapshot!(os_call(quote! {
        op: "mlock",
        path: &self.path,
        args: { len: bytes.len() },
        fail_if: is_err,
        call: unsafe { rustix::mm::mlock(bytes.as_ptr().cast_mut().cast(), bytes.len()) },
    }));
}

#[test]
fn os_call_every_error_in_one_pass() {
    insta::assert_snapshot!(os_call(quote! {
        op: "",
        path: "/m",
        path: "/n",
        args: { len: 1, len: 2 },
        flags: 3,
    }));
}

#[test]
fn api_table_expansion() {
    insta::assert_snapshot!(derive(quote! {
        struct Enn {
            #[api(symbol = "EnnInitialize")]
            init: unsafe extern "C" fn(status: *mut i32) -> i32,
            EnnDeinitialize: unsafe extern "C" fn(),
            r#type: unsafe extern "system" fn(handle: *mut c_void) -> u32,
            #[api(optional)]
            EnnTrace: Option<unsafe extern "C" fn(level: u32)>,
            #[api(optional, symbol = "EnnGetVersion2")]
            version: ::core::option::Option<unsafe extern "C" fn() -> u32>,
        }
    }));
}

#[test]
fn api_table_every_error_in_one_pass() {
    insta::assert_snapshot!(derive(quote! {
        struct Bad<T> {
            EnnInit: unsafe extern "C" fn(),
            #[api(symbol = "EnnInit")]
            init: unsafe extern "C" fn(),
            count: u32,
            #[api(optional)]
            not_option: unsafe extern "C" fn(),
            safe: extern "C" fn(),
            #[api(bogus)]
            marker: T,
        }
    }));
}

/// The derive's errors for `source`, each drawn under the source lines it spans (as rustc
/// draws them), so a snapshot shows where every error points and not only what it says.
fn derive_errors_in_place(source: &str) -> String {
    let input: TokenStream = source.parse().expect("source tokenizes");
    let lines: Vec<&str> = source.lines().collect();
    let mut out = String::new();
    // Each error is `::core::compile_error! { "message" }`: the tokens before the braces
    // carry the start of its span, the message literal the end.
    let mut start: Option<proc_macro2::LineColumn> = None;
    for token in imp::api_table(input) {
        match token {
            proc_macro2::TokenTree::Group(group) => {
                let message = group.stream().into_iter().next().expect("a message");
                let (from, to) = (start.take().expect("a start span"), message.span().end());
                let text: syn::LitStr = syn::parse2(message.into()).expect("a string");
                out.push_str(&format!("error: {}\n", text.value()));
                for line in from.line..=to.line {
                    let code = lines[line - 1];
                    let first = if line == from.line { from.column } else { 0 };
                    let last = if line == to.line {
                        to.column
                    } else {
                        code.len()
                    };
                    out.push_str(&format!("{line:>3} | {code}\n"));
                    out.push_str(&format!(
                        "    | {}{}\n",
                        " ".repeat(first),
                        "^".repeat(last.saturating_sub(first).max(1))
                    ));
                }
                out.push('\n');
            }
            other => {
                start.get_or_insert(other.span().start());
            }
        }
    }
    out
}

#[test]
fn api_table_duplicate_symbols_point_at_each_field() {
    insta::assert_snapshot!(derive_errors_in_place(
        r#"struct Driver {
    EnnInitialize: unsafe extern "C" fn() -> i32,
    #[api(symbol = "EnnInitialize")]
    init_again: unsafe extern "C" fn() -> i32,
    #[api(symbol = "EnnRelease")]
    release: unsafe extern "C" fn(),
    #[api(symbol = "EnnRelease")]
    release2: unsafe extern "C" fn(),
    EnnRelease: unsafe extern "C" fn(),
}"#
    ));
}
