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
pub(crate) fn current() -> Site {
    SITE.with(Cell::get)
}

/// The user's site for something built at `caller`: the outermost operation's site when one is
/// in progress, else `caller` itself unless it lies in loadguard's own sources (a path into
/// them means nothing to a user, and moves with every refactor).
pub(crate) fn user_site(caller: &'static Location<'static>) -> Site {
    current().or_else(|| (!is_internal(caller)).then_some(caller))
}

/// Whether `location` is in this crate's `src/` (wherever Cargo put it: a workspace path, or
/// an absolute path into the registry's sources).
fn is_internal(location: &Location<'_>) -> bool {
    let here = file!(); // ".../src/callsite.rs"
    let src = here.strip_suffix("callsite.rs").unwrap_or(here);
    location.file().starts_with(src)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_sites_are_never_user_sites() {
        let here = Location::caller();
        assert_eq!(
            user_site(here),
            None,
            "a site in loadguard's src/ is not the user's"
        );
        let _entered = enter();
        assert!(current().is_some());
        assert_eq!(
            user_site(here),
            current(),
            "an operation in progress names its site"
        );
    }
}
