//! `loadguard lint`: options, run, exit code. The `loadguard` binary parses the command line
//! with clap and calls [`run`]; tests call it directly with in-memory output.

use std::io::Write;
use std::path::PathBuf;

use crate::config::Config;
use crate::report::{Format, Totals, render};
use crate::walk::lint_paths;

/// Exit code: no findings.
pub const EXIT_CLEAN: u8 = 0;
/// Exit code: at least one finding (parse errors included).
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: bad usage or configuration, or a path that could not be read.
pub const EXIT_ERROR: u8 = 2;

/// The options of `loadguard lint`.
#[derive(Clone, Debug)]
pub struct Options {
    /// Files and directories to lint; the current directory when empty.
    pub paths: Vec<PathBuf>,
    /// Output format.
    pub format: Format,
    /// Run only these rules (`--rules a,b`).
    pub rules: Option<Vec<String>>,
    /// `loadguard.toml` to use; `./loadguard.toml` is used when present and this is `None`.
    pub config: Option<PathBuf>,
    /// Print what this rule flags, why, and how to fix it (with examples) instead of linting.
    pub explain: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            paths: Vec::new(),
            format: Format::Human,
            rules: None,
            config: None,
            explain: None,
        }
    }
}

/// The text of `--explain RULE`: summary, why, fix, and an example per language of what the
/// rule flags and what to write instead (`None` for an unknown id).
#[must_use]
pub fn explain(id: &str) -> Option<String> {
    use std::fmt::Write as _;
    let rule = crate::rules::by_id(id)?;
    let mut text = String::new();
    let _ = writeln!(text, "{}: {}\n", rule.id, rule.summary);
    let _ = writeln!(text, "Why: {}\n", rule.why);
    let _ = writeln!(text, "Fix: {}\n", rule.fix);
    let _ = writeln!(text, "Default severity: {}", rule.default_severity);
    for ex in rule.examples {
        let lang = if ex.lang == "rust" { "Rust" } else { "C/C++" };
        let _ = writeln!(text, "\n{lang}, flagged:\n");
        for line in ex.flagged.lines() {
            let _ = writeln!(text, "    {line}");
        }
        let _ = writeln!(text, "\n{lang}, instead:\n");
        for line in ex.fixed.lines() {
            let _ = writeln!(text, "    {line}");
        }
    }
    let _ = writeln!(
        text,
        "\nSuppress one finding with `// loadguard: allow({}) reason`; configure it under \
         `[rules.{}]` in loadguard.toml.",
        rule.id, rule.id
    );
    Some(text)
}

/// An error and its `source()` chain on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Most notes on skipped C/C++ regions printed before they are only counted.
const MAX_NOTES: usize = 20;

/// Runs the analyzer: the report goes to `out`, errors to `err`; returns the exit code.
pub fn run(options: &Options, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    if let Some(id) = &options.explain {
        return match explain(id) {
            Some(text) => match out.write_all(text.as_bytes()) {
                Ok(()) => EXIT_CLEAN,
                Err(e) => {
                    let _ = writeln!(err, "loadguard lint: cannot write the explanation: {e}");
                    EXIT_ERROR
                }
            },
            None => {
                let ids: Vec<&str> = crate::rules::RULES.iter().map(|r| r.id).collect();
                let _ = writeln!(
                    err,
                    "loadguard lint: unknown rule `{id}` (rules: {})",
                    ids.join(", ")
                );
                EXIT_ERROR
            }
        };
    }
    let mut config = match &options.config {
        Some(path) => Config::load(path),
        None => {
            let default = PathBuf::from("loadguard.toml");
            if default.is_file() {
                Config::load(&default)
            } else {
                Ok(Config::default())
            }
        }
    };
    if let (Ok(c), Some(rules)) = (&mut config, &options.rules) {
        if let Err(e) = c.restrict_to(rules) {
            config = Err(e);
        }
    }
    let config = match config {
        Ok(config) => config,
        Err(e) => {
            let _ = writeln!(err, "loadguard lint: {}", chain(&e));
            return EXIT_ERROR;
        }
    };
    let paths = if options.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        options.paths.clone()
    };
    let run = lint_paths(&paths, &config);
    let report = render(options.format, &run.findings, Totals { files: run.files });
    if let Err(e) = out.write_all(report.as_bytes()).and_then(|()| out.flush()) {
        let _ = writeln!(err, "loadguard lint: cannot write the report: {e}");
        return EXIT_ERROR;
    }
    for e in &run.io_errors {
        let _ = writeln!(err, "loadguard lint: {e}");
    }
    for n in run.notes.iter().take(MAX_NOTES) {
        let _ = writeln!(err, "note: {n}");
    }
    if run.notes.len() > MAX_NOTES {
        let _ = writeln!(
            err,
            "note: {} more C/C++ regions did not parse and were skipped (the code around them was analyzed)",
            run.notes.len() - MAX_NOTES
        );
    }
    if !run.io_errors.is_empty() {
        EXIT_ERROR
    } else if run.findings.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    }
}
