//! The dynamic-linker seam: [`Linker`] opens libraries (`dlopen` / `LoadLibraryExW`), and an
//! open library is a [`SymbolSource`] (`dlsym` / `GetProcAddress`) that closes when dropped
//! (`dlclose` / `FreeLibrary`).
//!
//! Files sit behind `os::Os` the same way: the table loaders above this seam never call the
//! platform, so the harness in `loadguard::testing` can wrap any linker with a resource
//! ledger or a fault plan, and tests (and Miri, which cannot load libraries) can stand in a
//! linker whose "libraries" are plain Rust functions.

use std::ffi::{CStr, c_void};
use std::path::Path;
use std::ptr::NonNull;

use crate::error::{OsError, Result};

/// The lookup call named in errors, so they read like the OS's own vocabulary.
#[cfg(windows)]
const LOOKUP_OP: &str = "GetProcAddress";
#[cfg(not(windows))]
const LOOKUP_OP: &str = "dlsym";

/// Something that opens dynamic libraries: the platform's dynamic linker
/// ([`SystemLinker`](super::SystemLinker)), a wrapper around another linker (the ledger's and
/// the fault plans' in `loadguard::testing`), or a stand-in serving Rust functions.
///
/// A stand-in linker whose libraries are Rust functions, as Miri tests use:
///
/// ```
/// use std::ffi::{CStr, c_void};
/// use std::path::{Path, PathBuf};
/// use std::ptr::NonNull;
/// use loadguard::OsError;
/// use loadguard::dylib::{Api, ApiTable, Linker, SymbolSource};
///
/// unsafe extern "C" fn answer() -> i32 {
///     42
/// }
///
/// struct InProcess;
/// struct InProcessLibrary(PathBuf);
///
/// impl Linker for InProcess {
///     unsafe fn open(&self, path: &Path) -> loadguard::Result<Box<dyn SymbolSource>> {
///         Ok(Box::new(InProcessLibrary(path.to_path_buf())))
///     }
/// }
///
/// impl SymbolSource for InProcessLibrary {
///     fn path(&self) -> &Path {
///         &self.0
///     }
///     fn lookup(&self, name: &CStr) -> Result<Option<NonNull<c_void>>, OsError> {
///         let answer: unsafe extern "C" fn() -> i32 = answer;
///         match name.to_bytes() {
///             b"answer" => Ok(NonNull::new(answer as *mut c_void)),
///             _ => Err(OsError::from_io(&std::io::Error::other("undefined symbol"))),
///         }
///     }
/// }
///
/// #[derive(ApiTable)]
/// struct Answers {
///     answer: unsafe extern "C" fn() -> i32,
/// }
///
/// // SAFETY: `answer` is registered with exactly the signature of its field.
/// let api = unsafe { Api::<Answers>::open_with(&InProcess, "in-process") }?;
/// // SAFETY: a plain function.
/// assert_eq!(unsafe { (api.answer)() }, 42);
/// # Ok::<(), loadguard::Error>(())
/// ```
pub trait Linker: Send + Sync {
    /// Opens the library at `path`. Dropping the returned source closes it.
    ///
    /// # Errors
    ///
    /// The library cannot be loaded: an [`Error::Os`](crate::Error::Os) naming the call (`dlopen`,
    /// `LoadLibraryExW`), the path and the loader's own text.
    ///
    /// # Safety
    ///
    /// Loading runs the library's initialisers (constructors, `DllMain`); they must be sound
    /// to run in this process at this point.
    unsafe fn open(&self, path: &Path) -> Result<Box<dyn SymbolSource>>;
}

/// Where symbols come from: an open library, or in tests a list of Rust functions. Dropping
/// an open library's source closes the library.
pub trait SymbolSource: Send + Sync {
    /// The library's path (or a label), for errors.
    fn path(&self) -> &Path;

    /// The lookup call named in errors (`dlsym`, `GetProcAddress`, …).
    fn lookup_op(&self) -> &'static str {
        LOOKUP_OP
    }

    /// The address of `name`: `Ok(None)` when the library exports it at a null address (an
    /// undefined weak symbol; no function lives there), `Err` with the loader's explanation
    /// when it does not export it.
    ///
    /// # Errors
    ///
    /// The library has no symbol `name`; the error carries the loader's text (`dlerror`) or
    /// code (`GetLastError`).
    fn lookup(&self, name: &CStr) -> std::result::Result<Option<NonNull<c_void>>, OsError>;
}
