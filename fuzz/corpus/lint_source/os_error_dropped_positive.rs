// Positive fixture for `os_error_dropped`.
use std::io;

fn open(path: &CStr) -> io::Result<i32> {
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
    if fd < 0 {
        return Err(io::Error::new(io::ErrorKind::Other, "open failed")); //~ os_error_dropped
    }
    Ok(fd)
}

fn create(path: &[u16]) -> Result<HANDLE, LoadError> {
    let h = unsafe { CreateFileW(path.as_ptr(), GENERIC_READ, 0, null(), OPEN_EXISTING, 0, 0) };
    if h == INVALID_HANDLE_VALUE {
        return Err(LoadError::Open); //~ os_error_dropped
    }
    Ok(h)
}

fn map(fd: i32, len: usize) -> Result<*mut c_void, String> {
    let p = unsafe { libc::mmap(null_mut(), len, PROT_READ, MAP_PRIVATE, fd, 0) };
    if p == libc::MAP_FAILED {
        Err(format!("mmap of {len} bytes failed")) //~ os_error_dropped
    } else {
        Ok(p)
    }
}

fn dup(fd: i32) -> Result<i32, Error> {
    match unsafe { libc::dup(fd) } {
        -1 => Err(Error::Dup), //~ os_error_dropped
        new => Ok(new),
    }
}
