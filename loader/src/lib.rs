//! # loadguard
//!
//! Correct, fast and leak-free loading of large model binaries (weights, accelerator context
//! binaries, model programs).
//!
//! - A [`Registry`] gives every [`Session`] that opens the same file — by identity, never by
//!   path — one shared load: a read-only mapping when the file cannot change under it (a sealed
//!   memfd, an fs-verity file) or when the caller vouches for it with the `unsafe`
//!   [`LoadOptions::assume_immutable`], otherwise one heap copy. No safe call hands out bytes
//!   that can change or vanish while borrowed.
//! - [`Segment`]s and [`Model`] tensor views are zero-copy slices of that load; the data
//!   loaders of [`data`] serve ExecuTorch-style segment requests, every range checked.
//! - Sizes cross between `u64` and `usize` only through checked conversions ([`SizeError`]).
//! - An [`Error`] names the operation, the file, the OS error captured at the failing call and
//!   the line of the caller's code that asked for it.
//! - [`os`] is the seam every OS call goes through; [`testing`] (feature `testing`) wraps it
//!   with a resource ledger and fault plans; [`shm`] hands fd-backed buffers to drivers;
//!   [`dylib`] loads a vendor library's API table once; [`format`](mod@format) parses safetensors, GGUF and
//!   ExecuTorch headers strictly.
//!
//! ```
//! use loadguard::os::MemoryOs;
//! use loadguard::{LoadOptions, Registry};
//!
//! // An in-memory file system stands in for the disk (the same code runs on `Registry::new()`).
//! let fs = MemoryOs::new();
//! fs.write("/models/a.bin", vec![42u8; 1 << 16]);
//! let registry = Registry::with_os(fs);
//!
//! let first = registry.open("/models/a.bin", &LoadOptions::new())?;
//! let second = registry.open("/models/a.bin", &LoadOptions::new())?;
//! assert!(first.shares_with(&second)); // one load, two sessions
//! let weights = first.segment(4096, 1024)?; // zero-copy, keeps the load alive
//! drop((first, second));
//! assert_eq!(registry.live_files(), 0); // no session left to share it with
//! assert_eq!(weights[0], 42); // but the segment still holds the bytes
//! assert_eq!(registry.loads(), 1);
//! # Ok::<(), loadguard::Error>(())
//! ```

#![warn(missing_docs)]

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
mod progress;
mod region;
mod registry;
mod segment;
pub mod shm;
mod size;
pub(crate) mod sync;
#[cfg(any(test, loom, fuzzing, feature = "testing"))]
pub mod testing;

pub use aligned::AlignedBuf;
pub use error::{Error, ErrorChain, OsError, OsFailure, Result};
/// `os_call!`: one raw OS call whose failure becomes an [`Error`] naming the call, the path,
/// the arguments, the OS error read right after the failure test, and the call site — for
/// your own [`os::Os`] implementation or any other raw call next to loadguard's.
pub use loadguard_macros::os_call;
pub use model::{Model, TensorView};
pub use options::{LoadMode, LoadOptions, LockPolicy};
pub use progress::LoadProgress;
pub use region::{LoadPath, MapReason, ReadReason};
pub use registry::{Registry, Session};
pub use segment::Segment;
pub use size::{Alignment, SizeError};
