//! `loadguard-lint`: a static analyzer for the bug classes of model loaders, in Rust and C/C++.
//!
//! Clippy checks casts with full type information, and compile-based C++ analyzers need the
//! vendor SDK headers and a compile database; nothing checks the shapes below, and nothing can
//! start on an accelerator backend's sources in an ordinary CI. This crate needs no build, no
//! type checker, no headers and no nightly: a Rust front-end (`syn`) and a C/C++ front-end
//! (tree-sitter) lower each file into one small IR ([`ir`]), and every rule is written once
//! against it. Because `syn` does not evaluate `cfg` and tree-sitter sees every `#if` branch,
//! Windows code is checked on Linux too.
//!
//! # Rules
//!
//! | id | finds |
//! |---|---|
//! | `unowned_handle` | a raw fd / HANDLE / mapping / library handle that can reach `?`, `return` or `throw` before it is owned or released |
//! | `map_linear_scan` | a map or set (known from declarations across the crate) searched by iterating and comparing keys |
//! | `unchecked_size_cast` | a narrowing cast of an untrusted 64-bit value (file length, seek result, decoded integer, 64-bit local, field or function result), unless a bound check or `try_from` guards it |
//! | `lock_in_drop` | a destructor locking a mutex that the object owns directly |
//! | `uninit_status` | a status or out-parameter read uninitialized, or a success-initialized status assigned a call's answer on some paths only |
//! | `clobbered_os_error` | `last_os_error()` / `GetLastError()` / `errno` read after a cleanup or log call that follows the failing one |
//! | `os_error_dropped` | a branch that detects a failed OS call and returns an error without the OS error |
//! | `duplicate_symbol` | the same symbol resolved twice from one library in one function or type |
//! | `double_lifecycle` | the same init or deinit call made from two methods of one type |
//! | `static_resource` | a static holding a resource owner that is never released |
//! | `wrong_failure_sentinel` | an acquire call's result compared with the wrong failure value (`INVALID_HANDLE_VALUE` vs NULL, NULL vs `MAP_FAILED`, `fd == 0`) |
//!
//! Each rule lives in `rules/<id>.rs`, whose module docs state exactly which shapes it knows,
//! and `loadguard lint --explain <id>` prints what it flags and what to write instead. The ids
//! are part of the interface: suppressions, `loadguard.toml`, `--rules` and SARIF use them. A
//! Rust file that does not parse is reported as `parse_error` and the run goes on; a C/C++
//! region tree-sitter cannot parse is skipped and the functions around it are analyzed.
//!
//! # Use
//!
//! ```
//! use loadguard_lint::{Config, analyze_source};
//!
//! let code = "fn f(file: &std::fs::File) -> usize { file.metadata().unwrap().len() as usize }";
//! let findings = analyze_source("src/lib.rs", code, &Config::default());
//! assert_eq!(findings.len(), 1);
//! assert_eq!(findings[0].rule, "unchecked_size_cast");
//! ```
//!
//! `loadguard lint [PATH…] [--format human|json|sarif] [--rules a,b] [--config FILE]
//! [--explain RULE]` (see [`cli`]); exit 0 when clean, 1 with findings, 2 on a usage,
//! configuration or I/O error. Suppress one finding with `// loadguard: allow(rule_id) reason`
//! on the line, the line above, or above the enclosing item ([`suppress`]); configure rules in
//! `loadguard.toml` ([`config`]).
//!
//! # Layout
//!
//! Data flows one way: [`walk`] finds files and groups them by crate / directory; [`front`]
//! lowers each file (after [`lex`] bounds a Rust file's depth) into an [`ir::Unit`];
//! [`summary`] gathers the group's declarations; [`rules`] (with [`known`]'s name tables) turn
//! units into hits; [`suppress`] and [`config`] filter them into [`Finding`]s; [`report`]
//! renders human, JSON and SARIF output; [`cli`] ties it together.
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod finding;
pub mod front;
pub mod ir;
pub mod known;
pub mod lex;
pub mod report;
pub mod rules;
pub mod source;
pub mod summary;
pub mod suppress;
pub mod walk;

pub use config::Config;
pub use finding::{Finding, Severity};

use front::Language;
use ir::Unit;
use rules::{Cx, Hit, INTERNAL_ERROR, PARSE_ERROR, RULES};
use source::{LineIndex, ParseFailure};
use summary::Summary;

/// Stack reserved for analyzing files. `syn` and the Rust lowering recurse once per tree level;
/// [`lex::scan`] keeps the deepest accepted input well inside this. Only touched pages are
/// committed. Not larger: sanitizers clear the shadow of the whole stack at thread exit.
pub const ANALYSIS_STACK: usize = 64 << 20;

/// Analyzes one file's text: every enabled rule, then suppressions and configured severities.
///
/// `path` labels the findings and picks the language (`.rs`: Rust; `.c`: C; `.cc`, `.cpp`,
/// `.h`, …: C++; anything else is read as Rust). Never panics on any input (the `lint_source`
/// fuzz target checks this); a Rust file that does not parse gives one `parse_error` finding.
/// The work runs on a thread of its own with a large stack, so the caller's stack size does not
/// matter.
#[must_use]
pub fn analyze_source(path: &str, text: &str, config: &Config) -> Vec<Finding> {
    on_analysis_stack(|| {
        let files = [(path.to_owned(), text.to_owned())];
        analyze_group(&files, config).0
    })
}

/// Runs `work` on a thread with [`ANALYSIS_STACK`] (or here when no thread can be had).
pub fn on_analysis_stack<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("loadguard-lint".to_owned())
            .stack_size(ANALYSIS_STACK)
            .spawn_scoped(scope, work);
        match spawned {
            Ok(worker) => worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(e) => {
                // No thread to be had (resource limits): there is no `work` left to run here,
                // it moved into the failed spawn; report it as the panic it would have been.
                std::panic::panic_any(format!("cannot start the analysis thread: {e}"))
            }
        }
    })
}

/// A file of a group after lowering (see [`lower_file`]).
pub struct Lowered<'t> {
    path: &'t str,
    text: &'t str,
    index: LineIndex<'t>,
    unit: Result<Unit<'t>, ParseFailure>,
}

impl Lowered<'_> {
    /// The length of the file's text in bytes (what its analysis costs grows with).
    #[must_use]
    pub fn text_len(&self) -> usize {
        self.text.len()
    }
}

/// Analyzes the files of one group (a crate or directory) together: declarations of every file
/// are known in every other. Runs on the current thread, which must have a large stack (see
/// [`on_analysis_stack`]). Returns the findings and the notes on regions that were skipped.
#[must_use]
pub fn analyze_group(files: &[(String, String)], config: &Config) -> (Vec<Finding>, Vec<String>) {
    let lowered: Vec<Lowered<'_>> = files
        .iter()
        .map(|(p, t)| lower_file(p, t, config))
        .collect();
    let summary = summarize(&lowered);
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    for l in &lowered {
        let (mut f, mut n) = check_file(l, &summary, config);
        findings.append(&mut f);
        notes.append(&mut n);
    }
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    (findings, notes)
}

/// The summary of a group's lowered files.
#[must_use]
pub fn summarize<'l, 't: 'l>(lowered: impl IntoIterator<Item = &'l Lowered<'t>>) -> Summary {
    let mut summary = Summary::default();
    for l in lowered {
        if let Ok(unit) = &l.unit {
            summary.add(unit);
        }
    }
    summary
}

/// Lowers one file (the language from `path`'s extension), with the early-exit macros that
/// `config` adds marked as exits; a panic in a front-end becomes an `internal_error` for that
/// file. Needs a large stack (see [`on_analysis_stack`]).
#[must_use]
pub fn lower_file<'t>(path: &'t str, text: &'t str, config: &Config) -> Lowered<'t> {
    let index = LineIndex::new(text);
    let language = front::language_of(std::path::Path::new(path)).unwrap_or(Language::Rust);
    let unit = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match language {
        Language::Rust => front::rust::lower(text, &index),
        Language::C => Ok(front::cpp::lower(text, front::cpp::Dialect::C)),
        Language::Cpp => Ok(front::cpp::lower(text, front::cpp::Dialect::Cpp)),
    }));
    if language == Language::Rust {
        // The spans of this file are no longer needed (the IR holds byte offsets): free the
        // thread's span table, which otherwise grows with every file parsed on this thread.
        proc_macro2::extra::invalidate_current_thread_spans();
    }
    let mut unit = unit.unwrap_or_else(|_| {
        Err(ParseFailure {
            line: 0,
            column: 0,
            message: String::new(),
        })
    });
    if let Ok(unit) = &mut unit
        && config.has_configured_exits()
    {
        unit.mark_exits(|name| config.is_configured_exit(name));
    }
    Lowered {
        path,
        text,
        index,
        unit,
    }
}

/// Runs the enabled rules on one lowered file with its group's summary: its findings, and
/// notes on regions that were skipped.
#[must_use]
pub fn check_file(
    l: &Lowered<'_>,
    summary: &Summary,
    config: &Config,
) -> (Vec<Finding>, Vec<String>) {
    let unit = match &l.unit {
        Ok(unit) => unit,
        Err(failure) if failure.line == 0 => return (vec![internal_error(l)], Vec::new()),
        Err(failure) => {
            return (
                vec![pseudo(
                    l,
                    PARSE_ERROR,
                    failure.line,
                    failure.column,
                    format!(
                        "this file does not parse, so it was not analyzed: {}",
                        failure.message
                    ),
                )],
                Vec::new(),
            );
        }
    };
    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        check_unit(l, unit, summary, config)
    }));
    checked.unwrap_or_else(|_| (vec![internal_error(l)], Vec::new()))
}

fn check_unit(
    l: &Lowered<'_>,
    unit: &Unit<'_>,
    summary: &Summary,
    config: &Config,
) -> (Vec<Finding>, Vec<String>) {
    let cx = Cx {
        unit,
        summary,
        config,
    };
    let directives = suppress::directives(l.text);
    let suppressions = suppress::Suppressions::new(&l.index, &directives, &unit.extents);
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    for &(offset, ref message) in &unit.broken {
        let (line, column) = l.index.line_col(offset as usize);
        if unit.lang == ir::Lang::Rust {
            findings.push(pseudo(
                l,
                PARSE_ERROR,
                line,
                column + 1,
                format!(
                    "this part does not parse, so it was not analyzed (the rest was): {message}"
                ),
            ));
        } else {
            notes.push(format!("{}:{line}:{}: {message}", l.path, column + 1));
        }
    }
    let mut hits: Vec<Hit> = Vec::new();
    for rule in RULES.iter().filter(|r| config.enabled(r)) {
        hits.clear();
        (rule.check)(&cx, &mut hits);
        hits.sort_by_key(|h| (h.start, h.end));
        hits.dedup_by(|a, b| a.start == b.start);
        for hit in &hits {
            let (line, column) = l.index.line_col(hit.start as usize);
            if suppressions.covers(rule.id, line) {
                continue;
            }
            let (end_line, end_column) = l.index.line_col(hit.end as usize);
            findings.push(Finding {
                rule: rule.id,
                severity: config.severity(rule),
                file: l.path.to_owned(),
                line,
                column: column + 1,
                end_line,
                end_column: end_column + 1,
                message: match hit.related {
                    Some(at) => hit
                        .message
                        .replace("{line}", &l.index.line_col(at as usize).0.to_string()),
                    None => hit.message.clone(),
                },
                source_line: l.index.line(line).to_owned(),
            });
        }
    }
    (findings, notes)
}

fn pseudo(
    l: &Lowered<'_>,
    rule: &'static str,
    line: usize,
    column: usize,
    message: String,
) -> Finding {
    let line = line.max(1);
    let column = column.max(1);
    Finding {
        rule,
        severity: Severity::Error,
        file: l.path.to_owned(),
        line,
        column,
        end_line: line,
        end_column: column,
        message,
        source_line: l.index.line(line).to_owned(),
    }
}

fn internal_error(l: &Lowered<'_>) -> Finding {
    pseudo(
        l,
        INTERNAL_ERROR,
        1,
        1,
        "the analyzer panicked on this file (a bug in loadguard-lint; please report it)".to_owned(),
    )
}

/// [`analyze_source`], with an analyzer panic (a bug) turned into an `internal_error` finding
/// so one bad file does not stop a run over a whole tree.
#[must_use]
pub fn analyze_source_guarded(path: &str, text: &str, config: &Config) -> Vec<Finding> {
    std::panic::catch_unwind(|| analyze_source(path, text, config)).unwrap_or_else(|_| {
        let index = LineIndex::new(text);
        vec![internal_error(&Lowered {
            path,
            text,
            index,
            unit: Err(ParseFailure {
                line: 0,
                column: 0,
                message: String::new(),
            }),
        })]
    })
}
