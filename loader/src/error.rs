//! The one error type of loadguard.
//!
//! Every OS failure carries the operation, the path it concerned, the OS error captured at the
//! failing call, and the call site; range, size and format errors say the offset, length and
//! file size. A cause is displayed or returned from `source()`, never both: an OS failure's
//! `Display` says what failed and where, its source is the OS error, and [`Error::chain`] shows
//! the two together, as a log line or a command's message should:
//!
//! ```text
//! mmap /models/a.bin (len=4096) failed at src/main.rs:40:17: Cannot allocate memory (os error 12)
//! ```

use std::fmt;
use std::io;
use std::ops::Range;
use std::panic::Location;
use std::path::{Path, PathBuf};

use crate::format::FormatError;
use crate::shm::ShmError;
use crate::size::SizeError;

/// `Result` with loadguard's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An OS error code and its text, captured at the failing call.
///
/// Build it with [`OsError::last`] as the very next operation after the failing call (before
/// any other call — logging included — can overwrite errno / `GetLastError`), or with
/// [`OsError::from_io`] from an `io::Error` that already captured it (std, memmap2 and rustix
/// capture the code inside the failing call itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsError {
    code: Option<i32>,
    text: String,
}

impl OsError {
    /// Reads errno (Unix) or `GetLastError` (Windows) now.
    #[must_use]
    pub fn last() -> Self {
        Self::from_io(&io::Error::last_os_error())
    }

    /// The OS error with this raw code (`errno` value or Windows error code).
    #[must_use]
    pub fn from_code(code: i32) -> Self {
        Self::from_io(&io::Error::from_raw_os_error(code))
    }

    /// Takes the code an `io::Error` captured; errors that never came from the OS keep only
    /// their text.
    #[must_use]
    #[track_caller]
    pub fn from_io(err: &io::Error) -> Self {
        match err.raw_os_error() {
            // io::Error's Display appends " (os error N)"; keep the bare text and add the
            // code ourselves so both halves stay separately matchable.
            Some(code) => {
                let full = err.to_string();
                let suffix = format!(" (os error {code})");
                let text = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
                Self {
                    code: Some(code),
                    text,
                }
            }
            None => Self {
                code: None,
                text: err.to_string(),
            },
        }
    }

    /// The raw OS error code, if the error came from the OS.
    #[must_use]
    pub fn code(&self) -> Option<i32> {
        self.code
    }

    /// The OS's text for the error.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Converts back into an `io::Error` (same raw code when there is one).
    #[must_use]
    pub fn to_io(&self) -> io::Error {
        match self.code {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::other(self.text.clone()),
        }
    }
}

impl fmt::Display for OsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "{} (os error {code})", self.text),
            None => f.write_str(&self.text),
        }
    }
}

/// The path shown in errors about sources that live in memory rather than in a file.
pub(crate) const MEMORY_LABEL: &str = "<memory>";

/// An OS call that failed: what, on which file, with which arguments, why, and from where.
///
/// Its `Display` says what failed and where ("`mmap /m.bin (len=4096) failed at src/main.rs:9:5`");
/// the OS error itself is its [`source`](std::error::Error::source), as thiserror's convention
/// has it (a cause is displayed or returned, never both). [`Error::chain`] shows both.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OsFailure {
    /// The call that failed: `open`, `fstat`, `mmap`, `madvise`, `pread`, `CreateFileMappingW`, …
    pub op: &'static str,
    /// The file (or resource label) the call concerned.
    pub path: PathBuf,
    /// The arguments worth naming (`offset`, `len`, …), in the order given.
    pub args: Vec<(&'static str, String)>,
    /// The OS error captured at the failing call.
    pub os: OsError,
    /// Where the user's code called the loadguard operation that failed (the outermost
    /// `#[track_caller]` entry point in progress on this thread), or the user's own `os_call!`;
    /// `None` when neither is known (e.g. a direct call of an [`Os`](crate::os::Os) method).
    /// Never a place inside loadguard.
    pub location: Option<&'static Location<'static>>,
}

impl OsFailure {
    /// A failure of `op` on `path` with the captured `os` error, located at the user's call of
    /// the loadguard operation in progress, or else at the caller of this (as from a user's own
    /// `os_call!`) unless that is inside loadguard (see [`location`](Self::location)).
    #[must_use]
    #[track_caller]
    pub fn new(op: &'static str, path: impl Into<PathBuf>, os: OsError) -> Self {
        Self {
            op,
            path: path.into(),
            args: Vec::new(),
            os,
            location: crate::callsite::user_site(Location::caller()),
        }
    }

    /// Names one argument of the failing call.
    #[must_use]
    pub fn arg(mut self, name: &'static str, value: impl fmt::Display) -> Self {
        self.args.push((name, value.to_string()));
        self
    }
}

impl fmt::Display for OsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op, self.path.display())?;
        if !self.args.is_empty() {
            f.write_str(" (")?;
            for (i, (name, value)) in self.args.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{name}={value}")?;
            }
            f.write_str(")")?;
        }
        f.write_str(" failed")?;
        match self.location {
            Some(at) => write!(f, " at {at}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for OsFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.os)
    }
}

impl std::error::Error for OsError {}

impl OsError {
    /// The error's kind, as `io::Error` classifies its code.
    #[must_use]
    pub fn kind(&self) -> io::ErrorKind {
        self.to_io().kind()
    }
}

/// Everything that can go wrong in loadguard.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An OS call failed. Its [`source`](std::error::Error::source) is the [`OsError`].
    #[error(transparent)]
    Os(Box<OsFailure>),
    /// A requested byte range does not lie inside the source.
    #[error("{}: range of {len} bytes at offset {offset} is outside the file of {file_size} bytes", path.display())]
    OutOfRange {
        /// The file.
        path: PathBuf,
        /// First byte asked for.
        offset: u64,
        /// Number of bytes asked for.
        len: u64,
        /// The file's size.
        file_size: u64,
    },
    /// The file ended before the size it had when it was opened: it shrank while being read.
    #[error("{}: file ended at offset {offset} but was {file_size} bytes when opened (truncated while loading?)", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Where the read hit end of file.
        offset: u64,
        /// The size the file had when it was opened.
        file_size: u64,
    },
    /// A size did not survive a checked conversion or computation.
    #[error("{}: {error}", path.display())]
    Size {
        /// The file the size belongs to.
        path: PathBuf,
        /// What went wrong (displayed, so not also a `source()`).
        error: SizeError,
    },
    /// A model file broke a rule of its format.
    #[error(transparent)]
    Format(Box<FormatError>),
    /// The path names something that is not a regular file, and the options do not
    /// [read streams](crate::LoadOptions::read_streams).
    #[error("{}: not a regular file but {kind}, with no size or identity to load by{}", path.display(), if kind.is_stream() { " (LoadOptions::read_streams reads it to its end)" } else { "" })]
    NotRegularFile {
        /// The path.
        path: PathBuf,
        /// What it names.
        kind: crate::os::FileKind,
    },
    /// A stream was longer than the limit given to
    /// [`read_streams`](crate::LoadOptions::read_streams).
    #[error("{}: {kind} longer than the limit of {limit} bytes", path.display())]
    StreamTooLong {
        /// The path.
        path: PathBuf,
        /// What it names.
        kind: crate::os::FileKind,
        /// The limit.
        limit: u64,
    },
    /// [`LoadMode::Map`](crate::LoadMode::Map) was asked for a file that could change under a
    /// mapping (not a sealed memfd, no fs-verity) without
    /// [`assume_immutable`](crate::LoadOptions::assume_immutable).
    #[error("{}: not mapped: the file could change under a mapping (no F_SEAL_WRITE|F_SEAL_SHRINK seals, no fs-verity); use LoadMode::Auto or Read for a shared copy, or the unsafe LoadOptions::assume_immutable", path.display())]
    MapRefused {
        /// The file.
        path: PathBuf,
    },
    /// A prefault found pages of the mapping past the end of the file: it is shorter than
    /// when it was mapped.
    #[error("{}: the file is shorter than its mapping: prefault of {len} bytes at offset {offset} found pages past its end (truncated after it was mapped)", path.display())]
    ShrunkUnderMapping {
        /// The file.
        path: PathBuf,
        /// Start of the prefaulted range.
        offset: u64,
        /// Length of the prefaulted range.
        len: u64,
    },
    /// A shared-memory pool refused a request ([`ShmError`] says which and why).
    #[error(transparent)]
    Shm(#[from] ShmError),
    // --- dylib ---
    /// A required symbol of a dynamic library resolved to a null address (an undefined weak
    /// symbol): no function lives there.
    #[error("{}: symbol {symbol} resolves to a null address{}", library.display(), location.map(|at| format!(" at {at}")).unwrap_or_default())]
    NullSymbol {
        /// The library.
        library: PathBuf,
        /// The symbol.
        symbol: String,
        /// Where the user's code asked for the table's load (as [`OsFailure::location`]).
        location: Option<&'static Location<'static>>,
    },
    /// A dynamic library's initialise call reported failure (for a
    /// [`dylib::Lifecycle`](crate::dylib::Lifecycle)'s init to return as its error).
    #[error("{}: {call} failed with status {status}", library.display())]
    LibraryInit {
        /// The library.
        library: PathBuf,
        /// The initialise call (its symbol).
        call: &'static str,
        /// The status it returned.
        status: i64,
    },
}

impl Error {
    /// An OS failure with the given captured error, located at the user's call of the
    /// loadguard operation in progress ([`OsFailure::location`]).
    #[must_use]
    #[track_caller]
    pub fn os(op: &'static str, path: impl Into<PathBuf>, os: OsError) -> Self {
        Self::Os(Box::new(OsFailure::new(op, path, os)))
    }

    /// An OS failure from an `io::Error` that captured the code inside the failing call.
    #[must_use]
    #[track_caller]
    pub fn from_io(op: &'static str, path: impl Into<PathBuf>, err: &io::Error) -> Self {
        Self::os(op, path, OsError::from_io(err))
    }

    /// An OS failure whose code is read from errno / `GetLastError` *now*. Call it as the very
    /// next operation after the failing call.
    #[must_use]
    #[track_caller]
    pub fn last_os(op: &'static str, path: impl Into<PathBuf>) -> Self {
        // Capture first: converting the path may allocate, and the allocator may touch errno.
        let os = OsError::last();
        Self::os(op, path, os)
    }

    /// A range error for `[offset, offset + len)` in a source of `file_size` bytes.
    pub fn out_of_range(path: impl Into<PathBuf>, offset: u64, len: u64, file_size: u64) -> Self {
        Self::OutOfRange {
            path: path.into(),
            offset,
            len,
            file_size,
        }
    }

    /// Names one argument of the failing call, if this is an OS failure (other errors already
    /// carry their offsets and lengths as fields).
    #[must_use]
    pub fn with_arg(mut self, name: &'static str, value: impl fmt::Display) -> Self {
        if let Self::Os(failure) = &mut self {
            failure.args.push((name, value.to_string()));
        }
        self
    }

    /// The OS failure, if this is one.
    #[must_use]
    pub fn os_failure(&self) -> Option<&OsFailure> {
        match self {
            Self::Os(failure) => Some(failure),
            _ => None,
        }
    }

    /// The error with every cause after it, joined by `: ` — what a log line or a command's
    /// error message should show (`Display` alone leaves causes to
    /// [`source`](std::error::Error::source)).
    ///
    /// ```
    /// let err = loadguard::Registry::new()
    ///     .open("/no/such/model.bin", &loadguard::LoadOptions::new())
    ///     .unwrap_err();
    /// assert!(err.to_string().starts_with("open /no/such/model.bin failed at "));
    /// // The OS error comes last (2 on Unix, ERROR_PATH_NOT_FOUND = 3 on Windows).
    /// assert!(err.chain().to_string().ends_with(": No such file or directory (os error 2)")
    ///     || cfg!(windows) && err.chain().to_string().ends_with("(os error 3)"));
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// ```
    #[must_use]
    pub fn chain(&self) -> ErrorChain<'_> {
        ErrorChain(self)
    }

    /// The kind of `io::Error` this error converts to (the OS error's own kind for an OS
    /// failure).
    #[must_use]
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            Error::Os(failure) => failure.os.kind(),
            Error::OutOfRange { .. }
            | Error::Truncated { .. }
            | Error::ShrunkUnderMapping { .. } => io::ErrorKind::UnexpectedEof,
            Error::NotRegularFile { .. } | Error::MapRefused { .. } => io::ErrorKind::InvalidInput,
            Error::Shm(err) => err.io_kind(),
            _ => io::ErrorKind::InvalidData,
        }
    }

    /// The failing operation of an OS error.
    #[must_use]
    pub fn op(&self) -> Option<&'static str> {
        self.os_failure().map(|f| f.op)
    }

    /// The raw OS error code of an OS error.
    #[must_use]
    pub fn os_code(&self) -> Option<i32> {
        self.os_failure().and_then(|f| f.os.code())
    }

    /// The path the error concerns, when it has one.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Os(failure) => Some(&failure.path),
            Self::OutOfRange { path, .. }
            | Self::Truncated { path, .. }
            | Self::Size { path, .. } => Some(path),
            Self::Format(err) => Some(&err.path),
            Self::NotRegularFile { path, .. }
            | Self::StreamTooLong { path, .. }
            | Self::MapRefused { path }
            | Self::ShrunkUnderMapping { path, .. } => Some(path),
            Self::Shm(_) => None,
            Self::NullSymbol { library, .. } | Self::LibraryInit { library, .. } => Some(library),
        }
    }
}

impl From<OsFailure> for Error {
    fn from(failure: OsFailure) -> Self {
        Self::Os(Box::new(failure))
    }
}

impl From<FormatError> for Error {
    fn from(err: FormatError) -> Self {
        Self::Format(Box::new(err))
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> Self {
        io::Error::new(err.kind(), err)
    }
}

/// An error followed by its causes, joined by `: ` ([`Error::chain`]).
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl<'a> ErrorChain<'a> {
    /// The chain of any error, not only loadguard's.
    #[must_use]
    pub fn of(err: &'a (dyn std::error::Error + 'static)) -> Self {
        Self(err)
    }
}

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(err) = cause {
            write!(f, ": {err}")?;
            cause = err.source();
        }
        Ok(())
    }
}

impl SizeError {
    /// Attaches the file the size belongs to.
    pub fn at(self, path: impl Into<PathBuf>) -> Error {
        Error::Size {
            path: path.into(),
            error: self,
        }
    }
}

/// Checks that `[offset, offset + len)` lies inside a source of `size` bytes and returns it as
/// a `usize` range that can index a slice of that source.
///
/// The range is checked against `size` before narrowing, so a range inside a source that
/// already lives in memory always converts; a too-large source is reported by its owner first.
pub(crate) fn range_in(
    path: &Path,
    offset: u64,
    len: u64,
    size: u64,
) -> Result<Range<usize>, Error> {
    let end = match crate::size::checked_end(offset, len) {
        Ok(end) if end <= size => end,
        _ => return Err(Error::out_of_range(path, offset, len, size)),
    };
    let start = crate::size::to_usize(offset, "range start").map_err(|e| e.at(path))?;
    let end = crate::size::to_usize(end, "range end").map_err(|e| e.at(path))?;
    Ok(start..end)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn range_in_bounds_and_errors() {
        let p = Path::new("f");
        assert_eq!(range_in(p, 0, 0, 0).unwrap(), 0..0);
        assert_eq!(range_in(p, 10, 0, 10).unwrap(), 10..10);
        assert_eq!(range_in(p, 2, 3, 10).unwrap(), 2..5);
        assert!(matches!(
            range_in(p, 8, 3, 10),
            Err(Error::OutOfRange {
                offset: 8,
                len: 3,
                file_size: 10,
                ..
            })
        ));
        assert!(matches!(
            range_in(p, 11, 0, 10),
            Err(Error::OutOfRange { .. })
        ));
        assert!(matches!(
            range_in(p, u64::MAX, 2, 10),
            Err(Error::OutOfRange { .. })
        ));
    }
}
