//! `loadguard`: inspect a model file, compare sessions' memory, lint a tree.
//!
//! Each subcommand lives in its own module with its `clap` arguments and a `run` that returns
//! the process exit code. Reports go to stdout; logs (tracing) and errors go to stderr.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod harness;
mod inspect;
mod lint;
mod sessions;

#[derive(Parser)]
#[command(
    name = "loadguard",
    version,
    about = "Correct, fast, leak-free loading of large model files"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Open a file in N sessions through one registry and report memory, fds and latency.
    Sessions(sessions::Args),
    /// Detect a model file's format from its bytes and list its tensors and metadata.
    Inspect(inspect::Args),
    /// Run the loader bug-class analyzer over Rust, C and C++ sources.
    Lint(lint::Args),
    /// Run a command under the preload and report what it acquired and still held at exit.
    Trace(harness::trace::Args),
    /// Fail a command's OS calls on purpose: one call, or a sweep of every call.
    Faults(harness::faults::Args),
}

fn main() -> ExitCode {
    // Logs never go to stdout: stdout carries the report (often JSON piped into another tool).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOADGUARD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Sessions(args) => sessions::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Trace(args) => harness::trace::run(&args),
        Command::Faults(args) => harness::faults::run(&args),
    }
}
