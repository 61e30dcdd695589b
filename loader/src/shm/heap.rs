//! The heap provider: aligned, zeroed heap memory with no fd. The portable fallback, and the
//! provider Miri and loom run (they cannot create fds or mappings).

use std::path::PathBuf;

use super::backing::{Backing, Request};
use crate::aligned::AlignedBuf;
use crate::error::Result;

/// Allocates `req.len` zeroed bytes aligned to `req.heap_alignment`. Failure is an `alloc`
/// error naming `heap:<name>` and the size.
pub(crate) fn alloc(req: &Request<'_>) -> Result<Backing> {
    let label = PathBuf::from(format!("heap:{}", req.name));
    AlignedBuf::zeroed(req.len, req.heap_alignment, &label).map(Backing::Heap)
}
