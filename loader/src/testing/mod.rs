//! The correctness harness: a resource ledger and fault injection through the OS seam.
//!
//! Compiled with the `testing` feature, and always under `cfg(test)`, `cfg(loom)` and
//! `cfg(fuzzing)`. Both pieces are wrappers around any [`Os`](crate::os::Os), so they work on
//! the real OS, on [`MemoryOs`](crate::os::MemoryOs) under Miri and loom, and on a user's own
//! seam implementation alike:
//!
//! ```
//! use loadguard::os::MemoryOs;
//! use loadguard::testing::{Fault, FaultOp, FaultPlan, FaultyOs, Ledger};
//! use loadguard::{LoadOptions, Registry};
//!
//! let fs = MemoryOs::new();
//! fs.write("/m.bin", vec![1u8; 4096]);
//! let ledger = Ledger::new();
//! // The first mmap fails with ENOMEM (12); Auto mode must fall back to reading.
//! let plan = FaultPlan::new().nth(FaultOp::Mmap, 1, Fault::Errno(12));
//! let registry = Registry::with_os(ledger.track(FaultyOs::new(fs, plan.clone())));
//! let session = registry.open("/m.bin", &LoadOptions::new())?;
//! assert_eq!(session.load_path().name(), "read");
//! assert_eq!(plan.injected(), 1);
//! drop(session);
//! ledger.assert_balanced();
//! # Ok::<(), loadguard::Error>(())
//! ```

/// The guide to pointing the harness at your own loader (`TESTING.md`; its examples run as
/// doctests).
#[doc = include_str!("../../../TESTING.md")]
pub mod guide {}

pub mod child;
mod dylib;
pub(crate) mod faults;
pub mod formats;
mod ledger;
#[cfg(feature = "testing")]
pub mod model;
mod shm;

pub use dylib::{FaultyLinker, TrackedLinker};
pub use faults::{Fault, FaultOp, FaultPlan, FaultyOs};
pub use ledger::{Acquisition, Leaks, Ledger, Receipt, ResourceKind, TrackedOs};
pub use shm::{FaultyShm, TrackedShm};
