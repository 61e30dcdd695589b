//! Targets that are neither Unix nor Windows: files can be opened but not identified, advised or
//! locked; every such call reports `Unsupported` instead of pretending.

use std::fs::File;
use std::io;
use std::path::Path;

use super::{FileKey, FileKind, Prefault};
use crate::error::{Error, Result};

fn unsupported() -> io::Error {
    io::Error::from(io::ErrorKind::Unsupported)
}

pub(crate) fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| Error::from_io("open", path, &e))
}

pub(crate) fn set_blocking(_file: &File, _path: &Path) -> Result<()> {
    Ok(())
}

pub(crate) fn file_key(_file: &File, path: &Path) -> Result<(FileKey, FileKind)> {
    Err(Error::from_io("fstat", path, &unsupported()))
}

pub(crate) fn path_key(path: &Path) -> Result<FileKey> {
    Err(Error::from_io("stat", path, &unsupported()))
}

pub(crate) fn read_at(_file: &File, _buf: &mut [u8], _offset: u64) -> io::Result<usize> {
    Err(unsupported())
}

pub(crate) fn read(_file: &File, _buf: &mut [u8]) -> io::Result<usize> {
    Err(unsupported())
}

pub(crate) fn will_need(_map: &memmap2::Mmap, _offset: usize, _len: usize) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn prefault(_map: &memmap2::Mmap, _offset: usize, _len: usize) -> io::Result<Prefault> {
    Err(unsupported())
}

pub(crate) fn lock(_bytes: &[u8]) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn unlock(_bytes: &[u8]) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn page_size() -> usize {
    4096
}
