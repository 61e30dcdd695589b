//! The memfd provider: an anonymous in-memory file, sized once, sealed in two steps.
//!
//! At allocation: `F_SEAL_SHRINK | F_SEAL_GROW`, so nobody holding the fd can truncate the
//! file under a mapping (which would kill readers with `SIGBUS`) or grow it past what was
//! mapped. The buffer is then filled through a writable shared mapping.
//!
//! At [`Memfd::seal`]: the writable mapping goes (the kernel refuses `F_SEAL_WRITE` with
//! `EBUSY` while any writable shared mapping exists), `F_SEAL_WRITE | F_SEAL_SEAL` is added,
//! and the memory is mapped again read-only. From then on no fd and no mapping, in this
//! process or any other, can change a byte: `write(2)` and `mmap(PROT_WRITE, MAP_SHARED)`
//! fail with `EPERM`. `F_SEAL_FUTURE_WRITE` is not used: it leaves writable mappings made
//! before the seal writable, so it would prove nothing about the bytes behind a `&[u8]`.

use rustix::fs::{self, MemfdFlags, SealFlags};

use super::fd_map::{FdMemory, ReadOnly};
use super::provider::Request;
use crate::error::{Error, Result};
use crate::size;

/// A memfd and its view.
pub(crate) struct Memfd(pub(crate) FdMemory);

/// Creates, sizes, seals against resizing and maps a memfd of `req.len` bytes.
pub(crate) fn alloc(req: &Request<'_>) -> Result<Memfd> {
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
    FdMemory::map_writable(fd, len, label).map(Memfd)
}

impl Memfd {
    /// Seals the memfd against every write and maps it read-only.
    ///
    /// On failure the memory is writable again (the seal was refused and the writable
    /// mapping restored: `is_writable`) or unusable (sealed, but the read-only mapping
    /// failed; or the writable one could not be restored).
    pub(crate) fn seal(&mut self) -> Result<()> {
        let memory = &mut self.0;
        memory.unmap();
        let sealed = fs::fcntl_add_seals(memory.fd(), SealFlags::WRITE | SealFlags::SEAL);
        if let Err(errno) = sealed {
            let err = memory.fail("fcntl(F_ADD_SEALS)", &errno.into());
            // Nothing changed but the mapping: give the buffer back writable if we can.
            return match memory.remap_writable() {
                Ok(()) => Err(err),
                Err(remap) => {
                    tracing::warn!(error = %remap, "shm: writable mapping not restored");
                    Err(err)
                }
            };
        }
        memory.remap_read_only(ReadOnly::Private)
    }
}
