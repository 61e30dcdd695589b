//! Session open latency and memory for N = 1…32 sessions on one large file: loadguard's shared
//! registry vs a naive per-session `std::fs::read` vs a per-session memmap2 mapping.
//!
//! Each N runs `loadguard sessions FILE -n N --compare --json` in a fresh process, so every row
//! starts from the same RSS baseline, and prints the figures as a table. It measures and
//! prints; it asserts nothing about timings. `cargo bench -p loadguard-cli --bench sessions`;
//! `LOADGUARD_BENCH_MIB` sets the file size (default 256), `LOADGUARD_BENCH_MAX_N` the largest N.

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
        .unwrap_or(32);
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
    println!("file: {mib} MiB; every session touches every page\n");
    println!(
        "{:>3}  {:<20} {:>8} {:>14} {:>14} {:>16} {:>16}",
        "N",
        "strategy",
        "mappings",
        "open first µs",
        "open median µs",
        "+RssAnon MiB",
        "+RssFile MiB"
    );
    let mut n = 1;
    while n <= max_n {
        let out = Command::new(env!("CARGO_BIN_EXE_loadguard"))
            .arg("sessions")
            .arg(&path)
            .args(["-n", &n.to_string(), "--compare", "--json"])
            .output()
            .expect("run loadguard");
        assert!(
            out.status.success(),
            "loadguard failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).expect("json");
        row(n, "loadguard", &report);
        for (name, run) in report["compare"].as_object().into_iter().flatten() {
            row(n, name, run);
        }
        n *= 2;
    }
}

fn row(n: u32, name: &str, run: &Value) {
    let us = |v: &Value| v.as_u64().map_or(f64::NAN, |ns| ns as f64 / 1000.0);
    let grew = |field: &str| {
        let (before, after) = (run[field]["before"].as_u64(), run[field]["after"].as_u64());
        match (before, after) {
            (Some(b), Some(a)) => a.saturating_sub(b) as f64 / 1024.0,
            _ => f64::NAN,
        }
    };
    println!(
        "{n:>3}  {name:<20} {:>8} {:>14.1} {:>14.1} {:>16.1} {:>16.1}",
        run["mappings_created"],
        us(&run["open_ns"]["first"]),
        us(&run["open_ns"]["median_rest"]),
        grew("rss_anon_kib"),
        grew("rss_file_kib"),
    );
}
