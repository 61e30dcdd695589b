//! Spawning a command under the preload and collecting what it reports.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use loadguard_preload_api::{
    COUNTER_SLOTS, COUNTERS_ENV, DEPTH_ENV, INJECTED_SLOT, ONLY_ENV, Op, PLAN_ENV, Plan,
    REPORT_DIR_ENV, Report,
};

/// Environment variable naming the preload library, when it is not next to the `loadguard`
/// binary.
pub const PRELOAD_ENV: &str = "LOADGUARD_PRELOAD";
const LIB_NAME: &str = "libloadguard_preload.so";

/// Finds `libloadguard_preload.so`: `$LOADGUARD_PRELOAD`, else next to this executable (where
/// cargo builds it), else in `../lib` from it.
pub fn preload_library() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(PRELOAD_ENV) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("{PRELOAD_ENV}={} is not a file", path.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let candidates = [dir.join(LIB_NAME), dir.join("../lib").join(LIB_NAME)];
    candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        format!(
            "cannot find {LIB_NAME} next to {} or in ../lib; build it with `cargo build -p loadguard-preload` \
             (same profile as loadguard) or set {PRELOAD_ENV}",
            exe.display()
        )
    })
}

/// Where a run's standard streams go.
pub enum Output {
    /// Inherit loadguard's stdout and stderr.
    Inherit,
    /// The command's stdout goes to loadguard's stderr (stdout carries loadguard's JSON).
    StdoutToStderr,
    /// Both into files of the run's directory (sweeps).
    Capture,
}

/// One run to make.
pub struct Spec<'a> {
    pub command: &'a [String],
    pub preload: &'a Path,
    pub plan: Plan,
    pub only: Option<&'a str>,
    pub depth: Option<usize>,
    pub timeout: Option<Duration>,
    pub output: Output,
}

/// What a run did.
pub struct Run {
    /// Exit code, when it exited.
    pub exit: Option<i32>,
    /// The signal that ended it.
    pub signal: Option<i32>,
    /// Killed at the timeout.
    pub timed_out: bool,
    /// Tree-wide calls per op (the shared counter file).
    pub calls: BTreeMap<Op, u64>,
    /// Faults injected across the tree.
    pub injected: u64,
    /// The last report of every process image.
    pub reports: Vec<Report>,
    /// Captured streams (`Output::Capture`).
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// The command could not be started at all.
#[derive(Debug)]
pub struct StartError {
    pub program: String,
    pub error: io::Error,
}

/// Runs `spec` to completion (or its timeout).
pub fn run(spec: &Spec<'_>) -> Result<Run, StartError> {
    let dir = tempfile::Builder::new()
        .prefix("loadguard-run-")
        .tempdir()
        .map_err(|error| StartError {
            program: "(temporary directory)".into(),
            error,
        })?;
    let reports = dir.path().join("reports");
    let counters = dir.path().join("counters");
    let setup = std::fs::create_dir(&reports)
        .and_then(|()| std::fs::write(&counters, vec![0u8; COUNTER_SLOTS * 8]));
    setup.map_err(|error| StartError {
        program: "(run directory)".into(),
        error,
    })?;

    let (program, args) = spec.command.split_first().ok_or_else(|| StartError {
        program: String::new(),
        error: io::Error::new(io::ErrorKind::InvalidInput, "no command"),
    })?;
    let mut command = Command::new(program);
    command.args(args);
    let preload = match std::env::var_os("LD_PRELOAD") {
        Some(existing) if !existing.is_empty() => {
            let mut joined = spec.preload.as_os_str().to_owned();
            joined.push(":");
            joined.push(existing);
            joined
        }
        _ => spec.preload.as_os_str().to_owned(),
    };
    command
        .env("LD_PRELOAD", preload)
        .env(REPORT_DIR_ENV, &reports)
        .env(COUNTERS_ENV, &counters)
        .env(PLAN_ENV, spec.plan.to_string());
    match spec.only {
        Some(glob) => command.env(ONLY_ENV, glob),
        None => command.env_remove(ONLY_ENV),
    };
    if let Some(depth) = spec.depth {
        command.env(DEPTH_ENV, depth.to_string());
    }
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let start_error = |error| StartError {
        program: program.clone(),
        error,
    };
    match spec.output {
        Output::Inherit => {}
        Output::StdoutToStderr => {
            command.stdout(io::stderr());
        }
        Output::Capture => {
            command
                .stdin(Stdio::null())
                .stdout(File::create(&out_path).map_err(start_error)?)
                .stderr(File::create(&err_path).map_err(start_error)?);
        }
    }
    if spec.timeout.is_some() {
        // Its own process group, so a timeout kills the whole tree.
        command.process_group(0);
    }
    let mut child = command.spawn().map_err(start_error)?;
    let started = Instant::now();
    let mut timed_out = false;
    let status = loop {
        match spec.timeout {
            None => break child.wait(),
            Some(limit) => match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if started.elapsed() >= limit => {
                    timed_out = true;
                    kill_group(child.id());
                    break child.wait();
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => break Err(e),
            },
        }
    }
    .map_err(start_error)?;
    if spec.timeout.is_some() && !timed_out {
        // Stragglers the command left behind (daemonized children) do not outlive the run.
        kill_group(child.id());
    }
    let counts = std::fs::read(&counters).unwrap_or_default();
    let slot = |i: usize| {
        counts
            .get(i * 8..i * 8 + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(0, u64::from_le_bytes)
    };
    let calls = Op::ALL
        .into_iter()
        .map(|op| (op, slot(op.index())))
        .filter(|(_, n)| *n > 0)
        .collect();
    Ok(Run {
        exit: status.code(),
        signal: status.signal(),
        timed_out,
        calls,
        injected: slot(INJECTED_SLOT),
        reports: read_reports(&reports),
        stdout: std::fs::read(&out_path).unwrap_or_default(),
        stderr: std::fs::read(&err_path).unwrap_or_default(),
    })
}

fn kill_group(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill takes integers; -pid names the process group the child leads (it was
        // spawned with process_group(0)), so only the command's own tree is signalled.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
}

/// The last report of every (pid, image): a failed exec leaves an `exec` report followed by
/// the same image's `exit` report, and only the last one describes the end.
fn read_reports(dir: &Path) -> Vec<Report> {
    let mut last: BTreeMap<(u64, u64), (u64, Report)> = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".lgr") else {
            continue;
        };
        let parts: Vec<u64> = stem.split('-').filter_map(|p| p.parse().ok()).collect();
        let [pid, image, n] = parts[..] else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        match Report::parse(&text) {
            Ok(report) => {
                let slot = last.entry((pid, image)).or_insert((n, report.clone()));
                if n >= slot.0 {
                    *slot = (n, report);
                }
            }
            Err(err) => tracing::warn!(report = %name, "unreadable preload report: {err}"),
        }
    }
    last.into_values().map(|(_, r)| r).collect()
}
