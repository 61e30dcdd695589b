//! How a file is loaded: [`LoadOptions`], [`LoadMode`], [`LockPolicy`].

use crate::size::Alignment;

/// Whether a file is mapped or read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum LoadMode {
    /// Map the file; if mapping fails (a file system without mmap, `ENOMEM`, …) read it into an
    /// aligned heap buffer instead, and record why.
    #[default]
    Auto,
    /// Map the file or fail.
    Map,
    /// Read the file into an aligned heap buffer: the "disable file-mapped weights" switch.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct LoadOptions {
    /// Map, read, or map with a read fallback.
    pub mode: LoadMode,
    /// Alignment of heap buffers on the read path (a power of two, default 64).
    pub alignment: Alignment,
    /// Tell the kernel the range will be needed soon (`MADV_WILLNEED`).
    pub will_need: bool,
    /// Fault every page of the range in now; on Linux ≥ 5.14 a page missing from a truncated
    /// file is an error here rather than a SIGBUS later.
    pub prefault: bool,
    /// Lock the range in memory.
    pub lock: LockPolicy,
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
    };

    /// The defaults: `Auto`, alignment 64, no advice, no lock.
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
}
