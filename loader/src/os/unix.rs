//! Unix: identity from `fstat`, `pread`, `madvise` and `mlock`.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use super::FileKey;
use crate::error::Result;

/// Reads the identity of the open file (`fstat` on its descriptor, never a second `stat` of the
/// path, which could name a different file by now).
pub(crate) fn file_key(file: &File, path: &Path) -> Result<FileKey> {
    let meta = crate::os_call!(op: "fstat", path: path, fail_if: is_err, call: file.metadata())?;
    Ok(FileKey {
        device: meta.dev(),
        inode: meta.ino(),
        len: meta.len(),
        mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
    })
}

/// One `pread`.
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.read_at(buf, offset)
}

/// `madvise(MADV_WILLNEED)` on a range of a mapping.
pub(crate) fn will_need(map: &memmap2::Mmap, offset: usize, len: usize) -> io::Result<()> {
    map.advise_range(memmap2::Advice::WillNeed, offset, len)
}

/// Faults a range of a mapping in without risking SIGBUS.
///
/// Linux ≥ 5.14 has `MADV_POPULATE_READ`, which reports a page beyond the end of a truncated
/// file as `EFAULT` instead of delivering SIGBUS. Older kernels answer `EINVAL`; there (and on
/// other Unixes) touching pages would be the only way and could kill the process, so we give
/// the kernel a `WILLNEED` hint instead and say so.
pub(crate) fn prefault(map: &memmap2::Mmap, offset: usize, len: usize) -> io::Result<Prefault> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        match map.advise_range(memmap2::Advice::PopulateRead, offset, len) {
            Ok(()) => return Ok(Prefault::Populated),
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => {}
            Err(e) => return Err(e),
        }
    }
    will_need(map, offset, len)?;
    Ok(Prefault::HintOnly)
}

/// How a prefault was carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefault {
    /// Every page is resident.
    Populated,
    /// Only a read-ahead hint was given (the kernel lacks a safe populate).
    HintOnly,
}

/// `mlock` of exactly `[ptr, ptr + len)` (the kernel rounds to whole pages).
pub(crate) fn lock(bytes: &[u8]) -> io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    // SAFETY: `bytes` is a live slice, so the range is mapped memory of this process; mlock
    // only changes residency, never contents or validity.
    unsafe { rustix::mm::mlock(bytes.as_ptr().cast_mut().cast(), bytes.len()) }?;
    Ok(())
}

/// `munlock` of exactly `[ptr, ptr + len)`.
pub(crate) fn unlock(bytes: &[u8]) -> io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    // SAFETY: as for `lock`: a live range of this process; munlock only changes residency.
    unsafe { rustix::mm::munlock(bytes.as_ptr().cast_mut().cast(), bytes.len()) }?;
    Ok(())
}
