//! `loadguard lint`: the loader bug-class analyzer (`loadguard-lint`) over Rust, C and C++
//! files and directories.
//!
//! Parsing the command line is clap's job here; everything else (walking, config, rendering,
//! exit codes) lives in `loadguard_lint::cli` so it can be tested without the binary.

use std::path::PathBuf;
use std::process::ExitCode;

use loadguard_lint::cli::{Options, run as run_lint};
use loadguard_lint::report::Format;

/// Arguments of `loadguard lint`.
#[derive(clap::Args)]
pub struct Args {
    /// Files and directories to lint (directories are walked respecting `.gitignore`, `.ignore`
    /// and `.loadguardignore`).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Output format: rustc-style text, JSON lines, or SARIF 2.1.0 for code scanning.
    #[arg(long, value_parser = ["human", "json", "sarif"], default_value = "human")]
    format: String,
    /// Run only these rules (comma-separated rule ids).
    #[arg(long, value_delimiter = ',')]
    rules: Option<Vec<String>>,
    /// Per-rule settings and the code base's own early-exit and symbol-lookup macros (default:
    /// `./loadguard.toml` when present).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print what a rule flags, why, and how to fix it, with examples, then exit.
    #[arg(long, value_name = "RULE")]
    explain: Option<String>,
}

/// Runs `loadguard lint`: exit 0 clean, 1 findings, 2 usage, configuration or I/O error.
pub fn run(args: &Args) -> ExitCode {
    let options = Options {
        paths: args.paths.clone(),
        format: Format::parse(&args.format).unwrap_or(Format::Human),
        rules: args.rules.clone(),
        config: args.config.clone(),
        explain: args.explain.clone(),
    };
    let code = run_lint(
        &options,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    ExitCode::from(code)
}
