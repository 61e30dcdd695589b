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

/// A table of one libc function, to drive the derive's loader through a faulty symbol source.
#[derive(loadguard::ApiTable)]
struct LibC {
    strlen: unsafe extern "C" fn(*const std::ffi::c_char) -> usize,
}

#[test]
fn an_injected_dlsym_failure_names_the_symbol_and_the_library() {
    use loadguard::dylib::{ApiTable, Resolver};
    use loadguard::testing::{Fault, FaultOp, FaultPlan, FaultySymbols};

    // SAFETY: the C library is already loaded in this process.
    let libc = unsafe { Library::open("libc.so.6") }.unwrap();
    let plan = FaultPlan::new().nth(FaultOp::Dlsym, 1, Fault::Errno(2));
    let faulty = FaultySymbols::new(&libc, plan.clone());
    // SAFETY: `strlen` has exactly the signature of the field.
    let err = unsafe { LibC::load(&mut Resolver::new(&faulty)) }
        .err()
        .unwrap();
    assert_eq!(err.op(), Some("dlsym"), "{err}");
    assert_eq!(err.os_code(), Some(2), "{err}");
    assert!(
        err.to_string().contains("libc.so.6 (symbol=strlen)"),
        "{err}"
    );
    // The second lookup is not injected: the real symbol resolves and works.
    // SAFETY: as above.
    let table = unsafe { LibC::load(&mut Resolver::new(&faulty)) }.unwrap();
    // SAFETY: a NUL-terminated string.
    assert_eq!(unsafe { (table.strlen)(c"four".as_ptr()) }, 4);
    assert_eq!(plan.calls(FaultOp::Dlsym), 2);
}
