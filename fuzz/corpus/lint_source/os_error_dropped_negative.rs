// Negative fixture for `os_error_dropped`.
use std::io;

fn open(path: &CStr) -> io::Result<i32> {
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

fn create(path: &[u16]) -> Result<HANDLE, LoadError> {
    let h = unsafe { CreateFileW(path.as_ptr(), GENERIC_READ, 0, null(), OPEN_EXISTING, 0, 0) };
    if h == INVALID_HANDLE_VALUE {
        let code = unsafe { GetLastError() };
        return Err(LoadError::Open { code });
    }
    Ok(h)
}

// Captured before the branch.
fn map(fd: i32, len: usize) -> Result<*mut c_void, Error> {
    let p = unsafe { libc::mmap(null_mut(), len, PROT_READ, MAP_PRIVATE, fd, 0) };
    let err = io::Error::last_os_error();
    if p == libc::MAP_FAILED {
        return Err(Error::Map(err));
    }
    Ok(p)
}

// Not an OS call: a plain length check.
fn parse(bytes: &[u8]) -> Result<u64, Error> {
    let n = bytes.len();
    if n == 0 {
        return Err(Error::Empty);
    }
    Ok(1)
}

// Through the project's OS error macro.
fn opened(path: &CStr) -> Result<i32, Error> {
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
    if fd < 0 {
        return Err(os_error!("open", path));
    }
    Ok(fd)
}
