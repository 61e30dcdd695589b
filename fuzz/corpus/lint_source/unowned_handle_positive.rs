// Positive fixture for `unowned_handle`; markers name the expected findings.
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

// The Windows shape: the file handle leaks when `CreateFileMappingW` fails.
fn map_file(path: &[u16]) -> io::Result<Mapping> {
    let file = unsafe { CreateFileW(path.as_ptr(), GENERIC_READ, FILE_SHARE_READ, null_mut(), OPEN_EXISTING, 0, 0) };
    if file == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    let mapping = unsafe { CreateFileMappingW(file, null_mut(), PAGE_READONLY, 0, 0, null()) };
    if mapping.is_null() {
        return Err(io::Error::last_os_error()); //~ unowned_handle
    }
    unsafe { CloseHandle(file) };
    Ok(Mapping { mapping })
}

// A `?` between `open` and the owner.
fn open_and_stat(path: &CStr) -> io::Result<OwnedFd> {
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let len = file_len(fd)?; //~ unowned_handle
    check_len(len)?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

// An early `return` of a different error before the mapping is owned.
fn map_region(fd: i32, len: usize, max: usize) -> Result<Region, Error> {
    let ptr = unsafe { libc::mmap(null_mut(), len, PROT_READ, MAP_PRIVATE, fd, 0) };
    if ptr == MAP_FAILED {
        return Err(Error::last_os());
    }
    if len > max {
        return Err(Error::TooLarge); //~ unowned_handle
    }
    Ok(Region { ptr, len })
}

// A library handle from `dlopen` and a failing symbol lookup.
unsafe fn load_backend(name: &CStr) -> Result<Backend, Error> {
    let lib = dlopen(name.as_ptr(), RTLD_NOW);
    if lib.is_null() {
        return Err(Error::dlerror());
    }
    let init = lookup(lib, c"backend_init")?; //~ unowned_handle
    Ok(Backend { lib, init })
}

// `LoadLibraryExW` with a failure branch that does not free it.
fn load_dll(path: &[u16]) -> Result<Dll, Error> {
    let module = unsafe { LoadLibraryExW(path.as_ptr(), 0, LOAD_LIBRARY_SEARCH_DEFAULT_DIRS) };
    if module.is_null() {
        return Err(Error::last_os());
    }
    let version = unsafe { GetProcAddress(module, s!("version")) };
    if version.is_none() {
        return Err(Error::MissingSymbol("version")); //~ unowned_handle
    }
    Ok(Dll(module))
}
