//! Linux errno names and numbers (the asm-generic values x86_64 and aarch64 share), so plans
//! and the command line can say `ENOMEM` instead of 12, and the sweep can recognize the
//! failure a program reports.

/// (number, name, the C library's message) for every errno a plan can name.
pub const ERRNOS: &[(i32, &str, &str)] = &[
    (1, "EPERM", "Operation not permitted"),
    (2, "ENOENT", "No such file or directory"),
    (3, "ESRCH", "No such process"),
    (4, "EINTR", "Interrupted system call"),
    (5, "EIO", "Input/output error"),
    (6, "ENXIO", "No such device or address"),
    (7, "E2BIG", "Argument list too long"),
    (8, "ENOEXEC", "Exec format error"),
    (9, "EBADF", "Bad file descriptor"),
    (10, "ECHILD", "No child processes"),
    (11, "EAGAIN", "Resource temporarily unavailable"),
    (12, "ENOMEM", "Cannot allocate memory"),
    (13, "EACCES", "Permission denied"),
    (14, "EFAULT", "Bad address"),
    (15, "ENOTBLK", "Block device required"),
    (16, "EBUSY", "Device or resource busy"),
    (17, "EEXIST", "File exists"),
    (18, "EXDEV", "Invalid cross-device link"),
    (19, "ENODEV", "No such device"),
    (20, "ENOTDIR", "Not a directory"),
    (21, "EISDIR", "Is a directory"),
    (22, "EINVAL", "Invalid argument"),
    (23, "ENFILE", "Too many open files in system"),
    (24, "EMFILE", "Too many open files"),
    (25, "ENOTTY", "Inappropriate ioctl for device"),
    (26, "ETXTBSY", "Text file busy"),
    (27, "EFBIG", "File too large"),
    (28, "ENOSPC", "No space left on device"),
    (29, "ESPIPE", "Illegal seek"),
    (30, "EROFS", "Read-only file system"),
    (31, "EMLINK", "Too many links"),
    (32, "EPIPE", "Broken pipe"),
    (33, "EDOM", "Numerical argument out of domain"),
    (34, "ERANGE", "Numerical result out of range"),
    (35, "EDEADLK", "Resource deadlock avoided"),
    (36, "ENAMETOOLONG", "File name too long"),
    (37, "ENOLCK", "No locks available"),
    (38, "ENOSYS", "Function not implemented"),
    (39, "ENOTEMPTY", "Directory not empty"),
    (40, "ELOOP", "Too many levels of symbolic links"),
    (61, "ENODATA", "No data available"),
    (62, "ETIME", "Timer expired"),
    (71, "EPROTO", "Protocol error"),
    (74, "EBADMSG", "Bad message"),
    (75, "EOVERFLOW", "Value too large for defined data type"),
    (
        84,
        "EILSEQ",
        "Invalid or incomplete multibyte or wide character",
    ),
    (95, "EOPNOTSUPP", "Operation not supported"),
    (105, "ENOBUFS", "No buffer space available"),
    (110, "ETIMEDOUT", "Connection timed out"),
    (116, "ESTALE", "Stale file handle"),
    (121, "EREMOTEIO", "Remote I/O error"),
    (122, "EDQUOT", "Disk quota exceeded"),
    (125, "ECANCELED", "Operation canceled"),
];

/// The number of the errno called `name` (`ENOMEM`, case-insensitive; `EWOULDBLOCK` and
/// `ENOTSUP` are the aliases Linux has), or a decimal number between 1 and 4095.
#[must_use]
pub fn errno_from_name(name: &str) -> Option<i32> {
    let upper = |s: &str| s.eq_ignore_ascii_case(name);
    if upper("EWOULDBLOCK") {
        return Some(11);
    }
    if upper("ENOTSUP") {
        return Some(95);
    }
    if let Some(&(n, _, _)) = ERRNOS.iter().find(|(_, known, _)| upper(known)) {
        return Some(n);
    }
    match name.parse::<i32>() {
        Ok(n) if (1..4096).contains(&n) => Some(n),
        _ => None,
    }
}

/// The name of errno `n` (`"ENOMEM"`), if the table has it.
#[must_use]
pub fn errno_name(n: i32) -> Option<&'static str> {
    ERRNOS
        .iter()
        .find(|(k, _, _)| *k == n)
        .map(|(_, name, _)| *name)
}

/// The C library's message for errno `n` (`"Cannot allocate memory"`), if the table has it.
#[must_use]
pub fn errno_message(n: i32) -> Option<&'static str> {
    ERRNOS
        .iter()
        .find(|(k, _, _)| *k == n)
        .map(|(_, _, msg)| *msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_aliases() {
        assert_eq!(errno_from_name("ENOMEM"), Some(12));
        assert_eq!(errno_from_name("enomem"), Some(12));
        assert_eq!(errno_from_name("EWOULDBLOCK"), Some(11));
        assert_eq!(errno_from_name("7"), Some(7));
        assert_eq!(errno_from_name("ENOPE"), None);
        assert_eq!(errno_from_name("0"), None);
        assert_eq!(errno_name(5), Some("EIO"));
        assert_eq!(errno_message(24), Some("Too many open files"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_table_agrees_with_the_c_library() {
        for &(n, _, msg) in ERRNOS {
            let os = std::io::Error::from_raw_os_error(n).to_string();
            assert!(os.starts_with(msg), "{n}: {os} vs {msg}");
        }
    }
}
