//! `loadguard::shm` on the real OS: memfd sizing seals, fds, find, release on drop, provider
//! fallback, dma-heap (when the device exists) and loading a file segment into a pool buffer.
//! What sealing forbids is in `shm_seal.rs`.
//!
//! Tests run in parallel in one process, so "released" is checked by counting only the fds and
//! mappings whose memfd name is unique to the test (`/proc/self/fd` links and
//! `/proc/self/maps` lines read `memfd:<name>`), never by global counts (see `shm_balance.rs`).
#![cfg(any(target_os = "linux", target_os = "android"))]

use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::Path;

use loadguard::Error;
use loadguard::data::{
    FileLoader, SegmentInfo, SegmentKind, load_into_pool, load_segment_into_pool,
};
use loadguard::shm::{Pool, PoolOptions, Provider, SealKind, ShmError};

fn memfd_pool(name: &str) -> Pool {
    Pool::with_options(PoolOptions::new().providers([Provider::Memfd]).name(name))
}

/// fds of this process whose target is the memfd `name`.
fn memfd_fds(name: &str) -> usize {
    let want = format!("/memfd:{name} (deleted)");
    fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.as_os_str() == want.as_str())
        .count()
}

/// Mappings of this process of the memfd `name`.
fn memfd_maps(name: &str) -> usize {
    let want = format!("/memfd:{name} (deleted)");
    fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter(|l| l.ends_with(&want))
        .count()
}

/// Asserts that no fd or mapping of the memfd `name` is left: call at the end of a test, after
/// the pool and everything from it is gone.
fn assert_released(name: &str) {
    assert_eq!(
        (memfd_fds(name), memfd_maps(name)),
        (0, 0),
        "memfd:{name} left open or mapped"
    );
}

/// A `File` on a duplicate of `fd`, for std's positional reads and `set_len`.
fn file_of(fd: std::os::fd::BorrowedFd<'_>) -> File {
    File::from(fd.try_clone_to_owned().unwrap())
}

#[test]
#[cfg_attr(miri, ignore)]
fn memfd_buffer_is_sealed_against_shrinking_and_growing() {
    let pool = memfd_pool("lg-seal");
    let mut buf = pool.alloc(8192).unwrap();
    assert_eq!(buf.provider(), &Provider::Memfd);
    buf[..5].copy_from_slice(b"hello");
    // SAFETY: the fd is used only for `fstat` and for `ftruncate` calls that the seals refuse;
    // nothing writes the memory through it.
    let file = file_of(unsafe { buf.fd_unchecked() }.unwrap());
    assert_eq!(file.metadata().unwrap().len(), 8192);
    for (what, len) in [("smaller", 4096), ("larger", 16384)] {
        let err = file.set_len(len).unwrap_err();
        assert_eq!(
            err.raw_os_error(),
            Some(1),
            "ftruncate {what} must fail with EPERM"
        );
    }
    // Still fully readable through the mapping after the attempts.
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(buf[8191], 0);
    drop((file, buf));
    drop(pool);
    assert_released("lg-seal");
}

#[test]
#[cfg_attr(miri, ignore)]
fn sealed_memfd_fd_names_the_sealed_bytes() {
    let pool = memfd_pool("lg-fd");
    let mut buf = pool.alloc(10_000).unwrap();
    assert!(buf.iter().all(|&b| b == 0));
    for (i, b) in buf.iter_mut().enumerate() {
        *b = u8::try_from(i % 251).unwrap();
    }
    let before = buf.as_ptr();
    let sealed = buf.seal().unwrap();
    assert_eq!(sealed.seal_kind(), SealKind::Kernel);
    // Mapped again read-only (one mapping, at a new address): find follows it.
    assert_eq!((memfd_fds("lg-fd"), memfd_maps("lg-fd")), (1, 1));
    assert_eq!(
        pool.find(sealed.as_ptr(), 10_000).map(|f| f.id),
        Some(sealed.id())
    );
    // The old address is free, or (the kernel may place the new mapping over it) inside the
    // new mapping of the same buffer: never another buffer, never the old one's record.
    let new = sealed.as_ptr().addr()..sealed.as_ptr().addr() + 10_000;
    let expected = new
        .contains(&before.addr())
        .then(|| (sealed.id(), before.addr() - new.start));
    assert_eq!(pool.find(before, 1).map(|f| (f.id, f.offset)), expected);
    let file = file_of(sealed.fd().unwrap());
    let mut back = vec![0u8; 10_000];
    file.read_exact_at(&mut back, 0).unwrap();
    assert_eq!(&back[..], &sealed[..]);
    assert_eq!(sealed[250], 250);
    drop((file, sealed));
    drop(pool);
    assert_released("lg-fd");
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_leased_memfd_is_written_through_its_fd_and_read_by_volatile_copies() {
    let pool = memfd_pool("lg-lease");
    let mut buf = pool.alloc(4096).unwrap();
    buf[..4].copy_from_slice(b"in: ");
    let mut lease = buf.lease();
    // The device: its own fd, written with safe std calls while the lease lives.
    let device = file_of(lease.fd().unwrap());
    let mut seen = [0u8; 4];
    lease.copy_out(0, &mut seen).unwrap();
    assert_eq!(&seen, b"in: ");
    device.write_all_at(b"out!", 4).unwrap();
    let mut seen = [0u8; 8];
    lease.copy_out(0, &mut seen).unwrap();
    assert_eq!(&seen, b"in: out!");
    lease.copy_in(8, b"more").unwrap();
    let mut back = [0u8; 4];
    device.read_exact_at(&mut back, 8).unwrap();
    assert_eq!(&back, b"more");
    assert!(matches!(
        lease.copy_out(4093, &mut [0u8; 4]),
        Err(Error::OutOfRange {
            offset: 4093,
            len: 4,
            file_size: 4096,
            ..
        })
    ));
    assert!(lease.copy_in(usize::MAX, b"x").is_err());
    // SAFETY: the device's last write above has returned; from here on it only tries to
    // write after the seal, which the kernel refuses.
    let buf = unsafe { lease.reclaim() };
    assert_eq!(&buf[..12], b"in: out!more");
    let sealed = buf.seal().unwrap();
    let err = device.write_all_at(b"late", 0).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(1), "the device's fd is sealed too");
    assert_eq!(&sealed[..4], b"in: ");
    drop((device, sealed));
    drop(pool);
    assert_released("lg-lease");
}

#[test]
#[cfg_attr(miri, ignore)]
fn find_answers_only_ranges_inside_one_buffer() {
    let pool = memfd_pool("lg-find");
    let bufs: Vec<_> = (1..=20).map(|i| pool.alloc(i * 1000).unwrap()).collect();
    for b in &bufs {
        let p = b.as_ptr();
        let f = pool.find(p, b.len()).unwrap();
        assert_eq!((f.id, f.offset, f.buffer_len), (b.id(), 0, b.len()));
        let f = pool.find(p.wrapping_add(7), b.len() - 7).unwrap();
        assert_eq!((f.id, f.offset), (b.id(), 7));
        assert_eq!(
            pool.find(p.wrapping_add(b.len() - 1), 0).map(|f| f.offset),
            Some(b.len() - 1)
        );
        // Partly outside: one byte too long, one byte before, one past the end.
        assert_eq!(pool.find(p, b.len() + 1), None);
        assert_eq!(pool.find(p.wrapping_sub(1), 2), None);
        // The byte after a buffer may start another buffer, never this one.
        assert_ne!(
            pool.find(p.wrapping_add(b.len()), 0).map(|f| f.id),
            Some(b.id())
        );
    }
    // A range covering two buffers is never attributed to either.
    let (a, b) = (&bufs[3], &bufs[4]);
    let (lo, hi) = if a.as_ptr() < b.as_ptr() {
        (a, b)
    } else {
        (b, a)
    };
    let span = hi.as_ptr().addr() + hi.len() - lo.as_ptr().addr();
    assert_eq!(pool.find(lo.as_ptr(), span), None);
    assert_eq!(pool.find(std::ptr::null(), 1), None);
    assert_eq!(pool.find(lo.as_ptr(), usize::MAX), None);
    drop(bufs);
    drop(pool);
    assert_released("lg-find");
}

#[test]
#[cfg_attr(miri, ignore)]
fn dropping_a_buffer_unmaps_closes_and_unregisters_it() {
    let name = "lg-drop";
    let pool = memfd_pool(name);
    let buf = pool.alloc(4096).unwrap();
    let ptr = buf.as_ptr();
    assert_eq!((memfd_fds(name), memfd_maps(name), pool.len()), (1, 1, 1));
    drop(buf);
    assert_eq!((memfd_fds(name), memfd_maps(name), pool.len()), (0, 0, 0));
    assert_eq!(pool.find(ptr, 1), None);
}

#[test]
#[cfg_attr(miri, ignore)]
fn dropping_the_pool_releases_retained_and_leaked_buffers() {
    let name = "lg-pool-drop";
    let pool = memfd_pool(name);
    let mut kept = pool.alloc(4096).unwrap();
    kept[0] = 42;
    let kept = kept.seal().unwrap().into_pool();
    let leaked = pool.alloc(8192).unwrap();
    std::mem::forget(leaked);
    let live = pool.alloc(100).unwrap();
    drop(live);
    assert_eq!(pool.retained(kept).map(|b| b[0]), Some(42));
    assert_eq!((memfd_fds(name), memfd_maps(name), pool.len()), (2, 2, 2));
    drop(pool);
    assert_eq!((memfd_fds(name), memfd_maps(name)), (0, 0));
}

#[test]
#[cfg_attr(miri, ignore)]
fn dup_fd_outlives_the_buffer() {
    let name = "lg-dup";
    let mut pool = memfd_pool(name);
    let mut buf = pool.alloc(4096).unwrap();
    buf[..3].copy_from_slice(b"dup");
    let sealed = buf.seal().unwrap();
    let dup = sealed.fd().unwrap().try_clone_to_owned().unwrap();
    drop(sealed);
    // The pool let go of its fd and mapping; the duplicate still names the memory.
    assert_eq!((memfd_fds(name), memfd_maps(name)), (1, 0));
    let mut back = [0u8; 3];
    File::from(dup).read_exact_at(&mut back, 0).unwrap();
    assert_eq!(&back, b"dup");
    assert_eq!(memfd_fds(name), 0);

    // A retained buffer's fd comes from the pool.
    let kept = pool.alloc(100).unwrap().seal().unwrap().into_pool();
    let dup = pool.dup_fd(kept).unwrap().unwrap();
    assert!(pool.release(kept.id()));
    assert_eq!(pool.dup_fd(kept).unwrap().map(drop), None, "released");
    assert_eq!(File::from(dup).metadata().unwrap().len(), 100);

    let heap = Pool::with_options(PoolOptions::new().providers([Provider::Heap]));
    let h = heap.alloc(1).unwrap().seal().unwrap();
    assert_eq!(h.seal_kind(), SealKind::Private);
    assert!(h.fd().is_none());
    let kept = h.into_pool();
    assert!(heap.dup_fd(kept).unwrap().is_none());
    drop(pool);
    assert_released(name);
}

#[test]
#[cfg_attr(miri, ignore)]
fn fallback_tries_providers_in_order_and_says_which_served() {
    let missing = Provider::DmaHeap("loadguard-no-such-heap".to_owned());
    let pool = Pool::with_options(
        PoolOptions::new()
            .providers([missing.clone(), Provider::Memfd, Provider::Heap])
            .name("lg-fb"),
    );
    let buf = pool.alloc(4096).unwrap();
    assert_eq!(buf.provider(), &Provider::Memfd);
    assert!(buf.seal().unwrap().fd().is_some());

    let pool = Pool::with_options(PoolOptions::new().providers([missing.clone(), Provider::Heap]));
    assert_eq!(pool.alloc(10).unwrap().provider(), &Provider::Heap);

    // Without fallback the first provider's error comes back, naming label, size and errno.
    let strict = Pool::with_options(
        PoolOptions::new()
            .providers([missing.clone(), Provider::Heap])
            .fallback(false),
    );
    let err = strict.alloc(4096).unwrap_err();
    assert_eq!(err.op(), Some("open"));
    assert_eq!(
        err.path(),
        Some(Path::new("/dev/dma_heap/loadguard-no-such-heap"))
    );
    assert_eq!(err.os_code(), Some(2));
    let text = err.to_string();
    assert!(text.contains("len=4096"), "{text}");

    // All failing: the last provider's error.
    let none = Pool::with_options(PoolOptions::new().providers([missing, Provider::Section]));
    let err = none.alloc(1).unwrap_err();
    assert!(
        matches!(&err, Error::Shm(ShmError::Unsupported { provider }) if provider == "section"),
        "{err}"
    );
    assert!(matches!(
        pool.alloc(0),
        Err(Error::Shm(ShmError::ZeroLength { .. }))
    ));
}

#[test]
#[cfg_attr(miri, ignore)]
fn memfd_errors_name_the_call_label_and_size() {
    // A name with an interior NUL cannot be a memfd name: the failing call is memfd_create.
    let pool = Pool::with_options(
        PoolOptions::new()
            .providers([Provider::Memfd])
            .name("bad\0name"),
    );
    let err = pool.alloc(4096).unwrap_err();
    assert_eq!(err.op(), Some("memfd_create"), "{err}");
    assert!(err.to_string().contains("len=4096"), "{err}");
    // A size the kernel refuses: ftruncate (64-bit: beyond any file size) or mmap (32-bit: the
    // whole address space) fails with a typed error, not a panic. Half the address space is not
    // enough: a 32-bit process can map 2 GiB.
    let huge = memfd_pool("lg-huge").alloc(usize::MAX - 4095).unwrap_err();
    assert!(matches!(huge.op(), Some("ftruncate" | "mmap")), "{huge}");
    assert!(huge.to_string().contains("memfd:lg-huge"), "{huge}");
    // The failed allocation closed the memfd it had created.
    assert_released("lg-huge");
}

#[test]
#[cfg_attr(miri, ignore)]
fn load_into_pool_preads_a_file_segment_into_a_sealed_memfd() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.bin");
    let data: Vec<u8> = (0..100_000u32)
        .map(|i| u8::try_from(i % 253).unwrap())
        .collect();
    fs::write(&path, &data).unwrap();
    let name = "lg-load";
    let pool = memfd_pool(name);
    let seg = load_into_pool(&pool, &path, 1000, 50_000).unwrap();
    assert_eq!(seg.provider(), &Provider::Memfd);
    assert_eq!(seg.seal_kind(), SealKind::Kernel);
    assert_eq!(&seg[..], &data[1000..51_000]);
    let mut back = vec![0u8; 50_000];
    file_of(seg.fd().unwrap())
        .read_exact_at(&mut back, 0)
        .unwrap();
    assert_eq!(back, &data[1000..51_000]);

    let loader = FileLoader::open(&path, loadguard::Alignment::DEFAULT).unwrap();
    let info = SegmentInfo::new(SegmentKind::Backend, 1);
    let tail = load_segment_into_pool(&pool, &loader, 99_990, 10, &info).unwrap();
    assert_eq!(&tail[..], &data[99_990..]);
    assert!(matches!(
        load_segment_into_pool(&pool, &loader, 99_990, 11, &info),
        Err(Error::OutOfRange {
            offset: 99_990,
            len: 11,
            file_size: 100_000,
            ..
        })
    ));
    // A range error from the path form names the file.
    let err = load_into_pool(&pool, &path, 100_000, 1).unwrap_err();
    assert_eq!(err.path(), Some(path.as_path()));
    assert!(matches!(
        load_into_pool(&pool, &path, 0, 0),
        Err(Error::Shm(ShmError::ZeroLength { .. }))
    ));
    // The loader's file is not held by the pool: only the two buffers' memfds are open.
    drop(loader);
    assert_eq!(memfd_fds(name), 2);
    drop((seg, tail));
    assert_eq!((memfd_fds(name), memfd_maps(name)), (0, 0));
}

#[test]
#[cfg_attr(miri, ignore)]
fn buffers_are_send_and_sync_and_found_from_other_threads() {
    let pool = memfd_pool("lg-threads");
    std::thread::scope(|s| {
        for t in 0..4 {
            let pool = &pool;
            s.spawn(move || {
                for i in 0..200 {
                    let mut b = pool.alloc(4096 + t * 100 + i).unwrap();
                    b[0] = 1;
                    let f = pool.find(b.as_ptr().wrapping_add(1), 10).unwrap();
                    assert_eq!((f.id, f.offset), (b.id(), 1));
                    let id = b.id();
                    let moved = std::thread::scope(|s2| s2.spawn(move || b).join().unwrap());
                    assert_eq!(moved.id(), id);
                }
            });
        }
    });
    assert!(pool.is_empty());
    drop(pool);
    assert_released("lg-threads");
}

/// Needs a `/dev/dma_heap/<heap>` this user may open (none on this project's CI machines):
/// `cargo test -p loadguard --test shm -- --ignored dma_heap`.
#[test]
#[cfg_attr(miri, ignore)]
#[ignore = "needs /dev/dma_heap (run with --ignored where one exists)"]
fn dma_heap_buffer_when_the_device_exists() {
    let heap = first_dma_heap().expect("no heap under /dev/dma_heap");
    let pool = Pool::with_options(
        PoolOptions::new()
            .providers([Provider::DmaHeap(heap.clone())])
            .fallback(false),
    );
    let mut buf = pool.alloc(1 << 20).unwrap();
    assert_eq!(buf.provider(), &Provider::DmaHeap(heap));
    buf[..4].copy_from_slice(b"dmab");
    let f = pool.find(buf.as_ptr().wrapping_add(2), 2).unwrap();
    assert_eq!((f.id, f.offset), (buf.id(), 2));
    let sealed = buf.seal().unwrap();
    // No kernel seal for dma-bufs: the fd stays behind the unsafe call.
    assert_eq!(sealed.seal_kind(), SealKind::LocalViews);
    assert!(sealed.fd().is_none());
    // SAFETY: the fd is only checked for presence, never used.
    assert!(unsafe { sealed.fd_unchecked() }.is_some());
    assert_eq!(&sealed[..4], b"dmab");
    let kept = sealed.into_pool();
    assert!(matches!(
        pool.dup_fd(kept),
        Err(Error::Shm(ShmError::FdStillWritable { .. }))
    ));
}

fn first_dma_heap() -> Option<String> {
    let mut names: Vec<String> = fs::read_dir("/dev/dma_heap")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    // Prefer the plain system heap when there is one.
    names
        .iter()
        .position(|n| n == "system")
        .map(|i| names.swap_remove(i))
        .or(names.pop())
}

#[test]
#[cfg_attr(miri, ignore)]
fn dma_heap_missing_device_falls_back_to_memfd() {
    let heap = "loadguard-no-such-heap";
    assert!(!Path::new("/dev/dma_heap").join(heap).exists());
    let pool = Pool::with_options(
        PoolOptions::new().providers([Provider::DmaHeap(heap.to_owned()), Provider::Memfd]),
    );
    let buf = pool.alloc(4096).unwrap();
    assert_eq!(buf.provider(), &Provider::Memfd);
    // And a name that is not a heap name is a typed error, not a path to open.
    let err = pool
        .alloc_from(&Provider::DmaHeap("../zero".to_owned()), 4096)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Shm(ShmError::BadHeapName { name }) if name == "../zero"),
        "{err}"
    );
}
