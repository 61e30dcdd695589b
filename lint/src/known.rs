//! What the analyzer knows about names without a type checker: which calls are OS calls
//! (from the libc / POSIX and Win32 API names, never from their case), which acquire a handle
//! and what their failure value is, which release one, which read the OS error, which types
//! own OS resources, which are maps and locks.

/// libc / POSIX functions that set `errno` on failure (and the ones loaders call most).
const LIBC: &[&str] = &[
    "open",
    "open64",
    "openat",
    "openat2",
    "creat",
    "close",
    "read",
    "write",
    "pread",
    "pwrite",
    "pread64",
    "pwrite64",
    "readv",
    "writev",
    "lseek",
    "lseek64",
    "fstat",
    "fstat64",
    "stat",
    "stat64",
    "lstat",
    "fstatat",
    "statx",
    "fsync",
    "fdatasync",
    "ftruncate",
    "ftruncate64",
    "truncate",
    "fallocate",
    "posix_fallocate",
    "mmap",
    "mmap64",
    "munmap",
    "mprotect",
    "madvise",
    "posix_madvise",
    "mlock",
    "mlock2",
    "munlock",
    "mremap",
    "msync",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
    "ioctl",
    "dlopen",
    "dlclose",
    "dlsym",
    "memfd_create",
    "shm_open",
    "shm_unlink",
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "mkdir",
    "rmdir",
    "socket",
    "connect",
    "bind",
    "listen",
    "accept",
    "accept4",
    "send",
    "recv",
    "sendmsg",
    "recvmsg",
    "pipe",
    "pipe2",
    "eventfd",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "poll",
    "select",
    "getrlimit",
    "setrlimit",
    "sysconf",
    "syscall",
    "getrandom",
    "flock",
    "fchmod",
    "fchown",
    "kill",
    "waitpid",
    "fork",
    "execve",
    "posix_spawn",
    "pthread_create",
    "sched_setaffinity",
    "sigaction",
    "sigwaitinfo",
    "fopen",
    "fclose",
    "fread",
    "fwrite",
    "fseek",
    "fseeko",
    "ftell",
    "ftello",
    "fflush",
    "fileno",
    "opendir",
    "closedir",
    "readdir",
    "realpath",
    "getcwd",
    "chdir",
    "access",
    "faccessat",
    "readlink",
    "symlink",
    "link",
    "sendfile",
    "copy_file_range",
    "splice",
    "inotify_init1",
    "timerfd_create",
    "signalfd",
    "userfaultfd",
    "io_uring_setup",
    "perf_event_open",
    "pidfd_open",
    "prctl",
    "mincore",
    "fstatfs",
    "statfs",
    "ioctl",
    "posix_memalign",
    "aligned_alloc",
    "malloc",
    "calloc",
    "realloc",
    "_open",
    "_close",
    "_read",
    "_lseeki64",
    "_fstat64",
    "_fseeki64",
    "_ftelli64",
    "_wfopen",
    "_wopen",
];

/// Win32 / NT functions (windows-sys, windows, and the C SDK spell them alike).
const WIN32: &[&str] = &[
    "CreateFileA",
    "CreateFileW",
    "CreateFile2",
    "CreateFileMappingA",
    "CreateFileMappingW",
    "CreateFileMapping2",
    "CreateFileMappingNumaW",
    "OpenFileMappingA",
    "OpenFileMappingW",
    "MapViewOfFile",
    "MapViewOfFileEx",
    "MapViewOfFile3",
    "MapViewOfFileNuma2",
    "UnmapViewOfFile",
    "UnmapViewOfFile2",
    "UnmapViewOfFileEx",
    "CloseHandle",
    "GetFileSizeEx",
    "GetFileSize",
    "SetFilePointerEx",
    "SetFilePointer",
    "ReadFile",
    "WriteFile",
    "FlushFileBuffers",
    "FlushViewOfFile",
    "DeviceIoControl",
    "GetFileInformationByHandle",
    "GetFileInformationByHandleEx",
    "SetFileInformationByHandle",
    "LoadLibraryA",
    "LoadLibraryW",
    "LoadLibraryExA",
    "LoadLibraryExW",
    "FreeLibrary",
    "GetProcAddress",
    "GetModuleHandleW",
    "GetModuleHandleA",
    "GetModuleHandleExW",
    "VirtualAlloc",
    "VirtualAlloc2",
    "VirtualFree",
    "VirtualLock",
    "VirtualUnlock",
    "VirtualProtect",
    "VirtualQuery",
    "PrefetchVirtualMemory",
    "DiscardVirtualMemory",
    "OfferVirtualMemory",
    "ReclaimVirtualMemory",
    "DuplicateHandle",
    "CreateEventW",
    "CreateEventA",
    "CreateMutexW",
    "CreateSemaphoreW",
    "WaitForSingleObject",
    "WaitForMultipleObjects",
    "SetFileAttributesW",
    "GetFileAttributesW",
    "DeleteFileW",
    "MoveFileExW",
    "CreateDirectoryW",
    "FindFirstFileW",
    "FindNextFileW",
    "FindClose",
    "GetFinalPathNameByHandleW",
    "LockFileEx",
    "UnlockFileEx",
    "HeapAlloc",
    "HeapFree",
    "LocalFree",
    "GlobalFree",
    "RegOpenKeyExW",
    "RegQueryValueExW",
    "RegCloseKey",
    "CreateThread",
    "CreateProcessW",
    "OpenProcess",
    "CoInitializeEx",
    "CoCreateInstance",
    "WSAStartup",
    "WSACleanup",
    "NtCreateSection",
    "NtMapViewOfSection",
    "NtClose",
    "QueryPerformanceCounter",
    "GetSystemInfo",
    "SetThreadAffinityMask",
    "CreateIoCompletionPort",
    "GetQueuedCompletionStatus",
    "CancelIoEx",
];

/// Whether a call named `name` (qualified by `qual`) is an OS call that reports failure
/// through `errno` / `GetLastError`.
#[must_use]
pub fn is_os_call(name: &str, qual: &str) -> bool {
    if matches!(qual, "libc" | "nix" | "rustix") && !name.is_empty() {
        return !matches!(
            name,
            "strlen" | "memcpy" | "memset" | "memcmp" | "size_of" | "size_of_val"
        );
    }
    let os_qual = qual.is_empty()
        || matches!(qual, "std" | "sys" | "ffi" | "windows_sys" | "windows")
        || is_win32_module(qual);
    os_qual && (LIBC.contains(&name) || WIN32.contains(&name))
}

/// Whether `name` is a Win32 call, which reports failure through `GetLastError` and leaves
/// C's `errno` alone.
#[must_use]
pub fn is_win32_call(name: &str) -> bool {
    WIN32.contains(&name)
}

/// Whether a read of the OS error named `name` reads only C's `errno` (`errno`, `perror`,
/// `strerror(errno)`'s `errno`), not Windows' last error.
#[must_use]
pub fn reads_errno_only(name: &str) -> bool {
    matches!(
        name,
        "errno" | "__errno_location" | "__error" | "_errno" | "get_errno" | "perror"
    )
}

/// What an acquire call returns on failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sentinel {
    /// A negative value (`-1`): `open`, `socket`, `memfd_create`.
    Negative,
    /// NULL: `dlopen`, `CreateFileMapping*`, `MapViewOfFile*`, `LoadLibrary*`, `fopen`.
    Null,
    /// `MAP_FAILED` (`(void*)-1`): `mmap`.
    MapFailed,
    /// `INVALID_HANDLE_VALUE`: `CreateFile*`.
    InvalidHandle,
}

/// If `name` acquires an OS resource that must be released, what kind and its failure value.
#[must_use]
pub fn acquire(name: &str) -> Option<(&'static str, Sentinel)> {
    Some(match name {
        "open" | "open64" | "openat" | "openat2" | "creat" | "_open" | "_wopen" => {
            ("file descriptor", Sentinel::Negative)
        }
        "memfd_create" | "shm_open" | "eventfd" | "timerfd_create" | "signalfd"
        | "epoll_create" | "epoll_create1" | "inotify_init1" | "userfaultfd" | "pidfd_open"
        | "socket" | "accept" | "accept4" | "dup" | "perf_event_open" => {
            ("file descriptor", Sentinel::Negative)
        }
        "mmap" | "mmap64" => ("mapping", Sentinel::MapFailed),
        "dlopen" => ("library handle", Sentinel::Null),
        "LoadLibraryA" | "LoadLibraryW" | "LoadLibraryExA" | "LoadLibraryExW" => {
            ("library handle", Sentinel::Null)
        }
        "CreateFileA" | "CreateFileW" | "CreateFile2" => ("file handle", Sentinel::InvalidHandle),
        "CreateFileMappingA"
        | "CreateFileMappingW"
        | "CreateFileMapping2"
        | "CreateFileMappingNumaW"
        | "OpenFileMappingA"
        | "OpenFileMappingW" => ("mapping handle", Sentinel::Null),
        "MapViewOfFile" | "MapViewOfFileEx" | "MapViewOfFile3" | "MapViewOfFileNuma2" => {
            ("mapped view", Sentinel::Null)
        }
        "fopen" | "_wfopen" | "fdopen" => ("FILE stream", Sentinel::Null),
        "opendir" => ("directory stream", Sentinel::Null),
        _ => return None,
    })
}

/// Whether `name` releases an OS resource (or frees memory).
#[must_use]
pub fn is_release(name: &str) -> bool {
    matches!(
        name,
        "close"
            | "_close"
            | "munmap"
            | "dlclose"
            | "CloseHandle"
            | "UnmapViewOfFile"
            | "UnmapViewOfFile2"
            | "UnmapViewOfFileEx"
            | "FreeLibrary"
            | "fclose"
            | "closedir"
            | "shm_unlink"
            | "free"
            | "VirtualFree"
            | "NtClose"
            | "FindClose"
            | "RegCloseKey"
            | "LocalFree"
            | "HeapFree"
    )
}

/// Whether a call reads the thread's OS error: `io::Error::last_os_error()`, `GetLastError()`,
/// `errno()`, `WSAGetLastError()`, `__errno_location()`, `dlerror()`, and helpers named after
/// them (`last_os()`, `os_error!`, `from_errno(get_errno())`).
#[must_use]
pub fn reads_os_error(name: &str) -> bool {
    reads_os_error_exactly(name) || {
        let lower = name.to_ascii_lowercase();
        lower.contains("last_os")
            || lower.contains("os_error")
            || lower.contains("lasterror")
            || lower.contains("last_error")
            || lower.contains("errno")
            || lower == "dlerror"
    }
}

/// Whether `name` is one of the readers [`reads_os_error`] lists by name, rather than one it
/// guesses from a name that mentions the OS error.
#[must_use]
pub fn reads_os_error_exactly(name: &str) -> bool {
    matches!(
        name,
        "last_os_error"
            | "GetLastError"
            | "WSAGetLastError"
            | "errno"
            | "__errno_location"
            | "__error"
            | "_errno"
            | "get_errno"
            | "dlerror"
            | "perror"
            | "GetLastNtStatus"
            | "from_win32"
            | "from_thread"
    )
}

/// Whether a C/C++ identifier (not a call) reads the OS error: `errno`.
#[must_use]
pub fn is_errno_ident(name: &str) -> bool {
    name == "errno"
}

/// Whether a macro or call only prints or logs (and so may overwrite `errno` / the last error).
#[must_use]
pub fn is_print_or_log(name: &str) -> bool {
    matches!(
        name,
        "println"
            | "eprintln"
            | "print"
            | "eprint"
            | "error"
            | "warn"
            | "info"
            | "debug"
            | "trace"
            | "event"
            | "log"
            | "write"
            | "writeln"
            | "dbg"
            | "printf"
            | "fprintf"
            | "puts"
            | "fputs"
            | "snprintf"
            | "sprintf"
            | "OutputDebugStringA"
            | "OutputDebugStringW"
    ) || name.starts_with("LOG")
        || name.ends_with("_LOG")
        || name.contains("_LOG_")
        || name.starts_with("log_")
}

/// Types that own an OS resource (their drop or destructor releases it).
#[must_use]
pub fn owns_os_resource(name: &str) -> bool {
    matches!(
        name,
        "File"
            | "Mmap"
            | "MmapMut"
            | "MmapRaw"
            | "Library"
            | "OwnedFd"
            | "OwnedHandle"
            | "OwnedSocket"
            | "Child"
            | "TcpStream"
            | "TcpListener"
            | "UdpSocket"
            | "UnixStream"
            | "UnixListener"
            | "Memfd"
            | "ifstream"
            | "ofstream"
            | "fstream"
            | "unique_fd"
            | "unique_handle"
            | "unique_hfile"
            | "unique_hmodule"
            | "unique_mapview_ptr"
    )
}

/// Transparent wrappers: what a value of `Wrapper<T>` owns is what `T` owns.
pub const WRAPPERS: &[&str] = &[
    "Option",
    "Mutex",
    "RwLock",
    "OnceLock",
    "OnceCell",
    "LazyLock",
    "Lazy",
    "RefCell",
    "Cell",
    "Arc",
    "Rc",
    "Box",
    "Vec",
    "VecDeque",
    "HashMap",
    "BTreeMap",
    "IndexMap",
    "ManuallyDrop",
    "UnsafeCell",
    "SyncLazy",
    "unique_ptr",
    "shared_ptr",
    "optional",
    "vector",
    "map",
    "unordered_map",
];

/// Map and set types (searching them by scan is the bug of `map_linear_scan`).
#[must_use]
pub fn is_map(name: &str) -> bool {
    matches!(
        name,
        "HashMap"
            | "BTreeMap"
            | "IndexMap"
            | "FxHashMap"
            | "AHashMap"
            | "DashMap"
            | "HashSet"
            | "BTreeSet"
            | "IndexSet"
            | "FxHashSet"
            | "map"
            | "unordered_map"
            | "set"
            | "unordered_set"
            | "multimap"
            | "flat_hash_map"
            | "flat_map"
    )
}

/// Set types: their elements are the keys.
#[must_use]
pub fn is_set(name: &str) -> bool {
    matches!(
        name,
        "HashSet" | "BTreeSet" | "IndexSet" | "FxHashSet" | "set" | "unordered_set"
    )
}

/// Lock types.
#[must_use]
pub fn is_lock(name: &str) -> bool {
    matches!(
        name,
        "Mutex"
            | "RwLock"
            | "ReentrantMutex"
            | "mutex"
            | "shared_mutex"
            | "recursive_mutex"
            | "timed_mutex"
            | "CRITICAL_SECTION"
            | "SRWLOCK"
            | "pthread_mutex_t"
    )
}

/// Integer types of 64 bits (untrusted when they come from a file or the OS).
#[must_use]
pub fn is_wide_int(name: &str) -> bool {
    matches!(
        name,
        "u64"
            | "i64"
            | "uint64_t"
            | "int64_t"
            | "off_t"
            | "off64_t"
            | "loff_t"
            | "streamoff"
            | "streampos"
            | "streamsize"
            | "LONGLONG"
            | "ULONGLONG"
            | "DWORD64"
            | "UINT64"
            | "INT64"
            | "__int64"
            | "uint64"
            | "int64"
            | "long long"
            | "unsigned long long"
    )
}

/// Integer types a 64-bit value is narrowed into (`usize` / `size_t` are 32-bit on 32-bit
/// targets).
#[must_use]
pub fn is_narrow_int(name: &str) -> bool {
    matches!(
        name,
        "usize"
            | "isize"
            | "u32"
            | "i32"
            | "u16"
            | "i16"
            | "u8"
            | "i8"
            | "size_t"
            | "ssize_t"
            | "uint32_t"
            | "int32_t"
            | "uint16_t"
            | "int16_t"
            | "uint8_t"
            | "int8_t"
            | "int"
            | "unsigned"
            | "unsigned int"
            | "long"
            | "unsigned long"
            | "DWORD"
            | "UINT"
            | "ULONG"
            | "uint32"
            | "int32"
            | "SIZE_T"
            | "uintptr_t"
            | "intptr_t"
    )
}

/// Symbol-resolving calls: the argument index of the symbol name.
#[must_use]
pub fn symbol_lookup(name: &str) -> Option<usize> {
    match name {
        "dlsym" | "GetProcAddress" | "dlvsym" => Some(1),
        _ => None,
    }
}

/// Words that name an init or deinit step of a native runtime.
#[must_use]
pub fn lifecycle_word(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let is_init = lower.ends_with("_init")
        || lower.ends_with("init")
        || lower.contains("initialize")
        || lower.contains("startup");
    let is_deinit = lower.ends_with("_close")
        || lower.ends_with("shutdown")
        || lower.ends_with("_destroy")
        || lower.ends_with("deinit")
        || lower.contains("uninitialize")
        || lower.ends_with("cleanup")
        || lower.ends_with("terminate")
        || lower.ends_with("finalize");
    if lower.contains("uninit") || lower.contains("deinit") || is_deinit {
        Some("deinit")
    } else if is_init && !lower.contains("assume_init") && !lower.ends_with("_with") {
        Some("init")
    } else {
        None
    }
}

/// Early-exit macros of C/C++ (and Rust) code bases, by their naming conventions:
/// `*_RETURN_IF*`, `*RETURN_IF_ERROR*`, `*CHECK_OR_RETURN*`, `RETURN_ON_*`, `*_OR_RETURN`.
#[must_use]
pub fn is_exit_macro_name(name: &str) -> bool {
    name.contains("RETURN_IF")
        || name.contains("CHECK_OR_RETURN")
        || name.ends_with("_OR_RETURN")
        || name.starts_with("RETURN_ON_")
        || name.contains("RETURN_UNLESS")
        || name.contains("return_if")
}

/// Whether a path segment is a `windows-sys` / `windows` module (`Win32::System::Memory`, …):
/// capitalized like a type, but `Module::Function(..)` under it is an FFI call, not a
/// constructor.
#[must_use]
pub fn is_win32_module(segment: &str) -> bool {
    matches!(
        segment,
        "Foundation"
            | "FileSystem"
            | "Memory"
            | "LibraryLoader"
            | "IO"
            | "Threading"
            | "Win32"
            | "System"
            | "Storage"
            | "Com"
            | "WinSock"
            | "Diagnostics"
            | "Debug"
            | "SystemInformation"
    )
}

/// Calls that take ownership of a raw handle: `OwnedFd::from_raw_fd`, `scopeguard::guard`,
/// `wil::scope_exit`, `unique_fd`, `.reset(h)` on a smart pointer.
#[must_use]
pub fn is_owner_call(name: &str) -> bool {
    name.starts_with("from_raw")
        || matches!(
            name,
            "guard"
                | "scope_exit"
                | "make_scope_exit"
                | "unique_fd"
                | "reset"
                | "make_unique"
                | "make_shared"
                | "defer"
                | "adopt"
        )
        || name.chars().next().is_some_and(char::is_uppercase) && !is_os_call(name, "")
}
