//! [`ApiTable`]: a struct of foreign function pointers, its [`Symbol`]s, and the [`Resolver`]
//! its loader resolves them through.

use std::ffi::{CStr, c_void};
use std::fmt;
use std::panic::Location;
use std::ptr::NonNull;

use super::linker::SymbolSource;
use crate::callsite;
use crate::error::{Error, OsFailure, Result};

/// One symbol of an [`ApiTable`]: its C name and whether the table can do without it.
///
/// ```
/// use loadguard::dylib::Symbol;
///
/// const INIT: Symbol = Symbol::required(b"EnnInitialize\0");
/// assert_eq!(INIT.name(), c"EnnInitialize");
/// assert!(!INIT.is_optional());
/// assert_eq!(INIT.to_string(), "EnnInitialize");
/// ```
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
/// Derive it (`#[derive(ApiTable)]`, imported together with this trait from
/// `loadguard::dylib`): the derive checks at compile time that every field is an
/// `unsafe extern "C" fn` (or an `#[api(optional)]` `Option` of one) and that no two fields
/// resolve the same symbol, and generates a [`load`](Self::load) that resolves each symbol
/// exactly once. Open one with [`Api::open`](super::Api::open).
pub trait ApiTable: Sized {
    /// Every symbol of the table, in field order.
    const SYMBOLS: &'static [Symbol];

    /// Resolves every symbol through `resolver` and builds the table.
    ///
    /// # Errors
    ///
    /// The first required symbol the source cannot resolve: an [`Error::Os`] (op `dlsym` /
    /// `GetProcAddress`, `symbol=<name>`) or an [`Error::NullSymbol`].
    ///
    /// # Safety
    ///
    /// Each address `resolver` yields for a symbol must be a function with exactly the
    /// signature of that symbol's field, callable for as long as the table is used (keep the
    /// table inside an [`Api`](super::Api) so it cannot outlive its library).
    unsafe fn load(resolver: &mut Resolver<'_>) -> Result<Self>;
}

/// Hands a table's loader one typed function pointer per symbol.
///
/// [`Api::open`](super::Api::open) makes one for you; build one yourself to load a table from
/// a [`Library`](super::Library) you keep, or from any other [`SymbolSource`].
pub struct Resolver<'a> {
    source: &'a dyn SymbolSource,
    /// Where the load was requested (the user's call of the loadguard operation in progress,
    /// else the caller of [`Resolver::new`] unless that is inside loadguard); symbol errors
    /// point there rather than into this module or the derive's expansion.
    location: Option<&'static Location<'static>>,
}

impl<'a> Resolver<'a> {
    /// A resolver over `source`; errors are located at the user's call.
    #[track_caller]
    #[must_use]
    pub fn new(source: &'a dyn SymbolSource) -> Self {
        Self {
            source,
            location: callsite::user_site(Location::caller()),
        }
    }

    /// The function pointer for a required `symbol`.
    ///
    /// # Errors
    ///
    /// [`Error::Os`] (op `dlsym` / `GetProcAddress`) naming the symbol, the library and the
    /// loader's text when the source has no such symbol; [`Error::NullSymbol`] when it
    /// resolves to a null address. Both are located where the resolver was made (this is
    /// called from the derive's expansion, whose location would tell the user nothing).
    ///
    /// # Safety
    ///
    /// `F` must be a function-pointer type whose signature is the one the symbol really has.
    pub unsafe fn required<F: Copy>(&mut self, symbol: &Symbol) -> Result<F> {
        match self.source.lookup(symbol.name) {
            // SAFETY: forwarded to the caller: `F` is the symbol's function-pointer type.
            Ok(Some(address)) => Ok(unsafe { cast(address) }),
            Ok(None) => Err(Error::NullSymbol {
                library: self.source.path().to_path_buf(),
                symbol: symbol.to_string(),
                location: self.location,
            }),
            Err(os) => {
                let mut failure = OsFailure::new(self.source.lookup_op(), self.source.path(), os)
                    .arg("symbol", symbol);
                failure.location = self.location;
                Err(Error::from(failure))
            }
        }
    }

    /// The function pointer for an optional `symbol`, `None` when the library lacks it (or
    /// it resolves to a null address).
    ///
    /// # Safety
    ///
    /// As for [`required`](Self::required).
    pub unsafe fn optional<F: Copy>(&mut self, symbol: &Symbol) -> Option<F> {
        let address = self.source.lookup(symbol.name).ok()??;
        // SAFETY: forwarded to the caller: `F` is the symbol's function-pointer type.
        Some(unsafe { cast(address) })
    }
}

impl fmt::Debug for Resolver<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("library", &self.source.path())
            .field("location", &self.location)
            .finish()
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
