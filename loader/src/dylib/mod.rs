//! Typed dynamic-library API tables and a guard pairing a library's init and deinit.
//!
//! Accelerator backends load a vendor library and resolve dozens of symbols. The failure modes
//! this module closes: the same symbol resolved twice, a table that outlives its library, a
//! missing symbol reported without its name, the library or the loader's own error text, and
//! init / deinit called twice (or deinit without init).
//!
//! - [`ApiTable`] (the trait, and `#[derive(ApiTable)]`, imported together) describes a
//!   struct of `unsafe extern "C" fn` pointers; its loader looks each symbol up exactly once.
//! - [`Api<T>`] owns the [`Library`] and the resolved table together and derefs to `T`.
//! - [`Lifecycle`] runs init on the first acquire and deinit on the last release.
//! - [`with_out_param`] reads an out-parameter only after the call reported success.
//! - [`Linker`] is the seam to the platform's dynamic linker ([`SystemLinker`]): an open
//!   library is a [`SymbolSource`], closed when dropped. `loadguard::testing` wraps any linker
//!   with a resource ledger and fault plans, as it wraps `os::Os`; a stand-in linker serving
//!   Rust functions runs the same code under Miri.
//!
//! A vendor runtime with a status-returning init, shared by every session:
//!
//! ```no_run
//! use std::sync::Arc;
//! use loadguard::dylib::{Api, ApiTable, Lifecycle, with_out_param};
//!
//! #[derive(ApiTable)]
//! struct Enn {
//!     #[api(symbol = "EnnInitialize")]
//!     init: unsafe extern "C" fn(status: *mut i32) -> i32,
//!     #[api(symbol = "EnnDeinitialize")]
//!     deinit: unsafe extern "C" fn(),
//!     #[api(optional)]
//!     EnnTrace: Option<unsafe extern "C" fn(level: u32)>,
//! }
//!
//! # fn main() -> loadguard::Result<()> {
//! // SAFETY: the vendor library's initialisers are sound to run, and it exports these
//! // symbols with these signatures.
//! let api = Arc::new(unsafe { Api::<Enn>::open("libenn.so")? });
//! let (a, b) = (Arc::clone(&api), Arc::clone(&api));
//! let lifecycle = Arc::new(Lifecycle::new(
//!     // SAFETY: EnnInitialize writes its status whenever it returns 0.
//!     move || unsafe { with_out_param(|s| (a.init)(s), |&rc| rc == 0) }.map(drop),
//!     // SAFETY: called only after a successful init.
//!     move || unsafe { (b.deinit)() },
//! ));
//! let session = lifecycle.acquire_owned().map_err(|status| loadguard::Error::LibraryInit {
//!     library: api.path().to_path_buf(),
//!     call: "EnnInitialize",
//!     status: status.into(),
//! })?;
//! if let Some(trace) = api.EnnTrace {
//!     // SAFETY: a plain setter.
//!     unsafe { trace(1) };
//! }
//! drop(session); // the last session: EnnDeinitialize runs here
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod api;
mod library;
mod lifecycle;
mod linker;
mod out;
mod system;
mod table;

pub use api::Api;
pub use library::Library;
pub use lifecycle::{Lifecycle, LifecycleGuard, OwnedLifecycleGuard};
pub use linker::{Linker, SymbolSource};
/// `#[derive(ApiTable)]`: implements [`ApiTable`](trait@ApiTable) for a struct of foreign
/// function pointers (one import brings the trait and the derive, as with serde's traits).
pub use loadguard_macros::ApiTable;
pub use out::with_out_param;
#[allow(unused_imports)] // used by the harness in `testing`, not always compiled
pub(crate) use system::OPEN_OP;
pub use system::SystemLinker;
pub use table::{ApiTable, Resolver, Symbol};

#[cfg(all(test, not(loom)))]
mod tests;
