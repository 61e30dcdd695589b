//! What sealing a memfd buffer forbids, on the real OS: once [`SharedBuffer::seal`] returns, no
//! fd of the memory — the buffer's own, a duplicate, one reopened through `/proc/self/fd` —
//! can write, resize or punch it, and no writable shared mapping of it can be made; the bytes
//! behind the sealed buffer's `&[u8]` stay what they were. And a seal that the kernel refuses
//! (a writable mapping exists elsewhere) gives the buffer back intact.
#![cfg(any(target_os = "linux", target_os = "android"))]

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

use loadguard::shm::{Pool, PoolOptions, Provider, SealKind, SharedBuffer};

const EPERM: i32 = 1;
const EBUSY: i32 = 16;

fn memfd_pool(name: &str) -> Pool {
    Pool::with_options(
        PoolOptions::new()
            .providers([Provider::Memfd])
            .fallback(false)
            .name(name),
    )
}

fn filled(pool: &Pool, len: usize) -> SharedBuffer<'_> {
    let mut buf = pool.alloc(len).unwrap();
    for (i, b) in buf.iter_mut().enumerate() {
        *b = u8::try_from(i % 241).unwrap();
    }
    buf
}

fn expected(len: usize) -> Vec<u8> {
    (0..len).map(|i| u8::try_from(i % 241).unwrap()).collect()
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_sealed_memfd_cannot_be_written_through_any_fd() {
    let pool = memfd_pool("lg-sealed");
    let sealed = filled(&pool, 8192).seal().unwrap();
    assert_eq!(sealed.seal_kind(), SealKind::Kernel);
    let bytes: &[u8] = &sealed;
    let dup = File::from(sealed.fd().unwrap().try_clone_to_owned().unwrap());

    // write(2) / pwrite(2) on the duplicate.
    let err = dup.write_all_at(b"changed", 0).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(EPERM), "pwrite: {err}");
    let err = std::io::Write::write(&mut &dup, b"changed").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(EPERM), "write: {err}");

    // A writable shared mapping of the duplicate.
    // SAFETY: the kernel must refuse this mapping (asserted right here); had it succeeded, the
    // map would be dropped unused by the failing assertion.
    let map = unsafe { memmap2::MmapOptions::new().len(8192).map_mut(&dup) };
    assert_eq!(
        map.err().and_then(|e| e.raw_os_error()),
        Some(EPERM),
        "mmap(PROT_WRITE, MAP_SHARED)"
    );

    // Resizing and punching holes.
    assert_eq!(
        dup.set_len(0).unwrap_err().raw_os_error(),
        Some(EPERM),
        "ftruncate"
    );
    let punch = rustix::fs::fallocate(
        &dup,
        rustix::fs::FallocateFlags::PUNCH_HOLE | rustix::fs::FallocateFlags::KEEP_SIZE,
        0,
        4096,
    );
    assert_eq!(punch, Err(rustix::io::Errno::PERM), "fallocate(PUNCH_HOLE)");

    // The seals themselves are final (F_SEAL_SEAL): none can be added, none ever removed.
    let seals = rustix::fs::fcntl_get_seals(&dup).unwrap();
    use rustix::fs::SealFlags;
    assert!(
        seals.contains(SealFlags::WRITE | SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL)
    );
    assert_eq!(
        rustix::fs::fcntl_add_seals(&dup, SealFlags::EXEC),
        Err(rustix::io::Errno::PERM)
    );

    // A new fd reopened read-write through /proc/self/fd: opens, but cannot write either.
    let path = format!("/proc/self/fd/{}", dup.as_raw_fd());
    let reopened = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let err = reopened.write_all_at(b"changed", 100).unwrap_err();
    assert_eq!(
        err.raw_os_error(),
        Some(EPERM),
        "write through {path}: {err}"
    );

    // Nothing moved under the borrow, and the fds still read the same bytes.
    assert_eq!(bytes, expected(8192));
    let mut back = vec![0u8; 8192];
    reopened.read_exact_at(&mut back, 0).unwrap();
    assert_eq!(back, bytes);
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_seal_refused_by_a_writable_mapping_gives_the_buffer_back() {
    let pool = memfd_pool("lg-busy");
    let buf = filled(&pool, 4096);
    // SAFETY: the fd is mapped writable below, standing in for a device that was given it,
    // and that mapping is never written (nor read) while the buffer's bytes are borrowed.
    let fd = unsafe { buf.fd_unchecked() }
        .unwrap()
        .try_clone_to_owned()
        .unwrap();
    // SAFETY: a memfd sealed against resizing: the mapping stays backed; never accessed.
    let device = unsafe { memmap2::MmapOptions::new().len(4096).map_mut(&fd) }.unwrap();
    let err = buf.try_seal().unwrap_err();
    assert_eq!(err.error().os_code(), Some(EBUSY), "{}", err.error());
    assert_eq!(err.error().op(), Some("fcntl(F_ADD_SEALS)"));
    let buf = err
        .into_buffer()
        .expect("nothing was sealed: the buffer comes back");
    assert_eq!(
        &buf[..],
        expected(4096),
        "contents kept across the unmap and remap"
    );
    assert_eq!(pool.len(), 1);
    assert_eq!(pool.find(buf.as_ptr(), 4096).map(|f| f.id), Some(buf.id()));

    // Once the writable mapping is gone, the seal goes through.
    drop(device);
    let sealed = buf.seal().unwrap();
    let err = File::from(fd).write_all_at(b"x", 0).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(EPERM));
    assert_eq!(&sealed[..], expected(4096));
}

#[test]
#[cfg_attr(miri, ignore)]
fn sealing_leaves_one_private_read_only_mapping() {
    let name = "lg-remap";
    let pool = memfd_pool(name);
    let sealed = filled(&pool, 3 * 4096).seal().unwrap();
    let want = format!("/memfd:{name} (deleted)");
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let lines: Vec<&str> = maps.lines().filter(|l| l.ends_with(&want)).collect();
    // One mapping of the memfd, private and read-only ("r--p").
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let perms = lines[0].split_whitespace().nth(1).unwrap();
    assert_eq!(perms, "r--p", "{}", lines[0]);
    assert_eq!(&sealed[..], expected(3 * 4096));
}

/// The runtime half of "two safe APIs cannot alias": the registry opening a pool buffer's memfd
/// through `/proc/self/fd/N` copies an unsealed one (so the buffer's later writes do not show
/// through the session's borrow) and maps a sealed one (nothing can change it).
#[test]
#[cfg_attr(miri, ignore)]
fn the_registry_copies_an_unsealed_pool_memfd_and_maps_a_sealed_one() {
    let pool = memfd_pool("lg-registry");
    let registry = loadguard::Registry::new();
    let options = loadguard::LoadOptions::new();

    let mut buf = filled(&pool, 8192);
    // SAFETY: only the fd's number is used, to name the memfd for the registry; nothing
    // writes through it (the registry opens it read-only and reads a copy).
    let raw = unsafe { buf.fd_unchecked() }.unwrap().as_raw_fd();
    let session = registry
        .open(format!("/proc/self/fd/{raw}"), &options)
        .unwrap();
    assert_eq!(
        session.load_path().name(),
        "read",
        "{}",
        session.load_path()
    );
    let seen: &[u8] = session.bytes();
    buf[0] = 0xee;
    assert_eq!(seen, expected(8192), "the session's bytes did not change");
    drop(session);

    let sealed = buf.seal().unwrap();
    let raw = sealed.fd().unwrap().as_raw_fd();
    let session = registry
        .open(format!("/proc/self/fd/{raw}"), &options)
        .unwrap();
    assert!(session.load_path().is_mapped(), "{}", session.load_path());
    assert_eq!(session.load_path().to_string(), "map (sealed memfd)");
    assert_eq!(session.bytes()[0], 0xee);
    assert_eq!(session.bytes(), &sealed[..]);
}
