//! How a file is loaded: [`LoadOptions`], [`LoadMode`], [`LockPolicy`].

use crate::size::Alignment;

/// Whether a file is mapped or copied.
///
/// A mapping is only handed out when no safe code can change the mapped bytes: the file is a
/// sealed memfd or an fs-verity file (the OS forbids writes and truncation), or the caller
/// accepted the contract of [`LoadOptions::assume_immutable`]. Any other file is copied once
/// into an aligned heap buffer that every session of it shares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoadMode {
    /// Map the file when that is sound (see above); otherwise, or if mapping fails (a file
    /// system without mmap, `ENOMEM`, …), read it into one shared aligned heap buffer, and
    /// record why ([`crate::LoadPath`]).
    #[default]
    Auto,
    /// Map the file or fail: [`crate::Error::MapRefused`] for a file that could change under
    /// the mapping when the options do not [`assume_immutable`](LoadOptions::assume_immutable).
    Map,
    /// Read the file into one shared aligned heap buffer: the "disable file-mapped weights"
    /// switch.
    Read,
}

impl LoadMode {
    /// The mode's name as the CLI spells it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Map => "map",
            Self::Read => "read",
        }
    }
}

/// Whether loaded bytes are locked in memory (`mlock` / `VirtualLock`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum LockPolicy {
    /// Do not lock.
    #[default]
    Off,
    /// Lock the requested range; failure (e.g. `RLIMIT_MEMLOCK`) is an error.
    Lock,
    /// Try to lock the requested range; failure is logged and loading goes on.
    LockIgnoreErrors,
}

/// Options of one open or load.
///
/// ```
/// use loadguard::{LoadMode, LoadOptions, LockPolicy};
///
/// // Safe: maps only files that cannot change, and shares one heap copy of any other file.
/// let copy_or_safe_map = LoadOptions::new().will_need(true);
/// assert!(!copy_or_safe_map.is_assumed_immutable());
///
/// // Mapping an ordinary file is the caller's promise that nobody changes it meanwhile.
/// // SAFETY: (in a real program) the model directory is read-only for every other process,
/// // and this process never writes the files it loads.
/// let mapped = unsafe { LoadOptions::new().mode(LoadMode::Map).assume_immutable() };
/// assert!(mapped.is_assumed_immutable());
/// # let _ = LockPolicy::Off;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct LoadOptions {
    /// Map, read, or map with a read fallback.
    pub mode: LoadMode,
    /// Alignment of heap buffers on the read path (a power of two, default 64).
    pub alignment: Alignment,
    /// Tell the kernel the range will be needed soon (`MADV_WILLNEED`).
    pub will_need: bool,
    /// Fault every page of a mapped range in now. On Linux ≥ 5.14 (`MADV_POPULATE_READ`) a
    /// page missing because the file is already shorter than its mapping is reported here as
    /// [`crate::Error::ShrunkUnderMapping`]; this checks the pages once, when they are
    /// prefaulted, and cannot protect reads after a later truncation (that is what the
    /// contract of [`assume_immutable`](Self::assume_immutable) rules out). Heap copies are
    /// resident already.
    pub prefault: bool,
    /// Lock the range in memory.
    pub lock: LockPolicy,
    /// Set only by the `unsafe` [`assume_immutable`](Self::assume_immutable).
    assume_immutable: bool,
    /// Set by [`read_streams`](Self::read_streams): the most bytes read from a non-regular file.
    stream_limit: Option<u64>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl LoadOptions {
    /// The defaults, usable in `const` contexts.
    pub const DEFAULT: Self = Self {
        mode: LoadMode::Auto,
        alignment: Alignment::DEFAULT,
        will_need: false,
        prefault: false,
        lock: LockPolicy::Off,
        assume_immutable: false,
        stream_limit: None,
    };

    /// The defaults: `Auto`, alignment 64, no advice, no lock, no mapping of files that could
    /// change, no streams.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the mode.
    #[must_use]
    pub fn mode(mut self, mode: LoadMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the read-path alignment.
    #[must_use]
    pub fn alignment(mut self, alignment: Alignment) -> Self {
        self.alignment = alignment;
        self
    }

    /// Sets the `MADV_WILLNEED` hint.
    #[must_use]
    pub fn will_need(mut self, on: bool) -> Self {
        self.will_need = on;
        self
    }

    /// Sets prefaulting.
    #[must_use]
    pub fn prefault(mut self, on: bool) -> Self {
        self.prefault = on;
        self
    }

    /// Sets the lock policy.
    #[must_use]
    pub fn lock(mut self, policy: LockPolicy) -> Self {
        self.lock = policy;
        self
    }

    /// Lets [`LoadMode::Auto`] and [`LoadMode::Map`] map ordinary files, which the OS lets
    /// anyone with write access change or truncate while they are mapped.
    ///
    /// Without it, only files that cannot change are mapped (sealed memfds, fs-verity files);
    /// every other file is copied once into a heap buffer shared by all its sessions, which is
    /// sound but costs the file's size in memory and a read. Sessions opened with and without
    /// this option never share a load: a safe caller is never handed a mapping made on
    /// someone else's promise.
    ///
    /// # Safety
    ///
    /// For as long as any [`Session`](crate::Session), [`Segment`](crate::Segment), tensor
    /// view, [`bytes::Bytes`] or data loader of a file opened with these options is alive, no
    /// one — this process or any other — may write to the file or truncate it. A write would
    /// change bytes under a `&[u8]` that Rust assumes immutable, and reading a page past a new
    /// end of file kills the process with `SIGBUS`. Replacing the file by renaming another one
    /// over its path is fine: the mapping keeps the old file, and later opens see the new one.
    ///
    /// Safe code cannot make the promise:
    ///
    /// ```compile_fail,E0133
    /// let opts = loadguard::LoadOptions::new().assume_immutable();
    /// ```
    #[must_use]
    pub unsafe fn assume_immutable(mut self) -> Self {
        self.assume_immutable = true;
        self
    }

    /// Whether these options carry the [`assume_immutable`](Self::assume_immutable) promise.
    #[must_use]
    pub fn is_assumed_immutable(&self) -> bool {
        self.assume_immutable
    }

    /// Lets [`Registry::open`](crate::Registry::open) read files that are not regular files —
    /// pipes, FIFOs, character devices, procfs and sysfs files — to their end, up to `max_len`
    /// bytes (more is [`crate::Error::StreamTooLong`]). Such a session owns a private copy: a
    /// stream has no identity to share it by. A FIFO is read from the writers that have it open
    /// when the read starts (no writer: an empty session), so opening never waits for one.
    ///
    /// Without it, such files are [`crate::Error::NotRegularFile`]: a FIFO would block the open
    /// forever and a pseudo-file reports a size of 0.
    #[must_use]
    pub fn read_streams(mut self, max_len: u64) -> Self {
        self.stream_limit = Some(max_len);
        self
    }

    /// The limit set by [`read_streams`](Self::read_streams), if streams are allowed.
    #[must_use]
    pub fn stream_limit(&self) -> Option<u64> {
        self.stream_limit
    }
}
