//! Rendering the runs: a table for people, one JSON object for tools, progress on stderr.
//!
//! Each strategy's figures arrive as the JSON object its child process printed
//! ([`run_json`]); the table is drawn from those objects, so both forms show the same numbers.

use std::io::IsTerminal;
use std::path::Path;

use serde_json::{Value, json};

use super::measure::Mem;
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

    pub fn cold(&self, name: &str, round: usize, of: usize) {
        if self.enabled {
            eprint!("\rcold load, round {round}/{of}: {name:<16}");
            if round == of && name == super::cold::NAMES[0] {
                eprintln!();
            }
        }
    }

    pub fn note(&self, what: &str) {
        if self.enabled {
            eprintln!("{what}…");
        }
    }
}

fn median(values: &[u64]) -> Option<u64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied()
}

/// `{first, median_rest}` of per-session figures.
fn first_and_rest(values: &[u64]) -> Value {
    json!({
        "first": values.first(),
        "median_rest": values.get(1..).and_then(median),
    })
}

/// One mode if every session used it, else the list.
fn mode_used(run: &Run) -> Value {
    match run.mode_used.split_first() {
        Some((first, rest)) if rest.iter().all(|m| m == first) => json!(first),
        _ => json!(run.mode_used),
    }
}

fn before_after(before: Mem, after: Mem, pick: fn(Mem) -> Option<u64>) -> Value {
    json!({ "before": pick(before), "after": pick(after) })
}

/// One strategy's figures, as its child process prints them.
pub fn run_json(run: &Run) -> Value {
    let (b, a) = (run.mem_before, run.mem_after);
    json!({
        "name": run.name,
        "mappings_created": run.mappings_created,
        "mode_used": mode_used(run),
        "open_ns": first_and_rest(&run.open_ns),
        "touch_ns": first_and_rest(&run.touch_ns),
        "open_plus_touch_ns": run.open_plus_touch_ns(),
        "rss_anon_kib": before_after(b, a, |m| m.anon_kib),
        "rss_file_kib": before_after(b, a, |m| m.file_kib),
        "rss_shmem_kib": before_after(b, a, |m| m.shmem_kib),
        "pss_kib": before_after(b, a, |m| m.pss_kib),
        "page_tables_kib": before_after(b, a, |m| m.page_tables_kib),
        "fds": {
            "before": run.fds_before,
            "after_open": run.fds_after_open,
            "after_close": run.fds_after_close,
        },
    })
}

/// A run's figures without its name (the JSON report keys runs by name).
fn without_name(run: &Value) -> serde_json::Map<String, Value> {
    let mut fields = run.as_object().cloned().unwrap_or_default();
    fields.remove("name");
    fields
}

fn name(run: &Value) -> &str {
    run["name"].as_str().unwrap_or("?")
}

/// One object: the first (loadguard) run at the top level, the others under `compare`, the
/// cold figures under `cold`.
pub fn json(path: &Path, size: u64, n: usize, runs: &[Value], cold: Option<&Value>) -> String {
    let mut out = serde_json::Map::new();
    out.insert("file".into(), json!(path.display().to_string()));
    out.insert("size".into(), json!(size));
    out.insert("sessions".into(), json!(n));
    if let Some((first, rest)) = runs.split_first() {
        out.extend(without_name(first));
        if !rest.is_empty() {
            let compare: serde_json::Map<String, Value> = rest
                .iter()
                .map(|r| (name(r).to_owned(), Value::Object(without_name(r))))
                .collect();
            out.insert("compare".into(), Value::Object(compare));
        }
    }
    if let Some(cold) = cold {
        out.insert("cold".into(), cold.clone());
    }
    serde_json::to_string_pretty(&Value::Object(out)).unwrap_or_default()
}

fn num(v: &Value) -> String {
    v.as_u64().map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// `+growth` of a `{before, after}` figure.
fn growth(v: &Value) -> String {
    match (v["before"].as_u64(), v["after"].as_u64()) {
        (Some(b), Some(a)) => format!("+{}", a.saturating_sub(b)),
        _ => "-".to_owned(),
    }
}

fn micros(v: &Value) -> String {
    v.as_u64().map_or_else(
        || "-".to_owned(),
        // Exact for any latency this prints (below 2^53 ns).
        |ns| {
            format!(
                "{:.1} µs",
                ns.to_string().parse::<f64>().unwrap_or(f64::NAN) / 1000.0
            )
        },
    )
}

/// A table, one row per strategy, then the cold figures if measured.
pub fn table(path: &Path, size: u64, n: usize, runs: &[Value], cold: Option<&Value>) -> String {
    let mut out = format!(
        "{} ({size} bytes), {n} sessions, each in its own child process per strategy after one \
         warm-up session; every session touched every page\n\n",
        path.display()
    );
    out.push_str(&format!(
        "{:<20} {:>8} {:<6} {:>12} {:>12} {:>12} {:>16} {:>12} {:>12} {:>12} {:>10} {:>9} {:>14}\n",
        "strategy",
        "mappings",
        "mode",
        "open first",
        "open median",
        "touch median",
        "open+touch 2..N",
        "+RssAnon KiB",
        "+RssFile KiB",
        "+PSS KiB",
        "+PTE KiB",
        "+Shm KiB",
        "fds b/open/cl"
    ));
    for run in runs {
        let mode = match &run["mode_used"] {
            Value::String(s) => s.clone(),
            _ => "mixed".to_owned(),
        };
        let fds = &run["fds"];
        out.push_str(&format!(
            "{:<20} {:>8} {:<6} {:>12} {:>12} {:>12} {:>16} {:>12} {:>12} {:>12} {:>10} {:>9} {:>14}\n",
            name(run),
            num(&run["mappings_created"]),
            mode,
            micros(&run["open_ns"]["first"]),
            micros(&run["open_ns"]["median_rest"]),
            micros(&run["touch_ns"]["median_rest"]),
            micros(&run["open_plus_touch_ns"]),
            growth(&run["rss_anon_kib"]),
            growth(&run["rss_file_kib"]),
            growth(&run["pss_kib"]),
            growth(&run["page_tables_kib"]),
            growth(&run["rss_shmem_kib"]),
            format!(
                "{}/{}/{}",
                num(&fds["before"]),
                num(&fds["after_open"]),
                num(&fds["after_close"])
            ),
        ));
    }
    if let Some(cold) = cold {
        out.push_str(
            "\ncold page cache, load + touch every page (median of interleaved rounds):\n",
        );
        for name in super::cold::NAMES {
            let entry = &cold[name];
            let figure = match (entry["gbps"].as_f64(), entry["error"].as_str()) {
                (Some(gbps), _) => format!("{gbps:.2} GB/s ({} rounds)", num(&entry["rounds"])),
                (None, Some(error)) => format!("not measured: {error}"),
                (None, None) => "-".to_owned(),
            };
            out.push_str(&format!("  {name:<16} {figure}\n"));
        }
    }
    out
}
