//! Windows: identity from `GetFileInformationByHandle(Ex)`, positional `ReadFile`,
//! `PrefetchVirtualMemory` and `VirtualLock`.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::mem::MaybeUninit;
use std::os::windows::fs::{FileExt, OpenOptionsExt};
use std::os::windows::io::AsRawHandle;
use std::path::Path;

use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, FILE_ATTRIBUTE_DIRECTORY, FILE_BASIC_INFO,
    FILE_FLAG_BACKUP_SEMANTICS, FILE_READ_ATTRIBUTES, FILE_TYPE_CHAR, FILE_TYPE_DISK,
    FILE_TYPE_PIPE, FileBasicInfo, GetFileInformationByHandle, GetFileInformationByHandleEx,
    GetFileType,
};
use windows_sys::Win32::System::Memory::{
    PrefetchVirtualMemory, VirtualLock, VirtualUnlock, WIN32_MEMORY_RANGE_ENTRY,
};
use windows_sys::Win32::System::SystemInformation::{GetSystemInfo, SYSTEM_INFO};
use windows_sys::Win32::System::Threading::GetCurrentProcess;

use super::{FileKey, FileKind, Prefault};
use crate::error::Result;

fn join(high: u32, low: u32) -> u64 {
    (u64::from(high) << 32) | u64::from(low)
}

/// Opens `path` read-only. Windows opens of pipes and devices do not wait for a peer.
pub(crate) fn open(path: &Path) -> Result<File> {
    crate::os_call!(op: "open", path: path, fail_if: is_err, call: File::open(path))
}

/// Nothing to do: Windows handles opened by `File::open` are blocking already.
pub(crate) fn set_blocking(_file: &File, _path: &Path) -> Result<()> {
    Ok(())
}

/// Reads volume serial number, file index, size and times of the open handle: the identity
/// Windows gives a file whatever path (hard link, junction, relative path) reached it. NTFS
/// file indexes carry a sequence number that changes when a record is reused.
pub(crate) fn file_key(file: &File, path: &Path) -> Result<(FileKey, FileKind)> {
    // SAFETY: the handle is the live handle owned by `file`; GetFileType only reads its type.
    let kind = match unsafe { GetFileType(file.as_raw_handle()) } {
        FILE_TYPE_DISK => FileKind::Regular,
        FILE_TYPE_CHAR => return Ok((FileKey::new(0, 0, 0, 0), FileKind::CharDevice)),
        FILE_TYPE_PIPE => return Ok((FileKey::new(0, 0, 0, 0), FileKind::Fifo)),
        _ => return Ok((FileKey::new(0, 0, 0, 0), FileKind::Other)),
    };
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
    let mut basic = MaybeUninit::<FILE_BASIC_INFO>::uninit();
    let size = u32::try_from(std::mem::size_of::<FILE_BASIC_INFO>()).unwrap_or(u32::MAX);
    crate::os_call!(
        op: "GetFileInformationByHandleEx(FileBasicInfo)",
        path: path,
        fail_if: == 0,
        // SAFETY: the live handle owned by `file`; `basic` is a writable FILE_BASIC_INFO and
        // `size` its exact size, which is what the FileBasicInfo class fills.
        call: unsafe {
            GetFileInformationByHandleEx(
                file.as_raw_handle(),
                FileBasicInfo,
                basic.as_mut_ptr().cast(),
                size,
            )
        },
    )?;
    // SAFETY: the call reported success, which means it filled the whole struct.
    let basic = unsafe { basic.assume_init() };
    let kind = if info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY != 0 {
        FileKind::Directory
    } else {
        kind
    };
    let write = info.ftLastWriteTime;
    // FILETIME counts 100 ns ticks since 1601; only equality matters here.
    let key = FileKey::new(
        u64::from(info.dwVolumeSerialNumber),
        join(info.nFileIndexHigh, info.nFileIndexLow),
        join(info.nFileSizeHigh, info.nFileSizeLow),
        i128::from(join(write.dwHighDateTime, write.dwLowDateTime)) * 100,
    )
    .with_ctime(i128::from(basic.ChangeTime) * 100)
    .with_btime(i128::from(basic.CreationTime) * 100);
    Ok((key, kind))
}

/// Identity of the file `path` names now. Windows has no identity without a handle, so this
/// opens one with attribute access only (no read access, every sharing mode) and closes it.
pub(crate) fn path_key(path: &Path) -> Result<FileKey> {
    let mut options = OpenOptions::new();
    options
        .access_mode(FILE_READ_ATTRIBUTES)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS);
    let file = crate::os_call!(op: "open", path: path, fail_if: is_err, call: options.open(path))?;
    file_key(&file, path).map(|(key, _)| key)
}

/// One positional `ReadFile`.
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.seek_read(buf, offset)
}

/// One `ReadFile` from the current position.
pub(crate) fn read(file: &File, buf: &mut [u8]) -> io::Result<usize> {
    (&*file).read(buf)
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
    for page in range.chunks(page_size()) {
        std::hint::black_box(page[0]);
    }
    Ok(Prefault::Populated)
}

/// `VirtualLock` of the pages holding `bytes`.
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

/// `VirtualUnlock` of the pages holding `bytes`.
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

/// The page size (`GetSystemInfo`).
pub(crate) fn page_size() -> usize {
    let mut info = MaybeUninit::<SYSTEM_INFO>::uninit();
    // SAFETY: GetSystemInfo fills the SYSTEM_INFO it is given and cannot fail.
    unsafe { GetSystemInfo(info.as_mut_ptr()) };
    // SAFETY: GetSystemInfo has no failure mode: the struct is filled.
    let info = unsafe { info.assume_init() };
    usize::try_from(info.dwPageSize).unwrap_or(4096)
}
