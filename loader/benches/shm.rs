//! `loadguard::shm` figures (printed, never asserted):
//!
//! 1. `Pool::find` with 10,000 live buffers against a linear scan of a list of the same
//!    ranges — the lookup the backend this replaces did — as ns per lookup and a ratio.
//! 2. alloc + fill throughput of a 256 MiB segment into a memfd buffer, a heap-provider
//!    buffer and a plain `Vec<u8>`.
//!
//! `cargo bench -p loadguard --bench shm`. Without `--bench` (e.g. `cargo test --all-targets`)
//! it runs a small smoke version so test runs stay fast.

use std::hint::black_box;
use std::time::{Duration, Instant};

use loadguard::shm::{Pool, PoolOptions, Provider};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (buffers, queries, segment) = if full {
        (10_000, 200_000, 256 << 20)
    } else {
        (1_000, 2_000, 4 << 20)
    };
    find_vs_scan(buffers, queries);
    alloc_fill(segment, if full { 5 } else { 1 });
}

/// A xorshift generator: deterministic queries without a dependency.
fn rng(mut state: u64) -> impl FnMut(usize) -> usize {
    move |bound| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % u64::try_from(bound).unwrap()).unwrap()
    }
}

fn find_vs_scan(buffers: usize, queries: usize) {
    let pool = Pool::with_options(PoolOptions::new().providers([Provider::Heap]));
    let live: Vec<_> = (0..buffers)
        .map(|i| pool.alloc(64 + (i % 7) * 32).unwrap())
        .collect();
    // The list the old backend scanned: (start, len, id) in allocation order.
    let list: Vec<(usize, usize, u64)> = live
        .iter()
        .map(|b| (b.as_ptr().addr(), b.len(), b.id().get()))
        .collect();
    let mut next = rng(0x2545_f491_4f6c_dd1d);
    let probes: Vec<(*const u8, usize)> = (0..queries)
        .map(|_| {
            let b = &live[next(live.len())];
            let off = next(b.len());
            (b.as_ptr().wrapping_add(off), next(b.len() - off) + 1)
        })
        .collect();

    let start = Instant::now();
    let mut hits = 0usize;
    for &(p, len) in &probes {
        hits += usize::from(black_box(pool.find(p, len)).is_some());
    }
    let tree = start.elapsed();
    assert_eq!(hits, probes.len());

    let start = Instant::now();
    let mut hits = 0usize;
    for &(p, len) in &probes {
        let (addr, end) = (p.addr(), p.addr() + len);
        let found = list.iter().find(|&&(s, l, _)| s <= addr && end <= s + l);
        hits += usize::from(black_box(found).is_some());
    }
    let scan = start.elapsed();
    assert_eq!(hits, probes.len());

    let per = |d: Duration| d.as_secs_f64() * 1e9 / f64::from(u32::try_from(queries).unwrap());
    println!("find with {buffers} live buffers, {queries} lookups:");
    println!("  Pool::find (ordered map)  {:>10.1} ns/lookup", per(tree));
    println!("  linear scan of a list     {:>10.1} ns/lookup", per(scan));
    println!(
        "  ratio scan / find         {:>10.1}x",
        scan.as_secs_f64() / tree.as_secs_f64()
    );
}

fn alloc_fill(len: usize, rounds: usize) {
    let mib = f64::from(u32::try_from(len >> 20).unwrap());
    println!(
        "alloc + fill of a {} MiB segment (best of {rounds}):",
        len >> 20
    );
    let report = |what: &str, best: Duration| {
        println!(
            "  {what:<26}{:>10.1} ms {:>8.2} GiB/s",
            best.as_secs_f64() * 1e3,
            mib / 1024.0 / best.as_secs_f64()
        );
    };

    if cfg!(any(target_os = "linux", target_os = "android")) {
        let memfd = Pool::with_options(
            PoolOptions::new()
                .providers([Provider::Memfd])
                .fallback(false),
        );
        report(
            "memfd (Pool)",
            best(rounds, || {
                let mut buf = memfd.alloc(len).unwrap();
                fill(&mut buf);
                black_box(&buf[..]);
            }),
        );
    }
    let heap = Pool::with_options(PoolOptions::new().providers([Provider::Heap]));
    report(
        "heap provider (Pool)",
        best(rounds, || {
            let mut buf = heap.alloc(len).unwrap();
            fill(&mut buf);
            black_box(&buf[..]);
        }),
    );
    report(
        "Vec<u8>",
        best(rounds, || {
            let mut buf = vec![0u8; len];
            fill(&mut buf);
            black_box(&buf[..]);
        }),
    );
}

/// Writes every byte, as loading a segment would.
fn fill(buf: &mut [u8]) {
    for (i, chunk) in buf.chunks_mut(4096).enumerate() {
        chunk.fill(u8::try_from(i % 251).unwrap());
    }
}

/// The fastest of `rounds` runs of `f`.
fn best(rounds: usize, mut f: impl FnMut()) -> Duration {
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}
