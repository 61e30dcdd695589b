//! The heap provider: aligned, zeroed heap memory with no fd. The portable fallback, and the
//! provider Miri and loom run (they cannot create fds or mappings).

use std::path::PathBuf;
use std::ptr::NonNull;

use super::provider::Request;
use crate::aligned::AlignedBuf;
use crate::error::Result;

/// A heap buffer and the one pointer to its first byte that every view of it is made from.
pub(crate) struct HeapMemory {
    /// Derived once, at allocation, from a unique borrow of the whole buffer; never re-derived
    /// (a second `&mut` of `buf` would invalidate pointers made from the first).
    start: NonNull<u8>,
    /// Owns the allocation (freed when dropped); never borrowed again after `start` was taken.
    _buf: AlignedBuf,
}

// SAFETY: `HeapMemory` owns its allocation outright (like `Vec<u8>`, which `AlignedBuf` is
// `Send` like); `start` points into that allocation and is only an address until the pool
// hands out a view under its own exclusion rules.
unsafe impl Send for HeapMemory {}
// SAFETY: `&HeapMemory` gives out only the address, never access.
unsafe impl Sync for HeapMemory {}

impl HeapMemory {
    /// The first byte.
    pub(crate) fn start(&self) -> NonNull<u8> {
        self.start
    }
}

/// Allocates `req.len` zeroed bytes aligned to `req.heap_alignment`. Failure is an `alloc`
/// error naming `heap:<name>` and the size.
pub(crate) fn alloc(req: &Request<'_>) -> Result<HeapMemory> {
    let label = PathBuf::from(format!("heap:{}", req.name));
    let mut buf = AlignedBuf::zeroed(req.len, req.heap_alignment, &label)?;
    let start = NonNull::from(&mut *buf).cast::<u8>();
    Ok(HeapMemory { start, _buf: buf })
}
