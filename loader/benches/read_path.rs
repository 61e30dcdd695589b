//! The read fallback (`LoadMode::Read`: one page-aligned buffer filled by large preads, several
//! in flight for big files, no zero fill) against `std::fs::read`, file in the page cache, at
//! two alignments and three sizes, in interleaved paired rounds (see `support/paired.rs`).
//! `cargo bench -p loadguard --bench read_path`; `LOADGUARD_BENCH_QUICK=1` runs it briefly.

use std::hint::black_box;
use std::time::Instant;

use loadguard::{Alignment, LoadMode, LoadOptions, Registry};

#[path = "support/paired.rs"]
mod paired;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let sizes: &[usize] = if paired::quick() {
        &[1 << 20, 64 << 20]
    } else {
        &[1 << 20, 64 << 20, 1 << 30]
    };
    println!("read fallback vs std::fs::read (ratio < 1: loadguard is faster)\n");
    for &size in sizes {
        let path = dir.path().join(format!("r{size}.bin"));
        let data: Vec<u8> = (0..size).map(|i| (i % 251).to_le_bytes()[0]).collect();
        std::fs::write(&path, &data).unwrap();
        drop(data);
        drop(std::fs::read(&path).unwrap()); // warm the page cache
        for align in [64, 4096] {
            let opts = LoadOptions::new()
                .mode(LoadMode::Read)
                .alignment(Alignment::new(align).unwrap());
            let rounds = paired::rounds(if size >= 1 << 30 { 8 } else { 20 });
            // A sample is the mean of `reps` loads of ~64 MiB in all: one 1 MiB load takes
            // ~25 µs, about what this machine's scheduling noise is.
            let reps = (64 << 20) / size.min(64 << 20);
            paired::compare(
                &format!("{} MiB, alignment {align}, mean of {reps}", size >> 20),
                ("loadguard", || {
                    let start = Instant::now();
                    for _ in 0..reps {
                        let session = Registry::new().open(&path, &opts).unwrap();
                        black_box(session.bytes()[size - 1]);
                    }
                    start.elapsed() / u32::try_from(reps).unwrap()
                }),
                ("fs::read", || {
                    let start = Instant::now();
                    for _ in 0..reps {
                        let bytes = std::fs::read(&path).unwrap();
                        black_box(bytes[size - 1]);
                    }
                    start.elapsed() / u32::try_from(reps).unwrap()
                }),
                rounds,
            );
        }
        std::fs::remove_file(&path).unwrap();
    }
}
