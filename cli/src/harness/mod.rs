//! `loadguard trace` and `loadguard faults`: run any program under the preload
//! (`libloadguard_preload.so`, crate `loadguard-preload`) and report its resource ledger, or
//! fail its calls one by one and classify what each failure did.
//!
//! Data flows one way: `trace` / `faults` (arguments, output) → `classify` (outcomes) and
//! `ledger` (reports → leaks and acquisitions, symbolized) → `runner` (spawning under the
//! preload, collecting the per-process reports).

pub mod faults;
pub mod trace;

#[cfg(target_os = "linux")]
mod classify;
#[cfg(target_os = "linux")]
mod ledger;
#[cfg(target_os = "linux")]
mod runner;
#[cfg(target_os = "linux")]
mod sarif;

use std::process::ExitCode;

/// Exit status for bad input (unknown op or errno, no command, a command that cannot start).
pub const BAD_INPUT: u8 = 2;

/// Writes a report to stdout; a closed stdout (`| head`) is not loadguard's failure to report.
#[cfg(target_os = "linux")]
pub fn emit(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Prints `message` as the `command` subcommand's error and returns the bad-input exit status.
pub fn bad_input(command: &str, message: &str) -> ExitCode {
    eprintln!("loadguard {command}: {message}");
    ExitCode::from(BAD_INPUT)
}

/// The traced command's status as loadguard's: its exit code, or 128 + the signal.
#[cfg(target_os = "linux")]
pub fn exit_code_of(exit: Option<i32>, signal: Option<i32>) -> ExitCode {
    let code = exit.or(signal.map(|s| 128 + s)).unwrap_or(1);
    ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1))
}
