//! Typed dynamic-library API tables and a guard pairing a library's init and deinit.
//!
//! Accelerator backends load a vendor library and resolve dozens of symbols. The failure modes
//! this module closes: the same symbol resolved twice, a table that outlives its library, a
//! missing symbol reported without its name, the library or the loader's own error text, and
//! init / deinit called twice (or deinit without init).
//!
//! - [`ApiTable`] (derive it with `#[derive(loadguard::ApiTable)]`) describes a struct of
//!   `unsafe extern "C" fn` pointers; its loader looks each symbol up exactly once.
//! - [`Api<T>`] owns the [`Library`] and the resolved table together and derefs to `T`.
//! - [`Lifecycle`] runs init on the first acquire and deinit on the last release.
//! - [`with_out_param`] reads an out-parameter only after the call reported success.
//!
//! [`Resolver`] and [`SymbolSource`] are public so that tests (and Miri, which cannot load
//! libraries) can build tables from plain Rust functions acting as a fake driver.

mod api;
mod lifecycle;
mod out;

pub use api::{Api, ApiTable, Library, Resolver, Symbol, SymbolSource};
pub use lifecycle::{Lifecycle, LifecycleGuard, OwnedLifecycleGuard};
pub use out::with_out_param;

#[cfg(all(test, not(loom)))]
mod tests;
