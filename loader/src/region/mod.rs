//! The bytes of one loaded file — a mapping, a shared heap copy, or nothing — and the residency
//! operations on them (advice, prefault, page-counted locks).

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc as StdArc;

use crate::aligned::AlignedBuf;
use crate::error::{Error, Result};
use crate::options::{LoadOptions, LockPolicy};
use crate::os::{Advice, IdentityPin, Mapping, Os};
use crate::progress::{LoadProgress, Observer};
use crate::sync::{self, Arc, AtomicU64, Mutex, Ordering, lock};

mod locks;
mod path;

use locks::PageCounts;
pub use path::{LoadPath, MapReason, ReadReason};

pub(crate) enum Backing {
    Empty,
    Map(Mapping),
    Heap(AlignedBuf),
}

/// The bytes of one loaded file, shared by every session of it.
pub(crate) struct Region {
    /// The seam the region was loaded through: advice and locks go back through it.
    os: StdArc<dyn Os>,
    path: PathBuf,
    backing: Backing,
    load_path: LoadPath,
    /// For a copied file: what keeps its inode from being freed and its number reused by a new
    /// file while this copy can still be handed out by identity (a mapping pins its file by
    /// itself). See [`crate::os::FileKey`] and [`crate::os::OsFile::pin`].
    _pin: Option<IdentityPin>,
    /// How many live [`LockGuard`]s hold each page.
    locks: Mutex<PageCounts>,
    page: usize,
}

/// One live lock of a range of a region, unlocked (page by page, as no other live lock still
/// needs the page) when dropped.
pub(crate) struct LockGuard {
    region: Arc<Region>,
    pages: Range<usize>,
}

impl Region {
    pub(crate) fn new(
        os: &StdArc<dyn Os>,
        path: &Path,
        backing: Backing,
        load_path: LoadPath,
        pin: Option<IdentityPin>,
    ) -> Self {
        Self {
            page: os.page_size().max(1),
            os: os.clone(),
            path: path.to_owned(),
            backing,
            load_path,
            _pin: pin,
            locks: Mutex::new(PageCounts::default()),
        }
    }

    /// The loaded bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        match &self.backing {
            Backing::Empty => &[],
            Backing::Map(map) => map.as_slice(),
            Backing::Heap(buf) => buf,
        }
    }

    /// Which path the load took.
    pub(crate) fn load_path(&self) -> &LoadPath {
        &self.load_path
    }

    /// Applies the advice, prefault and lock options to exactly `range` (already checked to lie
    /// inside the region). A lock lives as long as the returned guard.
    ///
    /// # Errors
    ///
    /// The `madvise` failure; [`Error::ShrunkUnderMapping`] when a prefault finds the file
    /// shorter than `range`; the `mlock` failure under [`LockPolicy::Lock`].
    /// (An associated function rather than a method: `&Arc<Self>` receivers need loom's `Arc`
    /// to be a receiver type, which it is not.)
    pub(crate) fn apply(
        this: &Arc<Self>,
        range: Range<usize>,
        opts: &LoadOptions,
        observer: Observer<'_>,
    ) -> Result<Option<LockGuard>> {
        if range.is_empty() {
            return Ok(None);
        }
        // Heap copies are resident already: advice is for mappings.
        if let Backing::Map(map) = &this.backing {
            if opts.will_need {
                this.advise(map, Advice::WillNeed, range.clone())?;
            }
            if opts.prefault {
                this.prefault(map, range.clone(), observer)?;
            }
        }
        match opts.lock {
            LockPolicy::Off => Ok(None),
            policy => Self::lock_range(this, range, policy),
        }
    }

    /// Prefaults `range` in chunks, several at once for a large range (a cold file then has
    /// several reads in flight instead of one fault at a time), reporting progress per chunk.
    fn prefault(&self, map: &Mapping, range: Range<usize>, observer: Observer<'_>) -> Result<()> {
        let total = crate::size::to_u64(range.len());
        let done = AtomicU64::new(0);
        // The chunks are of the range, not of memory: a slice of `()` (which allocates nothing)
        // is what `for_each_chunk` splits.
        let mut units = vec![(); range.len()];
        let threads = sync::threads_for(range.len());
        sync::for_each_chunk(&mut units, sync::CHUNK, threads, |offset, chunk| {
            let start = range.start + offset;
            self.advise(map, Advice::Prefault, start..start + chunk.len())?;
            let n = crate::size::to_u64(chunk.len());
            let now = done.fetch_add(n, Ordering::Relaxed).saturating_add(n);
            if let Some(observe) = observer {
                observe(LoadProgress { done: now, total });
            }
            Ok(())
        })
    }

    fn advise(&self, map: &Mapping, advice: Advice, range: Range<usize>) -> Result<()> {
        let op = match advice {
            Advice::Prefault => "madvise(MADV_POPULATE_READ)",
            _ => "madvise(MADV_WILLNEED)",
        };
        match self.os.advise(map, advice, range.clone()) {
            Ok(how) => {
                tracing::debug!(path = %self.path.display(), ?advice, ?how, ?range, "advised");
                Ok(())
            }
            // MADV_POPULATE_READ's answer for a page past the end of the file.
            Err(e) if advice == Advice::Prefault && is_efault(&e) => {
                Err(Error::ShrunkUnderMapping {
                    path: self.path.clone(),
                    offset: crate::size::to_u64(range.start),
                    len: crate::size::to_u64(range.len()),
                })
            }
            Err(e) => Err(Error::from_io(op, &self.path, &e)
                .with_arg("offset", range.start)
                .with_arg("len", range.len())),
        }
    }

    /// The pages (by absolute page number) holding `range` of the bytes.
    fn pages_of(&self, range: &Range<usize>) -> Range<usize> {
        let base = self.as_slice().as_ptr().addr();
        let start = base.saturating_add(range.start) / self.page;
        let end = base.saturating_add(range.end).div_ceil(self.page);
        start..end
    }

    /// The part of the bytes lying in `pages` (the OS rounds it back out to those pages; the
    /// bytes of a mapping or page-padded copy own every page they touch).
    fn bytes_of(&self, pages: &Range<usize>) -> &[u8] {
        let bytes = self.as_slice();
        let base = bytes.as_ptr().addr();
        let start = pages.start.saturating_mul(self.page).saturating_sub(base);
        let end = pages.end.saturating_mul(self.page).saturating_sub(base);
        let end = end.min(bytes.len());
        bytes.get(start.min(end)..end).unwrap_or_default()
    }

    fn lock_range(
        this: &Arc<Self>,
        range: Range<usize>,
        policy: LockPolicy,
    ) -> Result<Option<LockGuard>> {
        let region = &**this;
        let pages = region.pages_of(&range);
        let outcome = {
            let mut counts = lock(&region.locks);
            let before = counts.clone();
            let fresh = counts.add(pages.clone());
            let mut locked: Vec<&[u8]> = Vec::new();
            let mut failure = None;
            for run in &fresh {
                let bytes = region.bytes_of(run);
                match region.os.lock(bytes) {
                    Ok(()) => locked.push(bytes),
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            if failure.is_some() {
                // Undo this call alone: what it locked, and its counts.
                for bytes in locked {
                    if let Err(e) = region.os.unlock(bytes) {
                        tracing::warn!(path = %region.path.display(), error = %e, "munlock failed");
                    }
                }
                *counts = before;
            }
            failure
        };
        match outcome {
            None => Ok(Some(LockGuard {
                region: this.clone(),
                pages,
            })),
            Some(e) if policy == LockPolicy::LockIgnoreErrors => {
                tracing::warn!(
                    path = %region.path.display(), offset = range.start, len = range.len(),
                    error = %e, "mlock failed; going on unlocked as the policy allows"
                );
                Ok(None)
            }
            Some(e) => Err(Error::from_io("mlock", &region.path, &e)
                .with_arg("offset", range.start)
                .with_arg("len", range.len())),
        }
    }

    fn unlock_pages(&self, pages: Range<usize>) {
        // The counts are shared by every guard of the region (behind its Arc): taking the lock
        // in `LockGuard::drop` is required, unlike locking a mutex the guard owns outright.
        let mut counts = lock(&self.locks);
        for run in counts.remove(pages) {
            if let Err(e) = self.os.unlock(self.bytes_of(&run)) {
                tracing::warn!(path = %self.path.display(), error = %e, "munlock failed");
            }
        }
    }
}

fn is_efault(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(rustix::io::Errno::FAULT.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

impl LockGuard {
    /// Another lock of the same pages (a cloned session). They are locked already, so this only
    /// counts.
    pub(crate) fn share(&self) -> Self {
        let fresh = lock(&self.region.locks).add(self.pages.clone());
        debug_assert!(fresh.is_empty(), "a live guard's pages are locked");
        Self {
            region: self.region.clone(),
            pages: self.pages.clone(),
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        self.region.unlock_pages(self.pages.clone());
    }
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LockGuard(pages {:?})", self.pages)
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
