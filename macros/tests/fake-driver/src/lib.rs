//! A fake accelerator driver, loaded by `loadguard-macros/tests/dylib.rs` with `dlopen`.
//!
//! It counts every call and detects the misuse the `Lifecycle` guard exists to prevent: init
//! while already initialised, deinit while not initialised, and init or deinit overlapping
//! another init or deinit (each holds a "busy" flag and sleeps briefly while holding it, so overlap
//! is likely to be seen if the caller allows it).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static INIT_CALLS: AtomicUsize = AtomicUsize::new(0);
static DEINIT_CALLS: AtomicUsize = AtomicUsize::new(0);
static ADD_CALLS: AtomicUsize = AtomicUsize::new(0);
static VIOLATIONS: AtomicUsize = AtomicUsize::new(0);
static FAIL_INITS: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicBool = AtomicBool::new(false);
static BUSY: AtomicBool = AtomicBool::new(false);

/// Status codes returned by this driver.
const OK: i32 = 0;
const FAIL: i32 = -5;

/// Marks the driver busy for the duration of one init or deinit; overlapping calls count as a
/// violation.
fn busy<T>(f: impl FnOnce() -> T) -> T {
    if BUSY.swap(true, Ordering::SeqCst) {
        VIOLATIONS.fetch_add(1, Ordering::SeqCst);
    }
    // Widen the window in which a second, overlapping call would be seen.
    std::thread::sleep(std::time::Duration::from_micros(20));
    let out = f();
    BUSY.store(false, Ordering::SeqCst);
    out
}

/// `int fd_init(int *status)`: on success writes the driver status (7) and returns 0; when told
/// to fail, returns -5 and leaves `*status` unwritten.
///
/// # Safety
///
/// `status` must be valid for writing one `i32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fd_init(status: *mut i32) -> i32 {
    INIT_CALLS.fetch_add(1, Ordering::SeqCst);
    busy(|| {
        let fail = FAIL_INITS
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            return FAIL;
        }
        if LIVE.swap(true, Ordering::SeqCst) {
            VIOLATIONS.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: the caller passes storage for one i32.
        unsafe { status.write(7) };
        OK
    })
}

/// `void fd_deinit(void)`.
#[unsafe(no_mangle)]
pub extern "C" fn fd_deinit() {
    DEINIT_CALLS.fetch_add(1, Ordering::SeqCst);
    busy(|| {
        if !LIVE.swap(false, Ordering::SeqCst) {
            VIOLATIONS.fetch_add(1, Ordering::SeqCst);
        }
    });
}

/// `int fd_add(int, int)`: an ordinary API function.
#[unsafe(no_mangle)]
pub extern "C" fn fd_add(a: i32, b: i32) -> i32 {
    ADD_CALLS.fetch_add(1, Ordering::SeqCst);
    a.wrapping_add(b)
}

/// An export a table may declare optional.
#[unsafe(no_mangle)]
pub extern "C" fn fd_version() -> u32 {
    3
}

/// Makes the next `n` inits fail without writing their status.
#[unsafe(no_mangle)]
pub extern "C" fn fd_fail_next_inits(n: usize) {
    FAIL_INITS.store(n, Ordering::SeqCst);
}

/// Counters: 0 init calls, 1 deinit calls, 2 add calls, 3 violations.
#[unsafe(no_mangle)]
pub extern "C" fn fd_count(which: u32) -> usize {
    match which {
        0 => INIT_CALLS.load(Ordering::SeqCst),
        1 => DEINIT_CALLS.load(Ordering::SeqCst),
        2 => ADD_CALLS.load(Ordering::SeqCst),
        3 => VIOLATIONS.load(Ordering::SeqCst),
        _ => usize::MAX,
    }
}
