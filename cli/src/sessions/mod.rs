//! `loadguard sessions`: open one file in N sessions and show what sharing saves.
//!
//! Three strategies run one after the other on the same file: loadguard's registry (one
//! mapping shared by every session), and with `--compare` a naive per-session
//! `std::fs::read` and a per-session memmap2 mapping. Each opens N sessions, touches every page
//! of each, and records open latency, RSS (anonymous and file-backed, from /proc/self/status)
//! and open file descriptors before, after opening and after closing.

use std::path::PathBuf;
use std::process::ExitCode;

use loadguard::LoadMode;
use loadguard::shm::Provider;

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
    after_help = "FILE is mapped to measure the shared mapping (in --mode auto and map): \
the command accepts loadguard's LoadOptions::assume_immutable contract on your behalf, so FILE \
must not be written or truncated by anyone while the command runs. A truncated file can kill \
the command with SIGBUS; --mode read copies it instead. The --demo sample lives in a private \
temporary directory."
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
    /// Also run a naive per-session read and a per-session memmap2 mapping, side by side.
    #[arg(long)]
    compare: bool,
    /// Write a 256 MiB sample model to a temporary directory, run on it, and remove it.
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
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Mode {
    Auto,
    Map,
    Read,
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
            eprintln!("loadguard sessions: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run_inner(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
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
    let n = usize::try_from(args.sessions)?;
    let progress = report::Progress::new();
    let first = match &args.into {
        Some(provider) => strategy::pool(&path, n, provider, &progress)?,
        None => strategy::registry(&path, n, args.mode.into(), &progress)?,
    };
    let mut runs = vec![first];
    if args.compare {
        runs.push(strategy::memmap_per_session(&path, n, &progress)?);
        runs.push(strategy::read_per_session(&path, n, &progress)?);
    }
    let size = std::fs::metadata(&path)?.len();
    let out = if args.json {
        report::json(&path, size, n, &runs)
    } else {
        report::table(&path, size, n, &runs)
    };
    println!("{out}");
    Ok(())
}
