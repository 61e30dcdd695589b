//! [`Api<T>`]: a loaded library and the table of its functions, owned together.

use std::error::Error as _;
use std::ffi::{CStr, c_void};
use std::fmt;
use std::io;
use std::ops::Deref;
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use crate::error::{Error, OsError, OsFailure, Result};

/// The lookup call named in errors, so they read like the OS's own vocabulary.
#[cfg(windows)]
const LOOKUP_OP: &str = "GetProcAddress";
#[cfg(not(windows))]
const LOOKUP_OP: &str = "dlsym";
#[cfg(windows)]
const OPEN_OP: &str = "LoadLibraryExW";
#[cfg(not(windows))]
const OPEN_OP: &str = "dlopen";

/// One symbol of an [`ApiTable`]: its C name and whether the table can do without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbol {
    name: &'static CStr,
    optional: bool,
}

impl Symbol {
    /// A symbol the table cannot load without. `name` must end in its only NUL byte; in a
    /// `const` (where the derive puts it) a bad name is a compile error.
    #[must_use]
    pub const fn required(name: &'static [u8]) -> Self {
        Self {
            name: c_name(name),
            optional: false,
        }
    }

    /// A symbol whose absence leaves its field `None`.
    #[must_use]
    pub const fn optional(name: &'static [u8]) -> Self {
        Self {
            name: c_name(name),
            optional: true,
        }
    }

    /// The exported name.
    #[must_use]
    pub const fn name(&self) -> &'static CStr {
        self.name
    }

    /// Whether a missing symbol is `None` rather than an error.
    #[must_use]
    pub const fn is_optional(&self) -> bool {
        self.optional
    }
}

const fn c_name(name: &'static [u8]) -> &'static CStr {
    match CStr::from_bytes_with_nul(name) {
        Ok(name) => name,
        Err(_) => panic!("a symbol name must end in its only NUL byte"),
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name.to_string_lossy())
    }
}

/// A struct of foreign function pointers that can be resolved from a library.
///
/// Derive it (`#[derive(loadguard::ApiTable)]`): the derive checks at compile time that every
/// field is an `unsafe extern "C" fn` (or an `#[api(optional)]` `Option` of one) and that no
/// two fields resolve the same symbol, and generates a [`load`](Self::load) that resolves each
/// symbol exactly once.
pub trait ApiTable: Sized {
    /// Every symbol of the table, in field order.
    const SYMBOLS: &'static [Symbol];

    /// Resolves every symbol through `resolver` and builds the table; the first missing
    /// required symbol is the error.
    ///
    /// # Safety
    ///
    /// Each address `resolver` yields for a symbol must be a function with exactly the
    /// signature of that symbol's field, callable for as long as the table is used (keep the
    /// table inside an [`Api`] so it cannot outlive its library).
    unsafe fn load(resolver: &mut Resolver<'_>) -> Result<Self>;
}

/// Where symbols come from: a loaded [`Library`], or in tests a list of Rust functions.
pub trait SymbolSource {
    /// The library's path (or a label), for errors.
    fn path(&self) -> &Path;

    /// The lookup call named in errors (`dlsym`, `GetProcAddress`, …).
    fn lookup_op(&self) -> &'static str {
        LOOKUP_OP
    }

    /// The address of `name`, or the OS's explanation of why there is none. A null address
    /// must be reported as missing: no function lives at null.
    fn lookup(&self, name: &CStr) -> std::result::Result<NonNull<c_void>, OsError>;
}

/// Hands a table's loader one typed function pointer per symbol.
pub struct Resolver<'a> {
    source: &'a dyn SymbolSource,
    /// Where the load was requested; missing-symbol errors point there rather than into this
    /// module or the derive's expansion.
    location: &'static Location<'static>,
}

impl<'a> Resolver<'a> {
    /// A resolver over `source`; errors are located at the caller.
    #[track_caller]
    #[must_use]
    pub fn new(source: &'a dyn SymbolSource) -> Self {
        Self {
            source,
            location: Location::caller(),
        }
    }

    /// The function pointer for a required `symbol`, or an OS error (`dlsym` /
    /// `GetProcAddress`) naming the symbol, the library and the loader's text.
    ///
    /// # Safety
    ///
    /// `F` must be a function-pointer type whose signature is the one the symbol really has.
    pub unsafe fn required<F: Copy>(&mut self, symbol: &Symbol) -> Result<F> {
        match self.source.lookup(symbol.name) {
            // SAFETY: forwarded to the caller: `F` is the symbol's function-pointer type.
            Ok(address) => Ok(unsafe { cast(address) }),
            Err(os) => {
                let mut failure = OsFailure::new(self.source.lookup_op(), self.source.path(), os)
                    .arg("symbol", symbol);
                failure.location = Some(self.location);
                Err(Error::from(failure))
            }
        }
    }

    /// The function pointer for an optional `symbol`, `None` when the library lacks it.
    ///
    /// # Safety
    ///
    /// As for [`required`](Self::required).
    pub unsafe fn optional<F: Copy>(&mut self, symbol: &Symbol) -> Option<F> {
        let address = self.source.lookup(symbol.name).ok()?;
        // SAFETY: forwarded to the caller: `F` is the symbol's function-pointer type.
        Some(unsafe { cast(address) })
    }
}

/// Reinterprets a symbol address as the function pointer `F`.
///
/// # Safety
///
/// `F` must be a function-pointer type and `address` a function of that signature.
unsafe fn cast<F: Copy>(address: NonNull<c_void>) -> F {
    const {
        assert!(
            size_of::<F>() == size_of::<*mut c_void>(),
            "an ApiTable field must be a function pointer"
        );
    }
    let raw: *mut c_void = address.as_ptr();
    // SAFETY: same size (checked above at compile time); the caller promised `F` is a
    // function pointer to a function at `address`, and function pointers and data pointers
    // share one representation on every target `libloading` supports.
    unsafe { std::mem::transmute_copy::<*mut c_void, F>(&raw) }
}

/// A dynamic library opened with `dlopen` / `LoadLibraryExW` (through `libloading`), with the
/// path it was opened from.
pub struct Library {
    inner: libloading::Library,
    path: PathBuf,
    /// The ledger's record of this library; declared after `inner` so it is released after
    /// the library is closed.
    #[cfg(any(test, loom, fuzzing, feature = "testing"))]
    receipt: Option<crate::testing::Receipt>,
}

impl Library {
    /// Opens the library at `path`. A failure names the path and the loader's error text.
    ///
    /// # Safety
    ///
    /// Loading runs the library's initialisers (constructors, `DllMain`); they must be sound
    /// to run in this process at this point.
    #[track_caller]
    pub unsafe fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        // SAFETY: forwarded to the caller: the library's initialisers are sound to run.
        match unsafe { libloading::Library::new(path) } {
            Ok(inner) => Ok(Self {
                inner,
                path: path.to_path_buf(),
                #[cfg(any(test, loom, fuzzing, feature = "testing"))]
                receipt: None,
            }),
            Err(err) => Err(Error::os(OPEN_OP, path, os_error(&err))),
        }
    }

    /// The path the library was opened from.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records the library in `ledger` (kind
    /// [`Library`](crate::testing::ResourceKind::Library)) until it is closed, attributed to
    /// the caller.
    #[cfg(any(test, loom, fuzzing, feature = "testing"))]
    #[must_use]
    #[track_caller]
    pub fn track(mut self, ledger: &crate::testing::Ledger) -> Self {
        let receipt = ledger.acquire(crate::testing::ResourceKind::Library, self.path.display());
        self.receipt = Some(receipt);
        self
    }
}

impl fmt::Debug for Library {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Library")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SymbolSource for Library {
    fn path(&self) -> &Path {
        &self.path
    }

    fn lookup(&self, name: &CStr) -> std::result::Result<NonNull<c_void>, OsError> {
        // SAFETY: the symbol is read as a plain address (`*mut c_void`, pointer-sized), which
        // is never dereferenced here; whoever turns it into a function pointer answers for the
        // signature (`Resolver::required` is `unsafe` for that). The address does escape the
        // `Symbol<'_>` borrow: `Api` keeps the library alive as long as the table.
        let symbol = unsafe { self.inner.get::<*mut c_void>(name.to_bytes_with_nul()) };
        match symbol {
            Ok(symbol) => NonNull::new(*symbol).ok_or_else(|| {
                OsError::from_io(&io::Error::other(format!(
                    "{}: symbol {} resolves to a null address",
                    self.path.display(),
                    name.to_string_lossy()
                )))
            }),
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

/// A library and its resolved table, owned together so no function pointer in the table is
/// reachable after the library is unloaded through this object. Derefs to `T`.
///
/// Field order matters: the table is dropped before the library. What this cannot stop:
/// function pointers are `Copy`, so `let f = api.init;` copies one out, and calling it after
/// the `Api` is dropped is a use after unload. Call through the `Api` (`(api.init)(…)`), and
/// share the `Api` itself (`Arc<Api<T>>`) rather than pointers taken from it.
///
/// ```no_run
/// use loadguard::ApiTable;
/// use loadguard::dylib::{Api, Lifecycle, with_out_param};
/// use std::sync::Arc;
///
/// #[derive(ApiTable)]
/// struct Enn {
///     #[api(symbol = "EnnInitialize")]
///     init: unsafe extern "C" fn(status: *mut i32) -> i32,
///     #[api(symbol = "EnnDeinitialize")]
///     deinit: unsafe extern "C" fn(),
///     #[api(optional)]
///     EnnTrace: Option<unsafe extern "C" fn(level: u32)>,
/// }
///
/// # fn main() -> loadguard::Result<()> {
/// // SAFETY: the vendor library's initialisers are sound to run, and it exports these
/// // symbols with these signatures.
/// let api = Arc::new(unsafe { Api::<Enn>::open("libenn.so")? });
/// let (a, b) = (Arc::clone(&api), Arc::clone(&api));
/// let lifecycle = Arc::new(Lifecycle::new(
///     // SAFETY: EnnInitialize writes its status whenever it returns 0.
///     move || unsafe { with_out_param(|s| (a.init)(s), |&rc| rc == 0) }.map(drop),
///     // SAFETY: called only after a successful init.
///     move || unsafe { (b.deinit)() },
/// ));
/// let session = Lifecycle::acquire_owned(&lifecycle).map_err(|status| {
///     loadguard::Error::InvalidOption(format!("EnnInitialize failed: {status}"))
/// })?;
/// if let Some(trace) = api.EnnTrace {
///     // SAFETY: a plain setter.
///     unsafe { trace(1) };
/// }
/// drop(session); // the last session: EnnDeinitialize runs here
/// # Ok(())
/// # }
/// ```
pub struct Api<T> {
    table: T,
    library: Library,
}

impl<T: ApiTable> Api<T> {
    /// Opens the library at `path` and resolves every symbol of `T`, each exactly once.
    ///
    /// A missing required symbol is an [`Error::Os`] with op `dlsym` / `GetProcAddress`, the
    /// library path, `symbol=<name>` and the loader's text; a missing optional one is `None`.
    ///
    /// # Safety
    ///
    /// The library's initialisers must be sound to run now, and every symbol it exports under
    /// a name of `T` must have the signature of that field.
    #[track_caller]
    pub unsafe fn open(path: impl AsRef<Path>) -> Result<Self> {
        // SAFETY: forwarded to the caller.
        let library = unsafe { Library::open(path)? };
        // SAFETY: forwarded to the caller: the exports have the table's signatures, and the
        // table is stored next to the library it came from.
        let table = unsafe { T::load(&mut Resolver::new(&library))? };
        Ok(Self { table, library })
    }
}

impl<T> Api<T> {
    /// Records the library in `ledger` until the `Api` is dropped (see [`Library::track`]).
    #[cfg(any(test, loom, fuzzing, feature = "testing"))]
    #[must_use]
    #[track_caller]
    pub fn track(mut self, ledger: &crate::testing::Ledger) -> Self {
        self.library = self.library.track(ledger);
        self
    }

    /// The library the table was resolved from.
    #[must_use]
    pub fn library(&self) -> &Library {
        &self.library
    }

    /// The library's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.library.path
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
