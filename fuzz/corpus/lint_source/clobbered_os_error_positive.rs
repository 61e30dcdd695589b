// Positive fixture for `clobbered_os_error`.
use std::io;

// The real-loader shape: `close` before `last_os_error`.
fn open_mapped(path: &CStr, len: usize) -> io::Result<*mut u8> {
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let ptr = unsafe { libc::mmap(null_mut(), len, PROT_READ, MAP_PRIVATE, fd, 0) };
    if ptr == MAP_FAILED {
        unsafe { libc::close(fd) };
        return Err(io::Error::last_os_error()); //~ clobbered_os_error
    }
    unsafe { libc::close(fd) };
    Ok(ptr.cast())
}

// Logging between the failing call and the read.
fn map_view(mapping: HANDLE) -> Result<*mut c_void, Error> {
    let view = unsafe { MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0) };
    if view.Value.is_null() {
        tracing::warn!("MapViewOfFile failed");
        return Err(Error::Os(unsafe { GetLastError() })); //~ clobbered_os_error
    }
    Ok(view.Value)
}

// Cleanup between the failing call and the check.
fn stat_then_close(fd: i32) -> io::Result<()> {
    let rc = unsafe { libc::fsync(fd) };
    unsafe { libc::close(fd) };
    if rc != 0 {
        return Err(io::Error::last_os_error()); //~ clobbered_os_error
    }
    Ok(())
}
