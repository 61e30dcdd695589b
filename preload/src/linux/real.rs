//! The real C library functions behind the interposers, found with `dlsym(RTLD_NEXT, …)`.
//!
//! `dlsym` itself is interposed, so the real one is found with `dlvsym` (which is not) under
//! the versions glibc has exported it with. A lookup made while another lookup is in progress
//! on the same thread (the C library allocating inside `dlsym`, and the allocator mapping
//! memory) finds nothing, and the caller falls back to the raw system call.

use core::cell::Cell;
use core::ffi::CStr;
use core::sync::atomic::{AtomicPtr, Ordering};

use libc::c_void;

type DlsymFn = unsafe extern "C" fn(*mut c_void, *const libc::c_char) -> *mut c_void;

/// The C library's `dlsym`, read by the `dlsym` trampoline (hooks/dl.rs) as a plain pointer.
pub static REAL_DLSYM: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());

thread_local! {
    static RESOLVING: Cell<bool> = const { Cell::new(false) };
}

/// The real `dlsym`, resolving it on first use.
pub fn real_dlsym() -> Option<DlsymFn> {
    let mut ptr = REAL_DLSYM.load(Ordering::Acquire);
    if ptr.is_null() {
        for version in [c"GLIBC_2.34", c"GLIBC_2.2.5"] {
            // SAFETY: RTLD_NEXT and two NUL-terminated C strings are what dlvsym takes; it is
            // not interposed, so this cannot recurse into the trampoline.
            ptr = unsafe { libc::dlvsym(libc::RTLD_NEXT, c"dlsym".as_ptr(), version.as_ptr()) };
            if !ptr.is_null() {
                break;
            }
        }
        if ptr.is_null() {
            return None;
        }
        REAL_DLSYM.store(ptr, Ordering::Release);
    }
    // SAFETY: `ptr` is the C library's `dlsym`, whose C signature is `DlsymFn`.
    Some(unsafe { core::mem::transmute::<*mut c_void, DlsymFn>(ptr) })
}

/// One real function, resolved once.
pub struct Real {
    name: &'static CStr,
    ptr: AtomicPtr<c_void>,
}

impl Real {
    pub const fn new(name: &'static CStr) -> Real {
        Real {
            name,
            ptr: AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// The function's address, or `None` before it can be found (then the caller uses the
    /// system call).
    pub fn addr(&self) -> Option<*mut c_void> {
        let ptr = self.ptr.load(Ordering::Acquire);
        if !ptr.is_null() {
            return Some(ptr);
        }
        if RESOLVING.with(Cell::get) {
            return None;
        }
        RESOLVING.with(|r| r.set(true));
        let found = real_dlsym().map(|dlsym| {
            // SAFETY: the real dlsym with RTLD_NEXT and a NUL-terminated name.
            unsafe { dlsym(libc::RTLD_NEXT, self.name.as_ptr()) }
        });
        RESOLVING.with(|r| r.set(false));
        let ptr = found.filter(|p| !p.is_null())?;
        self.ptr.store(ptr, Ordering::Release);
        Some(ptr)
    }
}

/// Declares a `Real` and a typed accessor: `real!(OPEN, real_open, c"open", OpenFn)`.
#[cfg(not(test))]
macro_rules! real {
    ($static:ident, $getter:ident, $name:literal, $ty:ty) => {
        pub static $static: $crate::linux::real::Real = $crate::linux::real::Real::new($name);
        pub fn $getter() -> Option<$ty> {
            $static.addr().map(|p| {
                // SAFETY: `p` is the next definition of the C function of this name, whose
                // C signature is `$ty` (glibc's prototype, variadic where glibc's is).
                unsafe { core::mem::transmute::<*mut libc::c_void, $ty>(p) }
            })
        }
    };
}
#[cfg(not(test))]
pub(crate) use real;
