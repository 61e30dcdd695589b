//! Acquire backtraces: return addresses only, captured with the platform unwinder into a
//! fixed array (no allocation); symbolized later, outside the traced process's hot path.

use core::sync::atomic::{AtomicUsize, Ordering};

use libc::{c_int, c_void};

use super::ledger::{FRAMES_CAP, Frames};

#[repr(C)]
struct UnwindContext {
    _private: [u8; 0],
}

const URC_NO_REASON: c_int = 0;
const URC_END_OF_STACK: c_int = 5;

type TraceFn = extern "C" fn(*mut UnwindContext, *mut c_void) -> c_int;

unsafe extern "C" {
    // libgcc_s (linked by std on every gnu target): the unwinder Rust's own backtraces use.
    fn _Unwind_Backtrace(trace: TraceFn, arg: *mut c_void) -> c_int;
    fn _Unwind_GetIP(ctx: *mut UnwindContext) -> usize;
}

/// Frames kept per backtrace (`LOADGUARD_PRELOAD_DEPTH`, default 24).
pub static DEPTH: AtomicUsize = AtomicUsize::new(24);

/// The preload's own code: frames in it at the top of a backtrace are skipped.
static SELF_LO: AtomicUsize = AtomicUsize::new(0);
static SELF_HI: AtomicUsize = AtomicUsize::new(0);

/// Records where the preload's own code lies (called once at initialization).
pub fn set_self_range(lo: usize, hi: usize) {
    SELF_LO.store(lo, Ordering::Relaxed);
    SELF_HI.store(hi, Ordering::Relaxed);
}

struct State {
    frames: Frames,
    lo: usize,
    hi: usize,
    depth: usize,
}

extern "C" fn on_frame(ctx: *mut UnwindContext, arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `&mut State` passed to `_Unwind_Backtrace` below, live for the
    // whole unwind and touched by nobody else meanwhile.
    let state = unsafe { &mut *arg.cast::<State>() };
    // SAFETY: `ctx` is the unwinder's context for the current frame, valid in this callback.
    let ip = unsafe { _Unwind_GetIP(ctx) };
    if ip == 0 {
        return URC_END_OF_STACK;
    }
    if state.frames.len == 0 && state.lo <= ip && ip < state.hi {
        return URC_NO_REASON;
    }
    let len = usize::from(state.frames.len);
    match state.frames.addrs.get_mut(len) {
        Some(slot) if len < state.depth => {
            *slot = ip;
            state.frames.len = state.frames.len.saturating_add(1);
            URC_NO_REASON
        }
        _ => URC_END_OF_STACK,
    }
}

/// The current thread's return addresses, innermost first.
#[inline(never)]
pub fn capture() -> Frames {
    let mut state = State {
        frames: Frames::EMPTY,
        lo: SELF_LO.load(Ordering::Relaxed),
        hi: SELF_HI.load(Ordering::Relaxed),
        depth: DEPTH.load(Ordering::Relaxed).min(FRAMES_CAP),
    };
    if state.depth == 0 {
        return state.frames;
    }
    // SAFETY: `on_frame` matches the callback type the unwinder calls, and `state` outlives
    // the call. The unwinder reads only this thread's stack and the loaded modules' unwind
    // tables; it does not allocate.
    unsafe { _Unwind_Backtrace(on_frame, (&raw mut state).cast::<c_void>()) };
    state.frames
}
