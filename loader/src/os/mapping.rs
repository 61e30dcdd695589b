//! [`Mapping`]: a read-only view of a whole file, and [`Immutable`]: why its bytes cannot change.

use std::any::Any;
use std::fmt;
use std::fs::File;
use std::io;

/// Why a mapping's bytes cannot change: what made [`OsFile::map_immutable`](super::OsFile)
/// map the file without anyone's promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Immutable {
    /// A memfd sealed with `F_SEAL_WRITE` and `F_SEAL_SHRINK`: the kernel refuses every write
    /// and every truncation, and seals cannot be removed.
    SealedMemfd,
    /// A file with fs-verity enabled: the kernel refuses writes and truncation for good.
    Verity,
    /// Bytes that live in memory and are never written ([`super::MemoryOs`]).
    Snapshot,
}

impl Immutable {
    /// `sealed memfd`, `fs-verity` or `snapshot`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::SealedMemfd => "sealed memfd",
            Self::Verity => "fs-verity",
            Self::Snapshot => "snapshot",
        }
    }
}

impl fmt::Display for Immutable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A read-only view of a whole file produced by an [`OsFile`](super::OsFile), with guards that
/// are dropped right after the view is unmapped (seam wrappers use them to observe the unmap).
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
    /// Maps the first `len` bytes of `file` read-only if the OS guarantees they cannot change:
    /// a memfd sealed with `F_SEAL_WRITE | F_SEAL_SHRINK` or an fs-verity file (memmap2's
    /// `map_if_safe` checks both). `Ok(None)` for any other file, and on targets where the
    /// check does not exist.
    ///
    /// # Errors
    ///
    /// The OS error of a mapping that was allowed but failed.
    pub fn map_if_immutable(file: &File, len: usize) -> io::Result<Option<(Self, Immutable)>> {
        #[cfg(unix)]
        {
            match memmap2::MmapOptions::new().len(len).map_if_safe(file) {
                Ok(map) => {
                    let why = super::platform::why_immutable(file);
                    Ok(Some((Self::from_mmap(map), why)))
                }
                Err(e) if e.not_safe() || e.not_supported() => Ok(None),
                Err(e) => Err(e.into()),
            }
        }
        // memmap2 knows no immutable files here (Windows lets any writer change a mapped file).
        #[cfg(not(unix))]
        {
            let _ = (file, len);
            Ok(None)
        }
    }

    /// Maps the first `len` bytes of `file` read-only, whatever the file.
    ///
    /// # Errors
    ///
    /// The OS error of the mapping.
    ///
    /// # Safety
    ///
    /// While any `&[u8]` borrowed from the mapping ([`as_slice`](Self::as_slice)) is alive, no
    /// one may write to the file or make it shorter than `len`.
    pub unsafe fn map_assumed(file: &File, len: usize) -> io::Result<Self> {
        // SAFETY: memmap2's `map` requires that the file not be modified or truncated while the
        // map's bytes are used; our caller guarantees exactly that for every borrow of them,
        // and `Mapping` hands the bytes out only as borrows (`as_slice`).
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(file) }?;
        Ok(Self::from_mmap(map))
    }

    fn from_mmap(map: memmap2::Mmap) -> Self {
        Self {
            view: View::Mmap(map),
            guards: Vec::new(),
        }
    }

    /// Shared heap bytes standing in for a mapping ([`super::MemoryOs`]); `Bytes` are never
    /// written, so the view is immutable.
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

    /// The length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether the mapping is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this is a real memory map (rather than heap bytes standing in for one).
    #[must_use]
    pub fn is_file_mapping(&self) -> bool {
        matches!(self.view, View::Mmap(_))
    }

    /// The real memory map, when this is one.
    pub(crate) fn as_mmap(&self) -> Option<&memmap2::Mmap> {
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

/// Keeps a file's identity (its inode number) from being reused while it lives, without an
/// open descriptor; see [`OsFile::pin`](super::OsFile::pin). Dropping it lets the identity go.
pub struct IdentityPin {
    _owner: Box<dyn Any + Send + Sync>,
}

impl IdentityPin {
    /// A pin held by `owner` (whatever keeps the file alive: a mapping, a handle), released
    /// when the pin drops. Seam wrappers nest: wrap the inner pin in their own owner.
    #[must_use]
    pub fn new(owner: impl Any + Send + Sync) -> Self {
        Self {
            _owner: Box::new(owner),
        }
    }
}

impl fmt::Debug for IdentityPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentityPin")
    }
}
