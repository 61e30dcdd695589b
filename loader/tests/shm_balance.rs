//! fd and mapping counts return to their starting values after 100,000 memfd alloc/free cycles
//! (half of them sealed in between) across 8 threads.
//!
//! Alone in its own test binary (one test), so no other test opens fds or maps memory while
//! the process-wide counts are taken. The count itself runs in a child process started with
//! one malloc arena (`MALLOC_ARENA_MAX=1`): glibc otherwise creates extra arenas (64 MiB
//! anonymous reservations it never returns) whenever threads contend, which would show up as
//! "new mappings" that are the allocator's, not the pool's.
#![cfg(any(target_os = "linux", target_os = "android"))]

use std::fs;

use loadguard::shm::{Pool, PoolOptions, Provider};

const THREADS: usize = 8;
const CYCLES: usize = 100_000;

fn fd_count() -> usize {
    fs::read_dir("/proc/self/fd").unwrap().count()
}

fn maps() -> Vec<String> {
    fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Each thread allocates, fills, finds and frees `cycles` buffers — sealing every other one,
/// which unmaps, seals and maps it again — keeping a few alive at a time so frees interleave
/// with other threads' allocations, seals and lookups.
///
/// Every thread is joined explicitly (`pthread_join`): a scoped thread that is not may still be
/// exiting, its stack still mapped, when the scope returns.
fn churn(pool: &Pool, cycles: usize) {
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn(move || {
                    let mut live = Vec::with_capacity(4);
                    for i in 0..cycles {
                        let len = 4096 * (1 + (i + t) % 4);
                        let mut buf = pool.alloc(len).unwrap();
                        assert_eq!(buf.provider(), &Provider::Memfd);
                        buf[len - 1] = 1;
                        let found = pool.find(buf.as_ptr().wrapping_add(len - 1), 1).unwrap();
                        assert_eq!((found.id, found.offset), (buf.id(), len - 1));
                        if i % 2 == 0 {
                            let sealed = buf.seal().unwrap();
                            assert_eq!(sealed[len - 1], 1);
                            drop(sealed);
                        } else {
                            live.push(buf);
                        }
                        if live.len() == 4 {
                            live.swap_remove(i % 4);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    });
}

const CHILD: &str = "LOADGUARD_SHM_BALANCE_CHILD";
const NAME: &str = "fds_and_mappings_balance_after_100k_cycles_across_8_threads";

#[test]
#[cfg_attr(miri, ignore)]
fn fds_and_mappings_balance_after_100k_cycles_across_8_threads() {
    if std::env::var_os(CHILD).is_some() {
        return count_in_this_process();
    }
    let status = loadguard::testing::child::self_command()
        .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("MALLOC_ARENA_MAX", "1")
        .env("GLIBC_TUNABLES", "glibc.malloc.arena_max=1")
        .status()
        .unwrap();
    assert!(status.success(), "the counting child failed: {status}");
}

/// Whether AddressSanitizer runs this process: its x86_64 shadow gap starts at 0x8fff7000.
/// ASan's allocator reserves and releases its own anonymous regions as it pleases, so under it
/// only the mappings that name a file (every memfd mapping does) can be compared exactly.
fn under_asan(maps: &[String]) -> bool {
    maps.iter().any(|l| l.starts_with("8fff7000-"))
}

/// Mappings backed by a file or memfd (the line ends in a path, not a `[heap]`-like label
/// whose range moves as the process runs).
fn named(maps: &[String]) -> Vec<&String> {
    maps.iter()
        .filter(|l| {
            l.split_whitespace()
                .nth(5)
                .is_some_and(|p| !p.starts_with('['))
        })
        .collect()
}

fn assert_maps_balance(before: &[String], what: &str) {
    let after = maps();
    let new: Vec<_> = after.iter().filter(|l| !before.contains(l)).collect();
    let gone: Vec<_> = before.iter().filter(|l| !after.contains(l)).collect();
    assert_eq!(
        named(&after),
        named(before),
        "{what}: file/memfd mappings leaked"
    );
    if under_asan(&after) {
        eprintln!(
            "AddressSanitizer: only file/memfd mappings compared ({} lines before, {} after)",
            before.len(),
            after.len()
        );
        return;
    }
    assert_eq!(
        after.len(),
        before.len(),
        "{what}: mappings leaked: new {new:#?}, gone {gone:#?}"
    );
}

fn count_in_this_process() {
    let pool = Pool::with_options(
        PoolOptions::new()
            .providers([Provider::Memfd])
            .fallback(false),
    );
    // Warm up with the same threads first: thread stacks and malloc arenas that the C library
    // caches after the first round are not the pool's and must be in the baseline.
    churn(&pool, 50);
    let (fds, before) = (fd_count(), maps());
    churn(&pool, CYCLES / THREADS);
    assert!(pool.is_empty());
    assert_eq!(fd_count(), fds, "fds leaked");
    assert_maps_balance(&before, "after 100k cycles");
    // And retained buffers are released by the pool's drop.
    let kept: Vec<_> = (0..100)
        .map(|_| pool.alloc(4096).unwrap().seal().unwrap().into_pool())
        .collect();
    assert_eq!(pool.len(), kept.len());
    assert_eq!(fd_count(), fds + 100);
    drop(pool);
    assert_eq!(fd_count(), fds, "fds leaked by the pool's drop");
    assert_maps_balance(&before, "after the pool's drop");
}
