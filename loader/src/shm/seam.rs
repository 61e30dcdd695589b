//! The shm seam: every OS call a [`Pool`](super::Pool) makes to allocate or seal a buffer goes
//! through [`ShmOs`], as file access goes through [`Os`](crate::os::Os). [`RealShm`] is the
//! operating system; the testing harness wraps any `ShmOs` with a resource ledger and fault
//! plans (`loadguard::testing::{TrackedShm, FaultyShm}`), and so can a user's own tests.

use std::fmt;

use super::memory::Memory;
use super::provider::{Provider, Request};
use crate::error::Result;

/// The operating system as a shm pool sees it: something that allocates memory from a
/// provider and seals it.
///
/// Soundness never rests on an implementation: [`Memory`] can only come from loadguard's own
/// providers (through [`RealShm`]), gives a seam no access to its bytes or fd, and the pool
/// checks its state after each call (fresh memory must be writable, sealed memory sealed).
/// A wrapper forwards to an inner seam, adding what it observes or injects.
pub trait ShmOs: Send + Sync + 'static {
    /// Allocates `request.len()` zeroed bytes from `provider`, mapped writable.
    ///
    /// # Errors
    ///
    /// The provider's failure (an OS error naming the call, label, size and errno, or
    /// [`ShmError::Unsupported`](super::ShmError::Unsupported)).
    fn alloc(&self, provider: &Provider, request: &Request<'_>) -> Result<Memory>;

    /// Seals `memory` ([`Memory::seal`]). Called with no view of the buffer alive.
    ///
    /// # Errors
    ///
    /// As [`Memory::seal`].
    fn seal(&self, memory: &mut Memory) -> Result<()>;
}

/// The real operating system's providers: memfd, dma-heap, sections and the heap.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealShm;

impl ShmOs for RealShm {
    fn alloc(&self, provider: &Provider, request: &Request<'_>) -> Result<Memory> {
        Memory::alloc(provider, request)
    }

    fn seal(&self, memory: &mut Memory) -> Result<()> {
        memory.seal()
    }
}

impl fmt::Debug for dyn ShmOs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShmOs")
    }
}
