//! [`MemoryLoader`]: bytes that already live in memory.

use std::path::PathBuf;

use bytes::Bytes;

use super::{DataLoader, SegmentInfo};
use crate::error::{MEMORY_LABEL, Result};
use crate::segment::Segment;
use crate::size;

/// Serves segments of a `Bytes` without copying.
#[derive(Debug, Clone)]
pub struct MemoryLoader {
    label: PathBuf,
    bytes: Bytes,
}

impl MemoryLoader {
    /// A loader over `bytes`; errors name the source `<memory>`.
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        Self {
            label: PathBuf::from(MEMORY_LABEL),
            bytes: bytes.into(),
        }
    }
}

impl DataLoader for MemoryLoader {
    fn size(&self) -> Result<u64> {
        Ok(size::to_u64(self.bytes.len()))
    }

    #[track_caller]
    fn load(&self, offset: u64, len: u64, _info: &SegmentInfo) -> Result<Segment> {
        let _site = crate::callsite::enter();
        let range = crate::error::range_in(&self.label, offset, len, self.size()?)?;
        Ok(Segment::of_bytes(self.bytes.slice(range), offset))
    }

    #[track_caller]
    fn load_into(&self, offset: u64, buf: &mut [u8], _info: &SegmentInfo) -> Result<()> {
        let _site = crate::callsite::enter();
        let range =
            crate::error::range_in(&self.label, offset, size::to_u64(buf.len()), self.size()?)?;
        buf.copy_from_slice(&self.bytes[range]);
        Ok(())
    }
}
