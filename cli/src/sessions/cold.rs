//! `--cold`: load throughput from a cold page cache, every strategy in interleaved rounds.
//!
//! Before each load the file is evicted (`fdatasync`, then `posix_fadvise(POSIX_FADV_DONTNEED)`
//! once no mapping of it remains) and `mincore` checks that no page is resident; a round runs every strategy, the
//! next round runs them in reverse order (A B C D E, E D C B A, …), so drift in the machine's
//! load or the host's cache does not favour whichever runs first. Each strategy reports the
//! median of its rounds. A load is timed from open to every page read once.

use std::fs::File;
use std::path::Path;
use std::time::Instant;

use loadguard::{LoadMode, LoadOptions, Registry};
use serde_json::{Value, json};

use super::measure;
use super::report::Progress;

/// The strategies, in the order of the first round and of the report.
pub const NAMES: [&str; 5] = [
    "loadguard_map",
    "loadguard_read",
    "naive_mmap",
    "fs_read",
    "direct",
];

type Err = Box<dyn std::error::Error>;

/// Runs `rounds` interleaved rounds and returns the `cold` JSON object.
pub fn measure(path: &Path, rounds: usize, progress: &Progress) -> Result<Value, Err> {
    let size = std::fs::metadata(path)?.len();
    let mut gbps: Vec<Vec<f64>> = vec![Vec::new(); NAMES.len()];
    let mut errors: Vec<Option<String>> = vec![None; NAMES.len()];
    for round in 0..rounds {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..NAMES.len()).collect()
        } else {
            (0..NAMES.len()).rev().collect()
        };
        for i in order {
            progress.cold(NAMES[i], round + 1, rounds);
            evict(path)?;
            let start = Instant::now();
            match load(NAMES[i], path) {
                Ok(checksum) => {
                    let secs = start.elapsed().as_secs_f64();
                    tracing::debug!(strategy = NAMES[i], checksum, secs, "cold load");
                    gbps[i].push(to_f64(size) / secs / 1e9);
                }
                // A strategy the file system does not support (O_DIRECT on tmpfs) is reported,
                // not fatal: the others still compare.
                Err(e) => errors[i] = Some(e.to_string()),
            }
        }
    }
    let mut out = serde_json::Map::new();
    for (i, name) in NAMES.iter().enumerate() {
        let entry = match &errors[i] {
            Some(error) => json!({ "gbps": null, "rounds": 0, "error": error }),
            None => json!({ "gbps": median(&mut gbps[i]), "rounds": gbps[i].len() }),
        };
        out.insert((*name).to_owned(), entry);
    }
    Ok(Value::Object(out))
}

fn to_f64(n: u64) -> f64 {
    // Exact below 2^53 bytes (8 PiB): every file this measures.
    n.to_string().parse().unwrap_or(f64::MAX)
}

fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

/// Loads all of `path` the `name` way and reads every page once; returns a checksum.
fn load(name: &str, path: &Path) -> Result<u64, Err> {
    match name {
        "loadguard_map" => {
            // SAFETY: the sessions command's contract (its `--help`) is that nobody writes to
            // or truncates FILE while it runs; the command only reads it.
            let opts = unsafe {
                LoadOptions::new()
                    .mode(LoadMode::Map)
                    .prefault(true)
                    .assume_immutable()
            };
            let session = Registry::new().open(path, &opts)?;
            Ok(measure::touch_pages(session.bytes()))
        }
        "loadguard_read" => {
            let opts = LoadOptions::new().mode(LoadMode::Read);
            let session = Registry::new().open(path, &opts)?;
            Ok(measure::touch_pages(session.bytes()))
        }
        "naive_mmap" => {
            let file = File::open(path)?;
            // SAFETY: as for `loadguard_map`: the command's contract is that FILE does not
            // change while it runs, which is what memmap2's `map` requires.
            let map = unsafe { memmap2::Mmap::map(&file) }?;
            Ok(measure::touch_pages(&map))
        }
        "fs_read" => Ok(measure::touch_pages(&std::fs::read(path)?)),
        "direct" => direct_read(path),
        _ => Err(format!("unknown cold strategy {name}").into()),
    }
}

/// A sequential `O_DIRECT` reader in 16 MiB blocks: the device's own throughput, with no page
/// cache in the way (Linux).
#[cfg(target_os = "linux")]
fn direct_read(path: &Path) -> Result<u64, Err> {
    use std::os::unix::fs::{FileExt, OpenOptionsExt};
    const BLOCK: usize = 16 << 20;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(i32::try_from(rustix::fs::OFlags::DIRECT.bits()).unwrap_or(0))
        .open(path)?;
    // O_DIRECT wants the buffer aligned to the logical block size; a page is enough.
    let align = loadguard::Alignment::new(4096)?;
    let mut buf = loadguard::AlignedBuf::zeroed(BLOCK, align, path)?;
    let (mut offset, mut checksum) = (0u64, 0u64);
    loop {
        let n = file.read_at(&mut buf, offset)?;
        if n == 0 {
            return Ok(checksum);
        }
        checksum = checksum.wrapping_add(measure::touch_pages(&buf[..n]));
        offset += u64::try_from(n)?;
    }
}

#[cfg(not(target_os = "linux"))]
fn direct_read(_path: &Path) -> Result<u64, Err> {
    Err("direct I/O is measured on Linux only".into())
}

/// Drops the file's pages from the page cache and checks with `mincore` that none is left.
#[cfg(target_os = "linux")]
fn evict(path: &Path) -> Result<(), Err> {
    let file = File::open(path)?;
    // Dirty pages (a file written just now) cannot be dropped until they are written back.
    file.sync_data()?;
    for _ in 0..3 {
        rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed)?;
        let resident = resident_pages(&file)?;
        if resident == 0 {
            return Ok(());
        }
        tracing::debug!(
            resident,
            "pages still resident after DONTNEED; trying again"
        );
    }
    Err(format!(
        "{}: could not evict the file from the page cache ({} pages stay resident)",
        path.display(),
        resident_pages(&file)?
    )
    .into())
}

#[cfg(not(target_os = "linux"))]
fn evict(_path: &Path) -> Result<(), Err> {
    Err("--cold needs Linux (posix_fadvise and mincore)".into())
}

/// How many pages of `file` are in the page cache (`mincore` over a mapping that is never read).
#[cfg(target_os = "linux")]
fn resident_pages(file: &File) -> Result<usize, Err> {
    let len = usize::try_from(file.metadata()?.len())?;
    if len == 0 {
        return Ok(0);
    }
    // SAFETY: memmap2's `map` requires that the mapped bytes are not read while the file
    // changes; this mapping's bytes are never read at all: only `mincore` looks at its pages.
    let map = unsafe { memmap2::Mmap::map(file) }?;
    let pages = len.div_ceil(rustix::param::page_size());
    let mut vec = vec![0u8; pages];
    // SAFETY: `map` is a live mapping of `len` bytes and `vec` has one byte per page of it, as
    // mincore requires; mincore only writes `vec` and reads page tables.
    let rc = unsafe { libc::mincore(map.as_ptr().cast_mut().cast(), len, vec.as_mut_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(vec.iter().filter(|&&b| b & 1 != 0).count())
}
