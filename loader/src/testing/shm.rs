//! The harness around the shm seam: [`TrackedShm`] records every pool buffer in a [`Ledger`],
//! [`FaultyShm`] injects a [`FaultPlan`]'s faults into allocation and sealing. Both wrap any
//! [`ShmOs`] — [`RealShm`](crate::shm::RealShm) or another wrapper — and nest in either order.
//!
//! ```
//! use loadguard::shm::{Pool, PoolOptions, Provider, RealShm};
//! use loadguard::testing::{Fault, FaultOp, FaultPlan, FaultyShm, Ledger, TrackedShm};
//!
//! let ledger = Ledger::new();
//! // The first seal fails with ENOMEM (12): the buffer comes back writable, nothing leaks.
//! let plan = FaultPlan::new().nth(FaultOp::ShmSeal, 1, Fault::Errno(12));
//! let shm = TrackedShm::new(FaultyShm::new(RealShm, plan), &ledger);
//! let pool = Pool::with_shm(shm, PoolOptions::new().providers([Provider::Heap]));
//! let buf = pool.alloc(64)?;
//! let err = buf.try_seal().unwrap_err();
//! assert_eq!(err.error().os_code(), Some(12));
//! let sealed = err.into_buffer().expect("still writable").seal()?;
//! drop(sealed);
//! ledger.assert_balanced();
//! # Ok::<(), loadguard::Error>(())
//! ```

use std::fmt;

use super::faults::io_error;
use super::{FaultOp, FaultPlan, Ledger, ResourceKind};
use crate::error::{Error, Result};
use crate::shm::{Memory, Provider, Request, ShmOs};

/// A shm seam whose buffers are recorded in a [`Ledger`] as
/// [`PoolBuffer`](ResourceKind::PoolBuffer) acquisitions, from allocation until the memory is
/// released, with the call site of the user's `alloc`.
pub struct TrackedShm<S> {
    inner: S,
    ledger: Ledger,
}

impl<S: ShmOs> TrackedShm<S> {
    /// Wraps `inner`, recording in `ledger`.
    pub fn new(inner: S, ledger: &Ledger) -> Self {
        Self {
            inner,
            ledger: ledger.clone(),
        }
    }
}

impl<S: ShmOs> ShmOs for TrackedShm<S> {
    fn alloc(&self, provider: &Provider, request: &Request<'_>) -> Result<Memory> {
        let memory = self.inner.alloc(provider, request)?;
        let receipt = self.ledger.acquire(
            ResourceKind::PoolBuffer,
            format_args!(
                "{provider} buffer {} of {} bytes",
                request.id(),
                request.len()
            ),
        );
        Ok(memory.with_guard(receipt))
    }

    fn seal(&self, memory: &mut Memory) -> Result<()> {
        self.inner.seal(memory)
    }
}

impl<S> fmt::Debug for TrackedShm<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackedShm").finish_non_exhaustive()
    }
}

/// A shm seam that injects a [`FaultPlan`]'s faults: [`FaultOp::MemfdCreate`] into memfd
/// allocations and [`FaultOp::ShmSeal`] into seals (of any provider), each before the inner
/// seam runs, so an injected failure acquires and changes nothing.
pub struct FaultyShm<S> {
    inner: S,
    plan: FaultPlan,
}

impl<S: ShmOs> FaultyShm<S> {
    /// Wraps `inner`, injecting `plan`'s faults.
    pub fn new(inner: S, plan: FaultPlan) -> Self {
        Self { inner, plan }
    }
}

impl<S: ShmOs> ShmOs for FaultyShm<S> {
    fn alloc(&self, provider: &Provider, request: &Request<'_>) -> Result<Memory> {
        if *provider == Provider::Memfd {
            if let Some(err) = self.plan.next(FaultOp::MemfdCreate).and_then(io_error) {
                let label = format!("memfd:{}", request.name());
                return Err(
                    Error::from_io("memfd_create", label, &err).with_arg("len", request.len())
                );
            }
        }
        self.inner.alloc(provider, request)
    }

    fn seal(&self, memory: &mut Memory) -> Result<()> {
        if let Some(err) = self.plan.next(FaultOp::ShmSeal).and_then(io_error) {
            let label = memory.provider().to_string();
            return Err(Error::from_io("seal", label, &err).with_arg("len", memory.len()));
        }
        self.inner.seal(memory)
    }
}

impl<S> fmt::Debug for FaultyShm<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyShm")
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}
