//! # loadguard
//!
//! Correct, fast and leak-free loading of large model binaries.
//!
//! - `Registry` hands every session that opens the same file (by identity, never by path)
//!   the same read-only mapping, or the same heap copy in `LoadMode::Read`.
//! - [`size`] is the only way sizes cross between `u64` and `usize`.
//! - [`Error`] names the operation, path, OS error (captured at the failing call) and call site.

// Lets the proc macros of `loadguard-macros` name `::loadguard::…` from inside this crate too.
extern crate self as loadguard;

pub mod error;
pub mod format;
pub mod size;
pub(crate) mod sync;

pub use error::{Error, OsError, OsFailure, Result};
