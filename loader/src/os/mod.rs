//! The OS seam: every call loadguard makes to the operating system for files goes through the
//! two small traits here.
//!
//! [`RealOs`] is the operating system (Unix in `unix.rs`, Windows in `windows.rs`, other targets
//! in `stub.rs`, in the manner of memmap2). [`MemoryOs`] is a heap-backed stand-in with the same
//! semantics — file identities, links, replacement — so the registry, the data loaders and the
//! checked arithmetic run unchanged under Miri (which cannot map files) and in model checks.
//!
//! Soundness lives at this seam: [`OsFile::map_immutable`] is safe because it maps only files
//! the OS itself keeps from changing, and mapping any other file is the `unsafe`
//! [`OsFile::map_assumed`], whose contract the caller (ultimately
//! [`LoadOptions::assume_immutable`](crate::LoadOptions::assume_immutable)) accepts.

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::Path;

use crate::aligned::AlignedBuf;
use crate::error::{Error, Result};
use crate::size::{self, Alignment};

mod key;
mod mapping;
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

pub use key::{FileKey, FileKind};
pub use mapping::{IdentityPin, Immutable, Mapping};
pub use memory::MemoryOs;
pub use real::RealOs;

/// Residency advice for a range of a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Advice {
    /// The range will be needed soon (`MADV_WILLNEED`, `PrefetchVirtualMemory`).
    WillNeed,
    /// Fault the range in now, reporting pages missing from a file shorter than its mapping
    /// as an error rather than SIGBUS (`MADV_POPULATE_READ` on Linux ≥ 5.14).
    Prefault,
}

/// How an [`Advice::Prefault`] was carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Prefault {
    /// Every page of the range is resident, and each was checked to be backed by the file.
    Populated,
    /// Only a read-ahead hint was given: the kernel has no populate that reports missing pages
    /// (Linux < 5.14, other Unixes), and touching the pages could kill the process.
    HintOnly,
    /// Nothing to do: the bytes are not a file mapping (a heap snapshot).
    Resident,
}

/// The operating system as the loader sees it: something that names, opens and identifies
/// files and manages the residency of mapped memory.
///
/// Every method is required: a wrapper (the ledger, a fault plan) forwards each one, so none
/// silently reaches the real OS past it. `Arc<O>` and `&'static O` are seams too.
pub trait Os: Send + Sync + 'static {
    /// Opens `path` read-only and reads its identity through the open handle (so the identity
    /// and the contents cannot come from two different files). Must not block: a FIFO without
    /// a writer opens at once (its [`OsFile::kind`] says what it is).
    ///
    /// # Errors
    ///
    /// The OS error of the open or of reading the identity, as [`Error::Os`].
    fn open(&self, path: &Path) -> Result<Box<dyn OsFile>>;

    /// The identity of the file `path` names now (following symbolic links), without opening
    /// it: one `statx`/`stat`. It must equal [`OsFile::key`] of the same file opened, so a
    /// registry can recognise a file it already holds in one call.
    ///
    /// # Errors
    ///
    /// The OS error of the call, as [`Error::Os`].
    fn stat(&self, path: &Path) -> Result<FileKey>;

    /// Applies `advice` to `range` of `mapping` (a range inside it).
    ///
    /// # Errors
    ///
    /// The OS error of `madvise` / `PrefetchVirtualMemory`; `EFAULT` from a prefault means the
    /// file is shorter than the range.
    fn advise(
        &self,
        mapping: &Mapping,
        advice: Advice,
        range: Range<usize>,
    ) -> io::Result<Prefault>;

    /// Locks the pages holding `bytes` in memory (`mlock` / `VirtualLock`; the kernel rounds to
    /// whole pages, so callers pass ranges whose pages are theirs).
    ///
    /// # Errors
    ///
    /// The OS error, e.g. `ENOMEM`/`EPERM` past `RLIMIT_MEMLOCK`.
    fn lock(&self, bytes: &[u8]) -> io::Result<()>;

    /// Unlocks the pages holding `bytes`.
    ///
    /// # Errors
    ///
    /// The OS error.
    fn unlock(&self, bytes: &[u8]) -> io::Result<()>;

    /// The granularity of locks and mappings: the page size (4096 where the OS does not say).
    fn page_size(&self) -> usize;
}

/// An open file. Dropping it closes the handle.
pub trait OsFile: Send + Sync {
    /// The path it was opened by (used in errors).
    fn path(&self) -> &Path;

    /// Identity, size and times, read when the file was opened.
    fn key(&self) -> FileKey;

    /// What the handle names: a regular file, a FIFO, a device, a pseudo-file, ….
    fn kind(&self) -> FileKind;

    /// Reads up to `buf.len()` bytes at `offset` (one `pread` / `ReadFile` with an offset). May
    /// return fewer bytes, and may fail with `ErrorKind::Interrupted`: callers loop.
    ///
    /// # Errors
    ///
    /// The OS error of the read.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    /// Like [`read_at`](Self::read_at), into memory that need not be initialised: returns the
    /// prefix of `buf` that the read filled (the registry checks it is one). The default zeroes
    /// `buf` and calls `read_at`; the real OS reads straight into it.
    ///
    /// # Errors
    ///
    /// The OS error of the read.
    fn read_at_uninit<'a>(
        &self,
        buf: &'a mut [std::mem::MaybeUninit<u8>],
        offset: u64,
    ) -> io::Result<&'a mut [u8]> {
        for byte in buf.iter_mut() {
            byte.write(0);
        }
        // SAFETY: every byte of `buf` was just written, and `MaybeUninit<u8>` has the layout of
        // `u8`; the new slice reborrows `buf` for the same lifetime.
        let buf =
            unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<u8>(), buf.len()) };
        let n = self.read_at(buf, offset)?;
        buf.get_mut(..n)
            .ok_or_else(|| io::Error::other("read_at returned more bytes than it was given"))
    }

    /// Reads up to `buf.len()` bytes from the handle's current position (one `read`), for
    /// streams that have no offsets. Returns 0 at the end.
    ///
    /// # Errors
    ///
    /// The OS error of the read (`WouldBlock` for a FIFO whose writers have nothing yet).
    fn read(&self, buf: &mut [u8]) -> io::Result<usize>;

    /// Maps the first `len` bytes read-only if, and only if, the OS guarantees they cannot
    /// change or vanish while mapped: a memfd sealed with `F_SEAL_WRITE | F_SEAL_SHRINK`, a
    /// file with fs-verity, an immutable in-memory snapshot. `Ok(None)` for any other file.
    /// The mapping stays valid after this file is dropped.
    ///
    /// # Errors
    ///
    /// The OS error of a mapping that was allowed but failed.
    fn map_immutable(&self, len: usize) -> Result<Option<(Mapping, Immutable)>>;

    /// Maps the first `len` bytes read-only, whatever the file. The mapping stays valid after
    /// this file is dropped.
    ///
    /// # Errors
    ///
    /// The OS error of the mapping.
    ///
    /// # Safety
    ///
    /// While any `&[u8]` borrowed from the returned mapping ([`Mapping::as_slice`]) is alive,
    /// no one may write to the file or make it shorter than `len`.
    unsafe fn map_assumed(&self, len: usize) -> Result<Mapping>;

    /// Fills `buf` from `offset`.
    ///
    /// A read may return fewer bytes than asked (pipes, network file systems, signals) or fail
    /// with `EINTR`; both are retried.
    ///
    /// # Errors
    ///
    /// A read that returns 0 before `buf` is full means the file shrank since it was opened:
    /// [`Error::Truncated`], never a silently short buffer. Other read errors are `pread`
    /// failures naming the offset and the length still missing.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        let mut filled = 0;
        while filled < buf.len() {
            // Cannot saturate: callers bounds-check `offset + buf.len()` against the size first.
            let at = offset.saturating_add(size::to_u64(filled));
            match self.read_at(&mut buf[filled..], at) {
                Ok(0) => {
                    return Err(Error::Truncated {
                        path: self.path().to_owned(),
                        offset: at,
                        file_size: self.key().len,
                    });
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    tracing::trace!(offset = at, "pread interrupted, retrying");
                }
                Err(e) => {
                    return Err(Error::from_io("pread", self.path(), &e)
                        .with_arg("offset", at)
                        .with_arg("len", buf.len() - filled));
                }
            }
        }
        Ok(())
    }

    /// Something that keeps this file's identity from being given to another file while it
    /// lives, without keeping a descriptor open: on Unix a one-page `PROT_NONE` mapping of the
    /// file (no byte of it can ever be read), which holds the inode as any mapping does, so its
    /// number cannot be reused. The registry keeps one with every heap copy it shares by
    /// identity. `Ok(None)` where identities are never reused (Windows file indexes carry a
    /// sequence number; [`MemoryOs`] counts up) — the default.
    ///
    /// # Errors
    ///
    /// The OS error of the mapping.
    fn pin(&self) -> Result<Option<IdentityPin>> {
        Ok(None)
    }

    /// Fills all of `buf` from `offset` through [`read_at_uninit`](Self::read_at_uninit),
    /// with the retries of [`read_exact_at`](Self::read_exact_at). On `Ok`, every byte of `buf`
    /// is initialised.
    ///
    /// # Errors
    ///
    /// As [`read_exact_at`](Self::read_exact_at); a read that reports a range other than the
    /// start of what it was given is an `InvalidData` `pread` failure.
    fn read_exact_at_uninit(
        &self,
        buf: &mut [std::mem::MaybeUninit<u8>],
        offset: u64,
    ) -> Result<()> {
        let mut filled = 0;
        while filled < buf.len() {
            // Cannot saturate: callers bounds-check `offset + buf.len()` against the size first.
            let at = offset.saturating_add(size::to_u64(filled));
            let rest = &mut buf[filled..];
            let (start, room) = (rest.as_ptr().addr(), rest.len());
            match self.read_at_uninit(rest, at) {
                Ok([]) => {
                    return Err(Error::Truncated {
                        path: self.path().to_owned(),
                        offset: at,
                        file_size: self.key().len,
                    });
                }
                // What was written must be the start of `rest`: then `filled` counts only
                // initialised bytes.
                Ok(got) if got.as_ptr().addr() == start && got.len() <= room => filled += got.len(),
                Ok(_) => {
                    let err = io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a read reported bytes outside the buffer it was given",
                    );
                    return Err(Error::from_io("pread", self.path(), &err).with_arg("offset", at));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    tracing::trace!(offset = at, "pread interrupted, retrying");
                }
                Err(e) => {
                    return Err(Error::from_io("pread", self.path(), &e)
                        .with_arg("offset", at)
                        .with_arg("len", buf.len() - filled));
                }
            }
        }
        Ok(())
    }

    /// Reads `[offset, offset + len)` into a new buffer aligned to `align` (and whole pages of
    /// `page` bytes, so it can be locked without touching anyone else's memory), without
    /// zero-filling it first.
    ///
    /// # Errors
    ///
    /// `alloc` when the buffer cannot be allocated, and the errors of
    /// [`read_exact_at`](Self::read_exact_at).
    fn read_range(
        &self,
        offset: u64,
        len: usize,
        align: Alignment,
        page: usize,
    ) -> Result<AlignedBuf> {
        let mut buf = AlignedBuf::uninit_pages(len, align, page, self.path())?;
        self.read_exact_at_uninit(buf.as_uninit(), offset)?;
        // SAFETY: `read_exact_at_uninit` returned `Ok`, which it does only once every byte of
        // the buffer lies in a prefix the read reported as written (checked to start where it
        // was asked to and to fit).
        Ok(unsafe { buf.assume_init() })
    }
}

impl<O: Os + ?Sized> Os for std::sync::Arc<O> {
    fn open(&self, path: &Path) -> Result<Box<dyn OsFile>> {
        (**self).open(path)
    }
    fn stat(&self, path: &Path) -> Result<FileKey> {
        (**self).stat(path)
    }
    fn advise(
        &self,
        mapping: &Mapping,
        advice: Advice,
        range: Range<usize>,
    ) -> io::Result<Prefault> {
        (**self).advise(mapping, advice, range)
    }
    fn lock(&self, bytes: &[u8]) -> io::Result<()> {
        (**self).lock(bytes)
    }
    fn unlock(&self, bytes: &[u8]) -> io::Result<()> {
        (**self).unlock(bytes)
    }
    fn page_size(&self) -> usize {
        (**self).page_size()
    }
}

impl<O: Os + ?Sized> Os for &'static O {
    fn open(&self, path: &Path) -> Result<Box<dyn OsFile>> {
        (**self).open(path)
    }
    fn stat(&self, path: &Path) -> Result<FileKey> {
        (**self).stat(path)
    }
    fn advise(
        &self,
        mapping: &Mapping,
        advice: Advice,
        range: Range<usize>,
    ) -> io::Result<Prefault> {
        (**self).advise(mapping, advice, range)
    }
    fn lock(&self, bytes: &[u8]) -> io::Result<()> {
        (**self).lock(bytes)
    }
    fn unlock(&self, bytes: &[u8]) -> io::Result<()> {
        (**self).unlock(bytes)
    }
    fn page_size(&self) -> usize {
        (**self).page_size()
    }
}

impl fmt::Debug for dyn OsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OsFile")
            .field("path", &self.path())
            .field("key", &self.key())
            .field("kind", &self.kind())
            .finish()
    }
}
