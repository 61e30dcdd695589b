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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            paths: Vec::new(),
            format: Format::Human,
            rules: None,
            config: None,
        }
    }
}

/// Runs the analyzer: the report goes to `out`, errors to `err`; returns the exit code.
pub fn run(options: &Options, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
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
            let _ = writeln!(err, "loadguard lint: {e}");
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
    if !run.io_errors.is_empty() {
        EXIT_ERROR
    } else if run.findings.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    }
}
