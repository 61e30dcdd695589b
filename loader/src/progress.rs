//! [`LoadProgress`]: how far a long load has got, told to whoever asked
//! ([`Registry::open_with_progress`](crate::Registry::open_with_progress)).

/// How far a load has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadProgress {
    /// Bytes read (or prefaulted) so far.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
}

/// A callback told of a load's progress, from whichever thread made it.
pub(crate) type Observer<'a> = Option<&'a (dyn Fn(LoadProgress) + Sync)>;
