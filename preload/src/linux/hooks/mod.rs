//! The exported interposers. Each one: (1) asks the bookkeeping whether this call is counted
//! and whether it gets a fault, (2) makes the real call (or fails it), (3) books what it
//! acquired or released. Bookkeeping runs through [`book`], which makes it reentrancy-safe,
//! errno-preserving, panic-free and a no-op in processes that do not own the ledger; the real
//! call itself runs outside it, so what a library constructor does inside `dlopen` is seen.
//!
//! Several C prototypes here are variadic (`open`, `openat`, `fcntl`, `ioctl`, `mremap`); the
//! interposers take the optional argument as a fixed one. On x86_64 System V a variadic
//! integer or pointer argument travels in the same register as a named one, so reading it is
//! reading that register (garbage the callee ignores when the caller passed none), and it is
//! forwarded to the real function through its variadic type.

use core::panic::AssertUnwindSafe;

use libc::{c_char, c_int};
use loadguard_preload_api::{Event, Fault, Op};

use super::backtrace;
use super::guard::Entered;
use super::ledger::{Frames, What};
use super::report;
use super::state::{self, Config, LEDGER};
use super::sys::{self, SavedErrno};

mod dl;
mod fd;
mod mem;
mod proc;

/// Runs bookkeeping unless this thread is already inside it, the preload is not initialized
/// yet (or is being initialized), or this process is a `vfork`/raw-`clone` child. Keeps the
/// caller's errno; a panic inside (there should be none) is caught and the call passes.
fn book<R>(f: impl FnOnce(&'static Config) -> R) -> Option<R> {
    let _errno = SavedErrno::save();
    let _entered = Entered::enter()?;
    let config = state::config()?;
    if !state::own_process() {
        return None;
    }
    std::panic::catch_unwind(AssertUnwindSafe(|| f(config))).ok()
}

/// Counts a call and, if the plan says so, books the injection (with its backtrace) and
/// returns the fault to apply.
fn decide(config: &Config, op: Op, eligible: bool) -> Option<Fault> {
    let (nth, fault) = state::next(config, op, eligible)?;
    let frames = backtrace::capture();
    LEDGER.lock().injected(op, nth, fault, &frames);
    // Written now, not only at exit: a program that crashes on the failure writes no exit
    // report, and where the failing call was made is what its crash is about. Once per
    // process: a plan failing every call would otherwise write a file per call.
    if !state::FIRST_INJECTION_REPORTED.swap(true, core::sync::atomic::Ordering::Relaxed) {
        report::write_file(config, Event::Request);
    }
    Some(fault)
}

/// Counts a call that is never failed.
fn count(config: &Config, op: Op, eligible: bool) {
    let _ = state::next(config, op, eligible);
}

/// `decide` for a call, outside or inside bookkeeping: `None` = make the real call.
fn fault_for(op: Op, eligible: impl FnOnce(&Config) -> bool) -> Option<Fault> {
    book(|config| {
        let eligible = eligible(config);
        decide(config, op, eligible)
    })
    .flatten()
}

/// Applies an errno fault to an int-returning call.
fn fail_int(fault: Fault) -> c_int {
    sys::set_errno(fault.errno().unwrap_or(libc::EIO));
    -1
}

/// The bytes of a C string the caller passed (at most 4096 of them; empty for null).
///
/// # Safety
/// `s` is null or a NUL-terminated string, as the interposed function's contract requires.
unsafe fn c_bytes<'a>(s: *const c_char) -> &'a [u8] {
    if s.is_null() {
        return &[];
    }
    let mut n = 0usize;
    // SAFETY: the string is NUL-terminated, so every byte up to and including the NUL is
    // readable; the loop stops at the NUL (or at 4096 bytes, which are all before it).
    while n < 4096 && unsafe { *s.add(n) } != 0 {
        n += 1;
    }
    // SAFETY: the `n` bytes just read are initialized and live as long as the caller's string.
    unsafe { core::slice::from_raw_parts(s.cast::<u8>(), n) }
}

/// The path of `fd` as the ledger knows it, else as `/proc/self/fd` says.
fn fd_what(fd: c_int) -> (What, bool) {
    if let Some(e) = LEDGER.lock().fd(fd) {
        return (e.what, e.only);
    }
    let mut buf = [0u8; 240];
    let n = sys::fd_path(fd, &mut buf);
    (What::new(&[buf.get(..n).unwrap_or_default()]), false)
}

fn capture() -> Frames {
    backtrace::capture()
}

// ---- lifecycle

extern "C" fn on_load() {
    let Some(_entered) = Entered::enter() else {
        return;
    };
    let _ = std::panic::catch_unwind(|| {
        let _ = state::config();
        if let Some((lo, hi)) = report::module_range(on_load as extern "C" fn() as usize) {
            backtrace::set_self_range(lo, hi);
        }
        fd::resolve();
        mem::resolve();
        dl::resolve();
        proc::resolve();
    });
}

extern "C" fn on_unload() {
    let _ = book(|config| report::write_file(config, Event::Exit));
}

// `.init_array` / `.fini_array` entries: the loader runs them when the preload is loaded
// (before the program's own constructors) and at exit (after the program's atexit handlers
// and destructors, so the report sees what the program never released).
#[used]
#[unsafe(link_section = ".init_array")]
static INIT: extern "C" fn() = on_load;

#[used]
#[unsafe(link_section = ".fini_array")]
static FINI: extern "C" fn() = on_unload;

/// Writes the calling process's report into `buf` (at most `cap` bytes) and returns its full
/// length (0 when the preload cannot report right now, e.g. from inside its own bookkeeping).
/// `loadguard_preload_api::Snapshot::take` calls it.
///
/// # Safety
/// `buf` must be valid for writes of `cap` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn loadguard_preload_report_into(buf: *mut u8, cap: usize) -> usize {
    let out: &mut [u8] = if buf.is_null() || cap == 0 {
        &mut []
    } else {
        // SAFETY: the caller guarantees `buf` is valid for `cap` bytes of writes, and nothing
        // else uses it during this call.
        unsafe { core::slice::from_raw_parts_mut(buf, cap) }
    };
    book(|_| {
        let mut sink = report::BufSink { buf: out, total: 0 };
        let ledger = LEDGER.lock();
        report::write(&mut sink, Some(&ledger), Event::Request);
        sink.total
    })
    .unwrap_or(0)
}
