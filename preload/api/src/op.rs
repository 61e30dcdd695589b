//! The operations the preload counts, records and (for some) fails on purpose.

use core::fmt;

/// One interposed operation. The names are those of `loadguard::testing::FaultOp` where the two
/// overlap (`open`, `mmap`, `pread`, `madvise`, `mlock`, `memfd_create`, `dlsym`), plus the calls
/// only a process-level harness sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Op {
    /// `open`, `open64`, `openat`, `openat64`, `creat`, `fopen` (and the fortified `__open_2`…).
    Open,
    /// `close`, `fclose`, `close_range`.
    Close,
    /// `dup`, `dup2`, `dup3`, `fcntl(F_DUPFD*)`.
    Dup,
    /// `mmap`, `mmap64`.
    Mmap,
    /// `munmap`.
    Munmap,
    /// `mremap`.
    Mremap,
    /// `madvise`.
    Madvise,
    /// `mlock`.
    Mlock,
    /// `munlock`.
    Munlock,
    /// `memfd_create`.
    MemfdCreate,
    /// `ioctl(fd, DMA_HEAP_IOCTL_ALLOC, …)`.
    DmaHeapAlloc,
    /// `read`.
    Read,
    /// `pread`, `pread64`.
    Pread,
    /// `dlopen`.
    Dlopen,
    /// `dlclose`.
    Dlclose,
    /// `dlsym`.
    Dlsym,
    /// `fork`.
    Fork,
    /// `execve`, `execv`, `execvp`, `execvpe`.
    Exec,
}

impl Op {
    /// Every operation, in the order reports list them.
    pub const ALL: [Op; 18] = [
        Op::Open,
        Op::Close,
        Op::Dup,
        Op::Mmap,
        Op::Munmap,
        Op::Mremap,
        Op::Madvise,
        Op::Mlock,
        Op::Munlock,
        Op::MemfdCreate,
        Op::DmaHeapAlloc,
        Op::Read,
        Op::Pread,
        Op::Dlopen,
        Op::Dlclose,
        Op::Dlsym,
        Op::Fork,
        Op::Exec,
    ];

    /// The operations a fault can be injected into, in sweep order. Releasing calls (`close`,
    /// `munmap`, `munlock`, `dlclose`) and `fork`/`exec` are counted but never failed: Linux
    /// releases the resource even when `close` reports an error, so failing them tests nothing.
    pub const INJECTABLE: [Op; 12] = [
        Op::Open,
        Op::Mmap,
        Op::Read,
        Op::Pread,
        Op::Madvise,
        Op::Mlock,
        Op::MemfdCreate,
        Op::DmaHeapAlloc,
        Op::Dlopen,
        Op::Dlsym,
        Op::Dup,
        Op::Mremap,
    ];

    /// The name used on the command line, in plans and in reports.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Op::Open => "open",
            Op::Close => "close",
            Op::Dup => "dup",
            Op::Mmap => "mmap",
            Op::Munmap => "munmap",
            Op::Mremap => "mremap",
            Op::Madvise => "madvise",
            Op::Mlock => "mlock",
            Op::Munlock => "munlock",
            Op::MemfdCreate => "memfd_create",
            Op::DmaHeapAlloc => "dma_heap_alloc",
            Op::Read => "read",
            Op::Pread => "pread",
            Op::Dlopen => "dlopen",
            Op::Dlclose => "dlclose",
            Op::Dlsym => "dlsym",
            Op::Fork => "fork",
            Op::Exec => "exec",
        }
    }

    /// The operation named `name` (as [`Op::name`] spells it).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }

    /// A dense index (0..[`Op::ALL`]`.len()`), for per-op counter arrays.
    #[must_use]
    pub fn index(self) -> usize {
        Op::ALL.iter().position(|op| *op == self).unwrap_or(0)
    }

    /// Whether a fault can be injected into this operation.
    #[must_use]
    pub fn injectable(self) -> bool {
        Op::INJECTABLE.contains(&self)
    }

    /// Whether this operation reads bytes (so a short read or `EINTR` means something).
    #[must_use]
    pub fn reads(self) -> bool {
        matches!(self, Op::Read | Op::Pread)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
