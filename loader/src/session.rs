//! [`Session`]: one user's handle on a shared loaded file.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::os::FileKey;
use crate::region::{LoadPath, Region};
use crate::registry::Claim;
use crate::segment::Segment;
use crate::size;
use crate::sync::Arc;

/// One session's view of a loaded file.
///
/// Cloning makes another session of the same file. The shared mapping lives until the last
/// session and the last [`Segment`] cut from it are dropped.
pub struct Session {
    path: PathBuf,
    // Field order matters: the claim is counted out before the region reference is released.
    claim: Claim,
    region: Arc<Region>,
}

impl Session {
    pub(crate) fn new(path: &Path, claim: Claim, region: Arc<Region>) -> Self {
        Self {
            path: path.to_owned(),
            claim,
            region,
        }
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

    /// The identity the file was shared by.
    #[must_use]
    pub fn key(&self) -> FileKey {
        self.claim.key()
    }

    /// Whether the load mapped or read the file, and why.
    #[must_use]
    pub fn load_path(&self) -> &LoadPath {
        self.region.load_path()
    }

    /// Whether two sessions share one mapping (or heap copy).
    #[must_use]
    pub fn shares_with(&self, other: &Session) -> bool {
        Arc::ptr_eq(&self.region, &other.region)
    }

    /// A zero-copy segment `[offset, offset + len)`, bounds-checked with checked arithmetic.
    pub fn segment(&self, offset: u64, len: u64) -> Result<Segment> {
        let range = size::range_in(&self.path, offset, len, self.len())?;
        Ok(Segment::of_region(&self.region, range, offset))
    }

    pub(crate) fn region(&self) -> &Arc<Region> {
        &self.region
    }
}

impl Clone for Session {
    fn clone(&self) -> Self {
        Self {
            path: self.path.clone(),
            claim: self.claim.share(),
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
