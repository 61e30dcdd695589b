//! Targets that are neither Unix nor Windows: files can be read but not identified, advised or
//! locked; every such call reports `Unsupported` instead of pretending.

use std::fs::File;
use std::io;
use std::path::Path;

use super::FileKey;
use crate::error::{Error, Result};

fn unsupported() -> io::Error {
    io::Error::from(io::ErrorKind::Unsupported)
}

pub(crate) fn file_key(_file: &File, path: &Path) -> Result<FileKey> {
    Err(Error::from_io("fstat", path, &unsupported()))
}

pub(crate) fn read_at(_file: &File, _buf: &mut [u8], _offset: u64) -> io::Result<usize> {
    Err(unsupported())
}

pub(crate) fn will_need(_map: &memmap2::Mmap, _offset: usize, _len: usize) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn prefault(_map: &memmap2::Mmap, _offset: usize, _len: usize) -> io::Result<Prefault> {
    Err(unsupported())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefault {
    Populated,
    HintOnly,
}

pub(crate) fn lock(_bytes: &[u8]) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn unlock(_bytes: &[u8]) -> io::Result<()> {
    Err(unsupported())
}
