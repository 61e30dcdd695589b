//! [`AlignedBuf`]: a zero-initialised heap buffer with a chosen power-of-two alignment.
//!
//! `Vec<u8>` only promises alignment 1, and SIMD kernels and DMA engines want 64 or more; the
//! read path fills one of these instead. Written by hand over `std::alloc` because the
//! alignment is chosen at run time, which no well-kept crate offers without its own allocator.

use std::alloc::{self, Layout};
use std::fmt;
use std::io;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::ptr::NonNull;

use crate::error::{Error, Result};
use crate::size::Alignment;

/// A heap buffer of `len` zeroed bytes whose start is a multiple of its alignment.
///
/// ```
/// use loadguard::{AlignedBuf, Alignment};
///
/// let mut buf = AlignedBuf::zeroed(100, Alignment::new(4096)?, "scratch".as_ref())?;
/// assert_eq!(buf.as_ptr().addr() % 4096, 0);
/// buf[..5].copy_from_slice(b"hello");
/// assert_eq!(&buf[..5], b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AlignedBuf {
    /// The first byte, a multiple of `align`, inside the allocation at `raw`.
    ptr: NonNull<u8>,
    len: usize,
    align: Alignment,
    /// The allocation (`size` bytes, alignment 1) that holds `[ptr, ptr + cap)`, where `cap` is
    /// `len`, or `len` rounded up to whole pages by [`AlignedBuf::zeroed_pages`]; `size == 0`
    /// when nothing was allocated.
    raw: NonNull<u8>,
    size: usize,
}

// SAFETY: `AlignedBuf` uniquely owns its allocation, like `Vec<u8>`; shared access only reads.
unsafe impl Send for AlignedBuf {}
// SAFETY: `&AlignedBuf` only gives out `&[u8]`, which is `Sync`.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// Allocates `len` zeroed bytes aligned to `align`.
    ///
    /// # Errors
    ///
    /// Failure to allocate is an error (op `alloc`, naming `path` and the size), never an abort.
    #[track_caller]
    pub fn zeroed(len: usize, align: Alignment, path: &Path) -> Result<Self> {
        let _site = crate::callsite::enter();
        Self::alloc(len, len, align, path)
    }

    /// Allocates `len` zeroed bytes that start on a page boundary (or `align`, if larger) and
    /// own every page they touch: the allocation is rounded up to whole `page`-byte pages, so
    /// locking the buffer's pages (`mlock` rounds to pages) never locks, or later unlocks,
    /// anyone else's memory. `page` must be a power of two.
    ///
    /// # Errors
    ///
    /// As [`zeroed`](Self::zeroed); a `page` that is not a power of two is a size error.
    #[track_caller]
    pub fn zeroed_pages(len: usize, align: Alignment, page: usize, path: &Path) -> Result<Self> {
        let _site = crate::callsite::enter();
        let page = Alignment::new(page).map_err(|e| e.at(path))?;
        let cap = page
            .align_up(crate::size::to_u64(len))
            .and_then(|cap| crate::size::to_usize(cap, "buffer size"))
            .map_err(|e| e.at(path))?;
        Self::alloc(len, cap, align.max(page), path)
    }

    fn alloc(len: usize, cap: usize, align: Alignment, path: &Path) -> Result<Self> {
        Self::alloc_with(len, cap, align, path, true)
    }

    /// Allocates like [`zeroed_pages`](Self::zeroed_pages) but leaves the bytes uninitialised,
    /// for a reader that overwrites them all: filling a multi-GB buffer with zeros first costs
    /// a full pass over memory that the read then repeats.
    pub(crate) fn uninit_pages(
        len: usize,
        align: Alignment,
        page: usize,
        path: &Path,
    ) -> Result<UninitBuf> {
        let page = Alignment::new(page).map_err(|e| e.at(path))?;
        let cap = page
            .align_up(crate::size::to_u64(len))
            .and_then(|cap| crate::size::to_usize(cap, "buffer size"))
            .map_err(|e| e.at(path))?;
        // Large buffers start on a huge page, so a system that backs anonymous memory with
        // transparent huge pages (`always`) can use them. They do not ask for huge pages
        // (`MADV_HUGEPAGE`): that made one load in ten many times slower on a VM (the figures
        // are in ARCHITECTURE.md, "Measured choices").
        let align = if cap >= HUGE_FROM {
            align.max(Alignment::new(HUGE_PAGE).map_err(|e| e.at(path))?)
        } else {
            align.max(page)
        };
        let buf = Self::alloc_with(len, cap, align, path, false)?;
        Ok(UninitBuf { buf })
    }

    fn alloc_with(
        len: usize,
        cap: usize,
        align: Alignment,
        path: &Path,
        zero: bool,
    ) -> Result<Self> {
        if cap == 0 {
            // A dangling pointer at the alignment itself is non-null and aligned, which is all
            // an empty slice needs; nothing is allocated and nothing will be freed.
            let ptr = NonNull::new(std::ptr::without_provenance_mut(align.get()));
            let ptr = ptr.unwrap_or(NonNull::dangling());
            return Ok(Self {
                ptr,
                len,
                align,
                raw: ptr,
                size: 0,
            });
        }
        let oom = || {
            Error::from_io("alloc", path, &io::ErrorKind::OutOfMemory.into())
                .with_arg("len", len)
                .with_arg("align", align.get())
        };
        // Allocated with alignment 1 and `align - 1` bytes to spare, then aligned inside: the
        // system allocator serves this with plain malloc/calloc, which reuses freed memory of
        // the same size (memalign's own padding defeats that in glibc, so every load of a
        // file would fault in fresh pages).
        let size = cap.checked_add(align.get() - 1).ok_or_else(oom)?;
        let layout = Layout::from_size_align(size, 1).map_err(|_| oom())?;
        // SAFETY: `layout` has a non-zero size (cap > 0 checked above).
        let raw = unsafe {
            if zero {
                alloc::alloc_zeroed(layout)
            } else {
                alloc::alloc(layout)
            }
        };
        let raw = NonNull::new(raw).ok_or_else(oom)?;
        let offset = (align.get() - raw.addr().get() % align.get()) % align.get();
        // SAFETY: `offset < align`, so `[raw + offset, raw + offset + cap)` lies inside the
        // `cap + align - 1` bytes just allocated; `add` keeps `raw`'s provenance.
        let ptr = unsafe { raw.add(offset) };
        Ok(Self {
            ptr,
            len,
            align,
            raw,
            size,
        })
    }

    /// The buffer's alignment.
    #[must_use]
    pub fn alignment(&self) -> Alignment {
        self.align
    }
}

/// Buffers of at least this many bytes are aligned to `HUGE_PAGE` bytes (see `uninit_pages`).
const HUGE_FROM: usize = 4 << 20;
const HUGE_PAGE: usize = 2 << 20;

/// An [`AlignedBuf`] whose bytes are not initialised yet: writable only as `MaybeUninit`,
/// never readable, until [`assume_init`](Self::assume_init) says every byte was written.
pub(crate) struct UninitBuf {
    // Never dereferenced as `[u8]` while uninitialised: only `as_uninit` reaches the memory.
    buf: AlignedBuf,
}

impl UninitBuf {
    /// The bytes, to be written.
    pub(crate) fn as_uninit(&mut self) -> &mut [std::mem::MaybeUninit<u8>] {
        // SAFETY: `ptr` is valid for writes of `len` bytes owned by `self` (allocated with
        // `cap >= len`, or dangling with `len == 0`); `MaybeUninit<u8>` has no validity
        // requirement, so uninitialised bytes are fine to expose as it; `&mut self` makes
        // this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.buf.ptr.as_ptr().cast(), self.buf.len) }
    }

    /// The buffer, initialised.
    ///
    /// # Safety
    ///
    /// Every one of the `len` bytes has been written through [`as_uninit`](Self::as_uninit).
    pub(crate) unsafe fn assume_init(self) -> AlignedBuf {
        self.buf
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` points to `cap >= len` bytes owned by self, initialised (zeroed at
        // allocation, or every byte written before `UninitBuf::assume_init` made this an
        // `AlignedBuf`), or is a dangling aligned pointer with `len == 0`; the borrow ties the
        // slice to self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes this the only live reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl AsRef<[u8]> for AlignedBuf {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        if self.size == 0 {
            return;
        }
        // SAFETY: `raw` was allocated in `alloc_with` with exactly this size and alignment 1,
        // which `Layout::from_size_align` accepted then, and is not freed before (only `Drop`
        // frees, once).
        unsafe {
            alloc::dealloc(
                self.raw.as_ptr(),
                Layout::from_size_align_unchecked(self.size, 1),
            );
        }
    }
}

impl fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AlignedBuf({} bytes, align {})",
            self.len,
            self.align.get()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_zeroed() {
        for align in [1, 64, 4096] {
            let align = Alignment::new(align).unwrap();
            for len in [0, 1, 100, 5000] {
                let mut buf = AlignedBuf::zeroed(len, align, Path::new("t")).unwrap();
                assert_eq!(buf.len(), len);
                assert_eq!(buf.as_ptr().addr() % align.get(), 0);
                assert!(buf.iter().all(|&b| b == 0));
                buf.iter_mut().for_each(|b| *b = 7);
                assert!(buf.iter().all(|&b| b == 7));
            }
        }
    }

    #[test]
    fn page_buffers_own_whole_pages() {
        let page = 4096;
        for len in [0, 1, 4096, 4097] {
            let buf =
                AlignedBuf::zeroed_pages(len, Alignment::DEFAULT, page, Path::new("p")).unwrap();
            assert_eq!(buf.len(), len);
            // The allocation covers every page the bytes touch.
            let owned_end = buf.raw.addr().get() + buf.size;
            assert!(buf.ptr.addr().get() + len.div_ceil(page) * page <= owned_end);
            assert_eq!(buf.alignment().get(), page);
            assert_eq!(buf.as_ptr().addr() % page, 0);
        }
        let big = Alignment::new(1 << 16).unwrap();
        let buf = AlignedBuf::zeroed_pages(10, big, page, Path::new("p")).unwrap();
        assert_eq!(buf.alignment(), big);
        assert!(AlignedBuf::zeroed_pages(10, big, 3000, Path::new("p")).is_err());
    }

    #[test]
    fn impossible_layout_is_an_error_not_an_abort() {
        let err =
            AlignedBuf::zeroed(usize::MAX - 10, Alignment::DEFAULT, Path::new("big")).unwrap_err();
        assert_eq!(err.op(), Some("alloc"));
        assert!(err.to_string().starts_with("alloc big (len="), "{err}");
    }
}
