// Positive fixture for `uninit_status`.
use std::mem::{self, MaybeUninit};

fn stat_uninit() -> libc::stat {
    unsafe { MaybeUninit::uninit().assume_init() } //~ uninit_status
}

fn old_style() -> libc::stat {
    unsafe { mem::uninitialized() } //~ uninit_status
}

// The out-parameter is assumed initialized before the status is checked.
fn file_size(fd: i32) -> io::Result<u64> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    let rc = unsafe { libc::fstat(fd, st.as_mut_ptr()) };
    let st = unsafe { st.assume_init() }; //~ uninit_status
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st.st_size as u64)
}

// The real-loader shape: a status set to success and overwritten only in one branch.
fn map(handle: Handle, large_pages: bool) -> Result<(), Error> {
    let mut status = 0; //~ uninit_status
    if large_pages {
        status = unsafe { map_large(handle) };
    } else {
        unsafe { map_normal(handle) };
    }
    if status != 0 {
        return Err(Error::Map(status));
    }
    Ok(())
}

fn windows_style(h: HANDLE, prefetch: bool) -> HRESULT {
    let mut hr = S_OK; //~ uninit_status
    if prefetch {
        hr = unsafe { PrefetchVirtualMemory(h) };
    }
    match hr {
        S_OK => S_OK,
        other => other,
    }
}
