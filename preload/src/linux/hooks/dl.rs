//! Libraries: `dlopen`, `dlclose`, `dlsym`.
//!
//! An injected `dlopen` failure is made by asking the real `dlopen` for a path that cannot
//! exist, and an injected `dlsym` failure by asking the real `dlsym` for a symbol that does not
//! exist, so `dlerror()` has a message as it does for a real failure (callers that print
//! `dlerror()` after a NULL would otherwise print NULL).

use libc::{c_char, c_int, c_void};
use loadguard_preload_api::Op;

use super::{book, c_bytes, capture, count, fault_for};
use crate::linux::ledger::What;
use crate::linux::real::{self, real};
use crate::linux::state::LEDGER;
use crate::linux::sys;

type DlopenFn = unsafe extern "C" fn(*const c_char, c_int) -> *mut c_void;
type DlcloseFn = unsafe extern "C" fn(*mut c_void) -> c_int;

real!(DLOPEN, real_dlopen, c"dlopen", DlopenFn);
real!(DLCLOSE, real_dlclose, c"dlclose", DlcloseFn);

pub fn resolve() {
    let _ = real::real_dlsym();
    for real in [&DLOPEN, &DLCLOSE] {
        let _ = real.addr();
    }
}

fn handle_id(h: *mut c_void) -> u64 {
    u64::try_from(h as usize).unwrap_or(0)
}

/// Interposes `dlopen`. The real call runs outside the bookkeeping, so what the library's
/// constructors open and map is booked too.
///
/// # Safety
/// The C library's contract for `dlopen`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dlopen(name: *const c_char, flags: c_int) -> *mut c_void {
    // SAFETY: `name` is null or a C string (dlopen's contract).
    let bytes = unsafe { c_bytes(name) };
    let Some(real) = real_dlopen() else {
        sys::set_errno(libc::ENOSYS);
        return core::ptr::null_mut();
    };
    let eligible = |config: &crate::linux::state::Config| !name.is_null() && config.matches(bytes);
    if let Some(fault) = fault_for(Op::Dlopen, eligible) {
        // A path under a directory that does not exist: the real dlopen fails with ENOENT and
        // leaves a dlerror() message that names the library.
        let mut path = [0u8; 512];
        let mut w = sys::Cursor::new(&mut path);
        w.put(b"/nonexistent/loadguard-preload-injected-fault/");
        w.put(bytes.rsplit(|&b| b == b'/').next().unwrap_or_default());
        let end = w.len().min(path.len() - 1);
        if let Some(nul) = path.get_mut(end) {
            *nul = 0;
        }
        // SAFETY: `path` is NUL-terminated; the path does not exist, so nothing is loaded.
        let h = unsafe { real(path.as_ptr().cast(), flags) };
        if !h.is_null() {
            return h;
        }
        sys::set_errno(fault.errno().unwrap_or(libc::ENOENT));
        return core::ptr::null_mut();
    }
    // SAFETY: the caller's arguments, forwarded.
    let h = unsafe { real(name, flags) };
    if !h.is_null() && !name.is_null() {
        book(|config| {
            let frames = capture();
            LEDGER.lock().lib_add(
                handle_id(h),
                config.matches(bytes),
                &What::new(&[bytes]),
                &frames,
            );
        });
    }
    h
}

/// Interposes `dlclose`.
///
/// # Safety
/// The C library's contract for `dlclose`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dlclose(handle: *mut c_void) -> c_int {
    let Some(real) = real_dlclose() else {
        sys::set_errno(libc::ENOSYS);
        return -1;
    };
    // SAFETY: forwarded.
    let r = unsafe { real(handle) };
    if r == 0 {
        book(|config| {
            let mut ledger = LEDGER.lock();
            let only = ledger.lib(handle_id(handle)).is_some_and(|l| l.only);
            ledger.lib_close(handle_id(handle));
            drop(ledger);
            count(config, Op::Dlclose, only || !config.has_only);
        });
    }
    r
}

/// `dlsym` for every handle but `RTLD_NEXT` (which the trampoline sends straight to the C
/// library, keeping the caller's return address, since "next" is relative to the caller).
///
/// # Safety
/// The C library's contract for `dlsym`.
unsafe extern "C" fn dlsym_hook(handle: *mut c_void, name: *const c_char) -> *mut c_void {
    let Some(real) = real::real_dlsym() else {
        return core::ptr::null_mut();
    };
    // SAFETY: `name` is a C string (dlsym's contract).
    let bytes = unsafe { c_bytes(name) };
    // The preload's own entry points (looked up by loadguard_preload_api) are not the
    // program's calls: not counted.
    if !bytes.starts_with(b"loadguard_preload_") {
        let eligible = |config: &crate::linux::state::Config| {
            !config.has_only || LEDGER.lock().lib(handle_id(handle)).is_some_and(|l| l.only)
        };
        if let Some(fault) = fault_for(Op::Dlsym, eligible) {
            // SAFETY: a symbol no module defines: dlsym returns NULL and sets dlerror().
            let r = unsafe { real(handle, c"loadguard_preload_injected_fault".as_ptr()) };
            if r.is_null() {
                sys::set_errno(fault.errno().unwrap_or(libc::ENOENT));
                return r;
            }
        }
    }
    // SAFETY: forwarded.
    unsafe { real(handle, name) }
}

/// Interposes `dlsym`: `RTLD_NEXT` lookups jump to the C library's `dlsym` untouched (the
/// return address, which is what "next" is relative to, stays the caller's); every other
/// lookup goes to `dlsym_hook`, which counts it and may fail it.
///
/// # Safety
/// The C library's contract for `dlsym`.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void {
    // RTLD_NEXT is ((void *) -1l). REAL_DLSYM is an aligned pointer-sized atomic, so the plain
    // load is an atomic (relaxed) load on x86_64; null until the preload has found the real
    // dlsym, in which case dlsym_hook finds it.
    core::arch::naked_asm!(
        "cmp rdi, -1",
        "jne 2f",
        "mov rax, qword ptr [rip + {real}]",
        "test rax, rax",
        "jz 2f",
        "jmp rax",
        "2:",
        "jmp {hook}",
        real = sym real::REAL_DLSYM,
        hook = sym dlsym_hook,
    )
}
