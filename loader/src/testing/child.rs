//! Re-running the current test binary as a child process, for tests whose risky or
//! process-wide part must not share a process with the rest of the suite.

use std::process::Command;

/// The environment variable naming a program (with arguments, split on whitespace) that must
/// run this target's binaries, e.g. `qemu-aarch64 -L /usr/aarch64-linux-gnu` when the tests are
/// cross-compiled and run under an emulator. The test harness sets nothing: CI exports it
/// beside cargo's own `CARGO_TARGET_<triple>_RUNNER`.
pub const CHILD_RUNNER_ENV: &str = "LOADGUARD_CHILD_RUNNER";

/// A command that runs this very test binary again (through [`CHILD_RUNNER_ENV`]'s runner when
/// one is set), ready for `.args([test_name, "--exact"])`.
///
/// # Panics
/// If the path of the running executable cannot be found, which a test cannot recover from.
#[must_use]
pub fn self_command() -> Command {
    let exe = std::env::current_exe().expect("the test binary's own path");
    let runner = std::env::var(CHILD_RUNNER_ENV).unwrap_or_default();
    let mut runner = runner.split_whitespace();
    match runner.next() {
        Some(program) => {
            let mut command = Command::new(program);
            command.args(runner).arg(exe);
            command
        }
        None => Command::new(exe),
    }
}
