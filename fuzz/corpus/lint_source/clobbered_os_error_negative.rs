// Negative fixture for `clobbered_os_error`.
use std::io;

// Captured first, cleaned up after.
fn open_mapped(path: &CStr, len: usize) -> io::Result<*mut u8> {
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let ptr = unsafe { libc::mmap(null_mut(), len, PROT_READ, MAP_PRIVATE, fd, 0) };
    if ptr == MAP_FAILED {
        let err = io::Error::last_os_error();
        unsafe { libc::close(fd) };
        tracing::warn!("mmap failed: {err}");
        return Err(err);
    }
    unsafe { libc::close(fd) };
    Ok(ptr.cast())
}

// The read is in the same expression as the check.
fn check(fd: i32) -> io::Result<()> {
    let rc = unsafe { libc::fsync(fd) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

// A match arm reading right away.
fn open(path: &CStr) -> io::Result<i32> {
    match unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) } {
        -1 => Err(io::Error::last_os_error()),
        fd => Ok(fd),
    }
}
