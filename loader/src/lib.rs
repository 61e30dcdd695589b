//! # loadguard
//!
//! Correct, fast and leak-free loading of large model binaries.
//!
//! - `Registry` hands every session that opens the same file (by identity, never by path)
//!   the same read-only mapping, or the same heap copy in `LoadMode::Read`.
//! - [`size`] is the only way sizes cross between `u64` and `usize`.
//! - [`Error`] names the operation, path, OS error (captured at the failing call) and call site.

/// The README's library example compiles (it is not run: it needs a model file).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExample;

// Lets the proc macros of `loadguard-macros` name `::loadguard::…` from inside this crate too.
extern crate self as loadguard;

mod aligned;
mod callsite;
pub mod data;
pub mod dylib;
mod error;
pub mod format;
mod load;
mod model;
mod options;
pub mod os;
mod region;
mod registry;
mod segment;
pub mod shm;
mod size;
pub(crate) mod sync;
#[cfg(any(test, loom, fuzzing, feature = "testing"))]
pub mod testing;

pub use aligned::AlignedBuf;
pub use error::{Error, OsError, OsFailure, Result};
pub use load::LoadProgress;
/// `os_call!`: one raw OS call whose failure becomes an [`Error`] naming the call, the path,
/// the arguments, the OS error read right after the failure test, and the call site — for
/// your own [`os::Os`] implementation or any other raw call next to loadguard's.
pub use loadguard_macros::os_call;
pub use model::{Model, TensorView};
pub use options::{LoadMode, LoadOptions, LockPolicy};
pub use region::{LoadPath, MapReason, ReadReason};
pub use registry::{Registry, Session};
pub use segment::Segment;
pub use size::{Alignment, SizeError};
