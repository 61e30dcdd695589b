//! [`MemoryOs`]: a heap-backed file system with real file semantics, for Miri, loom and tests.

use std::collections::HashMap;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::{Advice, FileKey, FileKind, Immutable, Mapping, Os, OsFile, Prefault};
use crate::error::{Error, Result};
use crate::size;
use crate::sync::{Mutex, lock};

/// Files that live in memory, with identities like a real file system's: a path names a file,
/// [`MemoryOs::link`] gives one file a second name (a hard link), [`MemoryOs::write`] replaces a
/// path with a new file (like replace-by-rename) and [`MemoryOs::modify`] changes a file in place
/// (same identity, new modification time).
///
/// "Mapping" one of these files shares its bytes without copying, so the registry built on it
/// behaves as on the real OS, and runs under Miri, which cannot map files. The bytes of a file
/// are never written in place ([`MemoryOs::modify`] gives the file new bytes; old mappings keep
/// the old ones), so every file maps as [`Immutable::Snapshot`], soundly and without
/// [`LoadOptions::assume_immutable`](crate::LoadOptions::assume_immutable).
///
/// ```
/// use loadguard::os::MemoryOs;
/// use loadguard::{LoadOptions, Registry};
///
/// let fs = MemoryOs::new();
/// fs.write("/models/a.bin", vec![7u8; 4096]);
/// let registry = Registry::with_os(fs);
/// let session = registry.open("/models/a.bin", &LoadOptions::new())?;
/// assert_eq!(session.load_path().to_string(), "map (snapshot)");
/// # Ok::<(), loadguard::Error>(())
/// ```
#[derive(Default)]
pub struct MemoryOs {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_inode: u64,
    clock: i128,
    files: HashMap<PathBuf, MemFile>,
}

#[derive(Clone)]
struct MemFile {
    inode: u64,
    mtime_ns: i128,
    bytes: Bytes,
}

impl MemoryOs {
    /// An empty file system.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates `path` as a new file with `bytes`, replacing whatever the path named (the old
    /// file lives on for whoever has it open, as after a rename over it).
    pub fn write(&self, path: impl Into<PathBuf>, bytes: impl Into<Bytes>) {
        let mut state = lock(&self.state);
        state.next_inode += 1;
        state.clock += 1;
        let file = MemFile {
            inode: state.next_inode,
            mtime_ns: state.clock,
            bytes: bytes.into(),
        };
        state.files.insert(path.into(), file);
    }

    /// Changes the contents of the file `path` names in place: same identity, new modification
    /// time. Returns false if `path` names no file.
    pub fn modify(&self, path: &Path, bytes: impl Into<Bytes>) -> bool {
        let mut state = lock(&self.state);
        state.clock += 1;
        let clock = state.clock;
        let Some(file) = state.files.get(path) else {
            return false;
        };
        let inode = file.inode;
        let bytes = bytes.into();
        // Every name of the file sees the change, as every hard link does.
        for file in state.files.values_mut().filter(|f| f.inode == inode) {
            file.bytes = bytes.clone();
            file.mtime_ns = clock;
        }
        true
    }

    /// Gives the file `existing` names a second name `new` (a hard link). Returns false if
    /// `existing` names no file.
    pub fn link(&self, existing: &Path, new: impl Into<PathBuf>) -> bool {
        let mut state = lock(&self.state);
        let Some(file) = state.files.get(existing).cloned() else {
            return false;
        };
        state.files.insert(new.into(), file);
        true
    }

    /// Removes the name `path`. Returns false if it named no file.
    pub fn remove(&self, path: &Path) -> bool {
        lock(&self.state).files.remove(path).is_some()
    }
}

impl Os for MemoryOs {
    fn open(&self, path: &Path) -> Result<Box<dyn OsFile>> {
        let file = self.lookup(path, "open")?;
        Ok(Box::new(OpenMemFile {
            path: path.to_owned(),
            file,
        }))
    }

    fn stat(&self, path: &Path) -> Result<FileKey> {
        Ok(self.lookup(path, "stat")?.key())
    }

    /// Heap bytes are resident already.
    fn advise(&self, _: &Mapping, _: Advice, _: Range<usize>) -> io::Result<Prefault> {
        Ok(Prefault::Resident)
    }

    /// Heap bytes are resident already, and Miri has no `mlock`: nothing to lock.
    fn lock(&self, _bytes: &[u8]) -> io::Result<()> {
        Ok(())
    }

    fn unlock(&self, _bytes: &[u8]) -> io::Result<()> {
        Ok(())
    }

    fn page_size(&self) -> usize {
        4096
    }
}

impl MemoryOs {
    fn lookup(&self, path: &Path, op: &'static str) -> Result<MemFile> {
        let file = lock(&self.state).files.get(path).cloned();
        file.ok_or_else(|| Error::from_io(op, path, &io::ErrorKind::NotFound.into()))
    }
}

impl MemFile {
    fn key(&self) -> FileKey {
        FileKey::new(0, self.inode, size::to_u64(self.bytes.len()), self.mtime_ns)
            .with_ctime(self.mtime_ns)
    }
}

struct OpenMemFile {
    path: PathBuf,
    file: MemFile,
}

impl OsFile for OpenMemFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn key(&self) -> FileKey {
        self.file.key()
    }

    fn kind(&self) -> FileKind {
        FileKind::Regular
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let data = &self.file.bytes;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    /// Sequential reads are not modelled: every `MemoryOs` file is a regular file.
    fn read(&self, _buf: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }

    fn map_immutable(&self, len: usize) -> Result<Option<(Mapping, Immutable)>> {
        Ok(Some((self.snapshot(len)?, Immutable::Snapshot)))
    }

    /// The same immutable snapshot: a promise adds nothing to bytes that never change.
    unsafe fn map_assumed(&self, len: usize) -> Result<Mapping> {
        self.snapshot(len)
    }
}

impl OpenMemFile {
    /// The first `len` bytes, shared without a copy.
    fn snapshot(&self, len: usize) -> Result<Mapping> {
        let bytes = self
            .file
            .bytes
            .get(..len)
            .map(|_| self.file.bytes.slice(..len));
        bytes.map(Mapping::from_bytes).ok_or_else(|| {
            Error::from_io("mmap", &self.path, &io::ErrorKind::InvalidInput.into())
                .with_arg("len", len)
        })
    }
}
