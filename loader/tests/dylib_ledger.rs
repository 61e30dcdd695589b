//! Loaded libraries in the resource ledger and under fault plans, through the dynamic-linker
//! seam: acquired at the user's `open_with` call, released when the library (or the `Api`
//! owning it) is dropped. Uses the C library every Linux test process already has, so nothing
//! needs building.
#![cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]

use loadguard::dylib::{Api, ApiTable, Library, SystemLinker};
use loadguard::testing::{Fault, FaultOp, FaultPlan, FaultyLinker, Ledger, ResourceKind};

/// A table of one libc function.
#[derive(ApiTable)]
struct LibC {
    strlen: unsafe extern "C" fn(*const std::ffi::c_char) -> usize,
}

#[test]
fn a_library_is_counted_until_it_is_closed() {
    let ledger = Ledger::new();
    let linker = ledger.track_linker(SystemLinker);
    let line = line!() + 3;
    // SAFETY: the C library is already loaded in this process; opening it again runs no new
    // initialisers.
    let libc = unsafe { Library::open_with(&linker, "libc.so.6") }.unwrap();
    assert_eq!(ledger.live(ResourceKind::Library), 1);
    let held = &ledger.outstanding()[0];
    assert_eq!(held.label, "libc.so.6");
    assert_eq!(
        (held.site.file(), held.site.line()),
        (file!(), line),
        "{held}"
    );
    drop(libc);
    ledger.assert_balanced();
    assert_eq!(ledger.acquired(ResourceKind::Library), 1);
}

#[test]
fn an_api_holds_its_library_until_dropped() {
    let ledger = Ledger::new();
    let linker = ledger.track_linker(SystemLinker);
    // SAFETY: as above; `strlen` has exactly the signature of the field.
    let api = unsafe { Api::<LibC>::open_with(&linker, "libc.so.6") }.unwrap();
    // SAFETY: a NUL-terminated string.
    assert_eq!(unsafe { (api.strlen)(c"four".as_ptr()) }, 4);
    assert_eq!(ledger.live(ResourceKind::Library), 1);
    drop(api);
    ledger.assert_balanced();
}

#[test]
fn a_library_that_fails_to_open_acquires_nothing() {
    let ledger = Ledger::new();
    let linker = ledger.track_linker(SystemLinker);
    // SAFETY: the path does not exist, so nothing is loaded or run.
    let err = unsafe { Library::open_with(&linker, "/nonexistent/libnothing.so") }.unwrap_err();
    assert_eq!(err.op(), Some("dlopen"), "{err}");
    assert!(
        err.to_string().contains("/nonexistent/libnothing.so"),
        "{err}"
    );
    let at = err
        .os_failure()
        .unwrap()
        .location
        .expect("the user's call site");
    assert_eq!(at.file(), file!());
    assert_eq!(ledger.acquired(ResourceKind::Library), 0);
}

#[test]
fn injected_dlopen_and_dlsym_failures_name_the_call_and_release_everything() {
    for op in [FaultOp::Dlopen, FaultOp::Dlsym] {
        let ledger = Ledger::new();
        let plan = FaultPlan::new().nth(op, 1, Fault::Errno(2));
        // Either nesting order works; the ledger sits inside, next to the real linker.
        let linker = FaultyLinker::new(ledger.track_linker(SystemLinker), plan.clone());
        // SAFETY: as above.
        let err = unsafe { Api::<LibC>::open_with(&linker, "libc.so.6") }.unwrap_err();
        assert_eq!(err.os_code(), Some(2), "{err}");
        match op {
            FaultOp::Dlopen => assert_eq!(err.op(), Some("dlopen"), "{err}"),
            _ => {
                assert_eq!(err.op(), Some("dlsym"), "{err}");
                assert!(
                    err.to_string().contains("libc.so.6 (symbol=strlen)"),
                    "{err}"
                );
            }
        }
        assert_eq!(plan.injected(), 1);
        ledger.assert_balanced();
        // The next open is not injected: the real symbol resolves and works.
        // SAFETY: as above.
        let api = unsafe { Api::<LibC>::open_with(&linker, "libc.so.6") }.unwrap();
        // SAFETY: a NUL-terminated string.
        assert_eq!(unsafe { (api.strlen)(c"four".as_ptr()) }, 4);
        drop(api);
        ledger.assert_balanced();
    }
}
