//! Unix: non-blocking open, identity from `statx` (Linux) or `fstat`, file kinds, `pread`,
//! `madvise` and `mlock`.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use super::{FileKey, FileKind, Immutable, Prefault};
use crate::error::Result;

/// Opens `path` read-only without blocking: `O_NONBLOCK` keeps a FIFO without a writer (or a
/// device that waits for carrier) from hanging the open, and `O_NOCTTY` keeps a terminal from
/// becoming our controlling one. On a regular file `O_NONBLOCK` changes nothing.
pub(crate) fn open(path: &Path) -> Result<File> {
    let flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY;
    let mut options = OpenOptions::new();
    // Both flags are small positive constants, so the conversion to `c_int` cannot fail.
    options
        .read(true)
        .custom_flags(i32::try_from(flags.bits()).unwrap_or(0));
    crate::os_call!(op: "open", path: path, fail_if: is_err, call: options.open(path))
}

/// Puts a stream's handle back into blocking mode, so reads wait for data instead of failing
/// with `EAGAIN` (the open itself has already returned).
pub(crate) fn set_blocking(file: &File, path: &Path) -> Result<()> {
    let flags = crate::os_call!(
        op: "fcntl(F_GETFL)", path: path, fail_if: is_err, call: rustix::fs::fcntl_getfl(file),
    )?;
    crate::os_call!(
        op: "fcntl(F_SETFL)",
        path: path,
        fail_if: is_err,
        call: rustix::fs::fcntl_setfl(file, flags - rustix::fs::OFlags::NONBLOCK),
    )
}

/// Identity and kind of the open file, read through its descriptor (never a second lookup of
/// the path, which could name a different file by now).
pub(crate) fn file_key(file: &File, path: &Path) -> Result<(FileKey, FileKind)> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let flags = rustix::fs::AtFlags::EMPTY_PATH;
        match rustix::fs::statx(file, "", flags, linux::MASK) {
            Ok(st) => return Ok((linux::key(&st), linux::kind(&st, file))),
            Err(e) if e != rustix::io::Errno::NOSYS => {
                return Err(crate::Error::from_io("statx", path, &e.into()));
            }
            Err(_) => {}
        }
    }
    let meta = crate::os_call!(op: "fstat", path: path, fail_if: is_err, call: file.metadata())?;
    Ok((meta_key(&meta), meta_kind(&meta)))
}

/// Identity of the file `path` names now, following symbolic links: one `statx` (Linux) or
/// `stat`, computed exactly as [`file_key`] computes it for the same file open.
pub(crate) fn path_key(path: &Path) -> Result<FileKey> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        match rustix::fs::statx(
            rustix::fs::CWD,
            path,
            rustix::fs::AtFlags::empty(),
            linux::MASK,
        ) {
            Ok(st) => return Ok(linux::key(&st)),
            Err(e) if e != rustix::io::Errno::NOSYS => {
                return Err(crate::Error::from_io("statx", path, &e.into()));
            }
            Err(_) => {}
        }
    }
    let meta =
        crate::os_call!(op: "stat", path: path, fail_if: is_err, call: std::fs::metadata(path))?;
    Ok(meta_key(&meta))
}

fn meta_key(meta: &std::fs::Metadata) -> FileKey {
    let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
    FileKey::new(
        meta.dev(),
        meta.ino(),
        meta.len(),
        ns(meta.mtime(), meta.mtime_nsec()),
    )
    .with_ctime(ns(meta.ctime(), meta.ctime_nsec()))
}

fn meta_kind(meta: &std::fs::Metadata) -> FileKind {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_file() {
        FileKind::Regular
    } else if t.is_dir() {
        FileKind::Directory
    } else if t.is_fifo() {
        FileKind::Fifo
    } else if t.is_socket() {
        FileKind::Socket
    } else if t.is_char_device() {
        FileKind::CharDevice
    } else if t.is_block_device() {
        FileKind::BlockDevice
    } else {
        FileKind::Other
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux {
    use rustix::fs::{FileType, StatxFlags};

    use super::{FileKey, FileKind};

    pub(super) const MASK: StatxFlags = StatxFlags::BASIC_STATS.union(StatxFlags::BTIME);

    fn ns(t: rustix::fs::StatxTimestamp) -> i128 {
        i128::from(t.tv_sec) * 1_000_000_000 + i128::from(t.tv_nsec)
    }

    pub(super) fn key(st: &rustix::fs::Statx) -> FileKey {
        let device = rustix::fs::makedev(st.stx_dev_major, st.stx_dev_minor);
        let key = FileKey::new(device, st.stx_ino, st.stx_size, ns(st.stx_mtime))
            .with_ctime(ns(st.stx_ctime));
        if StatxFlags::from_bits_retain(st.stx_mask).contains(StatxFlags::BTIME) {
            key.with_btime(ns(st.stx_btime))
        } else {
            key
        }
    }

    pub(super) fn kind(st: &rustix::fs::Statx, file: &std::fs::File) -> FileKind {
        match FileType::from_raw_mode(st.stx_mode.into()) {
            // Every file system in `pseudo_fs` has an anonymous device (the kernel's
            // `UNNAMED_MAJOR`, 0); a file on a block device's file system needs no `fstatfs`.
            FileType::RegularFile if st.stx_dev_major != 0 => FileKind::Regular,
            FileType::RegularFile => {
                pseudo_fs(file).map_or(FileKind::Regular, FileKind::PseudoFile)
            }
            FileType::Directory => FileKind::Directory,
            FileType::Fifo => FileKind::Fifo,
            FileType::Socket => FileKind::Socket,
            FileType::CharacterDevice => FileKind::CharDevice,
            FileType::BlockDevice => FileKind::BlockDevice,
            _ => FileKind::Other,
        }
    }

    /// The pseudo file system a regular file lives on, if it is one whose files report a size
    /// unrelated to what reading them returns (`/proc/self/maps` says 0 bytes).
    fn pseudo_fs(file: &std::fs::File) -> Option<&'static str> {
        // Magic numbers from <linux/magic.h>.
        const PSEUDO: [(i128, &str); 11] = [
            (0x9fa0, "procfs"),
            (0x6265_6572, "sysfs"),
            (0x6462_6720, "debugfs"),
            (0x7472_6163, "tracefs"),
            (0x7363_6673, "securityfs"),
            (0x0027_e0eb, "cgroup"),
            (0x6367_7270, "cgroup2"),
            (0x6265_6570, "configfs"),
            (0x6165_676c, "pstore"),
            (0xcafe_4a11, "bpf"),
            (0xde5e_81e4, "efivarfs"),
        ];
        let st = rustix::fs::fstatfs(file).ok()?;
        // `f_type` is i32, u32 or i64 depending on the target; the magic is its low 32 bits.
        let magic = i128::from(st.f_type) & 0xffff_ffff;
        PSEUDO
            .iter()
            .find(|(m, _)| *m == magic)
            .map(|(_, name)| *name)
    }
}

/// Which guarantee made memmap2's `map_if_safe` accept `file`: seals, else fs-verity (the only
/// two it accepts).
pub(crate) fn why_immutable(file: &File) -> Immutable {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::SealFlags;
        if rustix::fs::fcntl_get_seals(file)
            .is_ok_and(|s| s.contains(SealFlags::WRITE | SealFlags::SHRINK))
        {
            return Immutable::SealedMemfd;
        }
    }
    let _ = file;
    Immutable::Verity
}

/// One `pread`.
pub(crate) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    file.read_at(buf, offset)
}

/// One `read` from the current position.
pub(crate) fn read(file: &File, buf: &mut [u8]) -> io::Result<usize> {
    (&*file).read(buf)
}

/// `madvise(MADV_WILLNEED)` on a range of a mapping.
pub(crate) fn will_need(map: &memmap2::Mmap, offset: usize, len: usize) -> io::Result<()> {
    map.advise_range(memmap2::Advice::WillNeed, offset, len)
}

/// Faults a range of a mapping in without risking SIGBUS.
///
/// Linux ≥ 5.14 has `MADV_POPULATE_READ`, which reports a page beyond the end of a truncated
/// file as `EFAULT` instead of delivering SIGBUS. Older kernels answer `EINVAL`; there (and on
/// other Unixes) touching pages would be the only way and could kill the process, so we give
/// the kernel a `WILLNEED` hint instead and say so.
pub(crate) fn prefault(map: &memmap2::Mmap, offset: usize, len: usize) -> io::Result<Prefault> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        match map.advise_range(memmap2::Advice::PopulateRead, offset, len) {
            Ok(()) => return Ok(Prefault::Populated),
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => {}
            Err(e) => return Err(e),
        }
    }
    will_need(map, offset, len)?;
    Ok(Prefault::HintOnly)
}

/// `mlock` of the pages holding `bytes`.
pub(crate) fn lock(bytes: &[u8]) -> io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    // SAFETY: `bytes` is a live slice, so the range is mapped memory of this process; mlock
    // only changes residency, never contents or validity.
    unsafe { rustix::mm::mlock(bytes.as_ptr().cast_mut().cast(), bytes.len()) }?;
    Ok(())
}

/// `munlock` of the pages holding `bytes`.
pub(crate) fn unlock(bytes: &[u8]) -> io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    // SAFETY: as for `lock`: a live range of this process; munlock only changes residency.
    unsafe { rustix::mm::munlock(bytes.as_ptr().cast_mut().cast(), bytes.len()) }?;
    Ok(())
}

/// The page size.
pub(crate) fn page_size() -> usize {
    rustix::param::page_size()
}

/// A one-page `PROT_NONE` shared mapping of a file: it holds the file's inode alive (as every
/// mapping does) while no byte of it can be read or written, and uses no file descriptor.
pub(crate) struct NoAccessMapping {
    ptr: std::ptr::NonNull<std::ffi::c_void>,
    len: usize,
}

// SAFETY: the mapping is only an address range this value owns and never accesses; unmapping
// it from another thread is fine.
unsafe impl Send for NoAccessMapping {}
// SAFETY: `&NoAccessMapping` gives no access at all.
unsafe impl Sync for NoAccessMapping {}

impl NoAccessMapping {
    /// Maps the first page of `file` (at least 1 byte long) with no access.
    pub(crate) fn new(file: &File) -> io::Result<Self> {
        let len = page_size();
        // SAFETY: a new mapping at an address the kernel picks (null hint, no MAP_FIXED), so no
        // existing memory is replaced; PROT_NONE means nothing, in this process or through the
        // file, can be observed through it, so changes to the file cannot break any borrow.
        let ptr = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                rustix::mm::ProtFlags::empty(),
                rustix::mm::MapFlags::SHARED,
                file,
                0,
            )
        }?;
        let ptr =
            std::ptr::NonNull::new(ptr).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(Self { ptr, len })
    }
}

impl Drop for NoAccessMapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly the mapping `new` made, which nothing else refers to
        // (it was never handed out) and which is unmapped only here, once.
        if let Err(e) = unsafe { rustix::mm::munmap(self.ptr.as_ptr(), self.len) } {
            tracing::warn!(error = %e, "munmap of an identity pin failed");
        }
    }
}
