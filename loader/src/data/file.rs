//! [`FileLoader`]: positional reads into aligned buffers.

use std::fmt;
use std::path::Path;

use super::{DataLoader, SegmentInfo};
use crate::error::Result;
use crate::os::{Os, OsFile, RealOs};
use crate::segment::Segment;
use crate::size::{self, Alignment};

/// Reads each segment with `pread` into a fresh buffer aligned to the loader's alignment.
///
/// Holds the file open for its lifetime (the read path needs the handle); dropping the loader
/// closes it.
pub struct FileLoader {
    file: Box<dyn OsFile>,
    alignment: Alignment,
}

impl FileLoader {
    /// Opens `path` on the operating system.
    ///
    /// # Errors
    ///
    /// The `open` failure, or [`Error::NotRegularFile`](crate::Error::NotRegularFile).
    #[track_caller]
    pub fn open(path: impl AsRef<Path>, alignment: Alignment) -> Result<Self> {
        Self::open_with(&RealOs, path, alignment)
    }

    /// Opens `path` through an OS seam.
    ///
    /// # Errors
    ///
    /// The `open` failure, or [`Error::NotRegularFile`](crate::Error::NotRegularFile): a
    /// loader reads by offset, which a stream has not.
    #[track_caller]
    pub fn open_with(os: &dyn Os, path: impl AsRef<Path>, alignment: Alignment) -> Result<Self> {
        let _site = crate::callsite::enter();
        let file = os.open(path.as_ref())?;
        if !file.kind().is_regular() {
            return Err(crate::Error::NotRegularFile {
                path: path.as_ref().to_owned(),
                kind: file.kind(),
            });
        }
        Ok(Self { file, alignment })
    }
}

impl DataLoader for FileLoader {
    fn size(&self) -> Result<u64> {
        Ok(self.file.key().len)
    }

    #[track_caller]
    fn load(&self, offset: u64, len: u64, _info: &SegmentInfo) -> Result<Segment> {
        let _site = crate::callsite::enter();
        // Checked against the file's size before allocating: the buffer is never sized by
        // anything larger than the file.
        let range = crate::error::range_in(self.file.path(), offset, len, self.file.key().len)?;
        let buf = self
            .file
            .read_range(offset, range.len(), self.alignment, 1)?;
        Ok(Segment::of_buf(buf, offset))
    }

    #[track_caller]
    fn load_into(&self, offset: u64, buf: &mut [u8], _info: &SegmentInfo) -> Result<()> {
        let _site = crate::callsite::enter();
        crate::error::range_in(
            self.file.path(),
            offset,
            size::to_u64(buf.len()),
            self.file.key().len,
        )?;
        self.file.read_exact_at(buf, offset)
    }
}

impl fmt::Debug for FileLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileLoader")
            .field("path", &self.file.path())
            .field("alignment", &self.alignment)
            .finish_non_exhaustive()
    }
}
