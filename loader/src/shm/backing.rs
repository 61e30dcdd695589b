//! [`Backing`]: the OS resources behind one buffer, released by `Drop` alone.
//!
//! Each variant is built from owners that release themselves (`AlignedBuf`, memmap2's `MmapMut`,
//! rustix's `OwnedFd`, the section's view and handle wrappers), each taken on the line that
//! acquires the resource, so an error half-way through an allocation releases what was already
//! acquired, and dropping a `Backing` unmaps before it closes.

use std::ptr::NonNull;

use super::Provider;
use super::heap;
use crate::aligned::AlignedBuf;
use crate::error::{Error, Result};
use crate::size::Alignment;

/// One buffer's memory and the fd / handle that names it.
pub(crate) enum Backing {
    /// Heap memory; no fd.
    Heap(AlignedBuf),
    /// A shared mapping of an fd (memfd or dma-buf).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Fd(FdMap),
    /// A view of a pagefile-backed section.
    #[cfg(windows)]
    Section(super::windows::Section),
}

/// A read-write shared mapping of a whole fd. Field order is drop order: unmap, then close.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) struct FdMap {
    pub(crate) map: memmap2::MmapMut,
    pub(crate) fd: std::os::fd::OwnedFd,
}

/// What a provider needs to know to allocate.
pub(crate) struct Request<'a> {
    /// Name for memfds and labels in errors.
    pub(crate) name: &'a str,
    /// Length in bytes, at least 1.
    pub(crate) len: usize,
    /// Alignment of heap buffers.
    pub(crate) heap_alignment: Alignment,
}

impl Backing {
    /// Allocates `req.len` bytes from `provider`.
    pub(crate) fn alloc(provider: &Provider, req: &Request<'_>) -> Result<Self> {
        match provider {
            Provider::Heap => heap::alloc(req),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Provider::Memfd => super::memfd::alloc(req),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Provider::DmaHeap(heap) => super::dma_heap::alloc(heap, req),
            #[cfg(windows)]
            Provider::Section => super::windows::alloc(req),
            // Providers this target does not have (each exists on some targets only).
            other => Err(unsupported(other, req)),
        }
    }

    /// The first byte. Derived once, right after allocation, from a unique borrow of the whole
    /// buffer; the memory does not move when the `Backing` does.
    pub(crate) fn start(&mut self) -> NonNull<u8> {
        let bytes: &mut [u8] = match self {
            Self::Heap(buf) => buf,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Self::Fd(fd) => &mut fd.map,
            #[cfg(windows)]
            Self::Section(section) => section.as_mut_slice(),
        };
        NonNull::from(bytes).cast::<u8>()
    }

    /// The fd naming the memory, if it has one.
    #[cfg(unix)]
    pub(crate) fn fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        match self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Self::Fd(fd) => Some(std::os::fd::AsFd::as_fd(&fd.fd)),
            _ => None,
        }
    }

    /// The section handle naming the memory, if it has one.
    #[cfg(windows)]
    pub(crate) fn handle(&self) -> Option<std::os::windows::io::BorrowedHandle<'_>> {
        match self {
            Self::Section(section) => Some(section.handle()),
            Self::Heap(_) => None,
        }
    }
}

/// The error for a provider this target does not have: `ENOSYS`-like, so fallback applies.
fn unsupported(provider: &Provider, req: &Request<'_>) -> Error {
    let err = std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        format!("provider {provider} is not available on this target"),
    );
    Error::from_io("alloc", format!("{provider}:{}", req.name), &err).with_arg("len", req.len)
}
