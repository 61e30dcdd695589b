//! Rendering the runs: a table for people, one JSON object for tools, progress on stderr.

use std::io::IsTerminal;
use std::path::Path;

use serde_json::{Value, json};

use super::measure::Rss;
use super::strategy::Run;

/// Progress lines on stderr, only when a person is watching it.
pub struct Progress {
    enabled: bool,
}

impl Progress {
    pub fn new() -> Self {
        Self {
            enabled: std::io::stderr().is_terminal(),
        }
    }

    pub fn step(&self, name: &str, done: usize, of: usize) {
        if self.enabled {
            eprint!("\r{name}: touching pages of session {done}/{of}   ");
            if done == of {
                eprintln!();
            }
        }
    }
}

fn median(values: &[u64]) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied()
}

fn open_ns(run: &Run) -> (Option<u64>, Option<u64>) {
    let first = run.open_ns.first().copied();
    let rest = run.open_ns.get(1..).and_then(median);
    (first, rest)
}

/// One mode if every session used it, else the list.
fn mode_used(run: &Run) -> Value {
    match run.mode_used.split_first() {
        Some((first, rest)) if rest.iter().all(|m| m == first) => json!(first),
        _ => json!(run.mode_used),
    }
}

fn run_json(run: &Run) -> Value {
    let (first, median_rest) = open_ns(run);
    json!({
        "mappings_created": run.mappings_created,
        "mode_used": mode_used(run),
        "open_ns": { "first": first, "median_rest": median_rest },
        "rss_anon_kib": { "before": run.rss_before.anon_kib, "after": run.rss_after.anon_kib },
        "rss_file_kib": { "before": run.rss_before.file_kib, "after": run.rss_after.file_kib },
        "rss_shmem_kib": { "before": run.rss_before.shmem_kib, "after": run.rss_after.shmem_kib },
        "fds": {
            "before": run.fds_before,
            "after_open": run.fds_after_open,
            "after_close": run.fds_after_close,
        },
    })
}

/// One object: loadguard's run at the top level, the others under `compare`.
pub fn json(path: &Path, size: u64, n: usize, runs: &[Run]) -> String {
    let mut out = json!({ "file": path.display().to_string(), "size": size, "sessions": n });
    if let (Some(Value::Object(top)), Some(Value::Object(first))) = (
        out.as_object_mut()
            .map(|o| Value::Object(std::mem::take(o))),
        runs.first().map(run_json),
    ) {
        let mut merged = top;
        merged.extend(first);
        if runs.len() > 1 {
            let compare: serde_json::Map<String, Value> = runs[1..]
                .iter()
                .map(|r| (r.name.to_owned(), run_json(r)))
                .collect();
            merged.insert("compare".to_owned(), Value::Object(compare));
        }
        out = Value::Object(merged);
    }
    serde_json::to_string_pretty(&out).unwrap_or_default()
}

fn kib(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v}"))
}

fn rss_delta(before: Rss, after: Rss, pick: fn(Rss) -> Option<u64>) -> String {
    match (pick(before), pick(after)) {
        (Some(b), Some(a)) => format!("{b} → {a} (+{})", a.saturating_sub(b)),
        _ => "-".to_owned(),
    }
}

fn micros(ns: Option<u64>) -> String {
    ns.map_or_else(
        || "-".to_owned(),
        |ns| format!("{:.1} µs", ns as f64 / 1000.0),
    )
}

/// A table, one row per strategy.
pub fn table(path: &Path, size: u64, n: usize, runs: &[Run]) -> String {
    let mut out = format!(
        "{} ({size} bytes), {n} sessions; each session touched every page\n\n",
        path.display()
    );
    out.push_str(&format!(
        "{:<20} {:>8} {:<5} {:>12} {:>12} {:>30} {:>30} {:>14} {:>14}\n",
        "strategy",
        "mappings",
        "mode",
        "open first",
        "open median",
        "RssAnon KiB before → after",
        "RssFile KiB before → after",
        "+RssShmem KiB",
        "fds b/open/cl"
    ));
    for run in runs {
        let (first, rest) = open_ns(run);
        let mode = match mode_used(run) {
            Value::String(s) => s,
            _ => "mixed".to_owned(),
        };
        out.push_str(&format!(
            "{:<20} {:>8} {:<5} {:>12} {:>12} {:>30} {:>30} {:>14} {:>14}\n",
            run.name,
            run.mappings_created,
            mode,
            micros(first),
            micros(rest),
            rss_delta(run.rss_before, run.rss_after, |r| r.anon_kib),
            rss_delta(run.rss_before, run.rss_after, |r| r.file_kib),
            match (run.rss_before.shmem_kib, run.rss_after.shmem_kib) {
                (Some(b), Some(a)) => format!("+{}", a.saturating_sub(b)),
                _ => "-".to_owned(),
            },
            format!(
                "{}/{}/{}",
                kib(run.fds_before),
                kib(run.fds_after_open),
                kib(run.fds_after_close)
            ),
        ));
    }
    out
}
