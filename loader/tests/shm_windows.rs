//! `loadguard::shm` on Windows: pagefile-backed sections with a handle for hand-off.
#![cfg(windows)]

use loadguard::shm::{Pool, PoolOptions, Provider};

fn section_pool() -> Pool {
    Pool::with_options(
        PoolOptions::new()
            .providers([Provider::Section])
            .fallback(false),
    )
}

#[test]
#[cfg_attr(miri, ignore)]
fn section_buffer_has_a_handle_and_is_writable() {
    assert_eq!(Provider::platform_default()[0], Provider::Section);
    let pool = section_pool();
    let mut buf = pool.alloc(100_000).unwrap();
    assert_eq!(buf.provider(), &Provider::Section);
    assert!(buf.handle().is_some());
    assert!(buf.iter().all(|&b| b == 0));
    buf[99_999] = 9;
    buf[..4].copy_from_slice(b"sect");
    assert_eq!((&buf[..4], buf[99_999]), (&b"sect"[..], 9));
    let f = pool.find(buf.as_ptr().wrapping_add(10), 99_990).unwrap();
    assert_eq!((f.id, f.offset), (buf.id(), 10));
    assert_eq!(pool.find(buf.as_ptr(), 100_001), None);
    let ptr = buf.as_ptr();
    drop(buf);
    assert_eq!(pool.find(ptr, 1), None);
    assert!(pool.is_empty());
}

#[test]
#[cfg_attr(miri, ignore)]
fn section_pool_drop_releases_retained_sections() {
    let pool = section_pool();
    let ids: Vec<_> = (0..16)
        .map(|_| pool.alloc(65_536).unwrap().into_pool())
        .collect();
    assert_eq!(pool.len(), ids.len());
    assert!(
        ids.iter()
            .all(|&id| pool.retained(id).is_some_and(|b| b.len() == 65_536))
    );
    drop(pool);
}

#[test]
#[cfg_attr(miri, ignore)]
fn unsupported_providers_fall_back_on_windows() {
    let pool =
        Pool::with_options(PoolOptions::new().providers([Provider::Memfd, Provider::Section]));
    assert_eq!(pool.alloc(4096).unwrap().provider(), &Provider::Section);
    let strict = Pool::with_options(PoolOptions::new().providers([Provider::Memfd]));
    let err = strict.alloc(4096).unwrap_err();
    assert!(err.to_string().contains("memfd"), "{err}");
}

#[test]
#[cfg_attr(miri, ignore)]
fn dup_handle_outlives_the_buffer() {
    let pool = section_pool();
    let buf = pool.alloc(4096).unwrap();
    let dup = pool.dup_handle(buf.id()).unwrap().unwrap();
    drop(buf);
    drop(dup);
    let heap = Pool::with_options(PoolOptions::new().providers([Provider::Heap]));
    let h = heap.alloc(1).unwrap();
    assert!(h.handle().is_none());
    assert!(heap.dup_handle(h.id()).unwrap().is_none());
}
