//! `loadguard lint` (filled by its issue).

use std::process::ExitCode;

/// Arguments of `loadguard lint`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `loadguard lint`.
pub fn run(_args: &Args) -> ExitCode {
    eprintln!("loadguard lint: not implemented yet");
    ExitCode::from(2)
}
