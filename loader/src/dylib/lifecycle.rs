//! [`Lifecycle`]: a library's init on the first acquire, deinit on the last release.

use std::fmt;
// The user's `Arc`, in both builds: under `cfg(loom)` only the counter's mutex is loom's (so
// the model checks the pairing); a public signature must not change with a test flag.
use std::sync::Arc;

use crate::callsite;
use crate::sync::{self, Mutex};

type Init<E> = Box<dyn Fn() -> Result<(), E> + Send + Sync>;
type Deinit = Box<dyn Fn() + Send + Sync>;

/// Pairs a library's initialise and deinitialise calls across sessions and threads.
///
/// The first [`acquire`](Self::acquire) runs `init`; dropping the last [`LifecycleGuard`] runs
/// `deinit`. However many sessions and threads take it, each init is followed by exactly one
/// deinit before the next init, and no two of them overlap. A failed init leaves it
/// uninitialised (the next acquire tries again) and returns the init's status. Deinit without
/// init is impossible by construction: only a successful acquire yields a guard, and only a
/// guard's drop releases.
///
/// The state is one counter under a mutex (from `crate::sync`, so the loom model checks this
/// same code). Init and deinit run while it is held: a concurrent acquire waits until the
/// library is ready rather than racing into it. Consequently `init` and `deinit` must not
/// acquire or drop a guard of the same `Lifecycle` (that would deadlock). Releasing locks the
/// mutex in `Drop`; the lock recovers from poisoning, so this never panics there.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use loadguard::dylib::Lifecycle;
///
/// // Stand-ins for a driver's `init` (returning a status) and `deinit`.
/// let (inits, deinits) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
/// let (i, d) = (Arc::clone(&inits), Arc::clone(&deinits));
/// let lifecycle = Arc::new(Lifecycle::new(
///     move || {
///         i.fetch_add(1, Ordering::SeqCst);
///         Ok::<(), i32>(())
///     },
///     move || {
///         d.fetch_add(1, Ordering::SeqCst);
///     },
/// ));
///
/// let first = lifecycle.acquire()?; // runs init
/// let second = lifecycle.acquire_owned()?; // shares it; the guard owns an `Arc`
/// assert_eq!(lifecycle.sessions(), 2);
/// drop(first);
/// assert_eq!(deinits.load(Ordering::SeqCst), 0, "a session is still live");
/// drop(second); // the last session: deinit runs here
/// assert_eq!((inits.load(Ordering::SeqCst), deinits.load(Ordering::SeqCst)), (1, 1));
/// # Ok::<(), i32>(())
/// ```
pub struct Lifecycle<E> {
    sessions: Mutex<usize>,
    init: Init<E>,
    deinit: Deinit,
}

impl<E> Lifecycle<E> {
    /// A lifecycle that calls `init` on the first acquire and `deinit` after the last release.
    #[must_use]
    pub fn new(
        init: impl Fn() -> Result<(), E> + Send + Sync + 'static,
        deinit: impl Fn() + Send + Sync + 'static,
    ) -> Self {
        Self {
            sessions: Mutex::new(0),
            init: Box::new(init),
            deinit: Box::new(deinit),
        }
    }

    /// Takes one session: runs `init` first if no session is live. On init failure nothing is
    /// counted and the status is returned.
    ///
    /// `init` and `deinit` run inside this call's operation: whatever they acquire through
    /// loadguard is attributed to the caller of `acquire` (in errors and ledger reports).
    ///
    /// # Errors
    ///
    /// Whatever `init` returned.
    #[track_caller]
    pub fn acquire(&self) -> Result<LifecycleGuard<'_, E>, E> {
        let _site = callsite::enter();
        self.take()?;
        Ok(LifecycleGuard { lifecycle: self })
    }

    /// Like [`acquire`](Self::acquire), for a lifecycle shared through a `std::sync::Arc`:
    /// the guard keeps the lifecycle (and whatever its closures own, such as the
    /// [`Api`](super::Api)) alive, so a session object can hold it without a `'static`
    /// singleton. The `Arc` is std's in every build, `--cfg loom` included.
    ///
    /// # Errors
    ///
    /// Whatever `init` returned.
    #[track_caller]
    pub fn acquire_owned(self: &Arc<Self>) -> Result<OwnedLifecycleGuard<E>, E> {
        let _site = callsite::enter();
        self.take()?;
        Ok(OwnedLifecycleGuard {
            lifecycle: Arc::clone(self),
        })
    }

    /// Counts one session, running `init` first if none is live. Every successful call is
    /// paired with one `release`, made by the guard the caller builds.
    fn take(&self) -> Result<(), E> {
        let mut sessions = sync::lock(&self.sessions);
        if *sessions == 0 {
            // Counted only after init succeeded: a failed (or panicking) init leaves zero
            // sessions, so the next acquire initialises again and no deinit follows it.
            (self.init)()?;
        }
        *sessions = sessions
            .checked_add(1)
            .expect("more than usize::MAX live sessions");
        Ok(())
    }

    /// The number of live sessions (guards not yet dropped).
    #[must_use]
    pub fn sessions(&self) -> usize {
        *sync::lock(&self.sessions)
    }

    fn release(&self) {
        let mut sessions = sync::lock(&self.sessions);
        // A guard exists, so the count is at least one.
        *sessions = sessions.saturating_sub(1);
        if *sessions == 0 {
            (self.deinit)();
        }
    }
}

impl<E> fmt::Debug for Lifecycle<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lifecycle")
            .field("sessions", &self.sessions())
            .finish_non_exhaustive()
    }
}

/// One session of a [`Lifecycle`]; the library stays initialised while any guard lives.
#[must_use = "dropping the guard at once releases the session (and may deinitialise)"]
pub struct LifecycleGuard<'a, E> {
    lifecycle: &'a Lifecycle<E>,
}

impl<E> Drop for LifecycleGuard<'_, E> {
    fn drop(&mut self) {
        self.lifecycle.release();
    }
}

impl<E> fmt::Debug for LifecycleGuard<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LifecycleGuard").finish_non_exhaustive()
    }
}

/// One session of an `Arc`-shared [`Lifecycle`], owning a reference to it.
#[must_use = "dropping the guard at once releases the session (and may deinitialise)"]
pub struct OwnedLifecycleGuard<E> {
    lifecycle: Arc<Lifecycle<E>>,
}

impl<E> Drop for OwnedLifecycleGuard<E> {
    fn drop(&mut self) {
        self.lifecycle.release();
    }
}

impl<E> fmt::Debug for OwnedLifecycleGuard<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedLifecycleGuard")
            .finish_non_exhaustive()
    }
}
