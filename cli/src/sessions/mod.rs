//! `loadguard sessions`: open one file in N sessions and show what sharing saves.
//!
//! Each strategy runs in a fresh child process (this binary, re-run with the hidden
//! `--strategy`), so every one starts from the same memory baseline and none inherits another's
//! mappings or allocations: loadguard's registry (one load shared by every session), and with
//! `--compare` a per-session memmap2 mapping and a naive per-session `std::fs::read`. Each opens
//! N sessions, touches every page of each, and records open and touch latency, RSS by kind, PSS,
//! page tables and open file descriptors. The page cache is warmed once before the first, so no
//! strategy pays for the disk the others do not, and each child opens, touches and drops one
//! session of its own before its first reading, so the code's first run (text pages faulting
//! in, allocator set-up) is not counted as the sessions' growth. `--cold` adds load throughput
//! from a cold page cache for five loaders, in interleaved rounds (see `cold.rs`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use loadguard::LoadMode;
use loadguard::shm::Provider;
use serde_json::Value;

mod cold;
mod demo;
mod measure;
mod report;
mod strategy;

/// Arguments of `loadguard sessions`.
///
/// The command maps FILE to measure the shared mapping: it takes loadguard's `unsafe`
/// `LoadOptions::assume_immutable` on the user's behalf, whose contract the help states.
#[derive(clap::Args)]
#[command(
    after_help = "FILE is mapped to measure the shared mapping (in --mode auto and map, \
and by --compare and --cold): the command accepts loadguard's LoadOptions::assume_immutable \
contract on your behalf, so FILE must not be written or truncated by anyone while the command \
runs. A truncated file can kill the command with SIGBUS; --mode read without --compare or \
--cold copies it instead. The --demo sample lives in a private temporary directory."
)]
pub struct Args {
    /// The file to open (omit with --demo). Must not change while the command runs: see below.
    #[arg(required_unless_present = "demo")]
    file: Option<PathBuf>,
    /// Number of sessions.
    #[arg(short = 'n', long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    sessions: u32,
    /// How loadguard loads the file.
    #[arg(long, value_enum, default_value_t = Mode::Auto)]
    mode: Mode,
    /// Also run a per-session memmap2 mapping and a naive per-session read, side by side
    /// (always on with --demo).
    #[arg(long)]
    compare: bool,
    /// Also measure load throughput from a cold page cache (Linux): loadguard map and read, a
    /// naive mmap + touch, std::fs::read and an O_DIRECT reader, in interleaved rounds.
    #[arg(long)]
    cold: bool,
    /// Rounds of the --cold measurement.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    rounds: u32,
    /// Write a 256 MiB sample model to a temporary directory, run on it (with --compare), and
    /// remove it.
    #[arg(long, conflicts_with = "file")]
    demo: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Instead of sharing a mapping, load the file once into a shared-memory buffer from this
    /// provider (`memfd`, `dma-heap:NAME`, `section`, `heap`) and give each session its own
    /// handle (fd) to it, as a backend hands buffers to a driver. No fallback to another
    /// provider: the report says which one served.
    #[arg(long, value_name = "PROVIDER")]
    into: Option<Provider>,
    /// Internal: run this one strategy and print its figures as JSON (what the parent process
    /// starts each child with).
    #[arg(long, hide = true, value_name = "STRATEGY")]
    strategy: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Mode {
    Auto,
    Map,
    Read,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Map => "map",
            Self::Read => "read",
        }
    }
}

impl From<Mode> for LoadMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Auto => LoadMode::Auto,
            Mode::Map => LoadMode::Map,
            Mode::Read => LoadMode::Read,
        }
    }
}

/// Runs `loadguard sessions`.
pub fn run(args: &Args) -> ExitCode {
    match run_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}", loadguard_cli::report::error_text("sessions", &*err));
            ExitCode::FAILURE
        }
    }
}

type Err = Box<dyn std::error::Error>;

fn run_inner(args: &Args) -> Result<(), Err> {
    let n = usize::try_from(args.sessions)?;
    if let Some(name) = &args.strategy {
        let path = args.file.as_deref().ok_or("--strategy needs FILE")?;
        let run = run_strategy(name, path, n, args)?;
        println!("{}", report::run_json(&run));
        return Ok(());
    }
    // The demo file lives in a temporary directory that is removed when this guard drops,
    // whichever way the run ends.
    let demo_dir;
    let path = match (&args.file, args.demo) {
        (Some(path), _) => path.clone(),
        (None, _) => {
            demo_dir = tempfile::tempdir()?;
            demo::write_sample(demo_dir.path())?
        }
    };
    let progress = report::Progress::new();
    // Every strategy starts with the file in the page cache.
    progress.note("warming the page cache");
    let warm = std::fs::read(&path).map_err(|e| format!("open {}: {e}", path.display()))?;
    drop(warm);
    let first = if args.into.is_some() {
        "loadguard_pool"
    } else {
        "loadguard"
    };
    let mut names = vec![first];
    if args.compare || args.demo {
        names.extend(["memmap2_per_session", "read_per_session"]);
    }
    let runs = names
        .iter()
        .map(|name| in_child(name, &path, args))
        .collect::<Result<Vec<Value>, Err>>()?;
    let cold = if args.cold {
        Some(cold::measure(
            &path,
            usize::try_from(args.rounds)?,
            &progress,
        )?)
    } else {
        None
    };
    let size = std::fs::metadata(&path)?.len();
    let out = if args.json {
        report::json(&path, size, n, &runs, cold.as_ref())
    } else {
        report::table(&path, size, n, &runs, cold.as_ref())
    };
    println!("{out}");
    Ok(())
}

/// Runs strategy `name` in a fresh child process and returns its figures.
fn in_child(name: &str, path: &Path, args: &Args) -> Result<Value, Err> {
    let exe = std::env::current_exe()?;
    let mut command = Command::new(exe);
    command
        .arg("sessions")
        .arg(path)
        .args(["-n", &args.sessions.to_string()])
        .args(["--mode", args.mode.name()])
        .args(["--strategy", name]);
    if let Some(provider) = &args.into {
        command.args(["--into", &provider.to_string()]);
    }
    let out = command.output()?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr)
            .trim()
            .trim_start_matches("loadguard sessions: ")
            .to_owned()
            .into());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn run_strategy(name: &str, path: &Path, n: usize, args: &Args) -> Result<strategy::Run, Err> {
    let progress = report::Progress::new();
    match (name, &args.into) {
        ("loadguard", _) => strategy::registry(path, n, args.mode.into(), &progress),
        ("loadguard_pool", Some(provider)) => strategy::pool(path, n, provider, &progress),
        ("memmap2_per_session", _) => strategy::memmap_per_session(path, n, &progress),
        ("read_per_session", _) => strategy::read_per_session(path, n, &progress),
        _ => Err(format!("unknown strategy {name}").into()),
    }
}
