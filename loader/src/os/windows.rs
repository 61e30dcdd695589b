//! Windows: identity from `GetFileInformationByHandle`, positional `ReadFile`,
//! `PrefetchVirtualMemory` and `VirtualLock`.

use std::fs::File;
use std::io;
use std::mem::MaybeUninit;
use std::os::windows::fs::FileExt;
use std::os::windows::io::AsRawHandle;
use std::path::Path;

use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, GetFileInformationByHandle,
};
use windows_sys::Win32::System::Memory::{
    PrefetchVirtualMemory, VirtualLock, VirtualUnlock, WIN32_MEMORY_RANGE_ENTRY,
};
use windows_sys::Win32::System::Threading::GetCurrentProcess;

use super::FileKey;
use crate::error::Result;

fn join(high: u32, low: u32) -> u64 {
    (u64::from(high) << 32) | u64::from(low)
}

/// Reads volume serial number and file index of the open handle: the identity Windows gives a
/// file whatever path (hard link, junction, relative path) reached it.
pub(crate) fn file_key(file: &File, path: &Path) -> Result<FileKey> {
    let mut info = MaybeUninit::<BY_HANDLE_FILE_INFORMATION>::uninit();
    crate::os_call!(
        op: "GetFileInformationByHandle",
        path: path,
        fail_if: == 0,
        // SAFETY: the handle is the live handle owned by `file`; `info` is a writable buffer of
        // the exact struct the call fills.
        call: unsafe { GetFileInformationByHandle(file.as_raw_handle(), info.as_mut_ptr()) },
    )?;
    // SAFETY: the call reported success, which means it filled the whole struct.
    let info = unsafe { info.assume_init() };
    let write = info.ftLastWriteTime;
    Ok(FileKey {
        device: u64::from(info.dwVolumeSerialNumber),
        inode: join(info.nFileIndexHigh, info.nFileIndexLow),
        len: join(info.nFileSizeHigh, info.nFileSizeLow),
        // FILETIME counts 100 ns ticks since 1601; only equality matters here.
        mtime_ns: i128::from(join(write.dwHighDateTime, write.dwLowDateTime)) * 100,
    })
}

/// One positional `ReadFile`.
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.seek_read(buf, offset)
}

/// `PrefetchVirtualMemory` on a range of a mapping.
pub(crate) fn will_need(map: &memmap2::Mmap, offset: usize, len: usize) -> io::Result<()> {
    let Some(range) = map.get(offset..offset.saturating_add(len)) else {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    };
    if range.is_empty() {
        return Ok(());
    }
    let entry = WIN32_MEMORY_RANGE_ENTRY {
        VirtualAddress: range.as_ptr().cast_mut().cast(),
        NumberOfBytes: range.len(),
    };
    // SAFETY: one valid entry describing a live range of this process's address space; the
    // call only schedules reads and never changes contents.
    let ok = unsafe { PrefetchVirtualMemory(GetCurrentProcess(), 1, &entry, 0) };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Faults a range of a mapping in by reading one byte per page.
///
/// Safe on Windows because a file cannot be truncated below a live mapping of it (the OS fails
/// the `SetEndOfFile`), so every page of the mapping stays backed.
pub(crate) fn prefault(map: &memmap2::Mmap, offset: usize, len: usize) -> io::Result<Prefault> {
    let Some(range) = map.get(offset..offset.saturating_add(len)) else {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    };
    for page in range.chunks(4096) {
        std::hint::black_box(page[0]);
    }
    Ok(Prefault::Populated)
}

/// How a prefault was carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefault {
    /// Every page is resident.
    Populated,
    /// Only a read-ahead hint was given.
    #[allow(dead_code)]
    HintOnly,
}

/// `VirtualLock` of exactly the range.
pub(crate) fn lock(bytes: &[u8]) -> io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    // SAFETY: a live range of this process; VirtualLock only changes residency.
    let ok = unsafe { VirtualLock(bytes.as_ptr().cast_mut().cast(), bytes.len()) };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `VirtualUnlock` of exactly the range.
pub(crate) fn unlock(bytes: &[u8]) -> io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    // SAFETY: as for `lock`.
    let ok = unsafe { VirtualUnlock(bytes.as_ptr().cast_mut().cast(), bytes.len()) };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
