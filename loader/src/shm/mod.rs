//! Fd-backed shared buffers for zero-copy hand-off to accelerator drivers.
//!
//! NPU and DSP drivers take a buffer as a file descriptor (dma-buf, memfd) or a section handle
//! instead of copying it. A [`Pool`] allocates such buffers from an ordered list of
//! [`Provider`]s — **memfd** (Linux; sealed against shrinking, so a mapped buffer cannot be
//! truncated under a reader), **dma-heap** (`/dev/dma_heap/<name>`), a pagefile-backed
//! **section** (Windows) and the **heap** (no fd; the portable fallback and what Miri runs) —
//! falling back to the next one when the caller allows it, and records which one served.
//!
//! # Ownership
//!
//! There is no singleton and no global switch: a pool is an ordinary value, and the backend
//! that wants fd-backed buffers creates one and asks it explicitly.
//!
//! - The [`Pool`] owns every buffer's OS resources (mapping, fd or handle) in its registry: an
//!   ordered map from start address to buffer record, so [`Pool::find`] answers "which buffer
//!   holds `[ptr, ptr + len)`" in O(log n).
//! - [`Pool::alloc`] hands out a [`SharedBuffer<'pool>`](SharedBuffer): the unique right to use
//!   one buffer, borrowed from the pool. It is writable (`DerefMut`) while you hold it, readable
//!   through `Deref<Target = [u8]>`, and exposes the fd / handle for hand-off. Dropping it
//!   removes the buffer from the registry and then unmaps and closes it.
//! - The borrow means no buffer can outlive its pool: the compiler rejects it. A buffer can
//!   instead be handed back with [`SharedBuffer::into_pool`]: the pool keeps it (findable,
//!   readable through [`Pool::retained`]) until [`Pool::release`] or the pool's drop.
//! - Dropping the pool releases every buffer it still holds — retained ones and even those
//!   whose `SharedBuffer` was leaked with `mem::forget` — so nothing outlives it.
//!
//! ```
//! use loadguard::shm::{Pool, PoolOptions, Provider};
//!
//! let pool = Pool::with_options(PoolOptions::new().providers([Provider::Memfd, Provider::Heap]));
//! let mut buf = pool.alloc(4096)?;
//! buf[..5].copy_from_slice(b"hello");
//! // Which buffer holds these 4 bytes, and where? (O(log n), exact or None.)
//! let found = pool.find(buf.as_ptr().wrapping_add(1), 4).expect("inside buf");
//! assert_eq!((found.id, found.offset), (buf.id(), 1));
//! #[cfg(target_os = "linux")]
//! assert!(buf.fd().is_some()); // served by memfd: hand `buf.fd()` to the driver
//! drop(buf); // unregistered, unmapped, closed
//! assert!(pool.is_empty());
//! # Ok::<(), loadguard::Error>(())
//! ```
//!
//! A buffer cannot outlive its pool — this does not compile:
//!
//! ```compile_fail,E0597
//! let buf = {
//!     let pool = loadguard::shm::Pool::new();
//!     pool.alloc(16).unwrap()
//! };
//! ```
//!
//! Memory shared through an fd can be written by whoever holds the fd (the driver, another
//! process). That is the point of the hand-off, and outside what Rust's borrow rules can see:
//! coordinate access with the driver as its API prescribes.
//!
//! # Loading a segment into a pool buffer
//!
//! [`Pool::load`] reads a segment from any [`DataLoader`] straight into a
//! fresh pool buffer (for a [`FileLoader`]: one `pread` copy from the page
//! cache, none after), and [`load_into_pool`] does it for a path. The mapped loader keeps its
//! own zero-copy path; nothing global changes.

mod backing;
mod buffer;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod dma_heap;
mod heap;
pub(crate) mod index;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod memfd;
mod pool;
#[cfg(windows)]
mod windows;

use std::fmt;
use std::path::Path;

pub use buffer::SharedBuffer;
pub use pool::{Pool, PoolOptions};

use crate::data::{DataLoader, FileLoader, SegmentInfo, SegmentKind};
use crate::error::{Error, Result};
use crate::size::Alignment;

/// Where a buffer's memory comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// An anonymous `memfd_create` file (Linux, Android), sealed against shrinking and growing
    /// once sized. Has an fd.
    Memfd,
    /// A DMA-BUF from the named heap under `/dev/dma_heap/` (e.g. `"system"`), allocated with
    /// `DMA_HEAP_IOCTL_ALLOC` (Linux, Android). Has an fd.
    DmaHeap(String),
    /// Aligned heap memory. No fd; the portable fallback.
    Heap,
    /// A pagefile-backed section from `CreateFileMappingW(INVALID_HANDLE_VALUE, …)`
    /// (Windows). Has a handle.
    Section,
}

impl Provider {
    /// A short name for logs and reports: `memfd`, `dma-heap:system`, `heap`, `section`.
    #[must_use]
    pub fn name(&self) -> String {
        self.to_string()
    }

    /// The providers that work on this target, best first: memfd then heap on Linux, section
    /// then heap on Windows, heap elsewhere and under Miri. dma-heap is never a default: which
    /// heap suits a driver is the backend's decision.
    #[must_use]
    pub fn platform_default() -> Vec<Self> {
        if cfg!(miri) {
            // Miri stops (rather than failing the call) on memfd_create and shared mappings.
            vec![Self::Heap]
        } else if cfg!(any(target_os = "linux", target_os = "android")) {
            vec![Self::Memfd, Self::Heap]
        } else if cfg!(windows) {
            vec![Self::Section, Self::Heap]
        } else {
            vec![Self::Heap]
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memfd => f.write_str("memfd"),
            Self::DmaHeap(heap) => write!(f, "dma-heap:{heap}"),
            Self::Heap => f.write_str("heap"),
            Self::Section => f.write_str("section"),
        }
    }
}

/// Parses the [`Display`](fmt::Display) form: `memfd`, `heap`, `section`, `dma-heap:<name>`,
/// and `dma-heap` alone for the `system` heap — what a command line's `--into` takes.
impl std::str::FromStr for Provider {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "memfd" => Ok(Self::Memfd),
            "heap" => Ok(Self::Heap),
            "section" => Ok(Self::Section),
            "dma-heap" => Ok(Self::DmaHeap("system".to_owned())),
            _ => match s.strip_prefix("dma-heap:") {
                Some(heap) if !heap.is_empty() => Ok(Self::DmaHeap(heap.to_owned())),
                _ => Err(Error::InvalidOption(format!(
                    "unknown shm provider {s:?} (memfd, dma-heap[:<name>], heap, section)"
                ))),
            },
        }
    }
}

/// A pool-unique buffer id (never reused within one pool).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BufferId(u64);

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

/// The answer of [`Pool::find`]: the buffer holding a range, and where in it the range starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// The buffer that contains the whole range.
    pub id: BufferId,
    /// Offset of the range's first byte from the buffer's start.
    pub offset: usize,
    /// The buffer's length.
    pub buffer_len: usize,
}

/// Reads `[offset, offset + len)` of the file at `path` into a new buffer of `pool` with
/// `pread` (one copy from the page cache into the fd-backed memory, none after), for a backend
/// that wants the segment *and* its fd. The buffer says which provider served it
/// ([`SharedBuffer::provider`]).
///
/// Errors: the file's open error, [`crate::Error::OutOfRange`] when the range is not inside the
/// file, an allocation error from the last provider tried, or a read error
/// ([`crate::Error::Truncated`] if the file shrank meanwhile). A zero-length range is
/// [`crate::Error::InvalidOption`]: a buffer needs at least one byte.
#[track_caller]
pub fn load_into_pool<'p>(
    pool: &'p Pool,
    path: impl AsRef<Path>,
    offset: u64,
    len: u64,
) -> Result<SharedBuffer<'p>> {
    let _site = crate::callsite::enter();
    let path = path.as_ref();
    let loader = FileLoader::open(path, Alignment::DEFAULT)?;
    // Checked here too so that a range error names the file, not the pool.
    crate::error::range_in(path, offset, len, loader.size()?)?;
    pool.load(
        &loader,
        offset,
        len,
        &SegmentInfo::new(SegmentKind::Constant, 0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shm_provider_names_round_trip() {
        for p in [
            Provider::Memfd,
            Provider::Heap,
            Provider::Section,
            Provider::DmaHeap("linux,cma".to_owned()),
        ] {
            assert_eq!(p.name().parse::<Provider>().unwrap(), p);
        }
        assert_eq!(
            "dma-heap".parse::<Provider>().unwrap(),
            Provider::DmaHeap("system".to_owned())
        );
        assert!(matches!(
            "dma-heap:".parse::<Provider>(),
            Err(Error::InvalidOption(_))
        ));
        assert!(matches!(
            "tmpfs".parse::<Provider>(),
            Err(Error::InvalidOption(_))
        ));
    }
}
