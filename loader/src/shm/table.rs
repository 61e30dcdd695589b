//! [`Core`]: what a pool's buffers share — the table of every buffer's record behind one
//! read-mostly lock, the address index published as immutable snapshots, and the seam that
//! allocates and seals.
//!
//! [`Core::find`], the hot lookup, takes no lock and writes no shared memory in the common
//! case: each thread keeps the snapshot it last used (with the pool's identity and the epoch it
//! was published at) and only checks the pool's epoch counter, one atomic load of a cache line
//! that readers never write, so lookups on any number of threads proceed in parallel. A stale
//! epoch refreshes the thread's snapshot under the shared lock. The other lookups (fd
//! duplication, reading retained buffers) take the lock shared. Allocation, free and the phase
//! changes take it exclusively, publish a new snapshot and bump the epoch, and never hold it
//! across an OS call: memory is allocated before its record is inserted, released after it is
//! removed, and sealed while its record is out of the table.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ptr::NonNull;

use super::error::ShmError;
use super::id::{BufferId, Found};
use super::index::{InsertError, RangeIndex};
use super::memory::{Memory, SealKind};
use super::seam::ShmOs;
use crate::error::{Error, Result};
use crate::sync::{Arc, AtomicU64, Ordering, RwLock, get_mut, read, unique_id, write};

/// The start of a buffer's current view.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Start(pub(crate) NonNull<u8>);

// SAFETY: `Start` is an address into memory owned by the `Memory` of one record (heap, fd
// mapping or section view — none has thread affinity). It is dereferenced only by the one
// handle that owns the record (`SharedBuffer`, `SealedBuffer`, `DeviceLease`) or, once retained,
// by shared borrows of the pool, under the exclusion rules each of them documents.
unsafe impl Send for Start {}
// SAFETY: see `Send`: sharing a `Start` shares an address, never access.
unsafe impl Sync for Start {}

impl Start {
    fn addr(self) -> usize {
        self.0.addr().get()
    }
}

/// Which phase a buffer is in, and so what may be handed out of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Mapped writable and owned by a `SharedBuffer`: no fd or handle leaves safely.
    Writable,
    /// Owned by a `DeviceLease`: the fd or handle leaves, no Rust view of the bytes exists.
    Leased,
    /// Read-only, owned by a `SealedBuffer`.
    Sealed,
    /// Read-only and handed back to the pool (`SealedBuffer::into_pool`): the pool's shared
    /// borrows may read it until `release` or the pool's drop.
    Retained,
}

/// One buffer.
pub(crate) struct Record {
    pub(crate) start: Start,
    pub(crate) len: usize,
    pub(crate) phase: Phase,
    pub(crate) memory: Memory,
}

/// Every buffer's record, and the index of their addresses as the snapshot readers share.
#[derive(Default)]
struct Table {
    index: Arc<RangeIndex<BufferId>>,
    records: HashMap<BufferId, Record>,
}

impl Table {
    /// Registers `record`; a refused one comes back (boxed: it is large, and refusal is rare)
    /// so the caller releases it after letting go of the lock.
    fn insert(&mut self, id: BufferId, record: Record) -> Result<(), Box<Record>> {
        let (start, len) = (record.start.addr(), record.len);
        if self
            .edit_index(|index| index.insert(start, len, id))
            .is_err()
        {
            return Err(Box::new(record));
        }
        self.records.insert(id, record);
        Ok(())
    }

    fn remove(&mut self, id: BufferId) -> Option<Record> {
        let record = self.records.remove(&id)?;
        let start = record.start.addr();
        self.edit_index(|index| {
            index.remove(start);
            Ok(())
        })
        .ok()?;
        Some(record)
    }

    /// Applies `edit` to the index: in place when no reader holds the current snapshot, else
    /// to a copy that becomes the new snapshot (readers keep theirs until they refresh).
    fn edit_index(
        &mut self,
        edit: impl FnOnce(&mut RangeIndex<BufferId>) -> Result<(), InsertError>,
    ) -> Result<(), InsertError> {
        if let Some(index) = Arc::get_mut(&mut self.index) {
            return edit(index);
        }
        let mut next = RangeIndex::clone(&self.index);
        edit(&mut next)?;
        self.index = Arc::new(next);
        Ok(())
    }
}

/// A thread's copy of the index snapshot it last used, and whose and which it is.
struct Cached {
    /// The pool's [`Core::key`]: never reused, unlike its address.
    key: u64,
    /// The pool's epoch when the snapshot was taken (it is at least that new).
    epoch: u64,
    index: Arc<RangeIndex<BufferId>>,
}

#[cfg(not(loom))]
std::thread_local!(static CACHE: RefCell<Option<Cached>> = const { RefCell::new(None) });
#[cfg(loom)]
loom::thread_local!(static CACHE: RefCell<Option<Cached>> = RefCell::new(None));

/// What a failed [`Core::seal`] left: the error and, when the buffer is still writable, its
/// (possibly moved) start.
pub(crate) struct SealFailed {
    pub(crate) error: Error,
    pub(crate) writable: Option<Start>,
}

/// The table and the seam, shared by a pool and every handle it gives out.
pub(crate) struct Core {
    table: RwLock<Table>,
    /// Bumped (under the write lock) after every change of the index.
    epoch: AtomicU64,
    /// This pool's identity in the threads' caches.
    key: u64,
    shm: Box<dyn ShmOs>,
    /// `shm:<pool name>`, for errors.
    pub(crate) label: String,
}

impl Core {
    pub(crate) fn new(shm: Box<dyn ShmOs>, name: &str) -> Self {
        Self {
            table: RwLock::new(Table::default()),
            epoch: AtomicU64::new(0),
            key: unique_id(),
            shm,
            label: format!("shm:{name}"),
        }
    }

    /// Runs `change` on the table under the write lock, then bumps the epoch (still under the
    /// lock, so epochs are in the order of the changes they announce).
    fn change<R>(&self, change: impl FnOnce(&mut Table) -> R) -> R {
        let mut table = write(&self.table);
        let result = change(&mut table);
        self.epoch.fetch_add(1, Ordering::Release);
        result
    }

    pub(crate) fn shm(&self) -> &dyn ShmOs {
        &*self.shm
    }

    /// Registers fresh writable `memory` as buffer `id` and returns its start.
    pub(crate) fn insert_writable(&self, id: BufferId, memory: Memory) -> Result<Start> {
        let start = match memory.start() {
            Some(start) if memory.is_writable() => Start(start),
            _ => return Err(seam_broke("alloc returned memory that is not writable")),
        };
        let record = Record {
            start,
            len: memory.len(),
            phase: Phase::Writable,
            memory,
        };
        let refused = self.change(|table| table.insert(id, record));
        // Released (if refused) after the lock is let go.
        match refused {
            Ok(()) => Ok(start),
            Err(_record) => Err(seam_broke(
                "alloc returned memory overlapping a live buffer",
            )),
        }
    }

    /// Removes buffer `id`; its memory is released after the lock is let go.
    pub(crate) fn free(&self, id: BufferId) {
        let record = self.change(|table| table.remove(id));
        debug_assert!(record.is_some(), "shm record of {id} missing");
        drop(record);
    }

    /// Moves buffer `id` from phase `from` to `to`.
    pub(crate) fn set_phase(&self, id: BufferId, from: Phase, to: Phase) {
        let mut table = write(&self.table);
        if let Some(record) = table.records.get_mut(&id) {
            debug_assert_eq!(record.phase, from, "{id}");
            record.phase = to;
        }
    }

    /// Seals writable buffer `id` through the seam, with its record out of the table meanwhile
    /// (lookups do not see it while the OS calls run; no handle to it exists, its owner is being
    /// consumed). Returns the read-only start and how it is sealed.
    pub(crate) fn seal(&self, id: BufferId) -> Result<(Start, SealKind), SealFailed> {
        let failed = |error, writable| SealFailed { error, writable };
        let Some(mut record) = self.change(|table| table.remove(id)) else {
            return Err(failed(
                seam_broke("sealed buffer missing from its pool"),
                None,
            ));
        };
        let sealed = self.shm.seal(&mut record.memory);
        let memory = &record.memory;
        let outcome = match (sealed, memory.seal_kind(), memory.start()) {
            (Ok(()), Some(kind), Some(start)) => Ok((Start(start), kind)),
            (Ok(()), None, _) => Err(seam_broke("seal returned Ok but did not seal")),
            (Ok(()), Some(_), None) => Err(seam_broke("sealed memory has no view")),
            (Err(error), _, _) => Err(error),
        };
        let (phase, start, result) = match outcome {
            Ok((start, kind)) => (Phase::Sealed, start, Ok((start, kind))),
            Err(error) => match memory.start() {
                // Still writable (the seal was refused or never happened): back to its owner.
                Some(start) if memory.is_writable() => (Phase::Writable, Start(start), Err(error)),
                // Sealed with an error, or unmapped: release it.
                _ => return Err(failed(error, None)),
            },
        };
        record.start = start;
        record.phase = phase;
        // A refused record is released after the lock is let go (end of this statement).
        let inserted = self.change(|table| table.insert(id, record));
        match (inserted, result) {
            (Ok(()), Ok(done)) => Ok(done),
            (Ok(()), Err(error)) => Err(failed(error, Some(start))),
            (Err(_record), Ok(_)) => Err(failed(
                seam_broke("sealed memory overlaps a live buffer"),
                None,
            )),
            (Err(_record), Err(error)) => Err(failed(error, None)),
        }
    }

    /// Which buffer contains all of `[addr, addr + len)`: in this thread's cached snapshot of
    /// the index when it is current (no lock), else in a fresh one.
    pub(crate) fn find(&self, addr: usize, len: usize) -> Option<Found> {
        // Acquire: pairs with the Release bump of `change`, so a snapshot read after seeing
        // epoch `e` is at least as new as the change that published `e`.
        let epoch = self.epoch.load(Ordering::Acquire);
        let cached = CACHE.try_with(|cache| {
            let mut cache = cache.borrow_mut();
            let current = cache
                .as_ref()
                .is_some_and(|c| c.key == self.key && c.epoch == epoch);
            if !current {
                let index = Arc::clone(&read(&self.table).index);
                // The snapshot replaced here may be the last reference to an old one: freed now.
                *cache = Some(Cached {
                    key: self.key,
                    epoch,
                    index,
                });
            }
            cache.as_ref().and_then(|c| found(&c.index, addr, len))
        });
        // No thread-local storage any more (a lookup from a thread-local destructor).
        cached.unwrap_or_else(|_| found(&read(&self.table).index, addr, len))
    }

    /// Number of buffers in the table.
    pub(crate) fn len(&self) -> usize {
        read(&self.table).records.len()
    }

    /// Runs `f` on buffer `id`'s record under the shared lock (so the record, and its fd,
    /// cannot be freed meanwhile).
    pub(crate) fn with_record<R>(&self, id: BufferId, f: impl FnOnce(&Record) -> R) -> Option<R> {
        read(&self.table).records.get(&id).map(f)
    }

    /// Removes buffer `id` whatever its phase; `&mut` proves no handle borrows the pool.
    pub(crate) fn release(&mut self, id: BufferId) -> bool {
        let record = get_mut(&mut self.table).remove(id);
        // No lookup can run meanwhile (`&mut`), but later ones must not use a cached snapshot.
        self.epoch.fetch_add(1, Ordering::Release);
        record.is_some()
    }

    /// Removes every buffer; `&mut` proves no handle borrows the pool. Returns how many.
    pub(crate) fn release_all(&mut self) -> usize {
        let table = get_mut(&mut self.table);
        table.index = Arc::default();
        let released = table.records.len();
        table.records.clear();
        self.epoch.fetch_add(1, Ordering::Release);
        released
    }
}

fn found(index: &RangeIndex<BufferId>, addr: usize, len: usize) -> Option<Found> {
    index.find(addr, len).map(|hit| Found {
        id: *hit.value,
        offset: hit.offset,
        buffer_len: hit.len,
    })
}

fn seam_broke(what: &'static str) -> Error {
    ShmError::Seam { what }.into()
}
