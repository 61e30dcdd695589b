//! Proc macros for `loadguard`; use them through `loadguard` (`loadguard::os_call!`,
//! `loadguard::dylib::ApiTable`), whose items their expansions name.
//!
//! - [`os_call!`](macro@os_call): wraps one raw OS call so that a failure is turned into
//!   `loadguard::Error` with the operation, the path, the named arguments, the OS error read
//!   *immediately* after the failure test, and the call site. For users' own raw calls (an
//!   `os::Os` implementation, a driver `ioctl`) as much as for loadguard's own.
//! - [`ApiTable`](derive@ApiTable): turns a struct of `unsafe extern "C" fn` pointers into a
//!   table that `loadguard::dylib::Api` resolves from a dynamic library, one lookup per symbol,
//!   with duplicate symbols rejected at compile time.
//!
//! The parsing, validation and code generation live in `imp/` (split like thiserror's:
//! `ast`, `attr`, `valid`, `expand`), written against `proc_macro2` only so the snapshot suite
//! can run the very same code outside a compiler plugin.

#![warn(missing_docs)]

mod imp;

use proc_macro::TokenStream;

/// Runs one raw OS call and turns its failure into a `loadguard::Error` on the spot.
///
/// ```
/// use loadguard::os_call;
/// use std::path::Path;
///
/// # #[cfg(unix)]
/// unsafe extern "C" {
///     fn close(fd: i32) -> i32;
/// }
///
/// # #[cfg(unix)]
/// fn close_fd(fd: i32, path: &Path) -> loadguard::Result<()> {
///     os_call!(
///         op: "close",
///         path: path,
///         args: { fd },
///         fail_if: == -1,
///         // SAFETY: the caller owns `fd` and gives it up here.
///         call: unsafe { close(fd) },
///     )?;
///     Ok(())
/// }
///
/// # #[cfg(unix)]
/// # {
/// let err = close_fd(-1, Path::new("/models/a.bin")).unwrap_err();
/// assert!(err.to_string().starts_with("close /models/a.bin (fd=-1) failed at "));
/// assert!(err.chain().to_string().ends_with(": Bad file descriptor (os error 9)"));
/// # }
/// ```
///
/// Evaluates to `Result<R, loadguard::Error>` where `R` is the type of `call`. Keys (any order):
///
/// - `op: "name"` — the operation named in the error (`open`, `mlock`, `VirtualLock`, …).
/// - `path: expr` — anything `Into<PathBuf>`: the file the call concerns.
/// - `args: { name: expr, other, … }` (optional) — arguments shown in the error, in this
///   order; `other` alone is shorthand for `other: other`. Evaluated only on failure, after
///   the OS error has been captured.
/// - `fail_if: == EXPR` (or `!=`, `<`, `<=`, `>`, `>=`), `fail_if: is_null`, or
///   `fail_if: |r| …` (a closure given `&R`; keep it a pure test) — when the call failed.
/// - `code: errno` (default: errno / `GetLastError`, read right after the failure test) or
///   `code: returned` (the call returns the error number itself as an `i32`, like
///   `posix_fadvise`).
/// - `call: expr` — the call itself, usually an `unsafe` block with its `// SAFETY:` comment.
///
/// The `unsafe` block in `call:` keeps the caller's spans, so clippy's
/// `undocumented_unsafe_blocks` still demands its `// SAFETY:` comment (right above `call:`).
/// Inside a `#[track_caller]` function the recorded location is that function's caller, as
/// for any `#[track_caller]` call. Every misuse (an unknown, repeated or missing key, a bad
/// `fail_if`, an argument named twice) is a compile error pointing at the offending token,
/// all reported in one pass.
///
/// Why a macro and not a function taking a closure: the OS error must be read before anything
/// else runs, and the error's call site must be the caller's line; the expansion reads
/// errno as the first statement of the failure branch and builds the error in the caller's
/// body, so `#[track_caller]` on `OsFailure::new` records the macro's call site.
#[proc_macro]
pub fn os_call(input: TokenStream) -> TokenStream {
    imp::os_call::expand(input.into()).into()
}

/// Derives `loadguard::dylib::ApiTable` for a struct of foreign function pointers.
///
/// Import it from `loadguard::dylib`, which re-exports it next to the trait of the same name
/// (one `use` brings both):
///
/// ```
/// use loadguard::dylib::ApiTable;
///
/// #[derive(ApiTable)]
/// struct Enn {
///     #[api(symbol = "EnnInitialize")]
///     init: unsafe extern "C" fn(status: *mut i32) -> i32,
///     #[api(optional)]
///     EnnTrace: Option<unsafe extern "C" fn(level: u32)>,
/// }
///
/// let names: Vec<_> = Enn::SYMBOLS.iter().map(|s| s.to_string()).collect();
/// assert_eq!(names, ["EnnInitialize", "EnnTrace"]);
/// ```
///
/// - The symbol is the field name, or `#[api(symbol = "…")]`.
/// - `#[api(optional)]` on an `Option<unsafe extern "C" fn(…)>` field makes a missing symbol
///   `None`; every other field is required and a missing symbol fails the whole load.
/// - Compile errors, all reported in one pass: two fields resolving to one symbol (an error at
///   each field's symbol: "first resolved here", then "resolved again here"), a field whose
///   type is not written as a foreign function pointer, a generic, tuple or unit struct, enums
///   and unions, and malformed `#[api]` attributes.
///
/// The generated loader looks every symbol up exactly once.
#[proc_macro_derive(ApiTable, attributes(api))]
pub fn derive_api_table(input: TokenStream) -> TokenStream {
    imp::api_table(input.into()).into()
}
