//! Throughput and finding density on a large real tree: the sources of the crates in the local
//! cargo registry (`~/.cargo/registry/src`, or `LOADGUARD_BENCH_ROOT`).
//!
//! `cargo bench -p loadguard-lint --bench registry` prints files, lines, wall time, lines per
//! second, and findings per 10,000 lines for each rule. With `LOADGUARD_BENCH_FINDINGS=FILE`
//! it also writes every finding as JSON lines, for the false-positive review recorded in
//! `lint/REVIEW.md`. There are no timing assertions: numbers depend on the machine.

use std::path::PathBuf;
use std::time::Instant;

use loadguard_lint::rules::RULES;
use loadguard_lint::walk::{analyze_files, source_files};
use loadguard_lint::{Config, report};

fn main() {
    // `cargo test --benches` runs bench binaries without `--bench`: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let root = std::env::var_os("LOADGUARD_BENCH_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("CARGO_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
                .unwrap_or_default();
            home.join("registry/src")
        });
    let (files, errors) = source_files(std::slice::from_ref(&root));
    if files.is_empty() {
        println!(
            "registry bench: no Rust files under {} (skipped)",
            root.display()
        );
        return;
    }
    let lines: usize = files
        .iter()
        .filter_map(|f| std::fs::read(f).ok())
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .sum();
    let config = Config::default();
    let start = Instant::now();
    let run = analyze_files(&files, &config);
    let seconds = start.elapsed().as_secs_f64();
    // Lines and counts fit f64 exactly far beyond any source tree.
    let per_10k = |n: usize| -> f64 { count_f64(n) * 10_000.0 / count_f64(lines.max(1)) };
    println!("registry bench: {}", root.display());
    println!(
        "  files        {:>10}  ({} walk errors)",
        run.files,
        errors.len() + run.io_errors.len()
    );
    println!("  lines        {lines:>10}");
    println!(
        "  wall time    {seconds:>10.2} s  ({} threads)",
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!(
        "  throughput   {:>10.0} lines/s",
        count_f64(lines) / seconds.max(1e-9)
    );
    println!(
        "  findings     {:>10}  ({:.2} per 10,000 lines)",
        run.findings.len(),
        per_10k(run.findings.len())
    );
    for id in RULES
        .iter()
        .map(|r| r.id)
        .chain(["parse_error", "internal_error"])
    {
        let n = run.findings.iter().filter(|f| f.rule == id).count();
        println!("    {id:<22} {n:>6}  {:>7.3} / 10k lines", per_10k(n));
    }
    if let Some(out) = std::env::var_os("LOADGUARD_BENCH_FINDINGS") {
        let text = report::render(
            report::Format::Json,
            &run.findings,
            report::Totals { files: run.files },
        );
        if let Err(e) = std::fs::write(&out, text) {
            eprintln!("cannot write {}: {e}", PathBuf::from(out).display());
        }
    }
}

/// A count as `f64` without a lossy `as` cast (counts here stay far below 2^53).
fn count_f64(n: usize) -> f64 {
    u32::try_from(n).map_or(f64::from(u32::MAX), f64::from)
}
