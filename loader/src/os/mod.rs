//! The OS seam: every call loadguard makes to the operating system for files goes through the
//! two small traits here.
//!
//! [`RealOs`] is the operating system (Unix in `unix.rs`, Windows in `windows.rs`, other targets
//! in `stub.rs`, in the manner of memmap2). [`MemoryOs`] is a heap-backed stand-in with the same
//! semantics — file identities, links, replacement — so the registry, the data loaders and the
//! checked arithmetic run unchanged under Miri (which cannot map files) and in model checks.

use std::any::Any;
use std::fmt;
use std::io;
use std::path::Path;

use crate::error::Result;

mod memory;
pub(crate) mod real;

#[cfg(not(any(unix, windows)))]
pub(crate) mod stub;
#[cfg(unix)]
pub(crate) mod unix;
#[cfg(windows)]
pub(crate) mod windows;

#[cfg(not(any(unix, windows)))]
pub(crate) use stub as platform;
#[cfg(unix)]
pub(crate) use unix as platform;
#[cfg(windows)]
pub(crate) use windows as platform;

pub use memory::MemoryOs;
pub use real::RealOs;

/// What makes two opens "the same file": the file's identity plus its size and modification
/// time, so a file modified or replaced in place is a different key while two paths to one file
/// (symlink, hard link, relative vs absolute) are the same key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileKey {
    /// Device (Unix) or volume serial number (Windows).
    pub device: u64,
    /// Inode (Unix) or file index (Windows).
    pub inode: u64,
    /// Size in bytes when opened.
    pub len: u64,
    /// Modification time in nanoseconds since the Unix epoch (any monotonic clock of the
    /// backend: it is only compared for equality).
    pub mtime_ns: i128,
}

impl fmt::Debug for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FileKey(dev {:#x}, ino {}, {} bytes, mtime {} ns)",
            self.device, self.inode, self.len, self.mtime_ns
        )
    }
}

/// Residency advice for a range of a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Advice {
    /// The range will be needed soon (`MADV_WILLNEED`, `PrefetchVirtualMemory`).
    WillNeed,
    /// Fault the range in now, reporting missing pages as an error rather than SIGBUS
    /// (`MADV_POPULATE_READ` on Linux ≥ 5.14).
    Prefault,
}

/// The operating system as the loader sees it: something that opens files and manages the
/// residency of mapped memory.
///
/// The residency methods have defaults that call the real OS; a stand-in or a fault-injecting
/// wrapper overrides them.
pub trait Os: Send + Sync + 'static {
    /// Opens `path` read-only and reads its identity (through the open handle, so the identity
    /// and the contents cannot come from two different files).
    fn open(&self, path: &Path) -> Result<Box<dyn OsFile>>;

    /// Applies `advice` to `[offset, offset + len)` of `mapping` (a range inside it). Mappings
    /// that are not real memory maps are resident already: nothing to do.
    fn advise(
        &self,
        mapping: &Mapping,
        advice: Advice,
        offset: usize,
        len: usize,
    ) -> io::Result<()> {
        let Some(map) = mapping.as_mmap() else {
            return Ok(());
        };
        match advice {
            Advice::WillNeed => platform::will_need(map, offset, len),
            Advice::Prefault => {
                let how = platform::prefault(map, offset, len)?;
                tracing::debug!(?how, offset, len, "prefault");
                Ok(())
            }
        }
    }

    /// Locks exactly `bytes` in memory (`mlock` / `VirtualLock`; the kernel rounds to pages).
    fn lock(&self, bytes: &[u8]) -> io::Result<()> {
        platform::lock(bytes)
    }

    /// Unlocks exactly `bytes`.
    fn unlock(&self, bytes: &[u8]) -> io::Result<()> {
        platform::unlock(bytes)
    }
}

/// An open file. Dropping it closes the handle.
pub trait OsFile: Send + Sync {
    /// The path it was opened by (used in errors).
    fn path(&self) -> &Path;

    /// Identity, size and modification time, read when the file was opened.
    fn key(&self) -> FileKey;

    /// Reads up to `buf.len()` bytes at `offset` (one `pread` / `ReadFile` with an offset). May
    /// return fewer bytes, and may fail with `ErrorKind::Interrupted`: callers loop.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize>;

    /// Maps the first `len` bytes read-only (`len` is the file's size, at least 1). The mapping
    /// stays valid after this file is dropped.
    fn map(&self, len: usize) -> Result<Mapping>;
}

/// A read-only view of a whole file produced by [`OsFile::map`], with guards that are dropped
/// right after the view is unmapped (seam wrappers use them to observe the unmap).
pub struct Mapping {
    view: View,
    // Declared after `view` so they drop after the unmap they observe.
    guards: Vec<Box<dyn Any + Send + Sync>>,
}

enum View {
    Mmap(memmap2::Mmap),
    Shared(bytes::Bytes),
}

impl Mapping {
    /// A real memory mapping.
    #[must_use]
    pub fn from_mmap(map: memmap2::Mmap) -> Self {
        Self {
            view: View::Mmap(map),
            guards: Vec::new(),
        }
    }

    /// Shared heap bytes standing in for a mapping ([`MemoryOs`]).
    #[must_use]
    pub fn from_bytes(bytes: bytes::Bytes) -> Self {
        Self {
            view: View::Shared(bytes),
            guards: Vec::new(),
        }
    }

    /// Attaches a value to drop together with the mapping (after it is unmapped). Wrappers
    /// nest: every guard attached is kept.
    #[must_use]
    pub fn with_guard(mut self, guard: impl Any + Send + Sync) -> Self {
        self.guards.push(Box::new(guard));
        self
    }

    /// The mapped bytes.
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        match &self.view {
            View::Mmap(map) => map,
            View::Shared(bytes) => bytes,
        }
    }

    /// The real memory map, when this is one.
    #[must_use]
    pub fn as_mmap(&self) -> Option<&memmap2::Mmap> {
        match &self.view {
            View::Mmap(map) => Some(map),
            View::Shared(_) => None,
        }
    }
}

impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.view {
            View::Mmap(map) => write!(f, "Mapping::Mmap({} bytes)", map.len()),
            View::Shared(bytes) => write!(f, "Mapping::Shared({} bytes)", bytes.len()),
        }
    }
}
