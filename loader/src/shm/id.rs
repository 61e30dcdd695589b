//! [`BufferId`] and [`Found`]: how a pool names its buffers and answers a lookup.

use std::fmt;

/// A pool-unique buffer id (never reused within one pool).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BufferId(pub(crate) u64);

impl BufferId {
    /// The id as a number.
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for BufferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The id of a sealed buffer handed back to its pool with
/// [`SealedBuffer::into_pool`](super::SealedBuffer::into_pool): what
/// [`Pool::retained`](super::Pool::retained) and [`Pool::dup_fd`](super::Pool::dup_fd) take,
/// so that asking for the bytes or the fd of a buffer still in its fill phase does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RetainedId(pub(crate) BufferId);

impl RetainedId {
    /// The buffer's id, as [`Pool::find`](super::Pool::find) reports it.
    #[must_use]
    pub fn id(self) -> BufferId {
        self.0
    }
}

impl fmt::Display for RetainedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The answer of [`Pool::find`](super::Pool::find): the buffer holding a range, and where in
/// it the range starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Found {
    /// The buffer that contains the whole range.
    pub id: BufferId,
    /// Offset of the range's first byte from the buffer's start.
    pub offset: usize,
    /// The buffer's length.
    pub buffer_len: usize,
}
