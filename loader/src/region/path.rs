//! [`LoadPath`]: which way a file was loaded, and why.

use std::fmt;
use std::sync::Arc as StdArc;

use crate::error::Error;
use crate::os::Immutable;

/// Which path a load took, and why. [`name`](Self::name) is the first word of the
/// [`Display`](fmt::Display) form: `map (sealed memfd)`, `read (requested)`, ….
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LoadPath {
    /// The file is mapped read-only.
    Mapped(MapReason),
    /// The file was read into one aligned heap buffer that its sessions share.
    Read(ReadReason),
    /// The file is empty: no mapping, no buffer.
    Empty,
    /// A stream (pipe, device, pseudo-file) read to its end into a private buffer, because the
    /// options [allowed it](crate::LoadOptions::read_streams).
    Stream,
}

/// Why mapping the file is sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MapReason {
    /// The OS keeps the file from changing.
    Immutable(Immutable),
    /// The caller promised nobody changes it
    /// ([`LoadOptions::assume_immutable`](crate::LoadOptions::assume_immutable)).
    Assumed,
}

/// Why a file was read instead of mapped.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ReadReason {
    /// `LoadMode::Read` asked for it.
    Requested,
    /// The file can change under a mapping (no seals, no fs-verity) and the options do not
    /// [assume it immutable](crate::LoadOptions::assume_immutable): a copy is the sound way to
    /// share it.
    MayChange,
    /// Mapping was allowed and tried, and failed with this error.
    MapFailed(StdArc<Error>),
}

impl LoadPath {
    /// `map`, `read`, `empty` or `stream`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Mapped(_) => "map",
            Self::Read(_) => "read",
            Self::Empty => "empty",
            Self::Stream => "stream",
        }
    }

    /// Whether the bytes are a mapping of the file.
    #[must_use]
    pub fn is_mapped(&self) -> bool {
        matches!(self, Self::Mapped(_))
    }
}

impl fmt::Display for LoadPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        match self {
            Self::Mapped(MapReason::Immutable(why)) => write!(f, " ({why})"),
            Self::Mapped(MapReason::Assumed) => f.write_str(" (assumed immutable)"),
            Self::Read(ReadReason::Requested) => f.write_str(" (requested)"),
            Self::Read(ReadReason::MayChange) => {
                f.write_str(" (the file could change under a mapping: not sealed, no fs-verity)")
            }
            Self::Read(ReadReason::MapFailed(err)) => {
                write!(f, " (mapping failed: {})", err.chain())
            }
            Self::Empty => f.write_str(" (empty file)"),
            Self::Stream => f.write_str(" (not a regular file, read to its end)"),
        }
    }
}
