//! `loadguard-lint`: a static analyzer for the bug classes of model loaders.
//!
//! Clippy checks casts with full type information, but nothing checks the shapes below: raw OS
//! handles left unowned on an error path, maps searched by scan, locks taken in `Drop`, errno
//! read after it was clobbered, duplicate symbol loads, double init/deinit, statics that own OS
//! resources. This crate finds them on stable Rust with `syn` alone: no type checker, no
//! nightly, and — because `syn` does not evaluate `cfg` — every `cfg` branch is checked, so
//! Windows code is linted on Linux too.
//!
//! # Rules
//!
//! | id | finds |
//! |---|---|
//! | `unowned_handle` | a raw fd / HANDLE / mapping / library handle that can reach `?` or `return` before it is owned or released |
//! | `map_linear_scan` | a map (known from the file's declarations) searched by iterating and comparing keys |
//! | `unchecked_size_cast` | a narrowing `as` cast of an untrusted 64-bit value (file length, seek result, decoded integer, `u64` local or field) |
//! | `lock_in_drop` | `Drop::drop` locking a `Mutex` / `RwLock` that `self` owns directly |
//! | `uninit_status` | a status or out-parameter read uninitialized, or a success-initialized status assigned on some paths only |
//! | `clobbered_os_error` | `last_os_error()` / `GetLastError()` / `errno()` read after another call that follows the failing one |
//! | `os_error_dropped` | a branch that detects a failed OS call and returns an error without the OS error |
//! | `duplicate_symbol` | the same symbol resolved twice from one library in one function or impl |
//! | `double_lifecycle` | the same init or deinit call made from two methods of one type |
//! | `static_resource` | a `static` holding a type that owns an OS resource (never dropped) |
//!
//! Each rule lives in `rules/<id>.rs`, whose module docs state exactly which shapes it knows.
//! The ids are part of the interface: suppressions, `loadguard.toml`, `--rules` and SARIF use
//! them. A file that does not parse is reported as `parse_error` and the run goes on.
//!
//! # Use
//!
//! `loadguard lint [PATH…] [--format human|json|sarif] [--rules a,b] [--config FILE]` (see
//! [`cli`]); exit 0 when clean, 1 with findings, 2 on a usage, configuration or I/O error.
//! Suppress one finding with `// loadguard: allow(rule_id) reason` on the line, the line above,
//! or above the enclosing item ([`suppress`]); configure rules in `loadguard.toml` ([`config`]).
//!
//! # Layout
//!
//! [`source`] parses (with a nesting limit), [`context`] gathers the file's declarations,
//! [`rules`] holds the rules, [`suppress`] and [`config`] filter, [`walk`] finds and analyzes
//! files in parallel, [`report`] renders human, JSON and SARIF output, [`cli`] ties it together.
#![doc = include_str!("../README.md")]

pub mod cli;
pub mod config;
pub mod context;
pub mod finding;
pub mod report;
pub mod rules;
pub mod source;
pub mod suppress;
pub mod syntax;
pub mod walk;

pub use config::Config;
pub use finding::{Finding, Severity};

use rules::{Hit, INTERNAL_ERROR, PARSE_ERROR, RULES};

/// Stack reserved for analyzing one file. `syn` and the rules recurse once per nesting level
/// (up to ~8 KiB per level in debug builds); the limits of [`source::parse`] keep the deepest
/// accepted input well inside this. Only touched pages are committed. Not larger: sanitizers
/// clear the shadow of the whole stack at thread exit, which made 256 MiB cost ~5 ms a file.
const ANALYSIS_STACK: usize = 32 << 20;

/// Analyzes one file's text: every enabled rule, then suppressions and configured severities.
///
/// `path` is only used to label the findings. Never panics on any input (the `lint_source`
/// fuzz target checks this); a file that does not parse gives one `parse_error` finding. The
/// work runs on a thread of its own with a large stack, so the caller's stack size does not
/// matter.
#[must_use]
pub fn analyze_source(path: &str, text: &str, config: &Config) -> Vec<Finding> {
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("loadguard-lint".to_owned())
            .stack_size(ANALYSIS_STACK)
            .spawn_scoped(scope, || analyze_here(path, text, config));
        match spawned {
            Ok(worker) => worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No thread to be had (resource limits): analyze on the caller's stack.
            Err(_) => analyze_here(path, text, config),
        }
    })
}

/// [`analyze_source`] on the current thread.
fn analyze_here(path: &str, text: &str, config: &Config) -> Vec<Finding> {
    let findings = analyze_parsed(path, text, config);
    // Spans of this file are no longer needed: free the thread's span table, which otherwise
    // grows with every file parsed on this thread.
    proc_macro2::extra::invalidate_current_thread_spans();
    findings
}

fn analyze_parsed(path: &str, text: &str, config: &Config) -> Vec<Finding> {
    let file = match source::parse(text) {
        Ok(file) => file,
        Err(failure) => {
            return vec![Finding {
                rule: PARSE_ERROR,
                severity: Severity::Error,
                file: path.to_owned(),
                line: failure.line,
                column: failure.column,
                end_line: failure.line,
                end_column: failure.column,
                message: format!(
                    "this file does not parse, so it was not analyzed: {}",
                    failure.message
                ),
                source_line: source::line_of(text, failure.line).to_owned(),
            }];
        }
    };
    let ctx = context::FileContext::new(&file);
    let directives = suppress::directives(text);
    let suppressions = suppress::Suppressions::new(text, &directives, Some(&file));
    let mut findings = Vec::new();
    for rule in RULES.iter().filter(|r| config.enabled(r)) {
        let mut hits: Vec<Hit> = (rule.check)(&ctx);
        hits.sort_by_key(|h| (h.start, h.end));
        hits.dedup_by(|a, b| a.start == b.start);
        for hit in hits {
            if suppressions.covers(rule.id, hit.start.0) {
                continue;
            }
            findings.push(finding(rule.id, config.severity(rule), path, text, &hit));
        }
    }
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings
}

fn finding(rule: &'static str, severity: Severity, path: &str, text: &str, hit: &Hit) -> Finding {
    Finding {
        rule,
        severity,
        file: path.to_owned(),
        line: hit.start.0,
        column: hit.start.1 + 1,
        end_line: hit.end.0,
        end_column: hit.end.1 + 1,
        message: hit.message.clone(),
        source_line: source::line_of(text, hit.start.0).to_owned(),
    }
}

/// [`analyze_source`], with an analyzer panic (a bug) turned into an `internal_error` finding
/// so one bad file does not stop a run over a whole tree.
#[must_use]
pub fn analyze_source_guarded(path: &str, text: &str, config: &Config) -> Vec<Finding> {
    std::panic::catch_unwind(|| analyze_source(path, text, config)).unwrap_or_else(|_| {
        vec![Finding {
            rule: INTERNAL_ERROR,
            severity: Severity::Error,
            file: path.to_owned(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            message:
                "the analyzer panicked on this file (a bug in loadguard-lint; please report it)"
                    .to_owned(),
            source_line: source::line_of(text, 1).to_owned(),
        }]
    })
}
