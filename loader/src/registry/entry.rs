//! The registry's table: one [`Entry`] per loaded file, counted by the [`Claim`]s of its
//! sessions.

use std::collections::HashMap;

use crate::options::{LoadMode, LoadOptions};
use crate::os::FileKey;
use crate::region::Region;
use crate::size::Alignment;
use crate::sync::{Arc, AtomicUsize, Mutex, lock};

/// What sessions share: the same file loaded the same way. A read-mode session never receives
/// a mapping and a map-mode session never receives a heap copy, so the mode is part of the
/// key; so is whether the options [assume the file immutable](LoadOptions::assume_immutable),
/// so a safe caller is never handed a mapping made on someone else's promise; and so is the
/// copy's alignment (every copy is page-aligned, so alignments up to a page share one copy).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct EntryKey {
    pub(crate) file: FileKey,
    mode: LoadMode,
    assumed: bool,
    alignment: Alignment,
}

impl EntryKey {
    pub(crate) fn new(file: FileKey, opts: &LoadOptions, page: usize) -> Self {
        let page = Alignment::new(page).unwrap_or_default();
        Self {
            file,
            mode: opts.mode,
            assumed: opts.is_assumed_immutable() && opts.mode != LoadMode::Read,
            alignment: opts.alignment.max(page),
        }
    }
}

pub(crate) struct Table {
    pub(crate) entries: Mutex<HashMap<EntryKey, Slot>>,
    pub(crate) loads: AtomicUsize,
}

pub(crate) struct Slot {
    sessions: usize,
    entry: Arc<Entry>,
}

/// One file's shared state. Its own lock serialises the first load of that file only, so N
/// threads opening it at once create exactly one mapping while other files load in parallel.
#[derive(Default)]
pub(crate) struct Entry {
    pub(crate) region: Mutex<Option<Arc<Region>>>,
}

/// A session's share of an entry: counted in on creation, counted out on drop.
pub(crate) struct Claim {
    table: Arc<Table>,
    key: EntryKey,
    entry: Arc<Entry>,
}

impl Table {
    pub(crate) fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            loads: AtomicUsize::new(0),
        }
    }
}

impl Claim {
    /// A claim on the entry of `key`, created empty if there is none.
    pub(crate) fn new(table: &Arc<Table>, key: EntryKey) -> Self {
        let mut entries = lock(&table.entries);
        let slot = entries.entry(key).or_insert_with(|| Slot {
            sessions: 0,
            entry: Arc::new(Entry::default()),
        });
        slot.sessions += 1;
        Self {
            table: table.clone(),
            key,
            entry: slot.entry.clone(),
        }
    }

    /// A claim on the entry of `key` only if one exists (a live file).
    pub(crate) fn existing(table: &Arc<Table>, key: EntryKey) -> Option<Self> {
        let mut entries = lock(&table.entries);
        let slot = entries.get_mut(&key)?;
        slot.sessions += 1;
        Some(Self {
            table: table.clone(),
            key,
            entry: slot.entry.clone(),
        })
    }

    /// Another claim on the same entry (a cloned session).
    pub(crate) fn share(&self) -> Self {
        let mut entries = lock(&self.table.entries);
        if let Some(slot) = entries.get_mut(&self.key) {
            slot.sessions += 1;
        }
        Self {
            table: self.table.clone(),
            key: self.key,
            entry: self.entry.clone(),
        }
    }

    pub(crate) fn entry(&self) -> &Entry {
        &self.entry
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
            let mut entries = lock(&self.table.entries);
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
