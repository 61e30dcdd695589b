//! The user's call site of the public operation in progress on this thread.
//!
//! Public entry points that acquire OS resources are `#[track_caller]` and record where they
//! were called from; the resource ledger of `loadguard::testing` reports a leak at that line
//! of the user's code rather than somewhere inside loadguard. Costs one thread-local write.

use std::cell::Cell;
use std::panic::Location;

type Site = Option<&'static Location<'static>>;

#[cfg(not(loom))]
std::thread_local!(static SITE: Cell<Site> = const { Cell::new(None) });
#[cfg(loom)]
loom::thread_local!(static SITE: Cell<Site> = Cell::new(None));

/// Restores the previous call site when the operation ends (operations nest: a loader opening
/// through a registry keeps the outermost, user-facing site).
pub(crate) struct Enter(Site);

/// Records the caller as the site of the operation starting now, unless an outer operation
/// already did.
#[track_caller]
pub(crate) fn enter() -> Enter {
    let caller = Location::caller();
    let previous = SITE.with(|site| {
        let previous = site.get();
        if previous.is_none() {
            site.set(Some(caller));
        }
        previous
    });
    Enter(previous)
}

impl Drop for Enter {
    fn drop(&mut self) {
        let previous = self.0;
        SITE.with(|site| {
            if previous.is_none() {
                site.set(None);
            }
        });
    }
}

/// The site recorded by the outermost operation in progress on this thread.
#[allow(dead_code)] // read only by the testing ledger, which is not always compiled
pub(crate) fn current() -> Site {
    SITE.with(Cell::get)
}
