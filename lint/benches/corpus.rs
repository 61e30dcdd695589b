//! The real-code benchmark and throughput: `loadguard lint` over the pinned public loader
//! corpus (`lint/bench/corpus.tsv`, extracted by `lint/bench/corpus.sh` into
//! `target/lint-corpus`, or `LOADGUARD_BENCH_CORPUS`), and cost against input size.
//!
//! `cargo bench -p loadguard-lint --bench corpus` prints, per project and split, files, lines
//! and findings per rule (with `LOADGUARD_BENCH_FINDINGS=FILE` every finding as JSON lines, for
//! the review in `lint/README.md`); then throughput for Rust and for C/C++ measured in
//! interleaved rounds (R C, C R, …), with the median; then the time for one generated file of
//! 1, 5 and 50 MB per language, and of broken C++ that tree-sitter recovers from in quadratic
//! time without the parse budget, with its cost per MB. `LOADGUARD_BENCH_ROOT` adds a Rust tree
//! (for example `~/.cargo/registry/src`) to the throughput set. Nothing is asserted: the
//! numbers depend on the machine.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use loadguard_lint::rules::RULES;
use loadguard_lint::walk::{analyze_under, source_files};
use loadguard_lint::{Config, Finding, analyze_source};

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let root = std::env::var_os("LOADGUARD_BENCH_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/lint-corpus"),
        PathBuf::from,
    );
    let config = Config::default();
    let mut findings_out =
        std::env::var_os("LOADGUARD_BENCH_FINDINGS").and_then(|p| std::fs::File::create(p).ok());
    let mut rust_dirs = Vec::new();
    let mut cpp_dirs = Vec::new();
    println!("corpus: {}", root.display());
    println!("| split | lang | project | files | lines | findings | by rule |");
    println!("|---|---|---|---:|---:|---:|---|");
    for split in [
        "tune",
        "held-out",
        "held-out-2",
        "held-out-3",
        "held-out-4",
        "held-out-5",
        "held-out-6",
    ] {
        for lang in ["rust", "cpp"] {
            let dir = root.join(split).join(lang);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut projects: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            projects.sort();
            for p in projects {
                let (files, _) = source_files(std::slice::from_ref(&p));
                let lines = count_lines(&files);
                let run = analyze_under(&files, std::slice::from_ref(&p), &config);
                let mut by_rule: Vec<String> = RULES
                    .iter()
                    .map(|r| (r.id, run.findings.iter().filter(|f| f.rule == r.id).count()))
                    .filter(|&(_, n)| n > 0)
                    .map(|(id, n)| format!("{id} {n}"))
                    .collect();
                let parse = run
                    .findings
                    .iter()
                    .filter(|f| f.rule == "parse_error")
                    .count();
                if parse > 0 {
                    by_rule.push(format!("parse_error {parse}"));
                }
                println!(
                    "| {split} | {lang} | {} | {} | {lines} | {} | {} |",
                    p.file_name().unwrap_or_default().to_string_lossy(),
                    files.len(),
                    run.findings.len(),
                    by_rule.join(", ")
                );
                if let Some(out) = &mut findings_out {
                    for f in &run.findings {
                        let _ = writeln!(out, "{}", json_line(f, split));
                    }
                }
                if lang == "rust" {
                    rust_dirs.push(p)
                } else {
                    cpp_dirs.push(p)
                }
            }
        }
    }
    if let Some(extra) = std::env::var_os("LOADGUARD_BENCH_ROOT") {
        rust_dirs.push(PathBuf::from(extra));
    }
    // `LOADGUARD_BENCH_SKIP=throughput,scale,broken` leaves parts out.
    let skip = std::env::var("LOADGUARD_BENCH_SKIP").unwrap_or_default();
    if !skip.contains("throughput") {
        throughput(&rust_dirs, &cpp_dirs, &config);
    }
    if !skip.contains("scale") {
        scale(&config);
    }
}

fn json_line(f: &Finding, split: &str) -> String {
    serde_json::json!({
        "split": split, "rule": f.rule, "file": f.file, "line": f.line,
        "column": f.column, "message": f.message,
    })
    .to_string()
}

fn count_lines(files: &[PathBuf]) -> usize {
    files
        .iter()
        .filter_map(|f| std::fs::read(f).ok())
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .sum()
}

/// Lines and counts fit f64 exactly far beyond any source tree.
#[allow(clippy::cast_precision_loss)]
fn as_f64(n: usize) -> f64 {
    n as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Lines per second over each set, in interleaved rounds (R C C R R C …).
fn throughput(rust: &[PathBuf], cpp: &[PathBuf], config: &Config) {
    let sets: Vec<(&str, Vec<PathBuf>, &[PathBuf])> = [("rust", rust), ("cpp", cpp)]
        .into_iter()
        .map(|(name, dirs)| (name, source_files(dirs).0, dirs))
        .collect();
    let lines: Vec<usize> = sets
        .iter()
        .map(|(_, files, _)| count_lines(files))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "\nthroughput ({threads} threads, files read from the page cache, interleaved rounds)"
    );
    let mut rates = [Vec::new(), Vec::new()];
    for round in 0..4 {
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let (name, files, roots) = &sets[i];
            if files.is_empty() {
                continue;
            }
            let start = Instant::now();
            let run = analyze_under(files, roots, config);
            let s = start.elapsed().as_secs_f64();
            let rate = as_f64(lines[i]) / s;
            rates[i].push(rate);
            println!(
                "  round {round} {name}: {} files, {} lines, {:.2} s, {:.0} lines/s, {} findings",
                files.len(),
                lines[i],
                s,
                rate,
                run.findings.len()
            );
        }
    }
    for (i, (name, _, _)) in sets.iter().enumerate() {
        println!("  median {name}: {:.0} lines/s", median(rates[i].clone()));
    }
}

/// One generated file of 1, 5 and 50 MB per language: seconds and seconds per MB.
fn scale(config: &Config) {
    const RUST_FN: &str = "fn load_N(path: &CStr, header: &Header) -> io::Result<usize> {\n    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };\n    if fd < 0 {\n        return Err(io::Error::last_os_error());\n    }\n    let len = file_len(fd)?;\n    let n = header.data_offset as usize + len as usize;\n    unsafe { libc::close(fd) };\n    Ok(n)\n}\n\n";
    const CPP_FN: &str = "int load_N(const char* path, std::vector<char>& out) {\n    int fd = open(path, O_RDONLY);\n    if (fd < 0) return -1;\n    struct stat st;\n    if (fstat(fd, &st) != 0) { close(fd); return -1; }\n    out.resize((size_t) st.st_size);\n    close(fd);\n    return 0;\n}\n\n";
    // Broken C++ whose error recovery tree-sitter does in quadratic time (16 KiB of it took
    // 10 s before the parse budget): what the budget keeps linear.
    const BROKEN_CPP: &str = "a = )a = )a = )a = )a = )a = )a = )a = )a = )a = )a = )a = )\n";
    println!("\ncost against input size (one file, one thread)");
    let broken = !std::env::var("LOADGUARD_BENCH_SKIP")
        .unwrap_or_default()
        .contains("broken");
    let mut sets = vec![("scale.rs", RUST_FN), ("scale.cpp", CPP_FN)];
    if broken {
        sets.push(("broken.cpp", BROKEN_CPP));
    }
    for (label, template) in sets {
        for mb in [1usize, 5, 50] {
            let mut text = String::with_capacity(mb << 20);
            let mut i = 0usize;
            while text.len() < mb << 20 {
                text.push_str(&template.replace("_N", &format!("_{i}")));
                i += 1;
            }
            let start = Instant::now();
            let findings = analyze_source(label, &text, config);
            let s = start.elapsed().as_secs_f64();
            println!(
                "  {label} {mb:>2} MB: {:.2} s, {:.3} s/MB, {} findings",
                s,
                s / as_f64(mb),
                findings.len()
            );
        }
    }
}
