//! [`Registry`]: one mapping (or one heap copy) per file, shared by every session that opens it.
//!
//! Sessions find their file by its identity ([`FileKey`]: device + inode or volume + file index,
//! plus size and modification time), never by path, in a hash map. The registry holds no strong
//! reference to a loaded file: each entry counts its sessions and is removed when the last one
//! drops, so the map cannot grow without bound and the mapping goes away with its last user.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use crate::error::Result;
use crate::load;
use crate::options::{LoadMode, LoadOptions};
use crate::os::{FileKey, Os, RealOs};
use crate::region::Region;
use crate::session::Session;
use crate::size::Alignment;
use crate::sync::{Arc, AtomicUsize, Mutex, Ordering, lock};

/// What sessions share: the same file loaded the same way. A read-mode session never receives
/// a mapping and a map-mode session never receives a heap copy, so the mode (and the read
/// path's alignment) are part of the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct EntryKey {
    file: FileKey,
    mode: LoadMode,
    alignment: Alignment,
}

/// A registry of loaded files.
///
/// Cheap to clone (clones share the registry). No process-wide instance exists or is needed:
/// create one per runtime, or per test, and drop it whenever; sessions keep what they use alive.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    // Immutable after construction, so std's Arc (not a modelled sync primitive) suffices.
    os: std::sync::Arc<dyn Os>,
    entries: Mutex<HashMap<EntryKey, Slot>>,
    loads: AtomicUsize,
}

struct Slot {
    sessions: usize,
    entry: Arc<Entry>,
}

/// One file's shared state. Its own lock serialises the first load of that file only, so N
/// threads opening it at once create exactly one mapping while other files load in parallel.
#[derive(Default)]
pub(crate) struct Entry {
    region: Mutex<Option<Arc<Region>>>,
}

/// A session's share of an entry: counted in on creation, counted out on drop.
pub(crate) struct Claim {
    inner: Arc<Inner>,
    key: EntryKey,
    entry: Arc<Entry>,
}

impl Registry {
    /// A registry over the operating system's files.
    #[must_use]
    pub fn new() -> Self {
        Self::with_os(RealOs)
    }

    /// A registry over another OS seam, e.g. [`crate::os::MemoryOs`] in tests and under Miri.
    pub fn with_os(os: impl Os) -> Self {
        Self {
            inner: Arc::new(Inner {
                os: std::sync::Arc::new(os),
                entries: Mutex::new(HashMap::new()),
                loads: AtomicUsize::new(0),
            }),
        }
    }

    /// Opens `path` as a session, sharing the file's mapping (or heap copy) with every other
    /// session of this registry that has the same file open with the same mode.
    ///
    /// The file handle is closed before this returns: the mapping does not need it.
    #[track_caller]
    pub fn open(&self, path: impl AsRef<Path>, opts: &LoadOptions) -> Result<Session> {
        let _site = crate::callsite::enter();
        let path = path.as_ref();
        let span = tracing::debug_span!("session_open", path = %path.display());
        let _enter = span.enter();
        // Owned from the line that acquires it: every `?` below closes the handle.
        let file = self.inner.os.open(path)?;
        let key = EntryKey {
            file: file.key(),
            mode: opts.mode,
            alignment: opts.alignment,
        };
        let claim = Claim::new(&self.inner, key);
        let region = {
            let mut cell = lock(&claim.entry.region);
            match &*cell {
                Some(region) => region.clone(),
                None => {
                    let region = Arc::new(load::load_whole(&self.inner.os, &*file, opts)?);
                    self.inner.loads.fetch_add(1, Ordering::Relaxed);
                    *cell = Some(region.clone());
                    region
                }
            }
        };
        drop(file);
        let len = region.as_slice().len();
        region.apply(0..len, opts)?;
        tracing::debug!(load_path = %region.load_path(), len, "session opened");
        Ok(Session::new(path, claim, region))
    }

    /// How many times this registry has mapped or read a whole file. With every session of a
    /// file sharing one load, this stays at one per distinct file however many sessions open it.
    #[must_use]
    pub fn loads(&self) -> usize {
        self.inner.loads.load(Ordering::Relaxed)
    }

    /// How many distinct loaded files have live sessions.
    #[must_use]
    pub fn live_files(&self) -> usize {
        lock(&self.inner.entries).len()
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

impl Claim {
    fn new(inner: &Arc<Inner>, key: EntryKey) -> Self {
        let mut entries = lock(&inner.entries);
        let slot = entries.entry(key).or_insert_with(|| Slot {
            sessions: 0,
            entry: Arc::new(Entry::default()),
        });
        slot.sessions += 1;
        Self {
            inner: inner.clone(),
            key,
            entry: slot.entry.clone(),
        }
    }

    /// Another claim on the same entry (a cloned session).
    pub(crate) fn share(&self) -> Self {
        let mut entries = lock(&self.inner.entries);
        if let Some(slot) = entries.get_mut(&self.key) {
            slot.sessions += 1;
        }
        Self {
            inner: self.inner.clone(),
            key: self.key,
            entry: self.entry.clone(),
        }
    }

    pub(crate) fn key(&self) -> FileKey {
        self.key.file
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        // The entries lock is shared with every other session (it lives behind the registry's
        // Arc): taking it here is needed, unlike locking a mutex `self` owns outright.
        let removed = {
            let mut entries = lock(&self.inner.entries);
            match entries.get_mut(&self.key) {
                Some(slot) if slot.sessions > 1 => {
                    slot.sessions -= 1;
                    None
                }
                Some(_) => entries.remove(&self.key),
                None => None,
            }
        };
        // Dropped after the registry lock is released, so unmapping a large file never stalls
        // other sessions' opens.
        drop(removed);
    }
}
