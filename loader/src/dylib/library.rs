//! [`Library`]: one open dynamic library, closed when dropped.

use std::ffi::{CStr, c_void};
use std::fmt;
use std::panic::Location;
use std::path::Path;
use std::ptr::NonNull;

use super::linker::{Linker, SymbolSource};
use super::system::SystemLinker;
use crate::callsite;
use crate::error::{Error, OsError, Result};

/// An open dynamic library, with the path it was opened from. Dropping it closes the library.
///
/// Usually owned by an [`Api`](super::Api), which resolves a whole table from it; open one
/// yourself to resolve tables through a [`Resolver`](super::Resolver) you build (and keep each
/// table from outliving the library yourself — what `Api` does for you):
///
/// ```
/// use loadguard::dylib::{ApiTable, Library, Resolver};
///
/// #[derive(ApiTable)]
/// struct Cos {
///     cos: unsafe extern "C" fn(x: f64) -> f64,
/// }
///
/// let name = if cfg!(windows) {
///     "msvcrt.dll"
/// } else if cfg!(target_os = "macos") {
///     "libSystem.B.dylib"
/// } else {
///     "libm.so.6"
/// };
/// // SAFETY: the C math library's initialisers are sound to run at any time.
/// let libm = unsafe { Library::open(name) }?;
/// // SAFETY: `cos` has exactly this signature; `table` is dropped before `libm`.
/// let table = unsafe { Cos::load(&mut Resolver::new(&libm)) }?;
/// // SAFETY: a pure function.
/// assert_eq!(unsafe { (table.cos)(0.0) }, 1.0);
/// drop(table);
/// drop(libm); // dlclose
/// # Ok::<(), loadguard::Error>(())
/// ```
pub struct Library {
    source: Box<dyn SymbolSource>,
}

impl Library {
    /// Opens the library at `path` with the platform's dynamic linker.
    ///
    /// # Errors
    ///
    /// The library cannot be loaded: an [`Error::Os`] naming `dlopen` / `LoadLibraryExW`, the
    /// path and the loader's text, located at the caller.
    ///
    /// # Safety
    ///
    /// Loading runs the library's initialisers (constructors, `DllMain`); they must be sound
    /// to run in this process at this point.
    #[track_caller]
    pub unsafe fn open(path: impl AsRef<Path>) -> Result<Self> {
        // SAFETY: forwarded to the caller.
        unsafe { Self::open_with(&SystemLinker, path) }
    }

    /// Opens the library at `path` through `linker` (a wrapped or stand-in linker).
    ///
    /// # Errors
    ///
    /// Whatever `linker` reports, located at the caller.
    ///
    /// # Safety
    ///
    /// As for [`Linker::open`]: the library's initialisers must be sound to run now.
    #[track_caller]
    pub unsafe fn open_with(linker: &dyn Linker, path: impl AsRef<Path>) -> Result<Self> {
        let _site = callsite::enter();
        let site = callsite::user_site(Location::caller());
        // SAFETY: forwarded to the caller.
        match unsafe { linker.open(path.as_ref()) } {
            Ok(source) => Ok(Self { source }),
            Err(err) => Err(located(err, site)),
        }
    }

    /// The path the library was opened from.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.source.path()
    }
}

/// Points an OS error that a linker built inside loadguard (or inside a wrapper) at the
/// user's call.
fn located(mut err: Error, site: Option<&'static Location<'static>>) -> Error {
    if let (Error::Os(failure), Some(site)) = (&mut err, site) {
        failure.location = Some(site);
    }
    err
}

impl fmt::Debug for Library {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Library")
            .field("path", &self.path())
            .finish_non_exhaustive()
    }
}

impl SymbolSource for Library {
    fn path(&self) -> &Path {
        self.source.path()
    }

    fn lookup_op(&self) -> &'static str {
        self.source.lookup_op()
    }

    fn lookup(&self, name: &CStr) -> std::result::Result<Option<NonNull<c_void>>, OsError> {
        self.source.lookup(name)
    }
}
