//! Memory: `mmap`/`mmap64`, `munmap`, `mremap`, `madvise`, `mlock`, `munlock`.
//!
//! File-backed and shared mappings are booked; private anonymous ones (the allocator's heap)
//! are counted and can be failed, but are memory, not a resource a loader forgets to release.

use libc::{c_int, c_void, off_t, size_t};
use loadguard_preload_api::Op;

use super::{book, capture, count, fault_for, fd_what};
use crate::linux::ledger::{KindCode, Ledger, Via, What};
use crate::linux::real::real;
use crate::linux::state::{Config, LEDGER};
use crate::linux::sys;

type MmapFn = unsafe extern "C" fn(*mut c_void, size_t, c_int, c_int, c_int, off_t) -> *mut c_void;
type MunmapFn = unsafe extern "C" fn(*mut c_void, size_t) -> c_int;
type MremapFn = unsafe extern "C" fn(*mut c_void, size_t, size_t, c_int, ...) -> *mut c_void;
type MadviseFn = unsafe extern "C" fn(*mut c_void, size_t, c_int) -> c_int;
type MlockFn = unsafe extern "C" fn(*const c_void, size_t) -> c_int;

real!(MMAP, real_mmap, c"mmap", MmapFn);
real!(MMAP64, real_mmap64, c"mmap64", MmapFn);
real!(MUNMAP, real_munmap, c"munmap", MunmapFn);
real!(MREMAP, real_mremap, c"mremap", MremapFn);
real!(MADVISE, real_madvise, c"madvise", MadviseFn);
real!(MLOCK, real_mlock, c"mlock", MlockFn);
real!(MUNLOCK, real_munlock, c"munlock", MlockFn);

pub fn resolve() {
    for real in [&MMAP, &MMAP64, &MUNMAP, &MREMAP, &MADVISE, &MLOCK, &MUNLOCK] {
        let _ = real.addr();
    }
}

fn addr(p: *const c_void) -> u64 {
    u64::try_from(p as usize).unwrap_or(0)
}

fn len64(len: size_t) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

/// Whether a call on the range `[p, p+len)` is counted under `--only`.
fn range_eligible(config: &Config, p: *const c_void, len: size_t) -> bool {
    !config.has_only
        || LEDGER
            .lock()
            .mapping_over(addr(p), len64(len))
            .is_some_and(|m| m.only)
}

#[allow(clippy::too_many_arguments)] // mmap's six arguments, plus which real mmap to call
fn mmap_like(
    p: *mut c_void,
    len: size_t,
    prot: c_int,
    flags: c_int,
    fd: c_int,
    off: off_t,
    real: Option<MmapFn>,
) -> *mut c_void {
    let eligible = |config: &Config| !config.has_only || (fd >= 0 && fd_what(fd).1);
    if let Some(fault) = fault_for(Op::Mmap, eligible) {
        sys::set_errno(fault.errno().unwrap_or(libc::ENOMEM));
        return libc::MAP_FAILED;
    }
    let r = match real {
        // SAFETY: the caller's arguments, forwarded to the real mmap.
        Some(f) => unsafe { f(p, len, prot, flags, fd, off) },
        // SAFETY: the same arguments to the system call.
        None => unsafe { sys::mmap(p, len, prot, flags, fd, off) },
    };
    if r == libc::MAP_FAILED {
        return r;
    }
    let file_backed = flags & libc::MAP_ANONYMOUS == 0 && fd >= 0;
    let shared = flags & libc::MAP_SHARED != 0;
    let fixed = flags & libc::MAP_FIXED != 0;
    if file_backed || shared || fixed {
        book(|config| {
            if fixed {
                // A fixed mapping replaces whatever was there.
                LEDGER.lock().unmap(addr(r), len64(len));
            }
            if !(file_backed || shared) {
                return;
            }
            let (what, only) = if file_backed {
                fd_what(fd)
            } else {
                (What::new(&[b"anonymous shared memory"]), !config.has_only)
            };
            let frames = capture();
            LEDGER.lock().map_add(
                KindCode::MAPPING,
                Via::MMAP,
                addr(r),
                len64(len),
                only || !config.has_only,
                &what,
                &frames,
            );
        });
    }
    r
}

/// Interposes `mmap`.
///
/// # Safety
/// The C library's contract for `mmap`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mmap(
    p: *mut c_void,
    len: size_t,
    prot: c_int,
    flags: c_int,
    fd: c_int,
    off: off_t,
) -> *mut c_void {
    mmap_like(p, len, prot, flags, fd, off, real_mmap())
}

/// Interposes `mmap64`.
///
/// # Safety
/// The C library's contract for `mmap64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mmap64(
    p: *mut c_void,
    len: size_t,
    prot: c_int,
    flags: c_int,
    fd: c_int,
    off: off_t,
) -> *mut c_void {
    mmap_like(p, len, prot, flags, fd, off, real_mmap64())
}

/// Interposes `munmap`.
///
/// # Safety
/// The C library's contract for `munmap`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn munmap(p: *mut c_void, len: size_t) -> c_int {
    let r = match real_munmap() {
        // SAFETY: forwarded: the caller vouches the range may be unmapped.
        Some(f) => unsafe { f(p, len) },
        // SAFETY: as above.
        None => unsafe { sys::int_call(libc::SYS_munmap, [p as usize, len, 0, 0, 0, 0]) },
    };
    if r == 0 {
        released(p, len, Op::Munmap, |ledger, a, n| {
            ledger.unmap(a, n);
        });
    }
    r
}

/// Books the release of `[p, p+len)` by `op` (which is counted, never failed).
fn released(p: *const c_void, len: size_t, op: Op, release: impl FnOnce(&mut Ledger, u64, u64)) {
    book(|config| {
        let eligible = range_eligible(config, p, len);
        release(&mut LEDGER.lock(), addr(p), len64(len));
        count(config, op, eligible);
    });
}

/// Interposes `mremap` (the fifth argument is read only with `MREMAP_FIXED`).
///
/// # Safety
/// The C library's contract for `mremap`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mremap(
    old: *mut c_void,
    old_len: size_t,
    new_len: size_t,
    flags: c_int,
    new_addr: *mut c_void,
) -> *mut c_void {
    if let Some(fault) = fault_for(Op::Mremap, |config| range_eligible(config, old, old_len)) {
        sys::set_errno(fault.errno().unwrap_or(libc::ENOMEM));
        return libc::MAP_FAILED;
    }
    let r = match real_mremap() {
        // SAFETY: the caller's arguments, forwarded to the real variadic mremap.
        Some(f) => unsafe { f(old, old_len, new_len, flags, new_addr) },
        None => {
            // SAFETY: the same arguments to the system call.
            let r = unsafe {
                sys::call(
                    libc::SYS_mremap,
                    [
                        old as usize,
                        old_len,
                        new_len,
                        sys::reg_int(flags),
                        new_addr as usize,
                        0,
                    ],
                )
            };
            if r < 0 {
                libc::MAP_FAILED
            } else {
                usize::try_from(r).unwrap_or(0) as *mut c_void
            }
        }
    };
    if r != libc::MAP_FAILED {
        book(|_| {
            let frames = capture();
            LEDGER
                .lock()
                .remap(addr(old), len64(old_len), addr(r), len64(new_len), &frames);
        });
    }
    r
}

/// Interposes `madvise` (counted and failed, nothing booked).
///
/// # Safety
/// The C library's contract for `madvise`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn madvise(p: *mut c_void, len: size_t, advice: c_int) -> c_int {
    if let Some(fault) = fault_for(Op::Madvise, |config| range_eligible(config, p, len)) {
        return super::fail_int(fault);
    }
    match real_madvise() {
        // SAFETY: forwarded.
        Some(f) => unsafe { f(p, len, advice) },
        // SAFETY: the same arguments to the system call.
        None => unsafe {
            sys::int_call(
                libc::SYS_madvise,
                [p as usize, len, sys::reg_int(advice), 0, 0, 0],
            )
        },
    }
}

/// Interposes `mlock`.
///
/// # Safety
/// The C library's contract for `mlock`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlock(p: *const c_void, len: size_t) -> c_int {
    if let Some(fault) = fault_for(Op::Mlock, |config| range_eligible(config, p, len)) {
        return super::fail_int(fault);
    }
    let r = match real_mlock() {
        // SAFETY: forwarded.
        Some(f) => unsafe { f(p, len) },
        // SAFETY: the same arguments to the system call.
        None => unsafe { sys::int_call(libc::SYS_mlock, [p as usize, len, 0, 0, 0, 0]) },
    };
    if r == 0 {
        book(|config| {
            let frames = capture();
            let mut ledger = LEDGER.lock();
            let (what, only) = match ledger.mapping_over(addr(p), len64(len)) {
                Some(m) => (m.what, m.only),
                None => (What::new(&[b"memory"]), !config.has_only),
            };
            ledger.map_add(
                KindCode::LOCK,
                Via::MLOCK,
                addr(p),
                len64(len),
                only,
                &what,
                &frames,
            );
        });
    }
    r
}

/// Interposes `munlock`.
///
/// # Safety
/// The C library's contract for `munlock`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn munlock(p: *const c_void, len: size_t) -> c_int {
    let r = match real_munlock() {
        // SAFETY: forwarded.
        Some(f) => unsafe { f(p, len) },
        // SAFETY: the same arguments to the system call.
        None => unsafe { sys::int_call(libc::SYS_munlock, [p as usize, len, 0, 0, 0, 0]) },
    };
    if r == 0 {
        released(p, len, Op::Munlock, Ledger::unlock);
    }
    r
}
