//! The three ways of giving N sessions the same file, each measured the same way.

use std::path::Path;
use std::time::Instant;

use std::cell::OnceCell;

use loadguard::shm::{Pool, PoolOptions, Provider, RetainedId};
use loadguard::{LoadMode, LoadOptions, Registry};

use super::measure::{self, Mem};
use super::report::Progress;

/// What one strategy did and cost.
pub struct Run {
    /// `loadguard`, `loadguard_pool`, `memmap2_per_session` or `read_per_session`.
    pub name: &'static str,
    /// Whole-file mappings (or, for loadguard in read mode, heap copies) created.
    pub mappings_created: usize,
    /// Per session: `map`, `read`, `empty`, or the pool provider.
    pub mode_used: Vec<&'static str>,
    /// Per session open latency in nanoseconds.
    pub open_ns: Vec<u64>,
    /// Per session time to touch every page, in nanoseconds (after all are open).
    pub touch_ns: Vec<u64>,
    pub mem_before: Mem,
    pub mem_after: Mem,
    pub fds_before: Option<u64>,
    pub fds_after_open: Option<u64>,
    pub fds_after_close: Option<u64>,
}

impl Run {
    /// Opening and touching every page of sessions 2..N, summed: what each later session costs.
    pub fn open_plus_touch_ns(&self) -> u64 {
        self.open_ns
            .iter()
            .zip(&self.touch_ns)
            .skip(1)
            .map(|(o, t)| o.saturating_add(*t))
            .fold(0, u64::saturating_add)
    }
}

/// Opens, touches and drops one session before the "before" readings, through a registry or
/// pool of its own where the strategy has one. The child's first run of a code path faults
/// the binary's text pages in and sets up allocator state — for loadguard's path ~0.4 MiB of
/// file-backed RSS, a cost of the process rather than of any session — which would otherwise
/// be counted as growth of the sessions measured after it.
fn warm_up<S>(
    open: impl FnOnce() -> Result<S, Box<dyn std::error::Error>>,
    bytes: impl Fn(&S) -> &[u8],
) -> Result<(), Box<dyn std::error::Error>> {
    let session = open()?;
    std::hint::black_box(measure::touch_pages(bytes(&session)));
    Ok(())
}

/// Opens, touches and closes N sessions with `open`, filling in the measurements.
fn measure<S>(
    name: &'static str,
    n: usize,
    progress: &Progress,
    mut open: impl FnMut() -> Result<S, Box<dyn std::error::Error>>,
    bytes: impl Fn(&S) -> &[u8],
    mode: impl Fn(&S) -> &'static str,
) -> Result<(Run, Vec<S>), Box<dyn std::error::Error>> {
    let fds_before = measure::fds();
    let mem_before = measure::mem();
    let mut sessions = Vec::with_capacity(n);
    let mut open_ns = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        sessions.push(open()?);
        open_ns.push(measure::nanos(start));
    }
    let fds_after_open = measure::fds();
    let mut checksum = 0u64;
    let mut touch_ns = Vec::with_capacity(n);
    for (i, session) in sessions.iter().enumerate() {
        progress.step(name, i + 1, n);
        let start = Instant::now();
        checksum = checksum.wrapping_add(measure::touch_pages(bytes(session)));
        touch_ns.push(measure::nanos(start));
    }
    tracing::debug!(name, checksum, "touched every page");
    let run = Run {
        name,
        mappings_created: 0,
        mode_used: sessions.iter().map(mode).collect(),
        open_ns,
        touch_ns,
        mem_before,
        mem_after: measure::mem(),
        fds_before,
        fds_after_open,
        fds_after_close: None,
    };
    Ok((run, sessions))
}

/// loadguard: one registry, N sessions sharing one load.
pub fn registry(
    path: &Path,
    n: usize,
    mode: LoadMode,
    progress: &Progress,
) -> Result<Run, Box<dyn std::error::Error>> {
    let registry = Registry::new();
    let opts = LoadOptions::new().mode(mode);
    let opts = if mode == LoadMode::Read {
        opts
    } else {
        // SAFETY: the command's contract, stated in its `--help`, is that nobody writes to or
        // truncates FILE while it runs (the user accepts it by running the command on FILE),
        // and the demo sample is in a private temporary directory nothing else knows; the
        // command itself only reads the file. That is `assume_immutable`'s contract.
        unsafe { opts.assume_immutable() }
    };
    warm_up(|| Ok(Registry::new().open(path, &opts)?), |s| s.bytes())?;
    let (mut run, sessions) = measure(
        "loadguard",
        n,
        progress,
        || Ok(registry.open(path, &opts)?),
        |s| s.bytes(),
        |s| s.load_path().name(),
    )?;
    run.mappings_created = registry.loads();
    drop(sessions);
    run.fds_after_close = measure::fds();
    Ok(run)
}

/// A memmap2 mapping per session: the page cache is shared, but every session pays for its
/// own mapping and page tables.
pub fn memmap_per_session(
    path: &Path,
    n: usize,
    progress: &Progress,
) -> Result<Run, Box<dyn std::error::Error>> {
    let open = || -> Result<memmap2::Mmap, Box<dyn std::error::Error>> {
        let file = std::fs::File::open(path)?;
        // SAFETY: memmap2 requires that the file not be modified or truncated while mapped:
        // the command's contract (its `--help`) is that nobody changes FILE while it runs,
        // the demo sample is private to the command, and the command only reads it.
        Ok(unsafe { memmap2::Mmap::map(&file) }?)
    };
    warm_up(open, |m| &m[..])?;
    let (mut run, sessions) = measure(
        "memmap2_per_session",
        n,
        progress,
        open,
        |m| &m[..],
        |_| "map",
    )?;
    run.mappings_created = n;
    drop(sessions);
    run.fds_after_close = measure::fds();
    Ok(run)
}

/// A heap copy per session: what a loader without mapping does, N times the file in RAM.
pub fn read_per_session(
    path: &Path,
    n: usize,
    progress: &Progress,
) -> Result<Run, Box<dyn std::error::Error>> {
    let open = || Ok(std::fs::read(path)?);
    warm_up(open, |v: &Vec<u8>| &v[..])?;
    let (mut run, sessions) = measure(
        "read_per_session",
        n,
        progress,
        open,
        |v: &Vec<u8>| &v[..],
        |_| "read",
    )?;
    drop(sessions);
    run.fds_after_close = measure::fds();
    Ok(run)
}

/// A session of the pool strategy: its own handle on the one shared buffer, as a driver
/// would hold it.
struct PoolSession<'p> {
    bytes: &'p [u8],
    #[cfg(unix)]
    _fd: Option<std::os::fd::OwnedFd>,
    #[cfg(windows)]
    _handle: Option<std::os::windows::io::OwnedHandle>,
}

/// The file loaded once (pread into the buffer: one copy from the page cache) into a buffer of
/// `provider`, and every session given its own handle to that buffer.
pub fn pool(
    path: &Path,
    n: usize,
    provider: &Provider,
    progress: &Progress,
) -> Result<Run, Box<dyn std::error::Error>> {
    let options = || {
        PoolOptions::new()
            .providers([provider.clone()])
            .fallback(false)
            .name("sessions")
    };
    let size = std::fs::metadata(path)?.len();
    let warm = Pool::with_options(options());
    warm_up(
        || Ok(loadguard::data::load_into_pool(&warm, path, 0, size)?),
        |b| &b[..],
    )?;
    drop(warm);
    let pool = Pool::with_options(options());
    let id: OnceCell<RetainedId> = OnceCell::new();
    let open = || -> Result<PoolSession<'_>, Box<dyn std::error::Error>> {
        let id = match id.get() {
            Some(id) => *id,
            None => {
                let buffer = loadguard::data::load_into_pool(&pool, path, 0, size)?;
                tracing::info!(provider = %buffer.provider(), id = %buffer.id(), "file loaded into a pool buffer");
                *id.get_or_init(|| buffer.into_pool())
            }
        };
        Ok(PoolSession {
            bytes: pool.retained(id).unwrap_or(&[]),
            #[cfg(unix)]
            _fd: session_fd(&pool, id)?,
            #[cfg(windows)]
            _handle: pool.dup_handle(id)?,
        })
    };
    let name = provider_name(provider);
    let (mut run, sessions) = measure("loadguard_pool", n, progress, open, |s| s.bytes, |_| name)?;
    run.mappings_created = pool.len();
    drop(sessions);
    drop(pool);
    run.fds_after_close = measure::fds();
    Ok(run)
}

/// A session's own fd on the sealed buffer. A dma-buf's fd is not sealed by the kernel, so the
/// pool hands it out only through its `unsafe` call.
#[cfg(unix)]
fn session_fd(pool: &Pool, id: RetainedId) -> loadguard::Result<Option<std::os::fd::OwnedFd>> {
    match pool.dup_fd(id) {
        Err(loadguard::Error::Shm(loadguard::shm::ShmError::FdStillWritable { .. })) => {
            // SAFETY: the duplicate is only held, as a driver holds its handle, and closed
            // when the session drops: nothing maps or writes the memory through it.
            unsafe { pool.dup_fd_unchecked(id.id()) }
        }
        other => other,
    }
}

/// A `'static` name for the report's `mode_used`.
fn provider_name(provider: &Provider) -> &'static str {
    match provider {
        Provider::Memfd => "memfd",
        Provider::DmaHeap(_) => "dma-heap",
        Provider::Section => "section",
        _ => "heap",
    }
}
