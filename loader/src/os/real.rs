//! [`RealOs`]: files through std, mappings through memmap2, identity and residency through the
//! platform module.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::{Advice, FileKey, FileKind, Immutable, Mapping, Os, OsFile, Prefault, platform};
use crate::error::{Error, Result};

/// The operating system's files.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealOs;

impl Os for RealOs {
    fn open(&self, path: &Path) -> Result<Box<dyn OsFile>> {
        // The handle is owned by `File` from the line that acquires it, so every early return
        // below closes it.
        let file = platform::open(path)?;
        let (key, kind) = platform::file_key(&file, path)?;
        if !kind.is_regular() {
            // Only ever read as a stream, which must wait for data rather than fail with EAGAIN.
            platform::set_blocking(&file, path)?;
        }
        Ok(Box::new(RealFile {
            file,
            path: path.to_owned(),
            key,
            kind,
        }))
    }

    fn stat(&self, path: &Path) -> Result<FileKey> {
        platform::path_key(path)
    }

    fn advise(
        &self,
        mapping: &Mapping,
        advice: Advice,
        range: Range<usize>,
    ) -> io::Result<Prefault> {
        // Heap bytes standing in for a mapping are resident already.
        let Some(map) = mapping.as_mmap() else {
            return Ok(Prefault::Resident);
        };
        match advice {
            Advice::WillNeed => {
                platform::will_need(map, range.start, range.len())?;
                Ok(Prefault::HintOnly)
            }
            Advice::Prefault => platform::prefault(map, range.start, range.len()),
        }
    }

    fn lock(&self, bytes: &[u8]) -> io::Result<()> {
        platform::lock(bytes)
    }

    fn unlock(&self, bytes: &[u8]) -> io::Result<()> {
        platform::unlock(bytes)
    }

    fn page_size(&self) -> usize {
        platform::page_size()
    }
}

struct RealFile {
    file: File,
    path: PathBuf,
    key: FileKey,
    kind: FileKind,
}

impl OsFile for RealFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn key(&self) -> FileKey {
        self.key
    }

    fn kind(&self) -> FileKind {
        self.kind
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        platform::read_at(&self.file, buf, offset)
    }

    #[cfg(unix)]
    fn read_at_uninit<'a>(
        &self,
        buf: &'a mut [std::mem::MaybeUninit<u8>],
        offset: u64,
    ) -> io::Result<&'a mut [u8]> {
        // rustix's pread hands back the part the kernel wrote, initialised.
        let (filled, _) = rustix::io::pread(&self.file, buf, offset)?;
        Ok(filled)
    }

    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        platform::read(&self.file, buf)
    }

    #[cfg(unix)]
    fn pin(&self) -> Result<Option<super::IdentityPin>> {
        if self.key.len == 0 {
            return Ok(None); // nothing to map, and nothing to mistake: no bytes
        }
        let pin = platform::NoAccessMapping::new(&self.file)
            .map_err(|e| Error::from_io("mmap(PROT_NONE)", &self.path, &e))?;
        Ok(Some(super::IdentityPin::new(pin)))
    }

    fn map_immutable(&self, len: usize) -> Result<Option<(Mapping, Immutable)>> {
        Mapping::map_if_immutable(&self.file, len)
            .map_err(|e| Error::from_io("mmap", &self.path, &e).with_arg("len", len))
    }

    unsafe fn map_assumed(&self, len: usize) -> Result<Mapping> {
        crate::os_call!(
            op: "mmap",
            path: &self.path,
            args: { len },
            fail_if: is_err,
            // SAFETY: our caller guarantees that nobody writes to or shrinks the file while a
            // borrow of the mapping lives, which is `Mapping::map_assumed`'s whole contract.
            call: unsafe { Mapping::map_assumed(&self.file, len) },
        )
    }
}
