//! Descriptors: `open`…`creat`, `fopen`/`fclose`, `close`, `close_range`, `dup*`,
//! `fcntl(F_DUPFD*)`, `memfd_create`, `ioctl(DMA_HEAP_IOCTL_ALLOC)`, `read`, `pread`.

use libc::{FILE, c_char, c_int, c_uint, c_ulong, c_void, mode_t, off_t, size_t, ssize_t};
use loadguard_preload_api::{Fault, Op};

use super::{book, c_bytes, capture, count, fail_int, fault_for, fd_what};
use crate::linux::ledger::{Via, What};
use crate::linux::real::real;
use crate::linux::state::{Config, LEDGER};
use crate::linux::sys;

type OpenFn = unsafe extern "C" fn(*const c_char, c_int, ...) -> c_int;
type OpenatFn = unsafe extern "C" fn(c_int, *const c_char, c_int, ...) -> c_int;
type Open2Fn = unsafe extern "C" fn(*const c_char, c_int) -> c_int;
type Openat2Fn = unsafe extern "C" fn(c_int, *const c_char, c_int) -> c_int;
type CreatFn = unsafe extern "C" fn(*const c_char, mode_t) -> c_int;
type FopenFn = unsafe extern "C" fn(*const c_char, *const c_char) -> *mut FILE;
type FcloseFn = unsafe extern "C" fn(*mut FILE) -> c_int;
type IntFn = unsafe extern "C" fn(c_int) -> c_int;
type Dup2Fn = unsafe extern "C" fn(c_int, c_int) -> c_int;
type Dup3Fn = unsafe extern "C" fn(c_int, c_int, c_int) -> c_int;
type FcntlFn = unsafe extern "C" fn(c_int, c_int, ...) -> c_int;
type CloseRangeFn = unsafe extern "C" fn(c_uint, c_uint, c_int) -> c_int;
type ReadFn = unsafe extern "C" fn(c_int, *mut c_void, size_t) -> ssize_t;
type PreadFn = unsafe extern "C" fn(c_int, *mut c_void, size_t, off_t) -> ssize_t;
type MemfdFn = unsafe extern "C" fn(*const c_char, c_uint) -> c_int;
type IoctlFn = unsafe extern "C" fn(c_int, c_ulong, ...) -> c_int;

real!(OPEN, real_open, c"open", OpenFn);
real!(OPEN64, real_open64, c"open64", OpenFn);
real!(OPENAT, real_openat, c"openat", OpenatFn);
real!(OPENAT64, real_openat64, c"openat64", OpenatFn);
real!(OPEN_2, real_open_2, c"__open_2", Open2Fn);
real!(OPEN64_2, real_open64_2, c"__open64_2", Open2Fn);
real!(OPENAT_2, real_openat_2, c"__openat_2", Openat2Fn);
real!(OPENAT64_2, real_openat64_2, c"__openat64_2", Openat2Fn);
real!(CREAT, real_creat, c"creat", CreatFn);
real!(CREAT64, real_creat64, c"creat64", CreatFn);
real!(FOPEN, real_fopen, c"fopen", FopenFn);
real!(FOPEN64, real_fopen64, c"fopen64", FopenFn);
real!(FCLOSE, real_fclose, c"fclose", FcloseFn);
real!(CLOSE, real_close, c"close", IntFn);
real!(CLOSE_RANGE, real_close_range, c"close_range", CloseRangeFn);
real!(DUP, real_dup, c"dup", IntFn);
real!(DUP2, real_dup2, c"dup2", Dup2Fn);
real!(DUP3, real_dup3, c"dup3", Dup3Fn);
real!(FCNTL, real_fcntl, c"fcntl", FcntlFn);
real!(FCNTL64, real_fcntl64, c"fcntl64", FcntlFn);
real!(READ, real_read, c"read", ReadFn);
real!(PREAD, real_pread, c"pread", PreadFn);
real!(PREAD64, real_pread64, c"pread64", PreadFn);
real!(MEMFD, real_memfd, c"memfd_create", MemfdFn);
real!(IOCTL, real_ioctl, c"ioctl", IoctlFn);

pub fn resolve() {
    for real in [
        &OPEN,
        &OPEN64,
        &OPENAT,
        &OPENAT64,
        &OPEN_2,
        &OPEN64_2,
        &OPENAT_2,
        &OPENAT64_2,
        &CREAT,
        &CREAT64,
        &FOPEN,
        &FOPEN64,
        &FCLOSE,
        &CLOSE,
        &CLOSE_RANGE,
        &DUP,
        &DUP2,
        &DUP3,
        &FCNTL,
        &FCNTL64,
        &READ,
        &PREAD,
        &PREAD64,
        &MEMFD,
        &IOCTL,
    ] {
        let _ = real.addr();
    }
}

/// `_IOWR('H', 0, struct dma_heap_allocation_data)` (linux/dma-heap.h; the struct is 24 bytes).
pub const DMA_HEAP_IOCTL_ALLOC: c_ulong = 0xC018_4800;

/// linux/dma-heap.h's `struct dma_heap_allocation_data`.
#[repr(C)]
struct DmaHeapAllocationData {
    len: u64,
    fd: u32,
    fd_flags: u32,
    heap_flags: u64,
}

/// Books a new descriptor.
fn record_fd(config: &Config, fd: c_int, via: Via, len: u64, what: &What, only: Option<bool>) {
    let frames = capture();
    let ident = sys::identity(fd).unwrap_or((0, 0));
    let only = only.unwrap_or_else(|| config.matches(what.as_bytes()));
    LEDGER
        .lock()
        .fd_open(fd, via, len, only, ident, what, &frames);
}

/// The name a descriptor opened with `path` relative to `dirfd` gets.
fn what_at(dirfd: c_int, path: &[u8]) -> What {
    if dirfd == libc::AT_FDCWD || path.first() == Some(&b'/') {
        return What::new(&[path]);
    }
    let (dir, _) = fd_what(dirfd);
    What::new(&[dir.as_bytes(), b"/", path])
}

/// The common body of every `open` flavour.
///
/// # Safety
/// `path` is the caller's path argument (a C string, per open's contract).
unsafe fn open_like(
    dirfd: c_int,
    path: *const c_char,
    via: Via,
    call: impl FnOnce() -> c_int,
) -> c_int {
    // SAFETY: forwarded: `path` is a NUL-terminated string or null.
    let bytes = unsafe { c_bytes(path) };
    if let Some(fault) = fault_for(Op::Open, |config| config.matches(bytes)) {
        return fail_int(fault);
    }
    let fd = call();
    if fd >= 0 {
        book(|config| record_fd(config, fd, via, 0, &what_at(dirfd, bytes), None));
    }
    fd
}

/// Interposes `open`.
///
/// # Safety
/// The C library's contract for `open`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn open(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    // SAFETY: the arguments are the caller's, forwarded unchanged to the real open (or to the
    // openat system call, which has the same contract) through their C types.
    unsafe {
        open_like(libc::AT_FDCWD, path, Via::OPEN, || match real_open() {
            Some(f) => f(path, flags, mode),
            None => sys::openat(libc::AT_FDCWD, path, flags, mode),
        })
    }
}

/// Interposes `open64`.
///
/// # Safety
/// The C library's contract for `open64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn open64(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    // SAFETY: as in `open`.
    unsafe {
        open_like(libc::AT_FDCWD, path, Via::OPEN, || match real_open64() {
            Some(f) => f(path, flags, mode),
            None => sys::openat(libc::AT_FDCWD, path, flags | libc::O_LARGEFILE, mode),
        })
    }
}

/// Interposes `openat`.
///
/// # Safety
/// The C library's contract for `openat`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn openat(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mode: c_uint,
) -> c_int {
    // SAFETY: as in `open`.
    unsafe {
        open_like(dirfd, path, Via::OPENAT, || match real_openat() {
            Some(f) => f(dirfd, path, flags, mode),
            None => sys::openat(dirfd, path, flags, mode),
        })
    }
}

/// Interposes `openat64`.
///
/// # Safety
/// The C library's contract for `openat64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn openat64(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mode: c_uint,
) -> c_int {
    // SAFETY: as in `open`.
    unsafe {
        open_like(dirfd, path, Via::OPENAT, || match real_openat64() {
            Some(f) => f(dirfd, path, flags, mode),
            None => sys::openat(dirfd, path, flags | libc::O_LARGEFILE, mode),
        })
    }
}

/// Interposes the fortified `__open_2`.
///
/// # Safety
/// The C library's contract for `__open_2`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __open_2(path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: as in `open`.
    unsafe {
        open_like(libc::AT_FDCWD, path, Via::OPEN, || match real_open_2() {
            Some(f) => f(path, flags),
            None => sys::openat(libc::AT_FDCWD, path, flags, 0),
        })
    }
}

/// Interposes the fortified `__open64_2`.
///
/// # Safety
/// The C library's contract for `__open64_2`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __open64_2(path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: as in `open`.
    unsafe {
        open_like(libc::AT_FDCWD, path, Via::OPEN, || match real_open64_2() {
            Some(f) => f(path, flags),
            None => sys::openat(libc::AT_FDCWD, path, flags | libc::O_LARGEFILE, 0),
        })
    }
}

/// Interposes the fortified `__openat_2`.
///
/// # Safety
/// The C library's contract for `__openat_2`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __openat_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: as in `open`.
    unsafe {
        open_like(dirfd, path, Via::OPENAT, || match real_openat_2() {
            Some(f) => f(dirfd, path, flags),
            None => sys::openat(dirfd, path, flags, 0),
        })
    }
}

/// Interposes the fortified `__openat64_2`.
///
/// # Safety
/// The C library's contract for `__openat64_2`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __openat64_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    // SAFETY: as in `open`.
    unsafe {
        open_like(dirfd, path, Via::OPENAT, || match real_openat64_2() {
            Some(f) => f(dirfd, path, flags),
            None => sys::openat(dirfd, path, flags | libc::O_LARGEFILE, 0),
        })
    }
}

const CREAT_FLAGS: c_int = libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC;

/// Interposes `creat`.
///
/// # Safety
/// The C library's contract for `creat`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn creat(path: *const c_char, mode: mode_t) -> c_int {
    // SAFETY: as in `open`.
    unsafe {
        open_like(libc::AT_FDCWD, path, Via::CREAT, || match real_creat() {
            Some(f) => f(path, mode),
            None => sys::openat(libc::AT_FDCWD, path, CREAT_FLAGS, mode),
        })
    }
}

/// Interposes `creat64`.
///
/// # Safety
/// The C library's contract for `creat64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn creat64(path: *const c_char, mode: mode_t) -> c_int {
    // SAFETY: as in `open`.
    unsafe {
        open_like(libc::AT_FDCWD, path, Via::CREAT, || match real_creat64() {
            Some(f) => f(path, mode),
            None => sys::openat(libc::AT_FDCWD, path, CREAT_FLAGS | libc::O_LARGEFILE, mode),
        })
    }
}

/// The body of `fopen` and `fopen64`.
///
/// # Safety
/// `path` and `mode` are the caller's (C strings, per fopen's contract).
unsafe fn fopen_like(path: *const c_char, mode: *const c_char, real: Option<FopenFn>) -> *mut FILE {
    // SAFETY: forwarded: `path` is a NUL-terminated string or null.
    let bytes = unsafe { c_bytes(path) };
    if let Some(fault) = fault_for(Op::Open, |config| config.matches(bytes)) {
        fail_int(fault);
        return core::ptr::null_mut();
    }
    let Some(real) = real else {
        sys::set_errno(libc::ENOSYS);
        return core::ptr::null_mut();
    };
    // SAFETY: the caller's arguments, forwarded to the real fopen.
    let file = unsafe { real(path, mode) };
    if !file.is_null() {
        // SAFETY: `file` is the live stream fopen just returned.
        let fd = unsafe { libc::fileno(file) };
        if fd >= 0 {
            book(|config| record_fd(config, fd, Via::FOPEN, 0, &What::new(&[bytes]), None));
        }
    }
    file
}

/// Interposes `fopen` (its descriptor is booked; `fclose` releases it).
///
/// # Safety
/// The C library's contract for `fopen`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fopen(path: *const c_char, mode: *const c_char) -> *mut FILE {
    // SAFETY: forwarded contract.
    unsafe { fopen_like(path, mode, real_fopen()) }
}

/// Interposes `fopen64`.
///
/// # Safety
/// The C library's contract for `fopen64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fopen64(path: *const c_char, mode: *const c_char) -> *mut FILE {
    // SAFETY: forwarded contract.
    unsafe { fopen_like(path, mode, real_fopen64()) }
}

/// Books the release of `fd` (Linux frees the number even when `close` reports an error,
/// except `EBADF`, where there was nothing to free).
fn released(fd: c_int, result: c_int) {
    if result == 0 || sys::errno() != libc::EBADF {
        book(|config| {
            let entry = LEDGER.lock().fd_close(fd);
            count(
                config,
                Op::Close,
                entry.is_some_and(|e| e.only) || !config.has_only,
            );
        });
    }
}

/// Interposes `fclose`.
///
/// # Safety
/// The C library's contract for `fclose`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fclose(file: *mut FILE) -> c_int {
    let fd = if file.is_null() {
        -1
    } else {
        // SAFETY: `file` is a live stream (fclose's contract), so fileno may read it.
        unsafe { libc::fileno(file) }
    };
    let Some(real) = real_fclose() else {
        sys::set_errno(libc::ENOSYS);
        return libc::EOF;
    };
    // SAFETY: forwarded contract.
    let r = unsafe { real(file) };
    if fd >= 0 {
        // fclose closes the descriptor whatever it returns.
        released(fd, 0);
    }
    r
}

/// Interposes `close`.
///
/// # Safety
/// The C library's contract for `close`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    let r = match real_close() {
        // SAFETY: close takes an integer; forwarded.
        Some(f) => unsafe { f(fd) },
        None => sys::close(fd),
    };
    released(fd, r);
    r
}

/// Interposes `close_range`.
///
/// # Safety
/// The C library's contract for `close_range`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn close_range(first: c_uint, last: c_uint, flags: c_int) -> c_int {
    let r = match real_close_range() {
        // SAFETY: integers only; forwarded.
        Some(f) => unsafe { f(first, last, flags) },
        // SAFETY: integers only.
        None => unsafe {
            sys::int_call(
                libc::SYS_close_range,
                [
                    sys::reg(first),
                    sys::reg(last),
                    sys::reg_int(flags),
                    0,
                    0,
                    0,
                ],
            )
        },
    };
    let cloexec_only = flags & 4 != 0; // CLOSE_RANGE_CLOEXEC
    if r == 0 && !cloexec_only {
        book(|_| LEDGER.lock().fd_close_range(first, last));
    }
    r
}

/// The body of every `dup` flavour: `old` is duplicated as whatever `call` returns; `target`
/// is the number `dup2`/`dup3` close first.
fn dup_like(old: c_int, target: Option<c_int>, via: Via, call: impl FnOnce() -> c_int) -> c_int {
    if let Some(fault) = fault_for(Op::Dup, |config| !config.has_only || fd_what(old).1) {
        return fail_int(fault);
    }
    let new = call();
    if new >= 0 && Some(old) != target {
        book(|config| {
            let (what, only) = fd_what(old);
            record_fd(config, new, via, 0, &what, Some(only || !config.has_only));
        });
    }
    new
}

/// Interposes `dup`.
///
/// # Safety
/// The C library's contract for `dup`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup(old: c_int) -> c_int {
    dup_like(old, None, Via::DUP, || match real_dup() {
        // SAFETY: integers only; forwarded.
        Some(f) => unsafe { f(old) },
        // SAFETY: integers only.
        None => unsafe { sys::int_call(libc::SYS_dup, [sys::reg_int(old), 0, 0, 0, 0, 0]) },
    })
}

/// Interposes `dup2`.
///
/// # Safety
/// The C library's contract for `dup2`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup2(old: c_int, new: c_int) -> c_int {
    dup_like(old, Some(new), Via::DUP, || match real_dup2() {
        // SAFETY: integers only; forwarded.
        Some(f) => unsafe { f(old, new) },
        // SAFETY: integers only.
        None => unsafe {
            sys::int_call(
                libc::SYS_dup2,
                [sys::reg_int(old), sys::reg_int(new), 0, 0, 0, 0],
            )
        },
    })
}

/// Interposes `dup3`.
///
/// # Safety
/// The C library's contract for `dup3`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    dup_like(old, Some(new), Via::DUP, || match real_dup3() {
        // SAFETY: integers only; forwarded.
        Some(f) => unsafe { f(old, new, flags) },
        // SAFETY: integers only.
        None => unsafe {
            sys::int_call(
                libc::SYS_dup3,
                [
                    sys::reg_int(old),
                    sys::reg_int(new),
                    sys::reg_int(flags),
                    0,
                    0,
                    0,
                ],
            )
        },
    })
}

/// The body of `fcntl` / `fcntl64`: only `F_DUPFD` and `F_DUPFD_CLOEXEC` are booked.
fn fcntl_like(fd: c_int, cmd: c_int, arg: usize, real: Option<FcntlFn>) -> c_int {
    let call = || match real {
        // SAFETY: the caller's three register values, forwarded to the real variadic fcntl,
        // which reads its third argument as the command requires (int or pointer).
        Some(f) => unsafe { f(fd, cmd, arg) },
        // SAFETY: the same values to the system call of the same contract.
        None => unsafe {
            sys::int_call(
                libc::SYS_fcntl,
                [sys::reg_int(fd), sys::reg_int(cmd), arg, 0, 0, 0],
            )
        },
    };
    if cmd == libc::F_DUPFD || cmd == libc::F_DUPFD_CLOEXEC {
        dup_like(fd, None, Via::FCNTL, call)
    } else {
        call()
    }
}

/// Interposes `fcntl`.
///
/// # Safety
/// The C library's contract for `fcntl`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fcntl(fd: c_int, cmd: c_int, arg: usize) -> c_int {
    fcntl_like(fd, cmd, arg, real_fcntl())
}

/// Interposes `fcntl64`.
///
/// # Safety
/// The C library's contract for `fcntl64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fcntl64(fd: c_int, cmd: c_int, arg: usize) -> c_int {
    fcntl_like(fd, cmd, arg, real_fcntl64())
}

/// The byte count a short-read fault lets through.
fn shortened(count: size_t, fault: Fault) -> size_t {
    match fault {
        Fault::ShortRead(Some(max)) => count.min(usize::try_from(max).unwrap_or(usize::MAX)),
        _ => (count / 2).max(count.min(1)),
    }
}

fn read_eligible(config: &Config, fd: c_int) -> bool {
    !config.has_only || LEDGER.lock().fd(fd).is_some_and(|e| e.only)
}

/// The body of `read` and the `pread`s.
fn read_like(op: Op, fd: c_int, count: size_t, call: impl FnOnce(size_t) -> ssize_t) -> ssize_t {
    match fault_for(op, |config| read_eligible(config, fd)) {
        Some(fault @ Fault::ShortRead(_)) => call(shortened(count, fault)),
        Some(fault) => {
            fail_int(fault);
            -1
        }
        None => call(count),
    }
}

/// Interposes `read`.
///
/// # Safety
/// The C library's contract for `read`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t {
    read_like(Op::Read, fd, count, |n| match real_read() {
        // SAFETY: the caller's buffer, valid for `count` >= `n` bytes; forwarded.
        Some(f) => unsafe { f(fd, buf, n) },
        // SAFETY: as above.
        None => unsafe { sys::read(fd, buf, n) },
    })
}

/// Interposes `pread`.
///
/// # Safety
/// The C library's contract for `pread`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pread(
    fd: c_int,
    buf: *mut c_void,
    count: size_t,
    offset: off_t,
) -> ssize_t {
    read_like(Op::Pread, fd, count, |n| match real_pread() {
        // SAFETY: the caller's buffer, valid for `count` >= `n` bytes; forwarded.
        Some(f) => unsafe { f(fd, buf, n, offset) },
        // SAFETY: as above.
        None => unsafe { sys::pread(fd, buf, n, offset) },
    })
}

/// Interposes `pread64`.
///
/// # Safety
/// The C library's contract for `pread64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pread64(
    fd: c_int,
    buf: *mut c_void,
    count: size_t,
    offset: off_t,
) -> ssize_t {
    read_like(Op::Pread, fd, count, |n| match real_pread64() {
        // SAFETY: the caller's buffer, valid for `count` >= `n` bytes; forwarded.
        Some(f) => unsafe { f(fd, buf, n, offset) },
        // SAFETY: as above.
        None => unsafe { sys::pread(fd, buf, n, offset) },
    })
}

/// Interposes `memfd_create`.
///
/// # Safety
/// The C library's contract for `memfd_create`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memfd_create(name: *const c_char, flags: c_uint) -> c_int {
    // SAFETY: `name` is a C string (memfd_create's contract).
    let bytes = unsafe { c_bytes(name) };
    if let Some(fault) = fault_for(Op::MemfdCreate, |config| config.matches(bytes)) {
        return fail_int(fault);
    }
    let fd = match real_memfd() {
        // SAFETY: forwarded.
        Some(f) => unsafe { f(name, flags) },
        // SAFETY: `name` is the caller's C string.
        None => unsafe {
            sys::int_call(
                libc::SYS_memfd_create,
                [name as usize, sys::reg(flags), 0, 0, 0, 0],
            )
        },
    };
    if fd >= 0 {
        book(|config| {
            let only = config.matches(bytes);
            record_fd(
                config,
                fd,
                Via::MEMFD,
                0,
                &What::new(&[b"memfd:", bytes]),
                Some(only),
            );
        });
    }
    fd
}

/// Interposes `ioctl`: only `DMA_HEAP_IOCTL_ALLOC` is counted, failed and booked (the
/// dma-buf descriptor it returns); every other request passes straight through.
///
/// # Safety
/// The C library's contract for `ioctl` with this request.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ioctl(fd: c_int, request: c_ulong, arg: *mut c_void) -> c_int {
    let call = || match real_ioctl() {
        // SAFETY: the caller's arguments, forwarded to the real variadic ioctl.
        Some(f) => unsafe { f(fd, request, arg) },
        // SAFETY: the same arguments to the system call.
        None => unsafe {
            sys::int_call(
                libc::SYS_ioctl,
                [sys::reg_int(fd), sys::reg(request), arg as usize, 0, 0, 0],
            )
        },
    };
    if request != DMA_HEAP_IOCTL_ALLOC {
        return call();
    }
    if let Some(fault) = fault_for(Op::DmaHeapAlloc, |config| !config.has_only || fd_what(fd).1) {
        return fail_int(fault);
    }
    let r = call();
    if r == 0 && !arg.is_null() {
        // SAFETY: on success the kernel filled the caller's `dma_heap_allocation_data`, which
        // `arg` points at (the request's contract).
        let data = unsafe { core::ptr::read_unaligned(arg.cast::<DmaHeapAllocationData>()) };
        if let Ok(buf_fd) = c_int::try_from(data.fd) {
            book(|config| {
                let (heap, only) = fd_what(fd);
                let what = What::new(&[b"dma-buf from ", heap.as_bytes()]);
                record_fd(
                    config,
                    buf_fd,
                    Via::DMA_HEAP,
                    data.len,
                    &what,
                    Some(only || !config.has_only),
                );
            });
        }
    }
    r
}
