//! [`Registry`]: one load per file, shared by every session that opens it.
//!
//! Sessions find their file by its identity ([`FileKey`](crate::os::FileKey): device + inode or
//! volume + file index, plus size and times), never by path, in a hash map. The registry holds
//! no strong reference to a loaded file: each entry counts its sessions and is removed when the
//! last one drops, so the map cannot grow without bound and the load goes away with its last
//! user. While an entry lives it pins its file (a mapping does by itself; a copy keeps an
//! [`IdentityPin`](crate::os::IdentityPin), a page of the file mapped with no access), so the
//! file's inode cannot be freed and its number given to a new file that could be mistaken for
//! it — and no entry holds a file descriptor.

use std::fmt;
use std::path::Path;
use std::sync::Arc as StdArc;

use crate::error::{Error, Result};
use crate::load;
use crate::options::LoadOptions;
use crate::os::{Os, OsFile, RealOs};
use crate::progress::{LoadProgress, Observer};
use crate::sync::{Arc, Ordering, lock};

mod entry;
mod session;

use entry::{Claim, EntryKey, Table};
pub use session::Session;

/// A registry of loaded files.
///
/// Cheap to clone (clones share the registry). No process-wide instance exists or is needed:
/// create one per runtime, or per test, and drop it whenever; sessions keep what they use alive.
///
/// ```
/// use loadguard::{LoadOptions, Registry};
///
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("model.bin");
/// # std::fs::write(&path, vec![7u8; 1 << 16])?;
/// let registry = Registry::new();
/// let a = registry.open(&path, &LoadOptions::new())?;
/// let b = registry.open(&path, &LoadOptions::new())?;
/// assert!(a.shares_with(&b)); // one copy of the file for both sessions
/// assert_eq!(registry.loads(), 1);
/// // An ordinary file can change under a mapping, so the safe default shares a heap copy.
/// assert_eq!(a.load_path().name(), "read");
/// drop((a, b));
/// assert_eq!(registry.live_files(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    // Immutable after construction, so std's Arc (not a modelled sync primitive) suffices.
    os: StdArc<dyn Os>,
    table: Arc<Table>,
    page: usize,
}

impl Registry {
    /// A registry over the operating system's files.
    #[must_use]
    pub fn new() -> Self {
        Self::with_os(RealOs)
    }

    /// A registry over another OS seam, e.g. [`MemoryOs`](crate::os::MemoryOs) in tests and
    /// under Miri, or a [ledger](crate::testing)-tracked one.
    pub fn with_os(os: impl Os) -> Self {
        let page = os.page_size();
        Self {
            inner: Arc::new(Inner {
                os: StdArc::new(os),
                table: Arc::new(Table::new()),
                page,
            }),
        }
    }

    /// Opens `path` as a session, sharing the file's load with every other session of this
    /// registry that has the same file open with the same options.
    ///
    /// Whether the file is mapped or copied is decided by `opts` (see [`LoadMode`] and
    /// [`LoadOptions::assume_immutable`]) and reported by [`Session::load_path`]. A file this
    /// registry already holds is recognised with one `statx`/`stat` of the path (skipped while
    /// the registry holds nothing); otherwise it is opened, identified through its handle and
    /// loaded. A mapping needs no handle: it is
    /// closed before this returns.
    ///
    /// # Errors
    ///
    /// - [`Error::Os`] for the failing `open`, `statx`, `mmap`, `pread`, `madvise` or `mlock`;
    /// - [`Error::NotRegularFile`] for a FIFO, device, directory, socket or pseudo-file unless
    ///   the options [read streams](LoadOptions::read_streams), and
    ///   [`Error::StreamTooLong`] past the stream limit;
    /// - [`Error::MapRefused`] in [`LoadMode::Map`] for a file that could change under a
    ///   mapping without [`assume_immutable`](LoadOptions::assume_immutable);
    /// - [`Error::Size`] for a file larger than the address space, [`Error::Truncated`] if it
    ///   shrinks while it is read, [`Error::ShrunkUnderMapping`] if a prefault finds it shorter
    ///   than its mapping.
    ///
    /// [`LoadMode`]: crate::LoadMode
    /// [`LoadMode::Map`]: crate::LoadMode::Map
    #[track_caller]
    pub fn open(&self, path: impl AsRef<Path>, opts: &LoadOptions) -> Result<Session> {
        let _site = crate::callsite::enter();
        self.open_observed(path.as_ref(), opts, None)
    }

    /// [`open`](Self::open), telling `progress` how far a load has got — after each chunk
    /// read into a copy, or prefaulted into a mapping — from whichever thread did it. Nothing is
    /// reported for a file this registry already holds (there is nothing to load) or for a
    /// mapping without [`prefault`](LoadOptions::prefault) (its pages load on first touch).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use loadguard::{LoadMode, LoadOptions, LoadProgress, Registry};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("model.bin");
    /// # std::fs::write(&path, vec![1u8; 100 << 20])?;
    /// let seen = AtomicU64::new(0);
    /// let registry = Registry::new();
    /// let opts = LoadOptions::new().mode(LoadMode::Read);
    /// let session = registry.open_with_progress(&path, &opts, &|p: LoadProgress| {
    ///     seen.fetch_max(p.done, Ordering::Relaxed);
    ///     eprint!("\r{} / {} MiB", p.done >> 20, p.total >> 20);
    /// })?;
    /// assert_eq!(seen.load(Ordering::Relaxed), session.len());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`open`](Self::open).
    #[track_caller]
    pub fn open_with_progress(
        &self,
        path: impl AsRef<Path>,
        opts: &LoadOptions,
        progress: &(dyn Fn(LoadProgress) + Sync),
    ) -> Result<Session> {
        let _site = crate::callsite::enter();
        self.open_observed(path.as_ref(), opts, Some(progress))
    }

    fn open_observed(
        &self,
        path: &Path,
        opts: &LoadOptions,
        observer: Observer<'_>,
    ) -> Result<Session> {
        let span = tracing::debug_span!("session_open", path = %path.display());
        let _enter = span.enter();
        if opts.stream_limit().is_none() {
            if let Some(session) = self.hit(path, opts)? {
                return Ok(session);
            }
        }
        // Owned from the line that acquires it: every `?` below closes the handle.
        let file = self.inner.os.open(path)?;
        if !file.kind().is_regular() {
            return self.open_stream(path, &*file, opts);
        }
        let key = EntryKey::new(file.key(), opts, self.inner.page);
        let claim = Claim::new(&self.inner.table, key);
        let region = {
            let mut cell = lock(&claim.entry().region);
            match &*cell {
                Some(region) => region.clone(),
                None => {
                    let region = load::load_whole(&self.inner.os, &*file, opts, observer)?;
                    let region = Arc::new(region);
                    self.inner.table.loads.fetch_add(1, Ordering::Relaxed);
                    *cell = Some(region.clone());
                    region
                }
            }
        };
        Session::start(path, Some(claim), region, opts, observer)
    }

    /// The fast path: one `stat` of the path, and a live entry of that identity. The entry pins
    /// its file, so an equal identity is that very file, as the path named it at the `stat`.
    /// `None` sends the caller down the full open (which reports any error properly).
    fn hit(&self, path: &Path, opts: &LoadOptions) -> Result<Option<Session>> {
        // Nothing live, nothing to hit: skip the `stat`. An entry another thread adds
        // meanwhile is still shared — the full open claims it by the opened file's identity.
        if lock(&self.inner.table.entries).is_empty() {
            return Ok(None);
        }
        let Ok(file) = self.inner.os.stat(path) else {
            return Ok(None);
        };
        let key = EntryKey::new(file, opts, self.inner.page);
        let Some(claim) = Claim::existing(&self.inner.table, key) else {
            return Ok(None);
        };
        // Waits while another thread loads it; `None` after that means its load failed.
        let region = lock(&claim.entry().region).clone();
        match region {
            Some(region) => {
                tracing::trace!("registry hit");
                Session::start(path, Some(claim), region, opts, None).map(Some)
            }
            None => Ok(None),
        }
    }

    fn open_stream(&self, path: &Path, file: &dyn OsFile, opts: &LoadOptions) -> Result<Session> {
        let limit = opts.stream_limit().filter(|_| file.kind().is_stream());
        let Some(limit) = limit else {
            return Err(Error::NotRegularFile {
                path: path.to_owned(),
                kind: file.kind(),
            });
        };
        let region = load::load_stream(&self.inner.os, file, limit, opts)?;
        Session::start(path, None, Arc::new(region), opts, None)
    }

    /// How many times this registry has mapped or read a whole file. With every session of a
    /// file sharing one load, this stays at one per distinct file however many sessions open it.
    #[must_use]
    pub fn loads(&self) -> usize {
        self.inner.table.loads.load(Ordering::Relaxed)
    }

    /// How many distinct loaded files have live sessions.
    #[must_use]
    pub fn live_files(&self) -> usize {
        lock(&self.inner.table.entries).len()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("live_files", &self.live_files())
            .field("loads", &self.loads())
            .finish_non_exhaustive()
    }
}
