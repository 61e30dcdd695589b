//! The one place loadguard takes its locks and atomics from.
//!
//! Under `cfg(loom)` these are loom's model-checked types, so `loom-tests/` explores every
//! interleaving of the registry and pools with the same code that ships. Nothing else in the
//! crate may name `std::sync` directly for shared state.

#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `mutex`, recovering the guard if a previous holder panicked.
///
/// Every critical section in this crate leaves its data consistent before anything that can
/// panic, so a poisoned lock carries no broken invariant; refusing to go on would only turn one
/// panic into many (and a panic inside `Drop` into an abort).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Exclusive access through `&mut` without locking (the type system already proves no other
/// holder exists — the right tool in `Drop`, where taking the lock would be the bug class
/// `lock_in_drop`).
pub(crate) fn get_mut<T>(lock: &mut RwLock<T>) -> &mut T {
    lock.get_mut()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Shared access to `lock`'s data, recovering the guard if a writer panicked (see [`lock`]).
pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Exclusive access to `lock`'s data, recovering the guard if a writer panicked (see [`lock`]).
pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A number no other call in this process returns, for identities that must not be confused
/// even when an address is reused (a pool's, keying the thread-local cache of its index).
///
/// A std atomic even under loom, on purpose: it orders nothing and synchronises nothing (only
/// uniqueness matters), and a loom atomic cannot live in a `static`.
pub(crate) fn unique_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// How large reads and prefaults are split (see `for_each_chunk`). Measured on the 2-core CI
/// machine, a 1 GiB file, interleaved rounds: 16 MiB chunks on 2 threads read 4.7 GB/s from
/// the page cache against 3.0 on one thread (1 to 64 MiB chunks within 5 % of each other),
/// and 1.8 against 1.0 GB/s cold; 4 threads were no faster there than 2.
/// One `pread` per chunk of this many bytes.
pub(crate) const CHUNK: usize = 16 << 20;

/// Files below this size are read by one thread in one loop: a thread costs more than it saves.
pub(crate) const PARALLEL_FROM: usize = 64 << 20;

/// At most this many reads in flight (capped by the machine's parallelism).
pub(crate) const MAX_THREADS: usize = 4;

/// The number of threads for `len` bytes of work.
pub(crate) fn threads_for(len: usize) -> usize {
    if len < PARALLEL_FROM {
        return 1;
    }
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(MAX_THREADS)
}

/// Runs `work(offset, chunk)` on every `chunk_len`-byte chunk of `buf` (the last may be
/// shorter), on up to `threads` scoped threads that take chunks in order from a shared cursor,
/// and stops handing out chunks at the first error, which it returns. One thread — and always
/// under loom and Miri, which model or interpret every thread — runs the chunks in order on the
/// caller's thread.
///
/// The one place loadguard starts threads of its own: large reads and prefaults are split so
/// that several requests are in flight at once (see `load::read`).
pub(crate) fn for_each_chunk<T, E>(
    buf: &mut [T],
    chunk_len: usize,
    threads: usize,
    work: impl Fn(usize, &mut [T]) -> Result<(), E> + Sync,
) -> Result<(), E>
where
    T: Send,
    E: Send,
{
    let chunk_len = chunk_len.max(1);
    let chunks = buf.len().div_ceil(chunk_len);
    let threads = if cfg!(any(loom, miri)) {
        1
    } else {
        threads.clamp(1, chunks.max(1))
    };
    if threads == 1 {
        for (i, chunk) in buf.chunks_mut(chunk_len).enumerate() {
            work(i * chunk_len, chunk)?;
        }
        return Ok(());
    }
    // std's primitives, not the loom-modelled ones: loom never reaches this branch.
    let queue = std::sync::Mutex::new(buf.chunks_mut(chunk_len).enumerate());
    let failed = std::sync::atomic::AtomicBool::new(false);
    let first_error = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    if failed.load(std::sync::atomic::Ordering::Relaxed) {
                        return;
                    }
                    let next = queue
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .next();
                    let Some((i, chunk)) = next else { return };
                    if let Err(e) = work(i * chunk_len, chunk) {
                        failed.store(true, std::sync::atomic::Ordering::Relaxed);
                        first_error
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    match first_error
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chunk_once_and_the_first_error_stops_the_rest() {
        for threads in [1, 2, 4] {
            let mut buf = vec![0u32; 1000];
            for_each_chunk(&mut buf, 64, threads, |offset, chunk| {
                for (i, x) in chunk.iter_mut().enumerate() {
                    *x += u32::try_from(offset + i).unwrap();
                }
                Ok::<(), ()>(())
            })
            .unwrap();
            assert!(
                buf.iter()
                    .enumerate()
                    .all(|(i, &x)| x == u32::try_from(i).unwrap())
            );
            let err = for_each_chunk(&mut buf, 64, threads, |offset, _| {
                if offset == 128 { Err(offset) } else { Ok(()) }
            });
            assert_eq!(err, Err(128));
        }
        let mut empty: [u8; 0] = [];
        for_each_chunk(&mut empty, 64, 4, |_, _| Err::<(), ()>(())).unwrap();
    }
}
