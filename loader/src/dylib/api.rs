//! [`Api<T>`]: a loaded library and the table of its functions, owned together.

use std::fmt;
use std::ops::Deref;
use std::path::Path;

use super::library::Library;
use super::linker::Linker;
use super::system::SystemLinker;
use super::table::{ApiTable, Resolver};
use crate::callsite;
use crate::error::Result;

/// A library and its resolved table, owned together so no function pointer in the table is
/// reachable after the library is unloaded through this object. Derefs to `T`.
///
/// Field order matters: the table is dropped before the library. What this cannot stop:
/// function pointers are `Copy`, so `let f = api.init;` copies one out, and calling it after
/// the `Api` is dropped is a use after unload. Call through the `Api` (`(api.init)(…)`), and
/// share the `Api` itself (`Arc<Api<T>>`) rather than pointers taken from it.
///
/// Two functions of the C math library, and one it does not have:
///
/// ```
/// use loadguard::dylib::{Api, ApiTable};
///
/// #[derive(ApiTable)]
/// struct LibM {
///     cos: unsafe extern "C" fn(x: f64) -> f64,
///     #[api(symbol = "sqrt")]
///     square_root: unsafe extern "C" fn(x: f64) -> f64,
///     #[api(optional)]
///     loadguard_not_in_libm: Option<unsafe extern "C" fn()>,
/// }
///
/// // The C math library, as each platform names it.
/// let name = if cfg!(windows) {
///     "msvcrt.dll"
/// } else if cfg!(target_os = "macos") {
///     "libSystem.B.dylib"
/// } else {
///     "libm.so.6"
/// };
/// // SAFETY: the C math library's initialisers are sound to run at any time, and it exports
/// // `cos` and `sqrt` with exactly these signatures.
/// let libm = unsafe { Api::<LibM>::open(name) }?;
/// // SAFETY: pure functions of one double.
/// unsafe {
///     assert_eq!((libm.cos)(0.0), 1.0);
///     assert_eq!((libm.square_root)(9.0), 3.0);
/// }
/// assert!(libm.loadguard_not_in_libm.is_none(), "a missing optional symbol is None");
/// # Ok::<(), loadguard::Error>(())
/// ```
///
/// To count the library in a resource ledger or inject `dlopen` / `dlsym` failures, open it
/// through a wrapped linker: `Api::open_with(&ledger.track_linker(SystemLinker), name)` (see
/// `loadguard::testing`).
pub struct Api<T> {
    table: T,
    library: Library,
}

impl<T: ApiTable> Api<T> {
    /// Opens the library at `path` with the platform's dynamic linker and resolves every
    /// symbol of `T`, each exactly once; a missing optional symbol is `None`.
    ///
    /// # Errors
    ///
    /// Located at the caller: the library cannot be loaded (an [`Error::Os`] with op `dlopen`
    /// / `LoadLibraryExW`, the path and the loader's text); a required symbol is missing (an
    /// [`Error::Os`] with op `dlsym` / `GetProcAddress`, the library path, `symbol=<name>` and
    /// the loader's text) or resolves to null ([`Error::NullSymbol`]).
    ///
    /// [`Error::Os`]: crate::Error::Os
    /// [`Error::NullSymbol`]: crate::Error::NullSymbol
    ///
    /// # Safety
    ///
    /// The library's initialisers must be sound to run now, and every symbol it exports under
    /// a name of `T` must have the signature of that field.
    #[track_caller]
    pub unsafe fn open(path: impl AsRef<Path>) -> Result<Self> {
        // SAFETY: forwarded to the caller.
        unsafe { Self::open_with(&SystemLinker, path) }
    }

    /// Like [`open`](Self::open), through `linker` (a wrapped or stand-in linker).
    ///
    /// # Errors
    ///
    /// As for [`open`](Self::open), with whatever `linker` reports for the load.
    ///
    /// # Safety
    ///
    /// As for [`open`](Self::open).
    #[track_caller]
    pub unsafe fn open_with(linker: &dyn Linker, path: impl AsRef<Path>) -> Result<Self> {
        let _site = callsite::enter();
        // SAFETY: forwarded to the caller.
        let library = unsafe { Library::open_with(linker, path)? };
        // SAFETY: forwarded to the caller: the exports have the table's signatures, and the
        // table is stored next to the library it came from.
        let table = unsafe { T::load(&mut Resolver::new(&library))? };
        Ok(Self { table, library })
    }
}

impl<T> Api<T> {
    /// The library the table was resolved from.
    #[must_use]
    pub fn library(&self) -> &Library {
        &self.library
    }

    /// The library's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.library.path()
    }
}

impl<T> Deref for Api<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.table
    }
}

impl<T> fmt::Debug for Api<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Api")
            .field("table", &std::any::type_name::<T>())
            .field("library", &self.library)
            .finish()
    }
}
