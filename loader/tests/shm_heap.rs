//! `loadguard::shm` with the heap provider: the pool, buffers, range lookup, retention and
//! loading, on every target and under Miri (`-Zmiri-strict-provenance`), which checks that
//! every buffer is freed exactly once and no access strays outside one.

use loadguard::data::{MemoryLoader, SegmentInfo, SegmentKind};
use loadguard::shm::{Found, Pool, PoolOptions, Provider};
use loadguard::{Alignment, Error};

fn heap_pool() -> Pool {
    Pool::with_options(PoolOptions::new().providers([Provider::Heap]))
}

#[test]
fn shm_heap_buffers_are_zeroed_writable_and_aligned() {
    let pool = Pool::with_options(
        PoolOptions::new()
            .providers([Provider::Heap])
            .heap_alignment(Alignment::new(256).unwrap()),
    );
    let mut buf = pool.alloc(1000).unwrap();
    assert_eq!(buf.len(), 1000);
    assert!(buf.iter().all(|&b| b == 0));
    assert_eq!(buf.as_ptr().addr() % 256, 0);
    buf.fill(0xab);
    buf[999] = 1;
    assert_eq!(buf[..999].iter().filter(|&&b| b == 0xab).count(), 999);
    assert_eq!(buf.as_ref()[999], 1);
    assert_eq!(buf.provider(), &Provider::Heap);
    assert_eq!(buf.provider().name(), "heap");
    #[cfg(unix)]
    assert!(buf.fd().is_none());
}

#[test]
fn shm_heap_find_is_exact() {
    let pool = heap_pool();
    let bufs: Vec<_> = (1..=8).map(|i| pool.alloc(i * 24).unwrap()).collect();
    for b in &bufs {
        let p = b.as_ptr();
        assert_eq!(
            pool.find(p.wrapping_add(3), b.len() - 3),
            Some(Found {
                id: b.id(),
                offset: 3,
                buffer_len: b.len()
            })
        );
        assert_eq!(pool.find(p, b.len() + 1), None);
        assert_eq!(
            pool.find(p.wrapping_sub(1), 1).map(|f| f.id == b.id()),
            None
        );
        assert_ne!(
            pool.find(p.wrapping_add(b.len()), 0).map(|f| f.id),
            Some(b.id())
        );
    }
    let ids: std::collections::HashSet<_> = bufs.iter().map(|b| b.id()).collect();
    assert_eq!(ids.len(), bufs.len());
    assert_eq!(pool.find(std::ptr::null(), 0), None);
    assert_eq!(pool.find(bufs[0].as_ptr(), usize::MAX), None);
}

#[test]
fn shm_heap_drop_unregisters_and_pool_drop_frees_the_rest() {
    let pool = heap_pool();
    let a = pool.alloc(64).unwrap();
    let pa = a.as_ptr();
    let mut b = pool.alloc(64).unwrap();
    b[..4].copy_from_slice(b"keep");
    let kept = b.into_pool();
    std::mem::forget(pool.alloc(32).unwrap());
    assert_eq!(pool.len(), 3);
    drop(a);
    assert_eq!(pool.find(pa, 1), None);
    assert_eq!(pool.retained(kept).map(|b| &b[..4]), Some(&b"keep"[..]));
    assert_eq!(pool.len(), 2);
    // The retained buffer and the leaked one are freed here; Miri fails the test on a leak.
    drop(pool);
}

#[test]
fn shm_heap_load_copies_a_segment_from_a_loader() {
    let data: Vec<u8> = (0..=255).collect();
    let loader = MemoryLoader::new(data.clone());
    let pool = heap_pool();
    let info = SegmentInfo::new(SegmentKind::Constant, 0);
    let seg = pool.load(&loader, 16, 100, &info).unwrap();
    assert_eq!(&seg[..], &data[16..116]);
    assert!(matches!(
        pool.load(&loader, 200, 57, &info),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        pool.load(&loader, u64::MAX, 2, &info),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        pool.load(&loader, 0, 0, &info),
        Err(Error::InvalidOption(_))
    ));
    assert_eq!(pool.len(), 1);
}

#[test]
fn shm_heap_threads_alloc_find_and_free_concurrently() {
    let pool = heap_pool();
    let rounds = if cfg!(miri) { 10 } else { 1000 };
    std::thread::scope(|s| {
        for t in 0..4usize {
            let pool = &pool;
            s.spawn(move || {
                for i in 0..rounds {
                    let mut b = pool.alloc(16 + (i + t) % 48).unwrap();
                    b[0] = u8::try_from(t).unwrap();
                    let f = pool.find(b.as_ptr(), b.len()).unwrap();
                    assert_eq!(f.id, b.id());
                    assert_eq!(b[0], u8::try_from(t).unwrap());
                }
            });
        }
    });
    assert!(pool.is_empty());
}

#[test]
fn shm_heap_default_pool_works_everywhere() {
    // Under Miri the platform default is the heap alone; elsewhere the first fd-backed provider
    // serves, or the heap after it.
    let pool = Pool::new();
    let buf = pool.alloc(100).unwrap();
    assert!(pool.providers().contains(buf.provider()));
    if cfg!(miri) {
        assert_eq!(buf.provider(), &Provider::Heap);
    }
}
