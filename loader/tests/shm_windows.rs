//! `loadguard::shm` on Windows: pagefile-backed sections, and what sealing one leaves (a
//! read-only view and a `FILE_MAP_READ` handle, which cannot map writable).
#![cfg(windows)]

use std::os::windows::io::AsRawHandle;

use loadguard::shm::{Pool, PoolOptions, Provider, SealKind};
use windows_sys::Win32::System::Memory::{
    FILE_MAP_READ, FILE_MAP_WRITE, MEMORY_MAPPED_VIEW_ADDRESS, MapViewOfFile, UnmapViewOfFile,
};

fn section_pool() -> Pool {
    Pool::with_options(
        PoolOptions::new()
            .providers([Provider::Section])
            .fallback(false),
    )
}

/// Maps a view of `handle` with `access`; `Err` is the Windows error code.
fn try_map(handle: &impl AsRawHandle, access: u32, len: usize) -> Result<(), i32> {
    // SAFETY: `handle` is a live section handle of at least `len` bytes; a view that maps is
    // unmapped right away, never accessed.
    let view = unsafe { MapViewOfFile(handle.as_raw_handle(), access, 0, 0, len) };
    if view.Value.is_null() {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(-1));
    }
    // SAFETY: `view` is the base address just returned by MapViewOfFile.
    unsafe { UnmapViewOfFile(MEMORY_MAPPED_VIEW_ADDRESS { Value: view.Value }) };
    Ok(())
}

#[test]
#[cfg_attr(miri, ignore)]
fn section_buffer_is_writable_then_sealed_read_only() {
    assert_eq!(Provider::platform_default()[0], Provider::Section);
    let pool = section_pool();
    let mut buf = pool.alloc(100_000).unwrap();
    assert_eq!(buf.provider(), &Provider::Section);
    // SAFETY: only checked for presence.
    assert!(unsafe { buf.handle_unchecked() }.is_some());
    assert!(buf.iter().all(|&b| b == 0));
    buf[99_999] = 9;
    buf[..4].copy_from_slice(b"sect");
    let f = pool.find(buf.as_ptr().wrapping_add(10), 99_990).unwrap();
    assert_eq!((f.id, f.offset), (buf.id(), 10));
    assert_eq!(pool.find(buf.as_ptr(), 100_001), None);

    let sealed = buf.seal().unwrap();
    assert_eq!(sealed.seal_kind(), SealKind::ReadOnlyHandle);
    assert_eq!((&sealed[..4], sealed[99_999]), (&b"sect"[..], 9));
    let f = pool.find(sealed.as_ptr().wrapping_add(10), 10).unwrap();
    assert_eq!((f.id, f.offset), (sealed.id(), 10));
    // The handle it hands out maps read-only, and not writable (ERROR_ACCESS_DENIED).
    let dup = sealed.handle().unwrap().try_clone_to_owned().unwrap();
    assert_eq!(try_map(&dup, FILE_MAP_READ, 100_000), Ok(()));
    assert_eq!(
        try_map(&dup, FILE_MAP_READ | FILE_MAP_WRITE, 100_000),
        Err(5)
    );
    let ptr = sealed.as_ptr();
    drop(sealed);
    assert_eq!(pool.find(ptr, 1), None);
    assert!(pool.is_empty());
}

#[test]
#[cfg_attr(miri, ignore)]
fn section_pool_drop_releases_retained_sections() {
    let pool = section_pool();
    let ids: Vec<_> = (0..16)
        .map(|_| pool.alloc(65_536).unwrap().seal().unwrap().into_pool())
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
fn dup_handle_of_a_retained_section_outlives_it() {
    let mut pool = section_pool();
    let kept = pool.alloc(4096).unwrap().seal().unwrap().into_pool();
    let dup = pool.dup_handle(kept).unwrap().unwrap();
    assert!(pool.release(kept.id()));
    assert_eq!(try_map(&dup, FILE_MAP_READ, 4096), Ok(()));
    assert_eq!(try_map(&dup, FILE_MAP_WRITE, 4096), Err(5));
    drop(dup);
    // A lease hands out the full-access handle, for the device that writes.
    let lease = pool.alloc(4096).unwrap().lease();
    assert_eq!(
        try_map(&lease.handle().unwrap(), FILE_MAP_WRITE, 4096),
        Ok(())
    );
    drop(lease);
    let heap = Pool::with_options(PoolOptions::new().providers([Provider::Heap]));
    let h = heap.alloc(1).unwrap().seal().unwrap();
    assert!(h.handle().is_none());
    let kept = h.into_pool();
    assert!(heap.dup_handle(kept).unwrap().is_none());
}
