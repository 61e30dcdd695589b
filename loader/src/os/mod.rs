//! The OS seam: every call loadguard makes to the operating system for files goes through the
//! two small traits here.
//!
//! [`RealOs`] is the operating system (Unix in `unix.rs`, Windows in `windows.rs`, other targets
//! in `stub.rs`, in the manner of memmap2). [`MemoryOs`] is a heap-backed stand-in with the same
//! semantics — file identities, links, replacement — so the registry, the data loaders and the
//! checked arithmetic run unchanged under Miri (which cannot map files) and in model checks.

use std::fmt;
use std::path::Path;

use crate::error::Result;

mod memory;
pub(crate) mod real;

#[cfg(unix)]
pub(crate) mod unix;
#[cfg(windows)]
pub(crate) mod windows;
#[cfg(not(any(unix, windows)))]
pub(crate) mod stub;

#[cfg(unix)]
pub(crate) use unix as platform;
#[cfg(windows)]
pub(crate) use windows as platform;
#[cfg(not(any(unix, windows)))]
pub(crate) use stub as platform;

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

/// The operating system as the loader sees it: something that opens files.
pub trait Os: Send + Sync + 'static {
    /// Opens `path` read-only and reads its identity (through the open handle, so the identity
    /// and the contents cannot come from two different files).
    fn open(&self, path: &Path) -> Result<Box<dyn OsFile>>;
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

/// A read-only view of a whole file produced by [`OsFile::map`].
#[non_exhaustive]
pub enum Mapping {
    /// A real memory mapping.
    Mmap(memmap2::Mmap),
    /// Shared heap bytes standing in for a mapping ([`MemoryOs`]).
    Shared(bytes::Bytes),
}

impl Mapping {
    /// The mapped bytes.
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Self::Mmap(map) => map,
            Self::Shared(bytes) => bytes,
        }
    }
}

impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Mmap(map) => write!(f, "Mapping::Mmap({} bytes)", map.len()),
            Self::Shared(bytes) => write!(f, "Mapping::Shared({} bytes)", bytes.len()),
        }
    }
}
