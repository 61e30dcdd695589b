//! [`MappedLoader`]: zero-copy segments of a shared mapping.

use std::path::Path;

use super::{DataLoader, SegmentInfo};
use crate::error::Result;
use crate::options::LoadOptions;
use crate::registry::Registry;
use crate::registry::Session;
use crate::segment::Segment;
use crate::size;

/// Loads segments as views of a registry session: no copy, and every loader of the same file
/// shares one load. Advice, prefault and lock options apply to exactly each loaded range, and a
/// segment's lock lives as long as the segment.
///
/// It maps only when that is sound — as [`Registry::open`] does: a file the OS keeps immutable,
/// or options made with the `unsafe`
/// [`LoadOptions::assume_immutable`](crate::LoadOptions::assume_immutable); any other file is
/// one shared heap copy, still served without a copy per segment.
///
/// ```
/// use loadguard::data::{DataLoader, MappedLoader, SegmentInfo, SegmentKind};
/// use loadguard::os::MemoryOs;
/// use loadguard::{LoadOptions, Registry};
///
/// let fs = MemoryOs::new();
/// fs.write("/m.pte", vec![9u8; 1024]);
/// let registry = Registry::with_os(fs);
/// let loader = MappedLoader::open(&registry, "/m.pte", &LoadOptions::new())?;
/// let info = SegmentInfo::new(SegmentKind::Constant, 0);
/// let seg = loader.load(128, 64, &info)?;
/// assert_eq!((seg.offset(), seg.len()), (128, 64));
/// assert!(loader.load(1000, 64, &info).is_err()); // past the end: OutOfRange
/// # Ok::<(), loadguard::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MappedLoader {
    session: Session,
    opts: LoadOptions,
}

impl MappedLoader {
    /// Opens `path` through `registry` with `opts` (whole-file advice is not applied: each
    /// `load` applies the options to its own range).
    ///
    /// # Errors
    ///
    /// Those of [`Registry::open`].
    #[track_caller]
    pub fn open(registry: &Registry, path: impl AsRef<Path>, opts: &LoadOptions) -> Result<Self> {
        let _site = crate::callsite::enter();
        let whole_file = opts
            .will_need(false)
            .prefault(false)
            .lock(crate::options::LockPolicy::Off);
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

    #[track_caller]
    fn load(&self, offset: u64, len: u64, info: &SegmentInfo) -> Result<Segment> {
        let _site = crate::callsite::enter();
        tracing::trace!(path = %self.session.path().display(), offset, len, ?info.kind, "load");
        self.session.segment_with(offset, len, &self.opts)
    }

    #[track_caller]
    fn load_into(&self, offset: u64, buf: &mut [u8], _info: &SegmentInfo) -> Result<()> {
        let _site = crate::callsite::enter();
        let range = crate::error::range_in(
            self.session.path(),
            offset,
            size::to_u64(buf.len()),
            self.session.len(),
        )?;
        buf.copy_from_slice(&self.session.bytes()[range]);
        Ok(())
    }
}
