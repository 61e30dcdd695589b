//! [`RealOs`]: files through std, mappings through memmap2, identity through the platform module.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::{FileKey, Mapping, Os, OsFile, platform};
use crate::error::Result;

/// The operating system's files.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealOs;

impl Os for RealOs {
    fn open(&self, path: &Path) -> Result<Box<dyn OsFile>> {
        // The handle is owned by `File` from the line that acquires it, so every early return
        // below closes it.
        let file =
            crate::os_call!(op: "open", path: path, fail_if: is_err, call: File::open(path))?;
        let key = platform::file_key(&file, path)?;
        Ok(Box::new(RealFile {
            file,
            path: path.to_owned(),
            key,
        }))
    }
}

struct RealFile {
    file: File,
    path: PathBuf,
    key: FileKey,
}

impl OsFile for RealFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn key(&self) -> FileKey {
        self.key
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        platform::read_at(&self.file, buf, offset)
    }

    fn map(&self, len: usize) -> Result<Mapping> {
        // SAFETY: the mapping is read-only and shared; its soundness rests on no one truncating
        // or writing the file while it is mapped, which no API can promise for a file another
        // process may hold. loadguard narrows the hazard rather than hiding it: the registry
        // keys on size + mtime so a modified file gets a fresh mapping, and `prefault` (on
        // Linux, MADV_POPULATE_READ) turns a truncated file into an error instead of SIGBUS.
        // This is the same contract memmap2 documents for `Mmap::map`.
        let map = crate::os_call!(
            op: "mmap",
            path: &self.path,
            args: { len },
            fail_if: is_err,
            // SAFETY: see above.
            call: unsafe { memmap2::MmapOptions::new().len(len).map(&self.file) },
        )?;
        Ok(Mapping::from_mmap(map))
    }
}
