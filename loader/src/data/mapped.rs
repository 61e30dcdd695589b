//! [`MappedLoader`]: zero-copy segments of a shared mapping.

use std::path::Path;

use super::{DataLoader, SegmentInfo};
use crate::error::Result;
use crate::options::LoadOptions;
use crate::registry::Registry;
use crate::segment::Segment;
use crate::session::Session;
use crate::size;

/// Loads segments as views of a registry session: no copy, and every loader of the same file
/// shares one mapping. Advice, prefault and lock options apply to exactly each loaded range.
#[derive(Debug, Clone)]
pub struct MappedLoader {
    session: Session,
    opts: LoadOptions,
}

impl MappedLoader {
    /// Opens `path` through `registry` with `opts` (whole-file advice is not applied: each
    /// `load` applies the options to its own range).
    #[track_caller]
    pub fn open(registry: &Registry, path: impl AsRef<Path>, opts: &LoadOptions) -> Result<Self> {
        let whole_file = LoadOptions {
            will_need: false,
            prefault: false,
            ..*opts
        };
        let whole_file = whole_file.lock(crate::options::LockPolicy::Off);
        let session = registry.open(path, &whole_file)?;
        Ok(Self {
            session,
            opts: *opts,
        })
    }

    /// A loader over an existing session.
    #[must_use]
    pub fn from_session(session: Session, opts: &LoadOptions) -> Self {
        Self {
            session,
            opts: *opts,
        }
    }

    /// The session the loader reads from.
    #[must_use]
    pub fn session(&self) -> &Session {
        &self.session
    }
}

impl DataLoader for MappedLoader {
    fn size(&self) -> Result<u64> {
        Ok(self.session.len())
    }

    fn load(&self, offset: u64, len: u64, info: &SegmentInfo) -> Result<Segment> {
        let range = size::range_in(self.session.path(), offset, len, self.session.len())?;
        tracing::trace!(path = %self.session.path().display(), offset, len, ?info.kind, "load");
        self.session.region().apply(range, &self.opts)?;
        self.session.segment(offset, len)
    }

    fn load_into(&self, offset: u64, buf: &mut [u8], _info: &SegmentInfo) -> Result<()> {
        let range = size::range_in(
            self.session.path(),
            offset,
            size::to_u64(buf.len()),
            self.session.len(),
        )?;
        buf.copy_from_slice(&self.session.bytes()[range]);
        Ok(())
    }
}
