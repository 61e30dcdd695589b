//! [`Segment`]: a loaded byte range that keeps its source alive.

use std::fmt;
use std::ops::{Deref, Range};

use bytes::Bytes;

use crate::aligned::AlignedBuf;
use crate::region::{LockGuard, Region};
use crate::sync::Arc;

/// A loaded byte range.
///
/// A segment of a mapped file is a zero-copy view that keeps the shared mapping alive after its
/// session is gone; a segment of the read path owns its aligned buffer. Either converts into
/// [`bytes::Bytes`] without copying.
#[derive(Clone)]
pub struct Segment {
    bytes: Bytes,
    offset: u64,
}

/// Lets `Bytes` hold a shared region as its owner, with the segment's own lock, if any.
struct RegionOwner {
    // Drop order: the lock goes before the region reference it holds too.
    _lock: Option<LockGuard>,
    region: Arc<Region>,
}

impl AsRef<[u8]> for RegionOwner {
    fn as_ref(&self) -> &[u8] {
        self.region.as_slice()
    }
}

impl Segment {
    /// A view of `range` of a shared region (zero-copy), holding `lock` for as long as any
    /// clone of it lives. `range` is checked by the caller.
    pub(crate) fn of_region(
        region: &Arc<Region>,
        range: Range<usize>,
        offset: u64,
        lock: Option<LockGuard>,
    ) -> Self {
        let owner = RegionOwner {
            _lock: lock,
            region: region.clone(),
        };
        let bytes = Bytes::from_owner(owner).slice(range);
        Self { bytes, offset }
    }

    /// A segment owning a buffer that was read from `offset`.
    pub(crate) fn of_buf(buf: AlignedBuf, offset: u64) -> Self {
        Self {
            bytes: Bytes::from_owner(buf),
            offset,
        }
    }

    /// A segment of bytes that already live in memory.
    pub(crate) fn of_bytes(bytes: Bytes, offset: u64) -> Self {
        Self { bytes, offset }
    }

    /// Where in its source the segment starts.
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The bytes.
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes as `Bytes`, sharing (not copying) the memory.
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }
}

impl Deref for Segment {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl AsRef<[u8]> for Segment {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl From<Segment> for Bytes {
    fn from(segment: Segment) -> Self {
        segment.bytes
    }
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Segment({} bytes at offset {})",
            self.bytes.len(),
            self.offset
        )
    }
}
