//! `loadguard::shm` figures, printed as ratios measured side by side, never asserted:
//!
//! 1. `Pool::find` with 10,000 live buffers against a linear scan of a list of the same ranges
//!    (the lookup of the backend this module replaced), single-threaded and with 2 threads
//!    looking up at once.
//! 2. alloc + free of a small heap-provider buffer in a pool holding 10,000 live buffers
//!    against the same in an empty pool: what the O(n) index update (and snapshot copy, while
//!    another thread's lookups hold the previous one) costs a large pool.
//! 3. alloc + fill (+ seal) of a 64 MiB segment: a memfd buffer and a heap-provider buffer
//!    against a plain `Vec<u8>`.
//!
//! Every comparison runs in interleaved paired rounds (`support/paired.rs`: A B, then B A, …)
//! and reports the median of the per-round ratios, so drift in the machine's load hits both
//! sides alike. The corpora are generated from fixed seeds: the same buffer sizes and the same
//! queries on every run (the addresses are the allocator's).
//!
//! `cargo bench -p loadguard --bench shm`; `LOADGUARD_BENCH_QUICK=1` runs it briefly (fewer
//! rounds, same corpus). Without `--bench` (e.g. `cargo test --all-targets`) it runs a small
//! smoke version so test runs stay fast.

use std::hint::black_box;
use std::time::{Duration, Instant};

use loadguard::shm::{Pool, PoolOptions, Provider};

#[path = "support/paired.rs"]
mod paired;

struct Scale {
    buffers: usize,
    find_probes: usize,
    scan_probes: usize,
    rounds: usize,
    segment: usize,
    fill_rounds: usize,
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let scale = if full {
        Scale {
            buffers: 10_000,
            find_probes: 100_000,
            scan_probes: 1_000,
            rounds: paired::rounds(15),
            segment: 64 << 20,
            fill_rounds: paired::rounds(7),
        }
    } else {
        Scale {
            buffers: 1_000,
            find_probes: 2_000,
            scan_probes: 200,
            rounds: 3,
            segment: 1 << 20,
            fill_rounds: 2,
        }
    };
    find_vs_scan(&scale);
    alloc_free(&scale);
    alloc_fill(&scale);
}

/// A xorshift generator: deterministic corpora without a dependency.
fn rng(mut state: u64) -> impl FnMut(usize) -> usize {
    move |bound| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % u64::try_from(bound).unwrap()).unwrap()
    }
}

/// The time of one of `ops` operations that took `elapsed` together.
fn per_op(elapsed: Duration, ops: usize) -> Duration {
    elapsed / u32::try_from(ops).unwrap()
}

/// Runs `work` on `threads` threads at once, each over its own share of `probes`, all
/// released together by a barrier (thread start-up is not timed); nanoseconds of wall time per
/// lookup over all of them (the slowest thread's time over every thread's lookups).
fn timed(
    threads: usize,
    probes: &[(*const u8, usize)],
    work: impl Fn(&[(*const u8, usize)]) -> usize + Sync,
) -> Duration {
    let chunk = probes.len() / threads;
    let barrier = std::sync::Barrier::new(threads);
    let runs: Vec<(usize, Duration)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (work, barrier) = (&work, &barrier);
                let mine = SendProbes(&probes[t * chunk..(t + 1) * chunk]);
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    let hits = work(mine.get());
                    (hits, start.elapsed())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let hits: usize = runs.iter().map(|r| r.0).sum();
    assert_eq!(hits, chunk * threads, "every probe lies inside one buffer");
    let slowest = runs.iter().map(|r| r.1).max().unwrap_or_default();
    per_op(slowest, chunk * threads)
}

/// Probe addresses shared with the timing threads (only their addresses are used).
#[derive(Clone, Copy)]
struct SendProbes<'a>(&'a [(*const u8, usize)]);
// SAFETY: the pointers are never dereferenced: `Pool::find` and the scan read their addresses.
unsafe impl Send for SendProbes<'_> {}
impl<'a> SendProbes<'a> {
    fn get(self) -> &'a [(*const u8, usize)] {
        self.0
    }
}

fn find_vs_scan(scale: &Scale) {
    let pool = Pool::with_options(PoolOptions::new().providers([Provider::Heap]));
    let live: Vec<_> = (0..scale.buffers)
        .map(|i| pool.alloc(64 + (i % 7) * 32).unwrap())
        .collect();
    // The list the old backend scanned: (start, len, id) in allocation order.
    let list: Vec<(usize, usize, u64)> = live
        .iter()
        .map(|b| (b.as_ptr().addr(), b.len(), b.id().get()))
        .collect();
    let mut next = rng(0x2545_f491_4f6c_dd1d);
    let mut probes = |n: usize| -> Vec<(*const u8, usize)> {
        (0..n)
            .map(|_| {
                let b = &live[next(live.len())];
                let off = next(b.len());
                (b.as_ptr().wrapping_add(off), next(b.len() - off) + 1)
            })
            .collect()
    };
    let find_probes = probes(scale.find_probes);
    let scan_probes = probes(scale.scan_probes);
    let find = |probes: &[(*const u8, usize)]| {
        probes
            .iter()
            .filter(|&&(p, len)| black_box(pool.find(p, len)).is_some())
            .count()
    };
    let scan = |probes: &[(*const u8, usize)]| {
        probes
            .iter()
            .filter(|&&(p, len)| {
                let (addr, end) = (p.addr(), p.addr() + len);
                let found = black_box(&list)
                    .iter()
                    .find(|&&(s, l, _)| s <= addr && end <= s + l);
                black_box(found).is_some()
            })
            .count()
    };
    println!(
        "find with {} live buffers ({} + {} fixed lookups per round, median of {} interleaved rounds):",
        scale.buffers, scale.find_probes, scale.scan_probes, scale.rounds
    );
    for threads in [1, 2] {
        // Times are per lookup (of all threads' lookups, by the wall clock); the ratio is how
        // many lookups the pool answers in the time of one linear scan.
        paired::compare(
            &format!("  {threads} thread(s), per lookup: scan / find"),
            ("scan", || timed(threads, &scan_probes, scan)),
            ("find", || timed(threads, &find_probes, find)),
            scale.rounds,
        );
    }
    drop(live);
}

fn alloc_free(scale: &Scale) {
    let heap = || Pool::with_options(PoolOptions::new().providers([Provider::Heap]));
    let (empty, full) = (heap(), heap());
    let live: Vec<_> = (0..scale.buffers)
        .map(|i| full.alloc(64 + (i % 7) * 32).unwrap())
        .collect();
    let cycles = scale.find_probes / 100;
    let churn = |pool: &Pool| {
        let start = Instant::now();
        for _ in 0..cycles {
            // A lookup between the changes, as a pool in use sees: the snapshot it caches
            // makes the next change copy the index rather than edit it in place.
            let buf = pool.alloc(64).unwrap();
            black_box(pool.find(buf.as_ptr(), 1));
            drop(buf);
        }
        per_op(start.elapsed(), cycles)
    };
    println!("alloc + find + free of a 64-byte heap buffer ({cycles} per round):");
    paired::compare(
        &format!("  pool of {} / empty pool", live.len()),
        ("full", || churn(&full)),
        ("empty", || churn(&empty)),
        scale.rounds,
    );
}

fn alloc_fill(scale: &Scale) {
    let len = scale.segment;
    println!(
        "alloc + fill of a {} MiB segment, against a Vec<u8>:",
        len >> 20
    );
    let vec = || {
        let start = Instant::now();
        let mut buf = vec![0u8; len];
        fill(&mut buf);
        black_box(&buf[..]);
        start.elapsed()
    };
    let heap = Pool::with_options(PoolOptions::new().providers([Provider::Heap]));
    paired::compare(
        "  heap provider (Pool) / Vec",
        ("pool", || {
            let start = Instant::now();
            let mut buf = heap.alloc(len).unwrap();
            fill(&mut buf);
            black_box(&buf[..]);
            start.elapsed()
        }),
        ("vec", vec),
        scale.fill_rounds,
    );
    if cfg!(any(target_os = "linux", target_os = "android")) {
        let memfd = Pool::with_options(
            PoolOptions::new()
                .providers([Provider::Memfd])
                .fallback(false),
        );
        paired::compare(
            "  memfd (Pool) / Vec",
            ("memfd", || {
                let start = Instant::now();
                let mut buf = memfd.alloc(len).unwrap();
                fill(&mut buf);
                black_box(&buf[..]);
                start.elapsed()
            }),
            ("vec", vec),
            scale.fill_rounds,
        );
        paired::compare(
            "  memfd + seal (Pool) / Vec",
            ("sealed", || {
                let start = Instant::now();
                let mut buf = memfd.alloc(len).unwrap();
                fill(&mut buf);
                let sealed = buf.seal().unwrap();
                black_box(&sealed[..]);
                start.elapsed()
            }),
            ("vec", vec),
            scale.fill_rounds,
        );
    }
}

/// Writes every byte, as loading a segment would.
fn fill(buf: &mut [u8]) {
    for (i, chunk) in buf.chunks_mut(4096).enumerate() {
        chunk.fill(u8::try_from(i % 251).unwrap());
    }
}
