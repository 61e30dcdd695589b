//! Loading one whole file: map it, read it, or map with a read fallback.

use std::sync::Arc as StdArc;

use crate::error::Result;
use crate::options::{LoadMode, LoadOptions};
use crate::os::{Os, OsFile};
use crate::read;
use crate::region::{Backing, LoadPath, ReadReason, Region};
use crate::size;

/// Loads all of `file` as `opts.mode` asks, recording which path was taken and why.
///
/// The size is converted to `usize` before anything else, so a file larger than the address
/// space (5 GiB on a 32-bit target) is a typed error whichever path would have been taken.
pub(crate) fn load_whole(
    os: &StdArc<dyn Os>,
    file: &dyn OsFile,
    opts: &LoadOptions,
) -> Result<Region> {
    let path = file.path();
    let len = size::to_usize(file.key().len, "file size").map_err(|e| e.at(path))?;
    if len == 0 {
        tracing::debug!(path = %path.display(), "empty file: nothing to map");
        return Ok(Region::new(os, path, Backing::Empty, LoadPath::Empty));
    }
    let region = match opts.mode {
        LoadMode::Map => Region::new(os, path, Backing::Map(file.map(len)?), LoadPath::Mapped),
        LoadMode::Read => read_all(os, file, len, opts, ReadReason::Requested)?,
        LoadMode::Auto => match file.map(len) {
            Ok(map) => Region::new(os, path, Backing::Map(map), LoadPath::Mapped),
            Err(err) => {
                tracing::info!(
                    path = %path.display(), error = %err,
                    "mapping failed; falling back to reading into an aligned buffer"
                );
                read_all(os, file, len, opts, ReadReason::MapFailed(StdArc::new(err)))?
            }
        },
    };
    tracing::debug!(path = %path.display(), len, load_path = %region.load_path(), "loaded");
    Ok(region)
}

fn read_all(
    os: &StdArc<dyn Os>,
    file: &dyn OsFile,
    len: usize,
    opts: &LoadOptions,
    reason: ReadReason,
) -> Result<Region> {
    let buf = read::read_range(file, 0, len, opts.alignment)?;
    Ok(Region::new(
        os,
        file.path(),
        Backing::Heap(buf),
        LoadPath::Read(reason),
    ))
}
