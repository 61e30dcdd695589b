//! The read path: positional reads in a loop that survives short reads and `EINTR`.

use std::io::ErrorKind;

use crate::aligned::AlignedBuf;
use crate::error::{Error, Result};
use crate::os::OsFile;
use crate::size::{self, Alignment};

/// Fills `buf` from `file` starting at `offset`.
///
/// A read may return fewer bytes than asked (pipes, network file systems, signals) or fail with
/// `EINTR`; both are retried. A read that returns 0 before `buf` is full means the file shrank
/// since it was opened: [`Error::Truncated`], never a silently short buffer.
pub(crate) fn read_exact_at(file: &dyn OsFile, buf: &mut [u8], offset: u64) -> Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        // Cannot saturate: callers bounds-check `offset + buf.len()` against the file size first.
        let at = offset.saturating_add(size::to_u64(filled));
        match file.read_at(&mut buf[filled..], at) {
            Ok(0) => {
                return Err(Error::Truncated {
                    path: file.path().to_owned(),
                    offset: at,
                    file_size: file.key().len,
                });
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {
                tracing::trace!(offset = at, "pread interrupted, retrying");
            }
            Err(e) => {
                return Err(Error::from_io("pread", file.path(), &e)
                    .with_arg("offset", at)
                    .with_arg("len", buf.len() - filled));
            }
        }
    }
    Ok(())
}

/// Reads `[offset, offset + len)` of `file` into a new buffer aligned to `align`.
///
/// The caller has bounds-checked the range against the file's size, so the allocation is never
/// sized by anything but the file itself.
pub(crate) fn read_range(
    file: &dyn OsFile,
    offset: u64,
    len: usize,
    align: Alignment,
) -> Result<AlignedBuf> {
    let mut buf = AlignedBuf::zeroed(len, align, file.path())?;
    read_exact_at(file, &mut buf, offset)?;
    Ok(buf)
}
