//! [`Memory`]: one buffer's OS resources, whichever provider served them, released by `Drop`.
//!
//! Each provider returns its own owner (`HeapMemory`, `Memfd`, `DmaBuf`, `Section`), built from
//! parts that release themselves, each taken on the line that acquires the resource; this
//! module only wraps them in one opaque type, so the seam ([`ShmOs`](super::ShmOs)) and its
//! wrappers can pass memory along, seal it and attach guards, but never reach its bytes or its
//! fd.

use std::any::Any;
use std::fmt;
use std::ptr::NonNull;

#[cfg(any(target_os = "linux", target_os = "android"))]
use super::dma_heap::{self, DmaBuf};
use super::error::ShmError;
use super::heap::{self, HeapMemory};
#[cfg(any(target_os = "linux", target_os = "android"))]
use super::memfd::{self, Memfd};
use super::provider::{Provider, Request};
#[cfg(windows)]
use super::windows::{self, Section};
use crate::error::Result;

/// How a sealed buffer is kept from changing — what [`SealedBuffer::seal_kind`] reports.
///
/// [`SealedBuffer::seal_kind`]: super::SealedBuffer::seal_kind
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SealKind {
    /// memfd with `F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`: the kernel
    /// refuses every write and resize, through any fd or mapping, in any process. Its fd can be
    /// handed out safely.
    Kernel,
    /// dma-buf: this process's only view is read-only, but no kernel seal exists for
    /// dma-bufs, so the fd still maps writable. Handing it out is `unsafe`.
    LocalViews,
    /// Windows section: this process's only view is read-only and the only handle left has
    /// `FILE_MAP_READ` access, which maps read-only.
    ReadOnlyHandle,
    /// Heap memory: no fd or handle exists, so nothing outside the pool can reach it.
    Private,
}

/// One buffer's memory from a provider: what a [`ShmOs`](super::ShmOs) returns from `alloc`.
///
/// Opaque on purpose: a seam can seal it ([`Memory::seal`]) and attach values to drop with it
/// ([`Memory::with_guard`]), never read its bytes or its fd, so no seam can keep a way to write
/// a buffer that the pool hands out as read-only.
pub struct Memory {
    kind: Kind,
    provider: Provider,
    len: usize,
    state: State,
    /// Declared last: dropped after the memory is released, so a guard observes the release.
    guards: Vec<Box<dyn Any + Send + Sync>>,
}

enum Kind {
    Heap(HeapMemory),
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Memfd(Memfd),
    #[cfg(any(target_os = "linux", target_os = "android"))]
    DmaBuf(DmaBuf),
    #[cfg(windows)]
    Section(Section),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Mapped writable: the fill phase.
    Writable,
    /// Mapped read-only, sealed as the kind says.
    Sealed(SealKind),
    /// A seal failed half-way (sealed but not mapped): only fit to be dropped.
    Broken,
}

impl Memory {
    /// Allocates `request.len()` zeroed bytes from `provider`, mapped writable.
    pub(crate) fn alloc(provider: &Provider, request: &Request<'_>) -> Result<Self> {
        let kind = match provider {
            Provider::Heap => Kind::Heap(heap::alloc(request)?),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Provider::Memfd => Kind::Memfd(memfd::alloc(request)?),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Provider::DmaHeap(name) => Kind::DmaBuf(dma_heap::alloc(name, request)?),
            #[cfg(windows)]
            Provider::Section => Kind::Section(windows::alloc(request)?),
            // Providers this target does not have (each exists on some targets only).
            #[allow(unreachable_patterns)]
            other => {
                return Err(ShmError::Unsupported {
                    provider: other.to_string(),
                }
                .into());
            }
        };
        Ok(Self {
            kind,
            provider: provider.clone(),
            len: request.len(),
            state: State::Writable,
            guards: Vec::new(),
        })
    }

    /// The provider that served it.
    #[must_use]
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// Its length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty (never: a buffer has at least one byte).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether [`seal`](Self::seal) has succeeded on it.
    #[must_use]
    pub fn is_sealed(&self) -> bool {
        matches!(self.state, State::Sealed(_))
    }

    /// Makes the memory read-only for good: memfd `F_SEAL_WRITE` (after unmapping the
    /// writable view, which the kernel requires) and a read-only mapping; dma-buf and section:
    /// read-only views only (see [`SealKind`]). Sealing sealed memory does nothing.
    ///
    /// The pool calls this (through its seam) only while no view of the buffer exists.
    ///
    /// # Errors
    ///
    /// The failing OS call (`fcntl(F_ADD_SEALS)`, `mmap`, `DuplicateHandle`,
    /// `MapViewOfFile`), naming the buffer's label. The memory is then either writable as
    /// before (the pool hands the buffer back) or unusable (the pool releases it).
    pub fn seal(&mut self) -> Result<()> {
        if self.state != State::Writable {
            return Ok(());
        }
        let (result, kind) = match &mut self.kind {
            Kind::Heap(_) => (Ok(()), SealKind::Private),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Kind::Memfd(memfd) => (memfd.seal(), SealKind::Kernel),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Kind::DmaBuf(buf) => (buf.seal(), SealKind::LocalViews),
            #[cfg(windows)]
            Kind::Section(section) => (section.seal(), SealKind::ReadOnlyHandle),
        };
        self.state = match (&result, self.is_mapped_writable()) {
            (Ok(()), _) => State::Sealed(kind),
            (Err(_), true) => State::Writable,
            (Err(_), false) => State::Broken,
        };
        result
    }

    /// Attaches a value to drop together with the memory, after its OS resources are released
    /// (the ledger's receipts). Wrappers nest: every guard attached is kept.
    #[must_use]
    pub fn with_guard(mut self, guard: impl Any + Send + Sync) -> Self {
        self.guards.push(Box::new(guard));
        self
    }

    /// Whether the memory is in its fill phase (mapped writable, never sealed).
    pub(crate) fn is_writable(&self) -> bool {
        self.state == State::Writable && self.is_mapped_writable()
    }

    /// How it is sealed, once it is.
    pub(crate) fn seal_kind(&self) -> Option<SealKind> {
        match self.state {
            State::Sealed(kind) => Some(kind),
            State::Writable | State::Broken => None,
        }
    }

    /// The first byte of the current view: writable while [`is_writable`](Self::is_writable),
    /// read-only once sealed, `None` when broken. Fixed for the life of a view.
    pub(crate) fn start(&self) -> Option<NonNull<u8>> {
        if self.state == State::Broken {
            return None;
        }
        match &self.kind {
            Kind::Heap(heap) => Some(heap.start()),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Kind::Memfd(Memfd(fd)) | Kind::DmaBuf(DmaBuf(fd)) => fd.start(),
            #[cfg(windows)]
            Kind::Section(section) => Some(section.start()),
        }
    }

    /// The fd naming the memory (memfd, dma-buf), if it has one.
    #[cfg(unix)]
    pub(crate) fn fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        match &self.kind {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Kind::Memfd(Memfd(fd)) | Kind::DmaBuf(DmaBuf(fd)) => Some(fd.fd()),
            Kind::Heap(_) => None,
        }
    }

    /// The section handle naming the memory, if it has one: full access while unsealed,
    /// `FILE_MAP_READ` only once sealed.
    #[cfg(windows)]
    pub(crate) fn handle(&self) -> Option<std::os::windows::io::BorrowedHandle<'_>> {
        match &self.kind {
            Kind::Section(section) => Some(section.handle()),
            Kind::Heap(_) => None,
        }
    }

    fn is_mapped_writable(&self) -> bool {
        match &self.kind {
            Kind::Heap(_) => self.state == State::Writable,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Kind::Memfd(Memfd(fd)) | Kind::DmaBuf(DmaBuf(fd)) => fd.is_writable(),
            #[cfg(windows)]
            Kind::Section(section) => section.is_writable(),
        }
    }
}

impl fmt::Debug for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memory")
            .field("provider", &self.provider)
            .field("len", &self.len)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
