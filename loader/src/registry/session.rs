//! [`Session`]: one user's handle on a shared loaded file.

use std::fmt;
use std::path::{Path, PathBuf};

use super::entry::Claim;
use crate::error::Result;
use crate::options::LoadOptions;
use crate::os::FileKey;
use crate::progress::Observer;
use crate::region::{LoadPath, LockGuard, Region};
use crate::segment::Segment;
use crate::size;
use crate::sync::Arc;

/// One session's view of a loaded file.
///
/// Its bytes never change while it lives: they are a mapping of a file the OS keeps immutable,
/// a mapping the caller vouched for with
/// [`LoadOptions::assume_immutable`](crate::LoadOptions::assume_immutable), or one heap copy of
/// the file shared by its sessions. Cloning makes another session of the same file. The shared
/// load lives until the last session and the last [`Segment`] cut from it are dropped.
///
/// ```
/// use loadguard::os::MemoryOs;
/// use loadguard::{LoadOptions, Registry};
///
/// let fs = MemoryOs::new();
/// fs.write("/m/weights.bin", (0..=255u8).collect::<Vec<_>>());
/// let registry = Registry::with_os(fs);
/// let session = registry.open("/m/weights.bin", &LoadOptions::new())?;
/// assert_eq!(session.len(), 256);
/// assert_eq!(session.bytes()[7], 7);
/// let tail = session.segment(250, 6)?; // zero-copy, keeps the bytes alive
/// drop(session);
/// assert_eq!(&tail[..], &[250, 251, 252, 253, 254, 255]);
/// assert!(session_err_is_out_of_range(&registry));
/// # fn session_err_is_out_of_range(r: &Registry) -> bool {
/// #     let s = r.open("/m/weights.bin", &LoadOptions::new()).unwrap();
/// #     matches!(s.segment(250, 7), Err(loadguard::Error::OutOfRange { .. }))
/// # }
/// # Ok::<(), loadguard::Error>(())
/// ```
pub struct Session {
    path: PathBuf,
    key: FileKey,
    // Field order is drop order: the lock is released, then the claim counted out, then the
    // region reference let go.
    lock: Option<LockGuard>,
    /// `None` for a stream, which is never shared.
    claim: Option<Claim>,
    region: Arc<Region>,
}

impl Session {
    /// A session of `region`, with the options' advice, prefault and lock applied to the whole
    /// file (the lock lives as long as the session).
    pub(super) fn start(
        path: &Path,
        claim: Option<Claim>,
        region: Arc<Region>,
        opts: &LoadOptions,
        observer: Observer<'_>,
    ) -> Result<Self> {
        let len = region.as_slice().len();
        let lock = Region::apply(&region, 0..len, opts, observer)?;
        let key = claim.as_ref().map_or_else(|| stream_key(len), Claim::key);
        tracing::debug!(load_path = %region.load_path(), len, "session opened");
        Ok(Self {
            path: path.to_owned(),
            key,
            lock,
            claim,
            region,
        })
    }

    /// The whole file.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        self.region.as_slice()
    }

    /// The file's size.
    #[must_use]
    pub fn len(&self) -> u64 {
        size::to_u64(self.bytes().len())
    }

    /// Whether the file is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes().is_empty()
    }

    /// The path this session opened the file by.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The identity the file was shared by (for a stream, which is not shared: its length only).
    #[must_use]
    pub fn key(&self) -> FileKey {
        self.key
    }

    /// Whether the load mapped or read the file, and why.
    #[must_use]
    pub fn load_path(&self) -> &LoadPath {
        self.region.load_path()
    }

    /// Whether two sessions share one load (mapping or heap copy).
    #[must_use]
    pub fn shares_with(&self, other: &Session) -> bool {
        Arc::ptr_eq(&self.region, &other.region)
    }

    /// A zero-copy segment `[offset, offset + len)`, bounds-checked with checked arithmetic.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfRange`](crate::Error::OutOfRange) when the range is not inside the file,
    /// including when `offset + len` overflows.
    #[track_caller]
    pub fn segment(&self, offset: u64, len: u64) -> Result<Segment> {
        let range = crate::error::range_in(&self.path, offset, len, self.len())?;
        Ok(Segment::of_region(&self.region, range, offset, None))
    }

    /// A segment of `[offset, offset + len)` with `opts`' advice, prefault and lock applied to
    /// exactly that range; a lock lives as long as the segment. For data loaders.
    pub(crate) fn segment_with(
        &self,
        offset: u64,
        len: u64,
        opts: &LoadOptions,
    ) -> Result<Segment> {
        let range = crate::error::range_in(&self.path, offset, len, self.len())?;
        let lock = Region::apply(&self.region, range.clone(), opts, None)?;
        Ok(Segment::of_region(&self.region, range, offset, lock))
    }
}

/// The key of a stream session: no identity, only the length read.
fn stream_key(len: usize) -> FileKey {
    FileKey::new(0, 0, size::to_u64(len), 0)
}

impl Clone for Session {
    fn clone(&self) -> Self {
        Self {
            path: self.path.clone(),
            key: self.key,
            lock: self.lock.as_ref().map(LockGuard::share),
            claim: self.claim.as_ref().map(Claim::share),
            region: self.region.clone(),
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("path", &self.path)
            .field("len", &self.len())
            .field("load_path", self.load_path())
            .finish_non_exhaustive()
    }
}
