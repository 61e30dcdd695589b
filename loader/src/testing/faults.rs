//! Fault injection through the OS seam: make the n-th `open`, `stat`, `mmap`, `pread`, `madvise`
//! or `mlock` fail with a chosen errno, return a short read, or be interrupted (`EINTR`).

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::Path;

use crate::error::{Error, Result};
use std::ops::Range;

use crate::os::{Advice, FileKey, FileKind, IdentityPin, Immutable, Mapping, Os, OsFile, Prefault};
use crate::sync::{Arc, Mutex, lock};

/// An OS operation a [`FaultPlan`] can make fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FaultOp {
    /// Opening a file.
    Open,
    /// Looking a path's identity up without opening it (`statx` / `stat`).
    Stat,
    /// Mapping a file.
    Mmap,
    /// A positional read.
    Pread,
    /// `madvise` (will-need or prefault).
    Madvise,
    /// `mlock`.
    Mlock,
    /// `memfd_create`, for pools allocating through a [`FaultyShm`](super::FaultyShm).
    MemfdCreate,
    /// `dlsym` / `GetProcAddress`, through [`FaultyLinker`](super::FaultyLinker).
    Dlsym,
    /// Sealing a shm buffer (any provider), through a [`FaultyShm`](super::FaultyShm).
    ShmSeal,
    /// `dlopen` / `LoadLibraryExW`, through [`FaultyLinker`](super::FaultyLinker).
    Dlopen,
}

/// What an injected fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fail with this raw OS error code (errno on Unix, a Windows error code on Windows).
    Errno(i32),
    /// Fail with `EINTR` / `ErrorKind::Interrupted` (for `pread`; any other op reports it as
    /// a failure).
    Interrupted,
    /// Read at most this many bytes (for `pread`; ignored by other ops).
    ShortRead(usize),
}

#[derive(Debug, Clone, Copy)]
enum When {
    Nth(usize),
    Every,
}

#[derive(Debug, Clone, Copy)]
struct Rule {
    op: FaultOp,
    when: When,
    fault: Fault,
}

#[derive(Default)]
struct PlanState {
    rules: Vec<Rule>,
    calls: HashMap<FaultOp, usize>,
    injected: usize,
}

/// Which calls fail, and how. Cheap to clone; clones share the plan and its counters, so a
/// test can keep one while the registry owns the seam.
#[derive(Clone, Default)]
pub struct FaultPlan {
    state: Arc<Mutex<PlanState>>,
}

impl FaultPlan {
    /// A plan that injects nothing (but counts calls).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The `n`-th call (counting from 1) of `op` gets `fault`.
    #[must_use]
    pub fn nth(self, op: FaultOp, n: usize, fault: Fault) -> Self {
        lock(&self.state).rules.push(Rule {
            op,
            when: When::Nth(n),
            fault,
        });
        self
    }

    /// Every call of `op` gets `fault`.
    #[must_use]
    pub fn every(self, op: FaultOp, fault: Fault) -> Self {
        lock(&self.state).rules.push(Rule {
            op,
            when: When::Every,
            fault,
        });
        self
    }

    /// How many calls of `op` the seam has seen.
    #[must_use]
    pub fn calls(&self, op: FaultOp) -> usize {
        lock(&self.state).calls.get(&op).copied().unwrap_or(0)
    }

    /// How many faults were injected.
    #[must_use]
    pub fn injected(&self) -> usize {
        lock(&self.state).injected
    }

    /// Counts one call of `op` and returns the fault it gets, if any (the first matching rule).
    pub fn next(&self, op: FaultOp) -> Option<Fault> {
        let mut state = lock(&self.state);
        let count = state.calls.entry(op).or_default();
        *count += 1;
        let n = *count;
        let fault = state.rules.iter().find_map(|rule| {
            let hit = rule.op == op
                && match rule.when {
                    When::Nth(k) => k == n,
                    When::Every => true,
                };
            hit.then_some(rule.fault)
        });
        if fault.is_some() {
            state.injected += 1;
        }
        fault
    }
}

impl fmt::Debug for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("FaultPlan")
            .field("rules", &state.rules)
            .field("injected", &state.injected)
            .finish()
    }
}

/// The `io::Error` a fault stands for (a short read is not an error).
pub(crate) fn io_error(fault: Fault) -> Option<io::Error> {
    match fault {
        Fault::Errno(code) => Some(io::Error::from_raw_os_error(code)),
        Fault::Interrupted => Some(io::ErrorKind::Interrupted.into()),
        Fault::ShortRead(_) => None,
    }
}

/// An OS seam that injects the faults of a [`FaultPlan`] into another seam.
pub struct FaultyOs<O> {
    inner: O,
    plan: FaultPlan,
}

impl<O: Os> FaultyOs<O> {
    /// Wraps `inner`, injecting `plan`'s faults.
    pub fn new(inner: O, plan: FaultPlan) -> Self {
        Self { inner, plan }
    }
}

struct FaultyFile {
    file: Box<dyn OsFile>,
    plan: FaultPlan,
}

impl<O: Os> Os for FaultyOs<O> {
    fn open(&self, path: &Path) -> Result<Box<dyn OsFile>> {
        if let Some(err) = self.plan.next(FaultOp::Open).and_then(io_error) {
            return Err(Error::from_io("open", path, &err));
        }
        let file = self.inner.open(path)?;
        Ok(Box::new(FaultyFile {
            file,
            plan: self.plan.clone(),
        }))
    }

    fn stat(&self, path: &Path) -> Result<FileKey> {
        if let Some(err) = self.plan.next(FaultOp::Stat).and_then(io_error) {
            return Err(Error::from_io("stat", path, &err));
        }
        self.inner.stat(path)
    }

    fn advise(
        &self,
        mapping: &Mapping,
        advice: Advice,
        range: Range<usize>,
    ) -> io::Result<Prefault> {
        match self.plan.next(FaultOp::Madvise).and_then(io_error) {
            Some(err) => Err(err),
            None => self.inner.advise(mapping, advice, range),
        }
    }

    fn lock(&self, bytes: &[u8]) -> io::Result<()> {
        match self.plan.next(FaultOp::Mlock).and_then(io_error) {
            Some(err) => Err(err),
            None => self.inner.lock(bytes),
        }
    }

    fn unlock(&self, bytes: &[u8]) -> io::Result<()> {
        self.inner.unlock(bytes)
    }

    fn page_size(&self) -> usize {
        self.inner.page_size()
    }
}

impl FaultyFile {
    fn mmap_fault(&self, len: usize) -> Result<()> {
        match self.plan.next(FaultOp::Mmap).and_then(io_error) {
            Some(err) => Err(Error::from_io("mmap", self.path(), &err).with_arg("len", len)),
            None => Ok(()),
        }
    }
}

impl OsFile for FaultyFile {
    fn path(&self) -> &Path {
        self.file.path()
    }

    fn key(&self) -> FileKey {
        self.file.key()
    }

    fn kind(&self) -> FileKind {
        self.file.kind()
    }

    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self.plan.next(FaultOp::Pread) {
            Some(Fault::ShortRead(max)) => {
                let n = buf.len().min(max);
                self.file.read(&mut buf[..n])
            }
            Some(fault) => Err(io_error(fault).unwrap_or_else(|| io::ErrorKind::Other.into())),
            None => self.file.read(buf),
        }
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        match self.plan.next(FaultOp::Pread) {
            Some(Fault::ShortRead(max)) => {
                let n = buf.len().min(max);
                self.file.read_at(&mut buf[..n], offset)
            }
            Some(fault) => Err(io_error(fault).unwrap_or_else(|| io::ErrorKind::Other.into())),
            None => self.file.read_at(buf, offset),
        }
    }

    fn pin(&self) -> Result<Option<IdentityPin>> {
        self.file.pin()
    }

    /// Counts (and fails) only a call that maps: a file the OS cannot prove immutable is not
    /// mapped here, so that answer is no `mmap` to fail.
    fn map_immutable(&self, len: usize) -> Result<Option<(Mapping, Immutable)>> {
        match self.file.map_immutable(len)? {
            Some(mapped) => {
                // Dropped (unmapped) first if the plan fails this call.
                self.mmap_fault(len)?;
                Ok(Some(mapped))
            }
            None => Ok(None),
        }
    }

    unsafe fn map_assumed(&self, len: usize) -> Result<Mapping> {
        self.mmap_fault(len)?;
        // SAFETY: forwarded: our caller's guarantee about the file is the inner call's contract.
        unsafe { self.file.map_assumed(len) }
    }
}
