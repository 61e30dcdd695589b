//! Loading one whole file: map it when that is sound, else copy it once.

use std::sync::Arc as StdArc;

use crate::error::{Error, Result};
use crate::options::{LoadMode, LoadOptions};
use crate::os::{FileKind, Mapping, Os, OsFile};
use crate::progress::Observer;
use crate::region::{Backing, LoadPath, MapReason, ReadReason, Region};
use crate::size;

mod read;

/// Loads all of `file` as `opts` ask, recording which path was taken and why. Neither a mapping
/// nor a copy needs the handle afterwards (a copy keeps an [`IdentityPin`](crate::os) instead).
///
/// The size is converted to `usize` before anything else, so a file larger than the address
/// space (5 GiB on a 32-bit target) is a typed error whichever path would have been taken.
pub(crate) fn load_whole(
    os: &StdArc<dyn Os>,
    file: &dyn OsFile,
    opts: &LoadOptions,
    observer: Observer<'_>,
) -> Result<Region> {
    let path = file.path().to_owned();
    let len = size::to_usize(file.key().len, "file size").map_err(|e| e.at(&path))?;
    if len == 0 {
        tracing::debug!(path = %path.display(), "empty file: nothing to map");
        return Ok(Region::new(
            os,
            &path,
            Backing::Empty,
            LoadPath::Empty,
            None,
        ));
    }
    let reason = match opts.mode {
        LoadMode::Read => ReadReason::Requested,
        LoadMode::Map | LoadMode::Auto => match map(file, len, opts) {
            Mapped::Yes(map, why) => {
                let region = Region::new(os, &path, Backing::Map(map), LoadPath::Mapped(why), None);
                tracing::debug!(path = %path.display(), len, load_path = %region.load_path(), "loaded");
                return Ok(region);
            }
            Mapped::MayChange if opts.mode == LoadMode::Map => {
                return Err(Error::MapRefused { path });
            }
            Mapped::Failed(err) if opts.mode == LoadMode::Map => return Err(err),
            Mapped::MayChange => ReadReason::MayChange,
            Mapped::Failed(err) => {
                tracing::info!(
                    path = %path.display(), error = %err,
                    "mapping failed; falling back to reading into an aligned buffer"
                );
                ReadReason::MapFailed(StdArc::new(err))
            }
        },
    };
    let pin = file.pin()?;
    let buf = read::read_whole(file, len, opts.alignment, os.page_size(), observer)?;
    let region = Region::new(os, &path, Backing::Heap(buf), LoadPath::Read(reason), pin);
    tracing::debug!(path = %path.display(), len, load_path = %region.load_path(), "loaded");
    Ok(region)
}

enum Mapped {
    Yes(Mapping, MapReason),
    /// Not mapped: the file could change and nobody promised it will not.
    MayChange,
    Failed(Error),
}

/// Maps `file` if that is sound: the OS keeps it immutable, or the options carry the caller's
/// promise.
fn map(file: &dyn OsFile, len: usize, opts: &LoadOptions) -> Mapped {
    match file.map_immutable(len) {
        Ok(Some((map, why))) => return Mapped::Yes(map, MapReason::Immutable(why)),
        Ok(None) => {}
        Err(e) => return Mapped::Failed(e),
    }
    if !opts.is_assumed_immutable() {
        return Mapped::MayChange;
    }
    // SAFETY: `opts` carries `LoadOptions::assume_immutable`, whose caller guaranteed that no
    // one writes to or truncates this file while any session, segment or view of it lives;
    // every borrow of the mapping is one of those, which is `map_assumed`'s contract.
    match unsafe { file.map_assumed(len) } {
        Ok(map) => Mapped::Yes(map, MapReason::Assumed),
        Err(e) => Mapped::Failed(e),
    }
}

/// Reads a stream (anything but a regular file) to its end, up to the options' limit, into a
/// private buffer.
pub(crate) fn load_stream(
    os: &StdArc<dyn Os>,
    file: &dyn OsFile,
    limit: u64,
    opts: &LoadOptions,
) -> Result<Region> {
    let path = file.path();
    debug_assert!(file.kind() != FileKind::Regular);
    let mut data: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                let total = size::to_u64(data.len()).saturating_add(size::to_u64(n));
                if total > limit {
                    return Err(Error::StreamTooLong {
                        path: path.to_owned(),
                        kind: file.kind(),
                        limit,
                    });
                }
                data.extend_from_slice(&chunk[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(Error::from_io("read", path, &e).with_arg("offset", data.len()));
            }
        }
    }
    let mut buf =
        crate::aligned::AlignedBuf::zeroed_pages(data.len(), opts.alignment, os.page_size(), path)?;
    buf.copy_from_slice(&data);
    Ok(Region::new(
        os,
        path,
        Backing::Heap(buf),
        LoadPath::Stream,
        None,
    ))
}
