//! What the preload costs a loader: a C program (`fixtures/open_many.c`) opens, stats, reads,
//! maps and closes 10,000 small files, once without and once with `LD_PRELOAD`, in interleaved
//! rounds (A B B A …). Prints each side's median and the median of the per-round ratios; asserts
//! no timing. It does check that the preloaded runs really went through the preload (the report
//! counts every open), so the ratio is of real work.
//!
//! `cargo bench -p loadguard-preload --bench overhead` (CI: `ci/stages/55-preload.sh`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const FILES: usize = 10_000;
const ROUNDS: usize = 8;

#[path = "../tests/support/build_preload.rs"]
mod build;

/// How a run is made: without the preload, with it, or with it but no backtraces.
#[derive(Clone, Copy)]
enum Mode {
    Without,
    With,
    NoBacktraces,
}

fn run(exe: &Path, dir: &Path, lib: &Path, mode: Mode, reports: &Path) -> Duration {
    let mut cmd = Command::new(exe);
    cmd.arg(dir).arg(FILES.to_string());
    match mode {
        Mode::Without => {}
        Mode::With => {
            cmd.env("LD_PRELOAD", lib)
                .env(loadguard_preload_api_env::REPORT_DIR, reports);
        }
        Mode::NoBacktraces => {
            cmd.env("LD_PRELOAD", lib)
                .env("LOADGUARD_PRELOAD_DEPTH", "0");
        }
    }
    let start = Instant::now();
    let out = cmd.output().unwrap();
    let elapsed = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

/// The preload's report directory variable (`loadguard_preload_api::REPORT_DIR_ENV`; the
/// benchmark has no dependency on the api crate beyond this name).
mod loadguard_preload_api_env {
    pub const REPORT_DIR: &str = "LOADGUARD_PRELOAD_REPORT_DIR";
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}

fn main() {
    let lib = build::build_preload(true);
    let work = tempfile::tempdir().unwrap();
    let exe = work.path().join("open_many");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/open_many.c");
    assert!(
        Command::new("cc")
            .args(["-O2", "-o"])
            .arg(&exe)
            .arg(&src)
            .status()
            .unwrap()
            .success()
    );
    let files = work.path().join("files");
    std::fs::create_dir(&files).unwrap();
    for i in 0..FILES {
        std::fs::write(
            files.join(i.to_string()),
            [u8::try_from(i % 251).unwrap(); 64],
        )
        .unwrap();
    }
    let reports = work.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    // Warm the page cache and the dynamic loader once each way.
    run(&exe, &files, &lib, Mode::Without, &reports);
    run(&exe, &files, &lib, Mode::With, &reports);

    let (mut without, mut with, mut bare) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ratios, mut bare_ratios) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // A B C in even rounds, C B A in odd ones.
        let order = [Mode::Without, Mode::With, Mode::NoBacktraces];
        let mut times = [Duration::ZERO; 3];
        for i in 0..3 {
            let i = if round.is_multiple_of(2) { i } else { 2 - i };
            times[i] = run(&exe, &files, &lib, order[i], &reports);
        }
        let [a, b, c] = times.map(|t| t.as_secs_f64());
        without.push(a);
        with.push(b);
        bare.push(c);
        ratios.push(b / a);
        bare_ratios.push(c / a);
    }
    // Every preloaded run reported 10,000 opens: the preload did the work being timed.
    let mut preloaded_runs = 0;
    for entry in std::fs::read_dir(&reports).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(
            text.contains(&format!("open={FILES} ")),
            "a preloaded run did not count its opens"
        );
        preloaded_runs += 1;
    }
    assert_eq!(preloaded_runs, ROUNDS + 1);
    let (a, b, c) = (median(without), median(with), median(bare));
    println!(
        "preload overhead: {FILES} files (open + fstat + pread + mmap + munmap + close each), {ROUNDS} interleaved rounds"
    );
    println!("  without preload: median {:.1} ms", a * 1e3);
    println!("  with preload:    median {:.1} ms", b * 1e3);
    println!(
        "  with preload, LOADGUARD_PRELOAD_DEPTH=0 (no backtraces): median {:.1} ms",
        c * 1e3
    );
    println!(
        "  ratio (median of per-round with/without): {:.2}x",
        median(ratios)
    );
    println!("  ratio without backtraces: {:.2}x", median(bare_ratios));
    println!(
        "  ≈ {:.2} µs added per file ({:.2} µs without backtraces)",
        (b - a) * 1e6 / FILES as f64,
        (c - a) * 1e6 / FILES as f64
    );
}
