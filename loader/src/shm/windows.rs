//! The Windows provider: a pagefile-backed section (`CreateFileMappingW` on
//! `INVALID_HANDLE_VALUE`) and one view of it. The section handle is what a driver or another
//! process receives (after `DuplicateHandle`).
//!
//! While the buffer is filled, the view is read-write and the handle has full access. At
//! [`Section::seal`] a second handle is duplicated with `FILE_MAP_READ` access only, the memory
//! is mapped again through it read-only, and the read-write view and the full-access handle
//! are closed: from then on this process holds no way to write the section, and the handle it
//! hands out maps read-only. (A section keeps the `PAGE_READWRITE` protection it was created
//! with; a holder of the read-only handle could still ask `DuplicateHandle` for more access
//! where the section's security descriptor grants it, which takes `unsafe` FFI in Rust.)

use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle};
use std::ptr::NonNull;

use windows_sys::Win32::Foundation::{DuplicateHandle, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Memory::{
    CreateFileMappingW, FILE_MAP, FILE_MAP_READ, FILE_MAP_WRITE, MEMORY_MAPPED_VIEW_ADDRESS,
    MapViewOfFile, PAGE_READWRITE, UnmapViewOfFile,
};
use windows_sys::Win32::System::Threading::GetCurrentProcess;

use super::provider::Request;
use crate::error::Result;
use crate::size;

/// A section, its view and its handles. Field order is drop order: unmap the view, then close
/// the handles.
pub(crate) struct Section {
    view: View,
    len: usize,
    label: String,
    /// Full access; `None` once sealed.
    full: Option<OwnedHandle>,
    /// `FILE_MAP_READ` access only; made by `seal`.
    read_only: Option<OwnedHandle>,
}

/// A mapped view; `UnmapViewOfFile` in `Drop`.
struct View {
    ptr: NonNull<u8>,
    len: usize,
    writable: bool,
}

// SAFETY: a view is process memory owned by this value alone (like `Vec<u8>`); it has no
// thread affinity, and unmapping from another thread is allowed.
unsafe impl Send for View {}
// SAFETY: `&View` gives out nothing but its address.
unsafe impl Sync for View {}

impl Drop for View {
    fn drop(&mut self) {
        let addr = MEMORY_MAPPED_VIEW_ADDRESS {
            Value: self.ptr.as_ptr().cast(),
        };
        // SAFETY: `addr` is the base address MapViewOfFile returned, unmapped exactly once
        // here; the pool hands out no view of it that outlives the record owning this value.
        let ok = unsafe { UnmapViewOfFile(addr) };
        if ok == 0 {
            let err = std::io::Error::last_os_error();
            tracing::warn!(len = self.len, error = %err, "UnmapViewOfFile failed");
        }
    }
}

impl Section {
    /// The first byte of the current view.
    pub(crate) fn start(&self) -> NonNull<u8> {
        self.view.ptr
    }

    /// Whether the current view is the read-write one.
    pub(crate) fn is_writable(&self) -> bool {
        self.view.writable
    }

    /// The full-access handle while unsealed, the read-only one after.
    pub(crate) fn handle(&self) -> BorrowedHandle<'_> {
        match (&self.read_only, &self.full) {
            (Some(handle), _) | (None, Some(handle)) => handle.as_handle(),
            (None, None) => unreachable!("a section always holds one of its handles"),
        }
    }

    /// Duplicates a `FILE_MAP_READ` handle, maps the section read-only through it, and closes
    /// the read-write view and the full-access handle. On failure nothing has changed.
    pub(crate) fn seal(&mut self) -> Result<()> {
        let Some(full) = &self.full else {
            return Ok(());
        };
        let source = full.as_raw_handle();
        let mut dup: HANDLE = std::ptr::null_mut();
        crate::os_call!(
            op: "DuplicateHandle",
            path: &self.label,
            args: { access: "FILE_MAP_READ" },
            fail_if: == 0,
            // SAFETY: `source` is our live section handle; the current-process pseudo handle
            // is always valid; `dup` is a valid out-pointer for the new handle.
            call: unsafe {
                DuplicateHandle(
                    GetCurrentProcess(),
                    source,
                    GetCurrentProcess(),
                    &raw mut dup,
                    FILE_MAP_READ,
                    0,
                    0,
                )
            },
        )?;
        // SAFETY: on success `dup` is a new handle that nothing else owns.
        let read_only = unsafe { OwnedHandle::from_raw_handle(dup) };
        let view = map_view(
            read_only.as_raw_handle(),
            FILE_MAP_READ,
            self.len,
            &self.label,
        )?;
        // The read-write view is unmapped here, then the full-access handle closed.
        self.view = view;
        self.full = None;
        self.read_only = Some(read_only);
        Ok(())
    }
}

/// Maps all `len` bytes of the section `handle` with `access`.
fn map_view(handle: HANDLE, access: FILE_MAP, len: usize, label: &str) -> Result<View> {
    let addr = crate::os_call!(
        op: "MapViewOfFile",
        path: label,
        args: { len },
        fail_if: |view| view.Value.is_null(),
        // SAFETY: `handle` is a live section of exactly `len` bytes with at least `access`
        // rights; mapping all of it from offset 0 with `access` is within the PAGE_READWRITE
        // protection it was created with.
        call: unsafe { MapViewOfFile(handle, access, 0, 0, len) },
    )?;
    let Some(ptr) = NonNull::new(addr.Value.cast::<u8>()) else {
        unreachable!("os_call! returned the null view as an error");
    };
    Ok(View {
        ptr,
        len,
        writable: access & FILE_MAP_WRITE != 0,
    })
}

/// Creates a pagefile-backed section of `req.len` bytes and maps all of it read-write.
pub(crate) fn alloc(req: &Request<'_>) -> Result<Section> {
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
    let full = unsafe { OwnedHandle::from_raw_handle(raw) };
    let view = map_view(raw, FILE_MAP_READ | FILE_MAP_WRITE, len, &label)?;
    Ok(Section {
        view,
        len,
        label,
        full: Some(full),
        read_only: None,
    })
}
