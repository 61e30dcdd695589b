//! `loadguard sessions` (filled by its issue).

use std::process::ExitCode;

/// Arguments of `loadguard sessions`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `loadguard sessions`.
pub fn run(_args: &Args) -> ExitCode {
    eprintln!("loadguard sessions: not implemented yet");
    ExitCode::from(2)
}
