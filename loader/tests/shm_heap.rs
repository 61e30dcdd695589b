//! `loadguard::shm` with the heap provider: the pool, the two phases of a buffer (fill, seal),
//! leases, range lookup, retention and loading, on every target and under Miri
//! (`-Zmiri-strict-provenance`), which checks that every buffer is freed exactly once, that no
//! access strays outside one, and that no borrow handed out in one phase is used in another.

use loadguard::data::{MemoryLoader, SegmentInfo, SegmentKind, load_segment_into_pool};
use loadguard::shm::{Pool, PoolOptions, Provider, RealShm, SealKind, ShmError};
use loadguard::testing::{Fault, FaultOp, FaultPlan, FaultyShm, Ledger, TrackedShm};
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
    // SAFETY: only checked for presence.
    assert!(unsafe { buf.fd_unchecked() }.is_none());
}

#[test]
fn shm_heap_find_is_exact() {
    let pool = heap_pool();
    let bufs: Vec<_> = (1..=8).map(|i| pool.alloc(i * 24).unwrap()).collect();
    for b in &bufs {
        let p = b.as_ptr();
        let f = pool.find(p.wrapping_add(3), b.len() - 3).unwrap();
        assert_eq!((f.id, f.offset, f.buffer_len), (b.id(), 3, b.len()));
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

/// Fill through `&mut [u8]`, seal, then read through `&[u8]` from several threads, hand back
/// to the pool and read through `Pool::retained`: one allocation, one pointer, three phases.
#[test]
fn shm_heap_fill_seal_share_and_retain() {
    let mut pool = heap_pool();
    let mut buf = pool.alloc(64).unwrap();
    for (i, b) in buf.iter_mut().enumerate() {
        *b = u8::try_from(i).unwrap();
    }
    let start = buf.as_ptr();
    let sealed = buf.seal().unwrap();
    assert_eq!(sealed.seal_kind(), SealKind::Private);
    assert_eq!(sealed.as_ptr(), start, "the heap seals in place");
    let f = pool.find(start.wrapping_add(60), 4).unwrap();
    assert_eq!((f.id, f.offset), (sealed.id(), 60));
    std::thread::scope(|s| {
        for _ in 0..2 {
            let sealed = &sealed;
            s.spawn(move || assert_eq!(sealed.iter().map(|&b| u32::from(b)).sum::<u32>(), 2016));
        }
    });
    #[cfg(unix)]
    assert!(sealed.fd().is_none());
    let kept = sealed.into_pool();
    assert_eq!(pool.retained(kept).map(|b| b[63]), Some(63));
    #[cfg(unix)]
    assert!(pool.dup_fd(kept).unwrap().is_none(), "the heap has no fd");
    assert!(pool.release(kept.id()));
    assert_eq!(pool.retained(kept), None);
    assert!(pool.is_empty());
}

#[test]
fn shm_heap_a_lease_copies_in_and_out_and_is_reclaimed() {
    let pool = heap_pool();
    let mut buf = pool.alloc(32).unwrap();
    buf[..4].copy_from_slice(b"head");
    let mut lease = buf.lease();
    assert_eq!((lease.len(), lease.provider()), (32, &Provider::Heap));
    #[cfg(unix)]
    assert!(lease.fd().is_none());
    lease.copy_in(28, b"tail").unwrap();
    let mut out = [0u8; 4];
    lease.copy_out(0, &mut out).unwrap();
    assert_eq!(&out, b"head");
    assert!(matches!(
        lease.copy_out(30, &mut out),
        Err(Error::OutOfRange {
            offset: 30,
            len: 4,
            file_size: 32,
            ..
        })
    ));
    assert!(lease.copy_in(usize::MAX, b"x").is_err());
    // SAFETY: a heap buffer has no fd: nothing but this process could write it, and nothing did.
    let buf = unsafe { lease.reclaim() };
    assert_eq!(&buf[28..], b"tail");
    let sealed = buf.seal().unwrap();
    assert_eq!(&sealed[..4], b"head");
}

#[test]
fn shm_heap_drop_unregisters_and_pool_drop_frees_the_rest() {
    let pool = heap_pool();
    let a = pool.alloc(64).unwrap();
    let pa = a.as_ptr();
    let mut b = pool.alloc(64).unwrap();
    b[..4].copy_from_slice(b"keep");
    let kept = b.seal().unwrap().into_pool();
    std::mem::forget(pool.alloc(32).unwrap());
    std::mem::forget(pool.alloc(32).unwrap().lease());
    assert_eq!(pool.len(), 4);
    drop(a);
    assert_eq!(pool.find(pa, 1), None);
    assert_eq!(pool.retained(kept).map(|b| &b[..4]), Some(&b"keep"[..]));
    assert_eq!(pool.len(), 3);
    // The retained buffer and the leaked ones are freed here; Miri fails the test on a leak.
    drop(pool);
}

#[test]
fn shm_heap_load_copies_a_segment_from_a_loader() {
    let data: Vec<u8> = (0..=255).collect();
    let loader = MemoryLoader::new(data.clone());
    let pool = heap_pool();
    let info = SegmentInfo::new(SegmentKind::Constant, 0);
    let seg = load_segment_into_pool(&pool, &loader, 16, 100, &info).unwrap();
    assert_eq!(&seg[..], &data[16..116]);
    assert!(matches!(
        load_segment_into_pool(&pool, &loader, 200, 57, &info),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        load_segment_into_pool(&pool, &loader, u64::MAX, 2, &info),
        Err(Error::OutOfRange { .. })
    ));
    assert!(matches!(
        load_segment_into_pool(&pool, &loader, 0, 0, &info),
        Err(Error::Shm(ShmError::ZeroLength { .. }))
    ));
    assert_eq!(pool.len(), 1);
}

/// A seal that fails before anything changed hands the buffer back, writable, with its bytes;
/// `seal` (rather than `try_seal`) releases it; the ledger balances either way.
#[test]
fn shm_heap_failed_seals_give_the_buffer_back_or_release_it() {
    const ENOMEM: i32 = 12;
    let ledger = Ledger::new();
    let plan = FaultPlan::new()
        .nth(FaultOp::ShmSeal, 1, Fault::Errno(ENOMEM))
        .nth(FaultOp::ShmSeal, 2, Fault::Errno(ENOMEM));
    let shm = TrackedShm::new(FaultyShm::new(RealShm, plan.clone()), &ledger);
    let pool = Pool::with_shm(shm, PoolOptions::new().providers([Provider::Heap]));
    let mut buf = pool.alloc(16).unwrap();
    buf[0] = 7;
    let err = buf.try_seal().unwrap_err();
    assert_eq!(err.error().os_code(), Some(ENOMEM));
    assert_eq!(err.error().op(), Some("seal"));
    let mut buf = err
        .into_buffer()
        .expect("unchanged by the injected failure");
    buf[1] = 8;
    assert_eq!(pool.len(), 1);
    let err = buf.seal().unwrap_err();
    assert_eq!(err.os_code(), Some(ENOMEM));
    assert!(
        pool.is_empty(),
        "seal() releases the buffer it could not seal"
    );
    let sealed = pool.alloc(16).unwrap().seal().unwrap();
    assert_eq!(plan.injected(), 2);
    drop(sealed);
    ledger.assert_balanced();
}

#[test]
fn shm_heap_threads_alloc_seal_find_and_free_concurrently() {
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
                    if i % 2 == 0 {
                        let sealed = b.seal().unwrap();
                        assert_eq!(sealed[0], u8::try_from(t).unwrap());
                    } else {
                        assert_eq!(b[0], u8::try_from(t).unwrap());
                    }
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
