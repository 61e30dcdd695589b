//! Session latency and memory for N = 1, 4, 16 sessions on one large file — loadguard's shared
//! registry vs a per-session memmap2 mapping vs a naive per-session `std::fs::read` — and cold
//! load throughput of five loaders.
//!
//! Each N runs `loadguard sessions FILE -n N --compare --json`, which runs every strategy in a
//! fresh child process from the same baseline; then `--cold` measures cold loads in interleaved
//! rounds. It prints the figures and their ratios; it asserts nothing about timings.
//! `cargo bench -p loadguard-cli --bench sessions`; `LOADGUARD_BENCH_MIB` sets the file size
//! (default 256), `LOADGUARD_BENCH_MAX_N` the largest N (default 16).

use std::io::Write;
use std::process::Command;

use serde_json::Value;

fn main() {
    let mib: u64 = std::env::var("LOADGUARD_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let max_n: u32 = std::env::var("LOADGUARD_BENCH_MAX_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.bin");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    let chunk: Vec<u8> = (0..1u32 << 20)
        .map(|i| i.to_le_bytes()[0] ^ i.to_le_bytes()[1])
        .collect();
    for _ in 0..mib {
        file.write_all(&chunk).expect("write");
    }
    drop(file);
    println!(
        "file: {mib} MiB; every session touches every page; each strategy in its own process, after one warm-up session\n"
    );
    println!(
        "{:>3}  {:<20} {:>8} {:>14} {:>16} {:>12} {:>12} {:>12} {:>10}",
        "N",
        "strategy",
        "mappings",
        "open median µs",
        "open+touch 2..N",
        "+RssAnon MiB",
        "+RssFile MiB",
        "+PSS MiB",
        "+PTE KiB"
    );
    let mut ns = vec![1u32, 4, 16];
    ns.retain(|&n| n <= max_n);
    let mut ratios = Vec::new();
    for &n in &ns {
        let report = sessions(&path, n, false);
        row(n, "loadguard", &report);
        for (name, run) in report["compare"].as_object().into_iter().flatten() {
            row(n, name, run);
        }
        let mmap = &report["compare"]["memmap2_per_session"];
        let read = &report["compare"]["read_per_session"];
        if n > 1 {
            ratios.push(format!(
                "N={n:<3} open+touch 2..N vs memmap2 per session {:.3}; PSS growth vs read per session {:.4}; anon growth vs read per session {:.5}",
                ratio(&report["open_plus_touch_ns"], &mmap["open_plus_touch_ns"]),
                grew(&report, "pss_kib") / grew(read, "pss_kib"),
                grew(&report, "rss_anon_kib") / grew(read, "rss_anon_kib"),
            ));
        }
    }
    println!();
    for line in ratios {
        println!("{line}");
    }
    let cold = sessions(&path, 1, true);
    println!("\ncold page cache (load + touch every page, median of interleaved rounds):");
    let direct = cold["cold"]["direct"]["gbps"].as_f64();
    let naive = cold["cold"]["naive_mmap"]["gbps"].as_f64();
    for (name, entry) in cold["cold"].as_object().into_iter().flatten() {
        let gbps = entry["gbps"].as_f64();
        let vs = |base: Option<f64>| match (gbps, base) {
            (Some(g), Some(b)) => format!("{:.2}", g / b),
            _ => "-".to_owned(),
        };
        println!(
            "  {name:<16} {:>8} GB/s   vs direct {:>6}   vs naive mmap {:>6}",
            gbps.map_or_else(|| "-".to_owned(), |g| format!("{g:.2}")),
            vs(direct),
            vs(naive)
        );
    }
}

/// Runs `loadguard sessions FILE -n N --compare --json` (with `--cold`, one round trio).
fn sessions(path: &std::path::Path, n: u32, cold: bool) -> Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loadguard"));
    command
        .arg("sessions")
        .arg(path)
        .args(["-n", &n.to_string(), "--compare", "--json"]);
    if cold {
        command.args(["--cold", "--rounds", "3"]);
    }
    let out = command.output().expect("run loadguard");
    assert!(
        out.status.success(),
        "loadguard failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

fn ratio(a: &Value, b: &Value) -> f64 {
    match (a.as_u64(), b.as_u64()) {
        (Some(a), Some(b)) if b > 0 => a as f64 / b as f64,
        _ => f64::NAN,
    }
}

fn grew(run: &Value, field: &str) -> f64 {
    match (run[field]["before"].as_u64(), run[field]["after"].as_u64()) {
        (Some(b), Some(a)) => a.saturating_sub(b) as f64,
        _ => f64::NAN,
    }
}

fn row(n: u32, name: &str, run: &Value) {
    let us = |v: &Value| v.as_u64().map_or(f64::NAN, |ns| ns as f64 / 1000.0);
    // A figure the run does not have (N = 1 has no sessions 2..N) prints as "-", not NaN.
    let cell = |v: f64, digits: usize| {
        if v.is_finite() {
            format!("{v:.digits$}")
        } else {
            "-".to_owned()
        }
    };
    println!(
        "{n:>3}  {name:<20} {:>8} {:>14} {:>16} {:>12} {:>12} {:>12} {:>10}",
        run["mappings_created"],
        cell(us(&run["open_ns"]["median_rest"]), 1),
        cell(us(&run["open_plus_touch_ns"]), 1),
        cell(grew(run, "rss_anon_kib") / 1024.0, 1),
        cell(grew(run, "rss_file_kib") / 1024.0, 1),
        cell(grew(run, "pss_kib") / 1024.0, 1),
        cell(grew(run, "page_tables_kib"), 0),
    );
}
