//! [`SystemLinker`]: the platform's dynamic linker, through `libloading` (`dlopen` / `dlsym` /
//! `dlclose` on Unix, `LoadLibraryExW` / `GetProcAddress` / `FreeLibrary` on Windows).

use std::error::Error as _;
use std::ffi::{CStr, c_void};
use std::io;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use super::linker::{Linker, SymbolSource};
use crate::error::{Error, OsError, Result};

/// The open call named in errors (the harness's injected failures name it too).
#[cfg(windows)]
pub(crate) const OPEN_OP: &str = "LoadLibraryExW";
#[cfg(not(windows))]
pub(crate) const OPEN_OP: &str = "dlopen";

/// The platform's dynamic linker: what [`Api::open`](super::Api::open) and
/// [`Library::open`](super::Library::open) use. Pass it (or a wrapper of it) to the `open_with`
/// constructors to have the harness watch it:
///
/// ```
/// use loadguard::dylib::{Library, SystemLinker};
/// use loadguard::testing::{Ledger, ResourceKind};
///
/// let ledger = Ledger::new();
/// let linker = ledger.track_linker(SystemLinker);
/// // SAFETY: the path does not exist, so nothing is loaded or run.
/// let err = unsafe { Library::open_with(&linker, "/nonexistent/libnothing.so") }.unwrap_err();
/// assert_eq!(err.op(), Some(if cfg!(windows) { "LoadLibraryExW" } else { "dlopen" }));
/// assert_eq!(ledger.acquired(ResourceKind::Library), 0);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLinker;

/// A library `libloading` opened, with the path it was opened from.
struct SystemLibrary {
    inner: libloading::Library,
    path: PathBuf,
}

impl Linker for SystemLinker {
    unsafe fn open(&self, path: &Path) -> Result<Box<dyn SymbolSource>> {
        // SAFETY: forwarded to the caller: the library's initialisers are sound to run.
        match unsafe { libloading::Library::new(path) } {
            Ok(inner) => Ok(Box::new(SystemLibrary {
                inner,
                path: path.to_path_buf(),
            })),
            Err(err) => Err(Error::os(OPEN_OP, path, os_error(&err))),
        }
    }
}

impl SymbolSource for SystemLibrary {
    fn path(&self) -> &Path {
        &self.path
    }

    fn lookup(&self, name: &CStr) -> std::result::Result<Option<NonNull<c_void>>, OsError> {
        // SAFETY: the symbol is read as a plain address (`*mut c_void`, pointer-sized), which
        // is never dereferenced here; whoever turns it into a function pointer answers for the
        // signature (`Resolver::required` is `unsafe` for that). The address does escape the
        // `Symbol<'_>` borrow: `Api` keeps the library alive as long as the table.
        let symbol = unsafe { self.inner.get::<*mut c_void>(name.to_bytes_with_nul()) };
        match symbol {
            Ok(symbol) => Ok(NonNull::new(*symbol)),
            Err(err) => Err(os_error(&err)),
        }
    }
}

/// The OS's own words for a `libloading` failure: the `dlerror` text (which names the library
/// and the symbol), or on Windows the `GetLastError` code and text.
fn os_error(err: &libloading::Error) -> OsError {
    let mut source = err.source();
    let mut text = String::new();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            if io.raw_os_error().is_some() {
                return OsError::from_io(io);
            }
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if text.is_empty() {
        // Only the "failed, but the system did not report why" variants have no source.
        text = err.to_string();
    }
    OsError::from_io(&io::Error::other(text))
}
