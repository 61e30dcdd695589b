//! Data loaders in the spirit of ExecuTorch's `DataLoader`: `size`, `load` of a segment, and
//! `load_into` a caller's buffer, every load bounds-checked with checked arithmetic.
//!
//! - [`MappedLoader`]: zero-copy segments of a registry session's shared mapping.
//! - [`FileLoader`]: positional reads into aligned buffers (for when mapping is not wanted).
//! - [`MemoryLoader`]: bytes already in memory.
//! - [`load_into_pool`], [`load_segment_into_pool`]: a segment into a sealed
//!   [`shm`](crate::shm) pool buffer, for a backend that wants its fd.

mod file;
mod mapped;
mod memory;
mod pool;

pub use file::FileLoader;
pub use mapped::MappedLoader;
pub use memory::MemoryLoader;
pub use pool::{load_into_pool, load_segment_into_pool};

use crate::error::Result;
use crate::segment::Segment;

/// What a segment is for, as the runtime that asks for it knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SegmentKind {
    /// The serialized program itself.
    Program,
    /// Constant data (weights).
    Constant,
    /// Data for a backend delegate.
    Backend,
    /// Initial values of mutable state.
    Mutable,
}

/// Describes the segment being loaded; loaders may use it for placement or logging.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SegmentInfo {
    /// The segment's role.
    pub kind: SegmentKind,
    /// Index of the segment within its kind.
    pub index: usize,
    /// Backend id or other descriptor, when there is one.
    pub descriptor: Option<String>,
}

impl SegmentInfo {
    /// A segment of `kind` at `index` with no descriptor.
    #[must_use]
    pub fn new(kind: SegmentKind, index: usize) -> Self {
        Self {
            kind,
            index,
            descriptor: None,
        }
    }
}

/// A source of model bytes that hands out segments. Implementations are thread-safe: many
/// threads load from one loader at once.
pub trait DataLoader: Send + Sync {
    /// Total size of the source in bytes.
    ///
    /// # Errors
    ///
    /// Whatever the source needs to tell its size; the loaders here never fail.
    fn size(&self) -> Result<u64>;

    /// Loads `[offset, offset + len)`.
    ///
    /// # Errors
    ///
    /// A range outside the source is [`crate::Error::OutOfRange`], including when
    /// `offset + len` overflows; reading and locking failures name the call.
    fn load(&self, offset: u64, len: u64, info: &SegmentInfo) -> Result<Segment>;

    /// Copies `[offset, offset + buf.len())` into `buf`.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load).
    fn load_into(&self, offset: u64, buf: &mut [u8], info: &SegmentInfo) -> Result<()>;
}
