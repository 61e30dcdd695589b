//! Loaded libraries in the resource ledger: acquired at the user's `track` call, released when
//! the library (or the `Api` owning it) is dropped. Uses the C library every Linux test process
//! already has, so nothing needs building.
#![cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]

use loadguard::dylib::Library;
use loadguard::testing::{Ledger, ResourceKind};

#[test]
fn a_library_is_counted_until_it_is_closed() {
    let ledger = Ledger::new();
    // SAFETY: the C library is already loaded in this process; opening it again runs no new
    // initialisers.
    let libc = unsafe { Library::open("libc.so.6") }
        .unwrap()
        .track(&ledger);
    assert_eq!(ledger.live(ResourceKind::Library), 1);
    let leak = &ledger.outstanding()[0];
    assert_eq!(leak.label, "libc.so.6");
    assert!(leak.site.file().ends_with("dylib_ledger.rs"), "{leak}");
    drop(libc);
    ledger.assert_balanced();
}

#[test]
fn a_library_that_fails_to_open_acquires_nothing() {
    let ledger = Ledger::new();
    // SAFETY: the path does not exist, so nothing is loaded or run.
    let err = unsafe { Library::open("/nonexistent/libnothing.so") }.unwrap_err();
    assert_eq!(err.op(), Some("dlopen"), "{err}");
    assert!(
        err.to_string().contains("/nonexistent/libnothing.so"),
        "{err}"
    );
    ledger.assert_balanced();
}
