// Negative fixture for `unowned_handle`: none of these may be flagged.
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

// Wrapped right after the failure check: the `?` after it is fine.
fn open_owned(path: &CStr) -> io::Result<OwnedFd> {
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    check(&fd)?;
    Ok(fd)
}

// Closed on the failure path of the second call.
fn map_file(path: &[u16]) -> io::Result<Mapping> {
    let file = unsafe { CreateFileW(path.as_ptr(), GENERIC_READ, FILE_SHARE_READ, null_mut(), OPEN_EXISTING, 0, 0) };
    if file == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    let mapping = unsafe { CreateFileMappingW(file, null_mut(), PAGE_READONLY, 0, 0, null()) };
    if mapping.is_null() {
        let err = io::Error::last_os_error();
        unsafe { CloseHandle(file) };
        return Err(err);
    }
    unsafe { CloseHandle(file) };
    Ok(Mapping { mapping })
}

// Wrapped in the same expression as the acquire.
fn open_file(path: &CStr) -> File {
    unsafe { File::from_raw_fd(libc::open(path.as_ptr(), libc::O_RDONLY)) }
}

// `File::open` is not a raw acquire: it returns an owner.
fn safe_open(path: &Path) -> io::Result<u64> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    validate(len)?;
    Ok(len)
}

// Moved into a tuple-struct owner before anything can fail.
fn guarded(path: &CStr) -> io::Result<Fd> {
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
    if fd == -1 {
        return Err(io::Error::last_os_error());
    }
    let guard = Fd(fd);
    guard.check()?;
    Ok(guard)
}

// Stored in a struct field before the `?`.
impl Loader {
    fn open(&mut self, path: &CStr) -> io::Result<()> {
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        self.fd = fd;
        self.validate()?;
        Ok(())
    }
}
