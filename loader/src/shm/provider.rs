//! [`Provider`] (where a buffer's memory comes from) and [`Request`] (what a seam is asked to
//! allocate). Plain data: every other part of `shm` reads these, they read nothing back.

use std::fmt;

use super::error::ShmError;
use super::id::BufferId;
use crate::error::{Error, Result};
use crate::size::Alignment;

/// Where a buffer's memory comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// An anonymous `memfd_create` file (Linux, Android), sealed against shrinking and growing
    /// once sized, and against every write when the buffer is sealed. Has an fd.
    Memfd,
    /// A DMA-BUF from the named heap under `/dev/dma_heap/` (e.g. `"system"`), allocated with
    /// `DMA_HEAP_IOCTL_ALLOC` (Linux, Android). Has an fd, which no kernel seal protects.
    DmaHeap(String),
    /// Aligned heap memory. No fd; the portable fallback.
    Heap,
    /// A pagefile-backed section from `CreateFileMappingW(INVALID_HANDLE_VALUE, …)`
    /// (Windows). Has a handle.
    Section,
}

impl Provider {
    /// A short name for logs and reports: `memfd`, `dma-heap:system`, `heap`, `section`.
    #[must_use]
    pub fn name(&self) -> String {
        self.to_string()
    }

    /// The providers that work on this target, best first: memfd then heap on Linux, section
    /// then heap on Windows, heap elsewhere and under Miri. dma-heap is never a default: which
    /// heap suits a driver is the backend's decision.
    #[must_use]
    pub fn platform_default() -> Vec<Self> {
        if cfg!(miri) {
            // Miri stops (rather than failing the call) on memfd_create and shared mappings.
            vec![Self::Heap]
        } else if cfg!(any(target_os = "linux", target_os = "android")) {
            vec![Self::Memfd, Self::Heap]
        } else if cfg!(windows) {
            vec![Self::Section, Self::Heap]
        } else {
            vec![Self::Heap]
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memfd => f.write_str("memfd"),
            Self::DmaHeap(heap) => write!(f, "dma-heap:{heap}"),
            Self::Heap => f.write_str("heap"),
            Self::Section => f.write_str("section"),
        }
    }
}

/// Parses the [`Display`](fmt::Display) form: `memfd`, `heap`, `section`, `dma-heap:<name>`,
/// and `dma-heap` alone for the `system` heap — what a command line's `--into` takes.
///
/// # Errors
///
/// [`ShmError::UnknownProvider`] for anything else (`dma-heap:` with an empty name included).
impl std::str::FromStr for Provider {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "memfd" => Ok(Self::Memfd),
            "heap" => Ok(Self::Heap),
            "section" => Ok(Self::Section),
            "dma-heap" => Ok(Self::DmaHeap("system".to_owned())),
            _ => match s.strip_prefix("dma-heap:") {
                Some(heap) if !heap.is_empty() => Ok(Self::DmaHeap(heap.to_owned())),
                _ => Err(ShmError::UnknownProvider { name: s.to_owned() }.into()),
            },
        }
    }
}

/// What a [`ShmOs`](super::ShmOs) is asked to allocate: `len` zeroed bytes for the buffer `id`
/// of the pool named `name`.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub(crate) id: BufferId,
    pub(crate) name: &'a str,
    pub(crate) len: usize,
    pub(crate) heap_alignment: Alignment,
}

impl Request<'_> {
    /// The id the buffer will have.
    #[must_use]
    pub fn id(&self) -> BufferId {
        self.id
    }

    /// The pool's name: memfds are named after it, errors and ledger entries labelled with it.
    #[must_use]
    pub fn name(&self) -> &str {
        self.name
    }

    /// The length in bytes (at least 1).
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always `false`: a request is for at least one byte (here for clippy's `len_without_is_empty`).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The alignment of heap-provider buffers.
    #[must_use]
    pub fn heap_alignment(&self) -> Alignment {
        self.heap_alignment
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shm_provider_names_round_trip() {
        for p in [
            Provider::Memfd,
            Provider::Heap,
            Provider::Section,
            Provider::DmaHeap("linux,cma".to_owned()),
        ] {
            assert_eq!(p.name().parse::<Provider>().unwrap(), p);
        }
        assert_eq!(
            "dma-heap".parse::<Provider>().unwrap(),
            Provider::DmaHeap("system".to_owned())
        );
        for bad in ["dma-heap:", "tmpfs", ""] {
            match bad.parse::<Provider>() {
                Err(Error::Shm(ShmError::UnknownProvider { name })) => assert_eq!(name, bad),
                other => panic!("{bad:?} parsed as {other:?}"),
            }
        }
    }
}
