//! The Windows provider: a pagefile-backed section (`CreateFileMappingW` on
//! `INVALID_HANDLE_VALUE`) and one read-write view of it. The section handle is what a driver
//! or another process receives (after `DuplicateHandle`).

use std::os::windows::io::{AsHandle, BorrowedHandle, FromRawHandle, OwnedHandle};
use std::ptr::NonNull;

use windows_sys::Win32::Foundation::INVALID_HANDLE_VALUE;
use windows_sys::Win32::System::Memory::{
    CreateFileMappingW, FILE_MAP_READ, FILE_MAP_WRITE, MEMORY_MAPPED_VIEW_ADDRESS, MapViewOfFile,
    PAGE_READWRITE, UnmapViewOfFile,
};

use super::backing::{Backing, Request};
use crate::error::Result;
use crate::size;

/// A section and its view. Field order is drop order: unmap the view, then close the handle.
pub(crate) struct Section {
    view: View,
    handle: OwnedHandle,
}

/// A mapped view; `UnmapViewOfFile` in `Drop`.
struct View {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a view is plain process memory owned by this value alone (like `Vec<u8>`); it has no
// thread affinity, and unmapping from another thread is allowed.
unsafe impl Send for View {}
// SAFETY: `&View` gives out nothing; shared slices are handed out by `Section` under `&self`.
unsafe impl Sync for View {}

impl Drop for View {
    fn drop(&mut self) {
        let addr = MEMORY_MAPPED_VIEW_ADDRESS {
            Value: self.ptr.as_ptr().cast(),
        };
        // SAFETY: `addr` is the base address MapViewOfFile returned, unmapped exactly once here;
        // no slice into it survives (they borrow the owning `Section`).
        let ok = unsafe { UnmapViewOfFile(addr) };
        if ok == 0 {
            let err = std::io::Error::last_os_error();
            tracing::warn!(len = self.len, error = %err, "UnmapViewOfFile failed");
        }
    }
}

impl Section {
    /// The whole view, writable.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: the view maps `len` readable and writable bytes (FILE_MAP_WRITE), zeroed by
        // the OS and valid until `View` drops; `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.view.ptr.as_ptr(), self.view.len) }
    }

    /// The section handle.
    pub(crate) fn handle(&self) -> BorrowedHandle<'_> {
        self.handle.as_handle()
    }
}

/// Creates a pagefile-backed section of `req.len` bytes and maps all of it read-write.
pub(crate) fn alloc(req: &Request<'_>) -> Result<Backing> {
    let label = format!("section:{}", req.name);
    let len = req.len;
    let len64 = size::to_u64(len);
    let high = u32::try_from(len64 >> 32).unwrap_or(u32::MAX);
    let low = u32::try_from(len64 & 0xffff_ffff).unwrap_or(u32::MAX);
    // CreateFileMappingW returns NULL (not INVALID_HANDLE_VALUE) on failure.
    let raw = crate::os_call!(
        op: "CreateFileMappingW",
        path: &label,
        args: { len },
        fail_if: is_null,
        // SAFETY: INVALID_HANDLE_VALUE asks for a pagefile-backed section; null security
        // attributes and a null name are allowed (default security, anonymous section).
        call: unsafe {
            CreateFileMappingW(
                INVALID_HANDLE_VALUE,
                std::ptr::null(),
                PAGE_READWRITE,
                high,
                low,
                std::ptr::null(),
            )
        },
    )?;
    // SAFETY: `raw` is a new section handle owned by nobody else; OwnedHandle closes it.
    let handle = unsafe { OwnedHandle::from_raw_handle(raw) };
    let addr = crate::os_call!(
        op: "MapViewOfFile",
        path: &label,
        args: { len },
        fail_if: |view| view.Value.is_null(),
        // SAFETY: `handle` is a live section of exactly `len` bytes; mapping all of it from
        // offset 0 with read-write access matches the PAGE_READWRITE protection it was created
        // with.
        call: unsafe { MapViewOfFile(raw, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, len) },
    )?;
    let Some(ptr) = NonNull::new(addr.Value.cast::<u8>()) else {
        unreachable!("os_call! returned the null view as an error");
    };
    Ok(Backing::Section(Section {
        view: View { ptr, len },
        handle,
    }))
}
