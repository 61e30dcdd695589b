//! The registry's cost against doing it by hand, in interleaved paired rounds (see
//! `support/paired.rs`): a registry hit (sessions 2..N: one `statx` and a table lookup) against
//! a fresh memmap2 mapping (`open` + `fstat` + `mmap` + `close`), on one thread and on two
//! threads opening the same file; and opening 1 / 100 / 10,000 distinct files.
//! `cargo bench -p loadguard --bench registry`; `LOADGUARD_BENCH_QUICK=1` runs it briefly.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use loadguard::{LoadMode, LoadOptions, Registry};

#[path = "support/paired.rs"]
mod paired;

/// Options that map: the bench's files live in its own temporary directory and nothing writes
/// them after they are created.
fn mapped() -> LoadOptions {
    // SAFETY: see above; every file is written once, before it is opened.
    unsafe { LoadOptions::new().mode(LoadMode::Map).assume_immutable() }
}

fn memmap2_open(path: &Path) -> memmap2::Mmap {
    let file = std::fs::File::open(path).unwrap();
    black_box(file.metadata().unwrap().len());
    // SAFETY: as for `mapped`: the file never changes while the bench runs.
    unsafe { memmap2::Mmap::map(&file) }.unwrap()
}

/// `ops` opens (and drops) per sample, on `threads` threads at once; returns the time per open.
fn per_open(threads: usize, ops: usize, open: impl Fn() + Sync) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| (0..ops).for_each(|_| open()));
        }
    });
    start.elapsed() / u32::try_from(ops * threads).unwrap()
}

fn hits(dir: &Path) {
    let path = dir.join("hit.bin");
    std::fs::write(&path, vec![5u8; 1 << 20]).unwrap();
    for opts in [mapped(), LoadOptions::new()] {
        let registry = Registry::new();
        let _first = registry.open(&path, &opts).unwrap(); // every open below is a hit
        for threads in [1, 2] {
            let what = format!(
                "hit ({}), {threads} thread(s) vs memmap2 open",
                if opts.is_assumed_immutable() {
                    "map"
                } else {
                    "copy"
                }
            );
            paired::compare(
                &what,
                ("registry", || {
                    per_open(threads, 2000, || {
                        drop(black_box(registry.open(&path, &opts).unwrap()))
                    })
                }),
                ("memmap2", || {
                    per_open(threads, 2000, || drop(black_box(memmap2_open(&path))))
                }),
                paired::rounds(20),
            );
        }
    }
}

fn scaling(dir: &Path) {
    let counts: &[usize] = if paired::quick() {
        &[1, 100, 1000]
    } else {
        &[1, 100, 10_000]
    };
    let most = counts.iter().copied().max().unwrap_or(1);
    let paths: Vec<PathBuf> = (0..most)
        .map(|i| {
            let path = dir.join(format!("f{i}.bin"));
            std::fs::write(&path, [u8::try_from(i % 251).unwrap(); 4096]).unwrap();
            path
        })
        .collect();
    for &n in counts {
        let files = &paths[..n];
        paired::compare(
            &format!("open {n} distinct files (map), per file"),
            ("registry", || {
                let registry = Registry::new();
                let start = Instant::now();
                let held: Vec<_> = files
                    .iter()
                    .map(|p| registry.open(p, &mapped()).unwrap())
                    .collect();
                let t = start.elapsed();
                drop(black_box(held));
                t / u32::try_from(n).unwrap()
            }),
            ("memmap2", || {
                let start = Instant::now();
                let held: Vec<_> = files.iter().map(|p| memmap2_open(p)).collect();
                let t = start.elapsed();
                drop(black_box(held));
                t / u32::try_from(n).unwrap()
            }),
            paired::rounds(if n > 1000 { 6 } else { 20 }),
        );
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    println!("registry vs by hand (ratio < 1: the registry is faster)\n");
    hits(dir.path());
    scaling(dir.path());
}
