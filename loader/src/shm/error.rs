//! [`ShmError`]: the typed refusals of a shm pool.

use std::io;

#[cfg(doc)]
use crate::Error;

/// Why a pool refused a request that no OS call failed for (OS failures of the pool are
/// [`Error::Os`], naming the call, the buffer's label and the errno). Wrapped in
/// [`Error::Shm`].
///
/// Ids are [`BufferId::get`](super::BufferId::get) values and providers their
/// [`Display`](std::fmt::Display) names, so this leaf depends on nothing else in `shm` (the
/// crate's error type wraps it, and the rest of `shm` returns that).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShmError {
    /// A buffer of 0 bytes was asked for: a buffer needs at least one byte to have an address.
    #[error("shm pool {pool}: a buffer needs at least 1 byte")]
    ZeroLength {
        /// The pool's name.
        pool: String,
    },
    /// The pool was given an empty provider list.
    #[error("shm pool {pool}: no providers to allocate from")]
    NoProviders {
        /// The pool's name.
        pool: String,
    },
    /// Not a provider name (what `Provider::from_str` takes: `memfd`, `dma-heap[:<name>]`,
    /// `heap`, `section`).
    #[error("unknown shm provider {name:?} (memfd, dma-heap[:<name>], heap, section)")]
    UnknownProvider {
        /// The name given.
        name: String,
    },
    /// Not the name of a heap under `/dev/dma_heap/`: empty, `.`, `..` or containing `/`.
    #[error("dma heap name {name:?} is not a heap name")]
    BadHeapName {
        /// The name given.
        name: String,
    },
    /// The provider does not exist on this target (memfd off Linux, sections off Windows).
    #[error("shm provider {provider} is not available on this target")]
    Unsupported {
        /// The provider's name.
        provider: String,
    },
    /// An fd of a sealed buffer whose seal the kernel does not enforce (a dma-buf: only this
    /// process's views are read-only, the fd still maps writable) was asked for through the
    /// safe API.
    #[error(
        "shm buffer #{id} ({provider}) is read-only only in this process: its fd still allows writes"
    )]
    FdStillWritable {
        /// The buffer's id.
        id: u64,
        /// The provider's name.
        provider: String,
    },
    /// A shm seam ([`ShmOs`](super::ShmOs)) returned memory in the wrong state.
    #[error("shm seam broke its contract: {what}")]
    Seam {
        /// What it did wrong.
        what: &'static str,
    },
}

impl ShmError {
    /// The `io::ErrorKind` this error converts to.
    pub(crate) fn io_kind(&self) -> io::ErrorKind {
        match self {
            Self::ZeroLength { .. }
            | Self::NoProviders { .. }
            | Self::UnknownProvider { .. }
            | Self::BadHeapName { .. } => io::ErrorKind::InvalidInput,
            Self::Unsupported { .. } => io::ErrorKind::Unsupported,
            Self::FdStillWritable { .. } => io::ErrorKind::PermissionDenied,
            Self::Seam { .. } => io::ErrorKind::Other,
        }
    }
}
