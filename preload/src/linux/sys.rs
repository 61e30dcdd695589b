//! Raw system calls for the preload's own needs and for calls that arrive before the real C
//! library functions are found: none of them goes through an interposable symbol.

use libc::{c_int, c_long, c_uint, c_void};

/// `errno` of the calling thread.
pub fn errno() -> c_int {
    // SAFETY: `__errno_location` returns the calling thread's errno slot, valid for the
    // thread's lifetime; reading an int from it has no other precondition.
    unsafe { *libc::__errno_location() }
}

/// Sets `errno` of the calling thread.
pub fn set_errno(value: c_int) {
    // SAFETY: as in `errno`; the slot is writable.
    unsafe { *libc::__errno_location() = value }
}

/// Keeps the caller's `errno` across bookkeeping that may clobber it.
pub struct SavedErrno(c_int);

impl SavedErrno {
    pub fn save() -> SavedErrno {
        SavedErrno(errno())
    }
}

impl Drop for SavedErrno {
    fn drop(&mut self) {
        set_errno(self.0);
    }
}

/// Converts a raw `syscall` result (the C library's wrapper already set errno on failure).
fn ret_int(r: c_long) -> c_int {
    c_int::try_from(r).unwrap_or(-1)
}

/// A system call with up to six integer arguments.
///
/// # Safety
/// The arguments must satisfy system call `nr`'s contract (pointers valid for what it reads
/// or writes).
pub unsafe fn call(nr: c_long, a: [usize; 6]) -> c_long {
    // SAFETY: forwarded to the caller's contract; `syscall` reads exactly these registers.
    unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) }
}

pub fn reg<T: TryInto<usize>>(v: T) -> usize {
    v.try_into().unwrap_or(usize::MAX)
}

/// `int` arguments go in as their sign-extended register value (so `AT_FDCWD` stays -100).
pub fn reg_int(v: c_int) -> usize {
    usize::from_ne_bytes(i64::from(v).to_ne_bytes())
}

pub unsafe fn openat(dirfd: c_int, path: *const libc::c_char, flags: c_int, mode: c_uint) -> c_int {
    // SAFETY: the caller passes the path pointer it got (a C string, per open's contract).
    ret_int(unsafe {
        call(
            libc::SYS_openat,
            [
                reg_int(dirfd),
                path as usize,
                reg_int(flags),
                reg(mode),
                0,
                0,
            ],
        )
    })
}

pub fn close(fd: c_int) -> c_int {
    // SAFETY: close takes an integer only; a wrong fd is EBADF, not memory unsafety.
    ret_int(unsafe { call(libc::SYS_close, [reg_int(fd), 0, 0, 0, 0, 0]) })
}

pub unsafe fn read(fd: c_int, buf: *mut c_void, count: usize) -> isize {
    // SAFETY: the caller's buffer contract is read's (valid for `count` bytes).
    let r = unsafe { call(libc::SYS_read, [reg_int(fd), buf as usize, count, 0, 0, 0]) };
    isize::try_from(r).unwrap_or(-1)
}

pub unsafe fn pread(fd: c_int, buf: *mut c_void, count: usize, offset: i64) -> isize {
    let offset = usize::from_ne_bytes(offset.to_ne_bytes());
    // SAFETY: as in `read`.
    let r = unsafe {
        call(
            libc::SYS_pread64,
            [reg_int(fd), buf as usize, count, offset, 0, 0],
        )
    };
    isize::try_from(r).unwrap_or(-1)
}

pub unsafe fn write(fd: c_int, buf: *const u8, count: usize) -> isize {
    // SAFETY: the caller's buffer is valid for `count` bytes of reads.
    let r = unsafe { call(libc::SYS_write, [reg_int(fd), buf as usize, count, 0, 0, 0]) };
    isize::try_from(r).unwrap_or(-1)
}

/// Writes all of `bytes`, retrying on `EINTR` and short writes; gives up on any other error.
pub fn write_all(fd: c_int, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a live slice of `bytes.len()` readable bytes.
        let n = unsafe { write(fd, bytes.as_ptr(), bytes.len()) };
        match usize::try_from(n) {
            Ok(0) => return,
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(_) if errno() == libc::EINTR => {}
            Err(_) => return,
        }
    }
}

pub unsafe fn mmap(
    addr: *mut c_void,
    len: usize,
    prot: c_int,
    flags: c_int,
    fd: c_int,
    off: i64,
) -> *mut c_void {
    let off = usize::from_ne_bytes(off.to_ne_bytes());
    // SAFETY: forwarded mmap contract: the kernel validates every argument.
    let r = unsafe {
        call(
            libc::SYS_mmap,
            [
                addr as usize,
                len,
                reg_int(prot),
                reg_int(flags),
                reg_int(fd),
                off,
            ],
        )
    };
    if r < 0 {
        libc::MAP_FAILED
    } else {
        usize::try_from(r).unwrap_or(0) as *mut c_void
    }
}

/// A system call whose result is an int and whose arguments are integers or pointers the
/// caller vouches for.
///
/// # Safety
/// As [`call`].
pub unsafe fn int_call(nr: c_long, a: [usize; 6]) -> c_int {
    // SAFETY: forwarded to the caller's contract.
    ret_int(unsafe { call(nr, a) })
}

pub fn getpid() -> u32 {
    // SAFETY: getpid has no arguments and cannot fail.
    let pid = unsafe { call(libc::SYS_getpid, [0; 6]) };
    u32::try_from(pid).unwrap_or(0)
}

pub fn getppid() -> u32 {
    // SAFETY: getppid has no arguments and cannot fail.
    let pid = unsafe { call(libc::SYS_getppid, [0; 6]) };
    u32::try_from(pid).unwrap_or(0)
}

/// `(st_dev, st_ino)` of an open descriptor.
pub fn identity(fd: c_int) -> Option<(u64, u64)> {
    // SAFETY: `stat` is plain old data; all-zero is a valid value.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: `st` is a valid, writable `struct stat` for fstat to fill.
    let r = unsafe {
        call(
            libc::SYS_fstat,
            [reg_int(fd), &raw mut st as usize, 0, 0, 0, 0],
        )
    };
    (r == 0).then_some((st.st_dev, st.st_ino))
}

/// Whether `fd` is open and closes on exec.
pub fn cloexec(fd: c_int) -> Option<bool> {
    // SAFETY: F_GETFD takes no pointer.
    let r = unsafe {
        call(
            libc::SYS_fcntl,
            [reg_int(fd), reg_int(libc::F_GETFD), 0, 0, 0, 0],
        )
    };
    (r >= 0).then_some(r & c_long::from(libc::FD_CLOEXEC) != 0)
}

/// What `/proc/self/fd/N` points at, into `buf`; the length written.
pub fn fd_path(fd: c_int, buf: &mut [u8]) -> usize {
    let mut link = [0u8; 32];
    let mut w = Cursor::new(&mut link);
    w.put(b"/proc/self/fd/");
    w.put_dec(u64::try_from(fd).unwrap_or(0));
    w.put(b"\0");
    readlink(&link, buf)
}

/// `readlink` of a NUL-terminated path into `buf`; the length written (0 on failure).
pub fn readlink(path: &[u8], buf: &mut [u8]) -> usize {
    // SAFETY: `path` is NUL-terminated (callers build it so), `buf` is writable for its length.
    let r = unsafe {
        call(
            libc::SYS_readlinkat,
            [
                reg_int(libc::AT_FDCWD),
                path.as_ptr() as usize,
                buf.as_mut_ptr() as usize,
                buf.len(),
                0,
                0,
            ],
        )
    };
    usize::try_from(r).unwrap_or(0)
}

/// Monotonic nanoseconds.
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to fill.
    unsafe {
        call(
            libc::SYS_clock_gettime,
            [
                reg_int(libc::CLOCK_MONOTONIC),
                &raw mut ts as usize,
                0,
                0,
                0,
                0,
            ],
        )
    };
    u64::try_from(ts.tv_sec)
        .unwrap_or(0)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(u64::try_from(ts.tv_nsec).unwrap_or(0))
}

/// A byte writer over a fixed buffer that silently stops at its end.
pub struct Cursor<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a mut [u8]) -> Cursor<'a> {
        Cursor { buf, len: 0 }
    }

    pub fn put(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
    }

    pub fn put_dec(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + u8::try_from(n % 10).unwrap_or(0);
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.put(digits.get(i..).unwrap_or_default());
    }

    pub fn len(&self) -> usize {
        self.len
    }
}
