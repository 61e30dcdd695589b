//! `os_call!` as a user calls it: a raw OS call in their own code (an `Os` implementation, a
//! driver ioctl) whose failure becomes a `loadguard::Error` with the errno captured right
//! after the failure test and the user's line as the call site.

#[cfg(unix)]
unsafe extern "C" {
    /// libc's `close`: `close(-1)` fails with EBADF and sets errno, a real failing OS call.
    fn close(fd: i32) -> i32;
}

#[cfg(windows)]
#[link(name = "kernel32")]
unsafe extern "system" {
    /// `CloseHandle(NULL)` fails with ERROR_INVALID_HANDLE and sets the last error.
    fn CloseHandle(handle: *mut std::ffi::c_void) -> i32;
}

/// A real OS call that fails, and the code it leaves in errno / `GetLastError`.
#[cfg(unix)]
const BAD_CLOSE_CODE: i32 = 9; // EBADF
#[cfg(windows)]
const BAD_CLOSE_CODE: i32 = 6; // ERROR_INVALID_HANDLE

#[test]
fn captures_errno_op_args_and_the_call_site() {
    fn failing() -> (u32, loadguard::Result<i32>) {
        #[cfg(unix)]
        let line = line!() + 2;
        #[cfg(unix)]
        let rc = loadguard::os_call!(
            op: "close",
            path: "/m/a.bin",
            args: { fd: -1, attempt: 1 },
            fail_if: == -1,
            // SAFETY: closing an invalid descriptor only fails.
            call: unsafe { close(-1) },
        );
        #[cfg(windows)]
        let line = line!() + 2;
        #[cfg(windows)]
        let rc = loadguard::os_call!(
            op: "close",
            path: "/m/a.bin",
            args: { fd: -1, attempt: 1 },
            fail_if: == 0,
            // SAFETY: closing a null handle only fails.
            call: unsafe { CloseHandle(std::ptr::null_mut()) },
        );
        (line, rc)
    }
    let (line, rc) = failing();
    let err: loadguard::Error = rc.unwrap_err();
    let failure = err.os_failure().unwrap();
    assert_eq!(failure.op, "close");
    assert_eq!(failure.os.code(), Some(BAD_CLOSE_CODE));
    assert_eq!(
        failure.args,
        [("fd", "-1".to_owned()), ("attempt", "1".to_owned())]
    );
    assert_eq!(
        failure.location.map(|at| (at.file(), at.line())),
        Some((file!(), line)),
        "the os_call! line in the user's file, not a loadguard one"
    );
    assert_eq!(
        err.chain().to_string(),
        format!(
            "close /m/a.bin (fd=-1, attempt=1) failed at {}:{line}:18: {}",
            file!(),
            loadguard::OsError::from_code(BAD_CLOSE_CODE),
        )
    );
}

#[test]
fn success_returned_codes_null_closures_and_results() {
    let ok: loadguard::Result<i32> =
        loadguard::os_call!(op: "fsync", path: "/m", fail_if: != 0, code: returned, call: 0);
    assert_eq!(ok.unwrap(), 0);
    let err = loadguard::os_call!(
        op: "posix_fadvise", path: "/m", fail_if: != 0, code: returned, call: 22,
    )
    .unwrap_err();
    assert_eq!(err.os_code(), Some(22));
    let null: loadguard::Result<*const u8> = loadguard::os_call!(
        op: "mmap", path: "/m", args: { len: 1 }, fail_if: is_null, call: std::ptr::null::<u8>(),
    );
    assert_eq!(null.unwrap_err().op(), Some("mmap"));
    let closure: loadguard::Result<i64> =
        loadguard::os_call!(op: "lseek", path: "/m", fail_if: |r| *r < 0, call: 7_i64);
    assert_eq!(closure.unwrap(), 7);
    let io: loadguard::Result<u8> = loadguard::os_call!(
        op: "read", path: "/m", fail_if: is_err,
        call: Err::<u8, _>(std::io::Error::from_raw_os_error(4)),
    );
    assert_eq!(io.unwrap_err().os_code(), Some(4));
    let ok: loadguard::Result<u8> = loadguard::os_call!(
        op: "read", path: "/m", fail_if: is_err, call: Ok::<u8, std::io::Error>(3),
    );
    assert_eq!(ok.unwrap(), 3);
}
