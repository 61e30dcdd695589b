//! Reading a whole file into one aligned buffer: large positional reads, several in flight at
//! once, straight into uninitialised memory.
//! The chunk size and thread count, and the figures behind them, are in `sync.rs`
//! (`CHUNK`, `threads_for`); `loader/benches/read_path.rs` compares the whole path with
//! `std::fs::read`.

use std::mem::MaybeUninit;

use crate::aligned::AlignedBuf;
use crate::error::Result;
use crate::os::OsFile;
use crate::progress::{LoadProgress, Observer};
use crate::size::{self, Alignment};
use crate::sync::{self, AtomicU64, CHUNK, Ordering, threads_for};

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
