//! `loadguard inspect` (filled by its issue).

use std::process::ExitCode;

/// Arguments of `loadguard inspect`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `loadguard inspect`.
pub fn run(_args: &Args) -> ExitCode {
    eprintln!("loadguard inspect: not implemented yet");
    ExitCode::from(2)
}
