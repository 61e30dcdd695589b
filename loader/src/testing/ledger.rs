//! [`Ledger`]: every OS resource acquired through a tracked seam, counted at acquire and
//! release with its kind and call site.
//!
//! loom tracks leaks of its own `Arc`s only, and sanitizers see memory, not file handles or
//! locked ranges. The ledger covers OS resources: a test (or a fuzz iteration, or a loom model)
//! ends with [`Ledger::assert_balanced`], whose failure lists each leaked resource and where the
//! user's code acquired it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::panic::Location;
use std::path::Path;

use crate::callsite;
use crate::error::Result;
use std::ops::Range;

use crate::os::{Advice, FileKey, FileKind, IdentityPin, Immutable, Mapping, Os, OsFile, Prefault};
use crate::sync::{Arc, Mutex, lock};

/// What kind of OS resource an acquisition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ResourceKind {
    /// An open file descriptor or handle.
    FileHandle,
    /// A memory mapping.
    Mapping,
    /// A range locked in memory.
    MemoryLock,
    /// A buffer of a shared-memory pool.
    PoolBuffer,
    /// A loaded dynamic library.
    Library,
    /// What keeps a copied file's identity from being reused ([`crate::os::OsFile::pin`]).
    IdentityPin,
}

/// One acquisition that has not been released yet.
#[derive(Debug, Clone)]
pub struct Acquisition {
    /// The kind of resource.
    pub kind: ResourceKind,
    /// What it is (a path, a label).
    pub label: String,
    /// Where it was acquired: the user's call of the loadguard operation when known.
    pub site: &'static Location<'static>,
}

impl fmt::Display for Acquisition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} {} acquired at {}",
            self.kind, self.label, self.site
        )
    }
}

/// The resources a [`Ledger`] found unreleased.
#[derive(Debug, Clone)]
pub struct Leaks(pub Vec<Acquisition>);

impl fmt::Display for Leaks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} OS resource(s) leaked:", self.0.len())?;
        for leak in &self.0 {
            writeln!(f, "  - {leak}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Leaks {}

/// A count of OS resources by acquisition. Cheap to clone; clones share the count.
#[derive(Clone, Default)]
pub struct Ledger {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    live: BTreeMap<u64, Acquisition>,
    acquired: HashMap<ResourceKind, u64>,
}

/// Proof of one acquisition; dropping it records the release.
pub struct Receipt {
    ledger: Ledger,
    id: u64,
}

impl Ledger {
    /// An empty ledger.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an acquisition of `kind`, released when the returned receipt drops. The site is
    /// the user's call of the loadguard operation in progress, else the caller of this.
    #[track_caller]
    pub fn acquire(&self, kind: ResourceKind, label: impl fmt::Display) -> Receipt {
        // `Location::caller()` must be called here, not passed as a function: only a direct call
        // sees through `#[track_caller]`.
        let site = callsite::user_site(Location::caller()).unwrap_or(Location::caller());
        self.acquire_at(kind, label, site)
    }

    /// Records an acquisition made at `site`.
    fn acquire_at(
        &self,
        kind: ResourceKind,
        label: impl fmt::Display,
        site: &'static Location<'static>,
    ) -> Receipt {
        let acquisition = Acquisition {
            kind,
            label: label.to_string(),
            site,
        };
        let mut state = lock(&self.state);
        state.next_id += 1;
        let id = state.next_id;
        state.live.insert(id, acquisition);
        *state.acquired.entry(kind).or_default() += 1;
        Receipt {
            ledger: self.clone(),
            id,
        }
    }

    /// Everything acquired and not yet released, oldest first.
    #[must_use]
    pub fn outstanding(&self) -> Vec<Acquisition> {
        lock(&self.state).live.values().cloned().collect()
    }

    /// How many resources of `kind` are held now.
    #[must_use]
    pub fn live(&self, kind: ResourceKind) -> usize {
        lock(&self.state)
            .live
            .values()
            .filter(|a| a.kind == kind)
            .count()
    }

    /// How many resources of `kind` were ever acquired.
    #[must_use]
    pub fn acquired(&self, kind: ResourceKind) -> u64 {
        lock(&self.state).acquired.get(&kind).copied().unwrap_or(0)
    }

    /// `Ok` if every acquisition was released.
    ///
    /// # Errors
    ///
    /// The list of leaks: each resource still held, with where it was acquired.
    pub fn check_balanced(&self) -> std::result::Result<(), Leaks> {
        let live = self.outstanding();
        if live.is_empty() {
            Ok(())
        } else {
            Err(Leaks(live))
        }
    }

    /// Panics, listing each leaked resource and where it was acquired, unless every
    /// acquisition was released.
    #[track_caller]
    pub fn assert_balanced(&self) {
        if let Err(leaks) = self.check_balanced() {
            panic!("{leaks}");
        }
    }

    /// Wraps an OS seam so that the file handles it opens, the mappings it makes and the
    /// ranges it locks are recorded in this ledger.
    pub fn track<O: Os>(&self, os: O) -> TrackedOs<O> {
        TrackedOs {
            inner: os,
            ledger: self.clone(),
            locks: Mutex::new(BTreeMap::new()),
        }
    }
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ledger")
            .field("outstanding", &self.outstanding())
            .finish()
    }
}

impl Drop for Receipt {
    fn drop(&mut self) {
        // The state is shared with every other receipt (behind the ledger's Arc): locking it
        // is required here, unlike a mutex `self` owns outright.
        lock(&self.ledger.state).live.remove(&self.id);
    }
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Receipt({})", self.id)
    }
}

/// An OS seam whose resources are recorded in a [`Ledger`].
pub struct TrackedOs<O> {
    inner: O,
    ledger: Ledger,
    /// Locked address ranges, by start: (end, where it was locked, its receipt). An unlock of
    /// part of a range releases that part (the rest stays recorded, with its original site).
    locks: Mutex<BTreeMap<usize, LockedRange>>,
}

struct LockedRange {
    end: usize,
    site: &'static Location<'static>,
    _receipt: Receipt,
}

impl<O> TrackedOs<O> {
    fn record_lock(&self, range: Range<usize>, site: &'static Location<'static>) {
        let receipt = self.ledger.acquire_at(
            ResourceKind::MemoryLock,
            format_args!("{} bytes at {:#x}", range.len(), range.start),
            site,
        );
        let locked = LockedRange {
            end: range.end,
            site,
            _receipt: receipt,
        };
        lock(&self.locks).insert(range.start, locked);
    }

    fn record_unlock(&self, range: Range<usize>) {
        let removed: Vec<(usize, LockedRange)> = {
            let mut locks = lock(&self.locks);
            let starts: Vec<usize> = locks
                .range(..range.end)
                .filter(|(_, l)| l.end > range.start)
                .map(|(&s, _)| s)
                .collect();
            starts
                .into_iter()
                .filter_map(|s| locks.remove(&s).map(|l| (s, l)))
                .collect()
        };
        // What lay outside the unlocked range stays locked, recorded as before.
        for (start, locked) in removed {
            if start < range.start {
                self.record_lock(start..range.start, locked.site);
            }
            if locked.end > range.end {
                self.record_lock(range.end..locked.end, locked.site);
            }
        }
    }
}

struct TrackedFile {
    file: Box<dyn OsFile>,
    ledger: Ledger,
    // Dropped with the file: the handle's release.
    _receipt: Receipt,
}

impl<O: Os> Os for TrackedOs<O> {
    fn open(&self, path: &Path) -> Result<Box<dyn OsFile>> {
        let file = self.inner.open(path)?;
        let receipt = self
            .ledger
            .acquire(ResourceKind::FileHandle, path.display());
        Ok(Box::new(TrackedFile {
            file,
            ledger: self.ledger.clone(),
            _receipt: receipt,
        }))
    }

    fn stat(&self, path: &Path) -> Result<FileKey> {
        self.inner.stat(path)
    }

    fn advise(
        &self,
        mapping: &Mapping,
        advice: Advice,
        range: Range<usize>,
    ) -> io::Result<Prefault> {
        self.inner.advise(mapping, advice, range)
    }

    #[track_caller]
    fn lock(&self, bytes: &[u8]) -> io::Result<()> {
        self.inner.lock(bytes)?;
        let site = callsite::current().unwrap_or(Location::caller());
        let start = bytes.as_ptr().addr();
        self.record_lock(start..start + bytes.len(), site);
        Ok(())
    }

    fn unlock(&self, bytes: &[u8]) -> io::Result<()> {
        self.inner.unlock(bytes)?;
        let start = bytes.as_ptr().addr();
        self.record_unlock(start..start + bytes.len());
        Ok(())
    }

    fn page_size(&self) -> usize {
        self.inner.page_size()
    }
}

impl TrackedFile {
    fn tracked(&self, mapping: Mapping) -> Mapping {
        let receipt = self
            .ledger
            .acquire(ResourceKind::Mapping, self.path().display());
        mapping.with_guard(receipt)
    }
}

impl OsFile for TrackedFile {
    fn path(&self) -> &Path {
        self.file.path()
    }

    fn key(&self) -> FileKey {
        self.file.key()
    }

    fn kind(&self) -> FileKind {
        self.file.kind()
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.file.read_at(buf, offset)
    }

    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf)
    }

    fn pin(&self) -> Result<Option<IdentityPin>> {
        let Some(pin) = self.file.pin()? else {
            return Ok(None);
        };
        let receipt = self
            .ledger
            .acquire(ResourceKind::IdentityPin, self.path().display());
        Ok(Some(IdentityPin::new((pin, receipt))))
    }

    fn map_immutable(&self, len: usize) -> Result<Option<(Mapping, Immutable)>> {
        let mapped = self.file.map_immutable(len)?;
        Ok(mapped.map(|(mapping, why)| (self.tracked(mapping), why)))
    }

    unsafe fn map_assumed(&self, len: usize) -> Result<Mapping> {
        // SAFETY: forwarded: our caller's guarantee about the file is the inner call's contract.
        let mapping = unsafe { self.file.map_assumed(len) }?;
        Ok(self.tracked(mapping))
    }
}
