//! The memfd provider: an anonymous in-memory file, sized once and sealed.
//!
//! `F_SEAL_SHRINK` is what makes hand-off safe: nobody holding the fd (a driver, another
//! process) can truncate the file under our mapping, which would kill readers with `SIGBUS`.
//! `F_SEAL_GROW` keeps the size equal to what was mapped. Writes stay allowed: the buffer is
//! filled through the mapping after the seals are set.

use rustix::fs::{self, MemfdFlags, SealFlags};

use super::backing::{Backing, FdMap, Request};
use crate::error::{Error, Result};
use crate::size;

/// Creates, sizes, seals and maps a memfd of `req.len` bytes.
pub(crate) fn alloc(req: &Request<'_>) -> Result<Backing> {
    let label = format!("memfd:{}", req.name);
    let len = req.len;
    let fail = |op: &'static str, e: rustix::io::Errno| {
        Error::from_io(op, &label, &e.into()).with_arg("len", len)
    };
    // CLOEXEC: the fd is handed to drivers explicitly, never leaked into child processes.
    let fd = fs::memfd_create(req.name, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)
        .map_err(|e| fail("memfd_create", e))?;
    fs::ftruncate(&fd, size::to_u64(len)).map_err(|e| fail("ftruncate", e))?;
    fs::fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW)
        .map_err(|e| fail("fcntl(F_ADD_SEALS)", e))?;
    let map = map_shared(&fd, len, &label)?;
    Ok(Backing::Fd(FdMap { map, fd }))
}

/// Maps all `len` bytes of `fd` shared and writable. Also used for dma-bufs.
pub(crate) fn map_shared(
    fd: &std::os::fd::OwnedFd,
    len: usize,
    label: &str,
) -> Result<memmap2::MmapMut> {
    // SAFETY: memmap2 marks mapping unsafe because the file could be truncated or changed
    // behind the mapping. The fd is one we just created and still own exclusively: no other
    // process has it yet, a memfd is sealed against shrinking before this call, and a dma-buf
    // cannot be resized at all, so the mapped range stays backed for the mapping's lifetime.
    // Later writes by fd holders the caller chose to share it with are the documented
    // shared-memory contract of this module.
    let map = unsafe { memmap2::MmapOptions::new().len(len).map_mut(fd) };
    map.map_err(|e| Error::from_io("mmap", label, &e).with_arg("len", len))
}
