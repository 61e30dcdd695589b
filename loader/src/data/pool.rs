//! Loading a segment into a shared-memory pool buffer: the glue from the data loaders to
//! [`shm`](crate::shm), kept here so that `shm` depends on nothing of the load path.

use std::path::Path;

use super::{DataLoader, FileLoader, SegmentInfo, SegmentKind};
use crate::error::Result;
use crate::shm::{Pool, SealedBuffer};
use crate::size::Alignment;

/// Allocates a buffer of `len` bytes from `pool`, fills it with `[offset, offset + len)` of
/// `loader` through [`DataLoader::load_into`] — for a [`FileLoader`], one `pread` straight into
/// the fd-backed memory — and seals it: a loaded segment is read-only, and its fd (a sealed
/// memfd's) can go to a driver. [`SealedBuffer::provider`] says which provider served.
///
/// The range is checked against the loader's size before anything is allocated.
///
/// ```
/// use loadguard::data::{MemoryLoader, SegmentInfo, SegmentKind, load_segment_into_pool};
/// use loadguard::shm::{Pool, PoolOptions, Provider};
///
/// let loader = MemoryLoader::new((0..=255).collect::<Vec<u8>>());
/// let pool = Pool::with_options(PoolOptions::new().providers([Provider::Heap]));
/// let info = SegmentInfo::new(SegmentKind::Constant, 0);
/// let segment = load_segment_into_pool(&pool, &loader, 16, 4, &info)?;
/// assert_eq!(&segment[..], &[16, 17, 18, 19]);
/// # Ok::<(), loadguard::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::OutOfRange`](crate::Error::OutOfRange) (naming the pool) when the range is not
/// inside the loader's source, [`ShmError::ZeroLength`](crate::shm::ShmError::ZeroLength)
/// for `len == 0`, the allocation error of the last provider tried, the loader's read error,
/// or the seal's failure.
#[track_caller]
pub fn load_segment_into_pool<'p>(
    pool: &'p Pool,
    loader: &dyn DataLoader,
    offset: u64,
    len: u64,
    info: &SegmentInfo,
) -> Result<SealedBuffer<'p>> {
    let _site = crate::callsite::enter();
    let label = format!("shm:{}", pool.name());
    let range = crate::error::range_in(label.as_ref(), offset, len, loader.size()?)?;
    let mut buf = pool.alloc(range.len())?;
    loader.load_into(offset, &mut buf, info)?;
    let sealed = buf.seal()?;
    tracing::debug!(
        id = %sealed.id(),
        provider = %sealed.provider(),
        offset,
        len,
        "segment loaded into shm buffer"
    );
    Ok(sealed)
}

/// Reads `[offset, offset + len)` of the file at `path` into a new sealed buffer of `pool`
/// with `pread` (one copy from the page cache into the fd-backed memory, none after), for a
/// backend that wants the segment *and* its fd.
///
/// # Errors
///
/// The file's open error, [`Error::OutOfRange`](crate::Error::OutOfRange) (naming the file)
/// when the range is not inside it, [`ShmError::ZeroLength`](crate::shm::ShmError::ZeroLength)
/// for `len == 0`, an allocation error from the last provider tried, a read error
/// ([`Error::Truncated`](crate::Error::Truncated) if the file shrank meanwhile), or the
/// seal's failure.
#[track_caller]
pub fn load_into_pool<'p>(
    pool: &'p Pool,
    path: impl AsRef<Path>,
    offset: u64,
    len: u64,
) -> Result<SealedBuffer<'p>> {
    let _site = crate::callsite::enter();
    let path = path.as_ref();
    let loader = FileLoader::open(path, Alignment::DEFAULT)?;
    // Checked here too so that a range error names the file, not the pool.
    crate::error::range_in(path, offset, len, loader.size()?)?;
    load_segment_into_pool(
        pool,
        &loader,
        offset,
        len,
        &SegmentInfo::new(SegmentKind::Constant, 0),
    )
}
