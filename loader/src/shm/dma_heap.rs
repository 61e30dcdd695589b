//! The dma-heap provider: a DMA-BUF from `/dev/dma_heap/<name>`.
//!
//! One `DMA_HEAP_IOCTL_ALLOC` on the heap device returns a new dma-buf fd, which is mapped
//! shared like a memfd. The ioctl is written by hand through `rustix::ioctl` (its whole ABI is
//! the 24-byte struct below, stable since Linux 5.6) rather than through the `dma-heap` crate,
//! which would add a dependency and report errors without the errno captured at the call.
//!
//! CPU access to a dma-buf that a device also accesses may need cache maintenance
//! (`DMA_BUF_IOCTL_SYNC`); that belongs to the driver hand-off protocol, not to allocation.
//!
//! The kernel has no seals for dma-bufs. [`DmaBuf::seal`] replaces this process's writable
//! view with a read-only one, and that is all it can do: the fd itself still maps writable,
//! so the pool never hands it out through a safe call once the buffer is sealed.

use std::os::fd::{FromRawFd, OwnedFd};

use rustix::fs::{self, Mode, OFlags};
use rustix::ioctl::{self, Updater, opcode};

use super::error::ShmError;
use super::fd_map::{FdMemory, ReadOnly};
use super::provider::Request;
use crate::error::{Error, Result};
use crate::size;

/// A dma-buf and its view.
pub(crate) struct DmaBuf(pub(crate) FdMemory);

impl DmaBuf {
    /// Maps the dma-buf read-only, then drops the writable view. On failure the writable view
    /// is kept.
    pub(crate) fn seal(&mut self) -> Result<()> {
        self.0.remap_read_only(ReadOnly::Shared)
    }
}

/// `struct dma_heap_allocation_data` from `<linux/dma-heap.h>`.
#[repr(C)]
struct AllocationData {
    len: u64,
    fd: u32,
    fd_flags: u32,
    heap_flags: u64,
}

/// `DMA_HEAP_IOCTL_ALLOC = _IOWR('H', 0x0, struct dma_heap_allocation_data)`.
const DMA_HEAP_IOCTL_ALLOC: ioctl::Opcode = opcode::read_write::<AllocationData>(b'H', 0);

/// Allocates and maps `req.len` bytes from the dma heap `heap`.
pub(crate) fn alloc(heap: &str, req: &Request<'_>) -> Result<DmaBuf> {
    let label = format!("/dev/dma_heap/{heap}");
    let len = req.len;
    if heap.is_empty() || heap.contains('/') || heap == "." || heap == ".." {
        return Err(ShmError::BadHeapName {
            name: heap.to_owned(),
        }
        .into());
    }
    let fail = |op: &'static str, e: rustix::io::Errno| {
        Error::from_io(op, &label, &e.into()).with_arg("len", len)
    };
    // The heap device is only needed for the ioctl; it closes at the end of this function.
    let heap_fd = fs::open(&label, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| fail("open", e))?;
    let mut data = AllocationData {
        len: size::to_u64(len),
        fd: 0,
        fd_flags: (OFlags::RDWR | OFlags::CLOEXEC).bits(),
        heap_flags: 0,
    };
    // SAFETY: `DMA_HEAP_IOCTL_ALLOC` is the updater ioctl whose argument is exactly
    // `struct dma_heap_allocation_data`, which `AllocationData` reproduces field for field
    // (`#[repr(C)]`, 24 bytes, no padding); `data` lives across the call.
    let updater = unsafe { Updater::<DMA_HEAP_IOCTL_ALLOC, AllocationData>::new(&mut data) };
    // SAFETY: the opcode and argument type agree (see above); the kernel writes only `fd`.
    unsafe { ioctl::ioctl(&heap_fd, updater) }
        .map_err(|e| fail("ioctl(DMA_HEAP_IOCTL_ALLOC)", e))?;
    let raw = i32::try_from(data.fd).map_err(|_| {
        Error::from_io(
            "ioctl(DMA_HEAP_IOCTL_ALLOC)",
            &label,
            &std::io::ErrorKind::InvalidData.into(),
        )
        .with_arg("fd", data.fd)
    })?;
    // SAFETY: on success the ioctl installed a new dma-buf fd `raw` in our table; nothing else
    // knows it, so taking ownership here is the only owner it will ever have.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    FdMemory::map_writable(fd, len, label).map(DmaBuf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shm_dma_heap_abi_matches_the_kernel_header() {
        assert_eq!(std::mem::size_of::<AllocationData>(), 24);
        // _IOWR('H', 0, 24) on the asm-generic ioctl layout (x86, arm, riscv).
        #[cfg(any(
            target_arch = "x86_64",
            target_arch = "x86",
            target_arch = "aarch64",
            target_arch = "arm"
        ))]
        {
            // `Opcode` is u32 or c_ulong, by rustix backend.
            #[allow(clippy::useless_conversion)]
            let opcode = u64::from(DMA_HEAP_IOCTL_ALLOC);
            assert_eq!(opcode, 0xc018_4800);
        }
    }
}
