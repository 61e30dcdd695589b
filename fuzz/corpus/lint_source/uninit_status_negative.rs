// Negative fixture for `uninit_status`.
use std::mem::MaybeUninit;

// Status checked before the out-parameter is read.
fn file_size(fd: i32) -> io::Result<u64> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    let rc = unsafe { libc::fstat(fd, st.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let st = unsafe { st.assume_init() };
    Ok(st.st_size as u64)
}

// Assigned on every path.
fn map(handle: Handle, large_pages: bool) -> Result<(), Error> {
    let mut status = 0;
    if large_pages {
        status = unsafe { map_large(handle) };
    } else {
        status = unsafe { map_normal(handle) };
    }
    if status != 0 {
        return Err(Error::Map(status));
    }
    Ok(())
}

// Written through `&mut` by the callee.
fn query(h: Handle) -> i32 {
    let mut rc = 0;
    unsafe { query_status(h, &mut rc) };
    if rc != 0 { rc } else { 0 }
}

// A counter, not a status.
fn count(items: &[u8]) -> usize {
    let mut n = 0;
    for i in items {
        if *i > 0 {
            n = n + 1;
        }
    }
    n
}

fn zeroed() -> libc::stat {
    unsafe { MaybeUninit::zeroed().assume_init() }
}
