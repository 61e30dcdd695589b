//! Reading a whole file into one aligned buffer: large positional reads, several in flight at
//! once, straight into uninitialised memory.
//!
//! Figures behind the constants (a 1 GiB file on the 2-core CI machine, interleaved rounds,
//! `cargo bench -p loadguard --bench read_path`; see `loader/benches/read_path.rs`) are in
//! `ARCHITECTURE.md` under "Measured choices".

use std::mem::MaybeUninit;

use crate::aligned::AlignedBuf;
use crate::error::Result;
use crate::os::OsFile;
use crate::size::{self, Alignment};
use crate::sync::{self, AtomicU64, Ordering};

/// One `pread` per chunk of this many bytes.
pub(crate) const CHUNK: usize = 16 << 20;

/// Files below this size are read by one thread in one loop: a thread costs more than it saves.
pub(crate) const PARALLEL_FROM: usize = 64 << 20;

/// At most this many reads in flight (capped by the machine's parallelism).
pub(crate) const MAX_THREADS: usize = 4;

/// How far a load has got, for [`Registry::open_with_progress`](crate::Registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadProgress {
    /// Bytes read (or prefaulted) so far.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
}

/// A callback told of a load's progress, from whichever thread made it.
pub(crate) type Observer<'a> = Option<&'a (dyn Fn(LoadProgress) + Sync)>;

/// The number of threads for `len` bytes of work.
pub(crate) fn threads_for(len: usize) -> usize {
    if len < PARALLEL_FROM {
        return 1;
    }
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(MAX_THREADS)
}

/// Reads all `len` bytes of `file` into a new buffer aligned to `align` and padded to whole
/// pages, reporting progress to `observer` after every chunk.
pub(crate) fn read_whole(
    file: &dyn OsFile,
    len: usize,
    align: Alignment,
    page: usize,
    observer: Observer<'_>,
) -> Result<AlignedBuf> {
    let mut buf = AlignedBuf::uninit_pages(len, align, page, file.path())?;
    let total = size::to_u64(len);
    let done = AtomicU64::new(0);
    let fill = |offset: usize, chunk: &mut [MaybeUninit<u8>]| -> Result<()> {
        file.read_exact_at_uninit(chunk, size::to_u64(offset))?;
        let n = size::to_u64(chunk.len());
        let now = done.fetch_add(n, Ordering::Relaxed).saturating_add(n);
        if let Some(observe) = observer {
            observe(LoadProgress { done: now, total });
        }
        Ok(())
    };
    sync::for_each_chunk(buf.as_uninit(), CHUNK, threads_for(len), fill)?;
    // SAFETY: `for_each_chunk` returned `Ok`, so `fill` returned `Ok` for every chunk, and the
    // chunks partition the buffer; `read_exact_at_uninit` returns `Ok` only once every byte of
    // its chunk lies in a prefix the read reported as written.
    Ok(unsafe { buf.assume_init() })
}
