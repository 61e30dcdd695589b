//! [`FdMemory`]: an fd (memfd or dma-buf) and the one view of it this process holds —
//! writable while the buffer is filled, read-only once it is sealed. The memfd and dma-heap
//! providers both build on it; it knows nothing of either.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;

use crate::error::{Error, Result};

/// An fd and its mapping. Field order is drop order: unmap, then close.
pub(crate) struct FdMemory {
    view: View,
    len: usize,
    /// `memfd:<name>` or `/dev/dma_heap/<heap>`, for errors.
    label: String,
    fd: OwnedFd,
}

enum View {
    Writable(memmap2::MmapMut),
    ReadOnly(memmap2::Mmap),
    Unmapped,
}

/// How a read-only view shares the fd's pages.
#[derive(Clone, Copy)]
pub(crate) enum ReadOnly {
    /// `MAP_PRIVATE`: a private mapping of a write-sealed memfd is allowed on every kernel
    /// (before Linux 6.7 even a read-only `MAP_SHARED` mapping of one fails with `EPERM`); it
    /// is never written, so it never copies a page.
    Private,
    /// `MAP_SHARED` read-only (dma-bufs, which exporters map shared).
    Shared,
}

impl FdMemory {
    /// Maps all `len` bytes of `fd` shared and writable. On failure `fd` is closed.
    pub(crate) fn map_writable(fd: OwnedFd, len: usize, label: String) -> Result<Self> {
        let mut memory = Self {
            view: View::Unmapped,
            len,
            label,
            fd,
        };
        memory.remap_writable()?;
        Ok(memory)
    }

    /// Maps the fd writable again (after [`unmap`](Self::unmap)), replacing any view.
    pub(crate) fn remap_writable(&mut self) -> Result<()> {
        // SAFETY: memmap2 marks mapping unsafe because the file could be truncated or written
        // behind the mapping. The fd is a memfd sealed against shrinking and growing, or a
        // dma-buf, whose size is fixed: the mapped range stays backed. While this view exists
        // the buffer is unsealed, and its fd has left the pool only through the `unsafe` APIs
        // whose contracts forbid writes while Rust holds a view (`SharedBuffer::fd_unchecked`,
        // `Pool::dup_fd_unchecked`) or through a lease, which holds no view and whose
        // `unsafe fn reclaim` requires every writer to have stopped.
        let map = unsafe { memmap2::MmapOptions::new().len(self.len).map_mut(&self.fd) };
        let map = map.map_err(|e| self.fail("mmap", &e))?;
        self.view = View::Writable(map);
        Ok(())
    }

    /// Maps the fd read-only, then drops the previous view: on failure the previous view is
    /// kept.
    pub(crate) fn remap_read_only(&mut self, how: ReadOnly) -> Result<()> {
        let mut options = memmap2::MmapOptions::new();
        options.len(self.len);
        // SAFETY: as in `remap_writable` for the size. The contents: for a memfd this is
        // called only after `F_SEAL_WRITE` succeeded, so no fd or mapping anywhere can write
        // them any more; for a dma-buf, the fd leaves the pool from here on only through
        // `unsafe` APIs whose contracts forbid writes while a view lives.
        let map = unsafe {
            match how {
                ReadOnly::Private => options.map_copy_read_only(&self.fd),
                ReadOnly::Shared => options.map(&self.fd),
            }
        };
        let map = map.map_err(|e| self.fail("mmap", &e))?;
        self.view = View::ReadOnly(map);
        Ok(())
    }

    /// Unmaps the current view (before sealing: `F_SEAL_WRITE` fails with `EBUSY` while any
    /// writable shared mapping exists).
    pub(crate) fn unmap(&mut self) {
        self.view = View::Unmapped;
    }

    /// Whether the current view is the writable one.
    pub(crate) fn is_writable(&self) -> bool {
        matches!(self.view, View::Writable(_))
    }

    /// The first byte of the current view: the address memmap2 got from `mmap`, never
    /// re-derived through a reference. Fixed for the life of the view.
    pub(crate) fn start(&self) -> Option<NonNull<u8>> {
        match &self.view {
            View::Writable(map) => NonNull::new(map.as_ptr().cast_mut()),
            View::ReadOnly(map) => NonNull::new(map.as_ptr().cast_mut()),
            View::Unmapped => None,
        }
    }

    /// The fd.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// An OS failure of `op` on this fd.
    #[track_caller]
    pub(crate) fn fail(&self, op: &'static str, err: &std::io::Error) -> Error {
        Error::from_io(op, &self.label, err).with_arg("len", self.len)
    }
}
