//! Whether an fd's contents can never change: the check the registry makes before it maps a
//! memfd without the caller's `unsafe` opt-in (a sealed pool buffer opened through
//! `/proc/self/fd/N`, or a sealed memfd another process sent).

use std::os::fd::BorrowedFd;

use rustix::fs::SealFlags;

/// `true` when `fd` is a memfd (or other sealable shmem file) carrying `F_SEAL_WRITE` and
/// `F_SEAL_SHRINK`: no fd or mapping in any process can write or truncate it any more, and
/// seals can never be removed, so a read-only mapping of it cannot change under a borrow.
///
/// `false` for everything else: files that cannot be sealed (`EINVAL`), memfds without those
/// seals, and memfds sealed only with `F_SEAL_FUTURE_WRITE`, which leaves writable mappings
/// made before the seal writable (whoever holds one can still change the bytes).
pub(crate) fn is_sealed_immutable(fd: BorrowedFd<'_>) -> bool {
    rustix::fs::fcntl_get_seals(fd)
        .is_ok_and(|seals| seals.contains(SealFlags::WRITE | SealFlags::SHRINK))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs::{MemfdFlags, fcntl_add_seals, ftruncate, memfd_create};
    use std::os::fd::AsFd;

    #[test]
    #[cfg_attr(miri, ignore)]
    fn shm_seals_only_write_and_shrink_count_as_immutable() {
        let memfd = || memfd_create("lg-seals", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING);
        let fd = memfd().unwrap();
        ftruncate(&fd, 4096).unwrap();
        assert!(!is_sealed_immutable(fd.as_fd()), "no seals");
        fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW).unwrap();
        assert!(
            !is_sealed_immutable(fd.as_fd()),
            "resizing sealed, writes not"
        );
        fcntl_add_seals(&fd, SealFlags::WRITE).unwrap();
        assert!(is_sealed_immutable(fd.as_fd()));

        let future = memfd().unwrap();
        fcntl_add_seals(&future, SealFlags::FUTURE_WRITE | SealFlags::SHRINK).unwrap();
        assert!(
            !is_sealed_immutable(future.as_fd()),
            "F_SEAL_FUTURE_WRITE is not enough"
        );

        // A memfd created without MFD_ALLOW_SEALING carries F_SEAL_SEAL only; a regular
        // file cannot be sealed at all.
        let unsealable = memfd_create("lg-seals", MemfdFlags::CLOEXEC).unwrap();
        assert!(!is_sealed_immutable(unsealable.as_fd()));
        let file = std::fs::File::open("/proc/self/exe").unwrap();
        assert!(!is_sealed_immutable(file.as_fd()));
    }
}
