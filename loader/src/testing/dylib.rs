//! The harness around the dynamic-linker seam: [`TrackedLinker`] records every library opened
//! through it in a [`Ledger`] (kind [`ResourceKind::Library`]) until it is closed, and
//! [`FaultyLinker`] makes the n-th `dlopen` or `dlsym` fail as a [`FaultPlan`] says. Both wrap
//! any [`Linker`] — the system's, a stand-in, or each other — as `TrackedOs` and `FaultyOs`
//! wrap an `Os`.

use std::ffi::{CStr, c_void};
use std::path::Path;
use std::ptr::NonNull;

use super::faults::{FaultOp, FaultPlan, io_error};
use super::ledger::{Ledger, Receipt, ResourceKind};
use crate::dylib::{Linker, OPEN_OP, SymbolSource};
use crate::error::{Error, OsError, Result};

impl Ledger {
    /// Wraps a dynamic linker so that every library opened through it is recorded in this
    /// ledger (kind [`ResourceKind::Library`]) until it is closed, attributed to the user's
    /// call (`Api::open_with`, `Library::open_with`).
    pub fn track_linker<L: Linker>(&self, linker: L) -> TrackedLinker<L> {
        TrackedLinker {
            inner: linker,
            ledger: self.clone(),
        }
    }
}

/// A [`Linker`] whose open libraries are recorded in a [`Ledger`]; made by
/// [`Ledger::track_linker`].
#[derive(Debug)]
pub struct TrackedLinker<L> {
    inner: L,
    ledger: Ledger,
}

/// An open library and its ledger record.
struct TrackedLibrary {
    library: Box<dyn SymbolSource>,
    // Declared after `library` so the release is recorded after the library is closed.
    _receipt: Receipt,
}

impl<L: Linker> Linker for TrackedLinker<L> {
    unsafe fn open(&self, path: &Path) -> Result<Box<dyn SymbolSource>> {
        // SAFETY: forwarded to the caller.
        let library = unsafe { self.inner.open(path) }?;
        let receipt = self.ledger.acquire(ResourceKind::Library, path.display());
        Ok(Box::new(TrackedLibrary {
            library,
            _receipt: receipt,
        }))
    }
}

impl SymbolSource for TrackedLibrary {
    fn path(&self) -> &Path {
        self.library.path()
    }

    fn lookup_op(&self) -> &'static str {
        self.library.lookup_op()
    }

    fn lookup(&self, name: &CStr) -> std::result::Result<Option<NonNull<c_void>>, OsError> {
        self.library.lookup(name)
    }
}

/// A [`Linker`] that injects a [`FaultPlan`]'s [`FaultOp::Dlopen`] and [`FaultOp::Dlsym`]
/// faults into another linker and the libraries it opens.
///
/// ```
/// use loadguard::dylib::{Library, SystemLinker};
/// use loadguard::testing::{Fault, FaultOp, FaultPlan, FaultyLinker, Ledger};
///
/// let ledger = Ledger::new();
/// let plan = FaultPlan::new().nth(FaultOp::Dlopen, 1, Fault::Errno(12));
/// let linker = FaultyLinker::new(ledger.track_linker(SystemLinker), plan.clone());
/// // SAFETY: nothing is loaded: the plan fails the open before the system linker runs.
/// let err = unsafe { Library::open_with(&linker, "libvendor.so") }.unwrap_err();
/// assert_eq!(err.os_code(), Some(12));
/// assert_eq!(plan.injected(), 1);
/// ledger.assert_balanced();
/// ```
#[derive(Debug)]
pub struct FaultyLinker<L> {
    inner: L,
    plan: FaultPlan,
}

impl<L: Linker> FaultyLinker<L> {
    /// Wraps `inner`, injecting `plan`'s `Dlopen` and `Dlsym` faults.
    pub fn new(inner: L, plan: FaultPlan) -> Self {
        Self { inner, plan }
    }
}

/// An open library whose lookups consult the plan.
struct FaultyLibrary {
    library: Box<dyn SymbolSource>,
    plan: FaultPlan,
}

impl<L: Linker> Linker for FaultyLinker<L> {
    unsafe fn open(&self, path: &Path) -> Result<Box<dyn SymbolSource>> {
        if let Some(err) = self.plan.next(FaultOp::Dlopen).and_then(io_error) {
            return Err(Error::from_io(OPEN_OP, path, &err));
        }
        // SAFETY: forwarded to the caller.
        let library = unsafe { self.inner.open(path) }?;
        Ok(Box::new(FaultyLibrary {
            library,
            plan: self.plan.clone(),
        }))
    }
}

impl SymbolSource for FaultyLibrary {
    fn path(&self) -> &Path {
        self.library.path()
    }

    fn lookup_op(&self) -> &'static str {
        self.library.lookup_op()
    }

    fn lookup(&self, name: &CStr) -> std::result::Result<Option<NonNull<c_void>>, OsError> {
        match self.plan.next(FaultOp::Dlsym).and_then(io_error) {
            Some(err) => Err(OsError::from_io(&err)),
            None => self.library.lookup(name),
        }
    }
}
