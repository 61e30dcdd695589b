//! [`Region`]: the bytes of one loaded file — a mapping, a heap copy, or nothing — and the
//! residency operations on them (advice, prefault, lock).

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc as StdArc;

use crate::aligned::AlignedBuf;
use crate::error::{Error, Result};
use crate::options::{LoadOptions, LockPolicy};
use crate::os::{Advice, Mapping, Os};
use crate::sync::{Mutex, get_mut, lock};

/// Which path a load took, and why.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LoadPath {
    /// The file is mapped read-only.
    Mapped,
    /// The file was read into an aligned heap buffer.
    Read(ReadReason),
    /// The file is empty: no mapping, no buffer.
    Empty,
}

/// Why a file was read instead of mapped.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ReadReason {
    /// `LoadMode::Read` asked for it.
    Requested,
    /// `LoadMode::Auto` tried to map, and mapping failed with this error.
    MapFailed(StdArc<Error>),
}

impl LoadPath {
    /// `map`, `read` or `empty`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Mapped => "map",
            Self::Read(_) => "read",
            Self::Empty => "empty",
        }
    }
}

impl fmt::Display for LoadPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Mapped => f.write_str("mapped"),
            Self::Read(ReadReason::Requested) => f.write_str("read (requested)"),
            Self::Read(ReadReason::MapFailed(err)) => write!(f, "read (mapping failed: {err})"),
            Self::Empty => f.write_str("empty file"),
        }
    }
}

pub(crate) enum Backing {
    Empty,
    Map(Mapping),
    Heap(AlignedBuf),
}

/// The bytes of one loaded file, shared by every session of it.
///
/// Dropping it unlocks what was locked and unmaps or frees the bytes.
pub struct Region {
    /// The seam the region was loaded through: advice and locks go back through it.
    os: StdArc<dyn Os>,
    path: PathBuf,
    backing: Backing,
    load_path: LoadPath,
    /// Ranges locked in memory, unlocked on drop (a heap buffer handed back to the allocator
    /// would otherwise stay locked).
    locked: Mutex<Vec<Range<usize>>>,
}

impl Region {
    pub(crate) fn new(
        os: &StdArc<dyn Os>,
        path: &Path,
        backing: Backing,
        load_path: LoadPath,
    ) -> Self {
        Self {
            os: os.clone(),
            path: path.to_owned(),
            backing,
            load_path,
            locked: Mutex::new(Vec::new()),
        }
    }

    /// The loaded bytes.
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        match &self.backing {
            Backing::Empty => &[],
            Backing::Map(map) => map.as_slice(),
            Backing::Heap(buf) => buf,
        }
    }

    /// Which path the load took.
    #[must_use]
    pub fn load_path(&self) -> &LoadPath {
        &self.load_path
    }

    /// The path the file was first opened by.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies the advice, prefault and lock options to exactly `range` (already checked to lie
    /// inside the region).
    pub(crate) fn apply(&self, range: Range<usize>, opts: &LoadOptions) -> Result<()> {
        let len = range.len();
        if len == 0 {
            return Ok(());
        }
        // Heap copies are resident already: advice is for mappings.
        if let Backing::Map(map) = &self.backing {
            for (wanted, advice, op) in [
                (opts.will_need, Advice::WillNeed, "madvise(MADV_WILLNEED)"),
                (
                    opts.prefault,
                    Advice::Prefault,
                    "madvise(MADV_POPULATE_READ)",
                ),
            ] {
                if wanted {
                    self.os.advise(map, advice, range.start, len).map_err(|e| {
                        Error::from_io(op, &self.path, &e)
                            .with_arg("offset", range.start)
                            .with_arg("len", len)
                    })?;
                }
            }
        }
        if opts.lock != LockPolicy::Off {
            self.lock_range(range, opts.lock)?;
        }
        Ok(())
    }

    fn lock_range(&self, range: Range<usize>, policy: LockPolicy) -> Result<()> {
        let bytes = &self.as_slice()[range.clone()];
        match self.os.lock(bytes) {
            Ok(()) => {
                lock(&self.locked).push(range);
                Ok(())
            }
            Err(e) if policy == LockPolicy::LockIgnoreErrors => {
                tracing::warn!(
                    path = %self.path.display(), offset = range.start, len = range.len(),
                    error = %e, "mlock failed; going on unlocked as the policy allows"
                );
                Ok(())
            }
            Err(e) => Err(Error::from_io("mlock", &self.path, &e)
                .with_arg("offset", range.start)
                .with_arg("len", range.len())),
        }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // `&mut self` is exclusive access: no lock needed (or taken) to read the list.
        let locked = std::mem::take(get_mut(&mut self.locked));
        for range in locked {
            let bytes = &self.as_slice()[range];
            if let Err(e) = self.os.unlock(bytes) {
                tracing::warn!(path = %self.path.display(), error = %e, "munlock failed");
            }
        }
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Region")
            .field("path", &self.path)
            .field("len", &self.as_slice().len())
            .field("load_path", &self.load_path)
            .finish_non_exhaustive()
    }
}
