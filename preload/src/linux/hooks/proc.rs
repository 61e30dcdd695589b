//! Processes: `fork` (the child starts an empty ledger of its own) and `exec*` (a report of
//! what the old image leaves behind: descriptors without close-on-exec).

use libc::{c_char, c_int, pid_t};
use loadguard_preload_api::{Event, Op};

use super::count;
use crate::linux::guard::Entered;
use crate::linux::real::real;
use crate::linux::report;
use crate::linux::state::{self, LEDGER, OWNER_PID};
use crate::linux::sys::{self, SavedErrno};

type ForkFn = unsafe extern "C" fn() -> pid_t;
type ExecveFn =
    unsafe extern "C" fn(*const c_char, *const *const c_char, *const *const c_char) -> c_int;
type ExecvFn = unsafe extern "C" fn(*const c_char, *const *const c_char) -> c_int;

real!(FORK, real_fork, c"fork", ForkFn);
real!(EXECVE, real_execve, c"execve", ExecveFn);
real!(EXECV, real_execv, c"execv", ExecvFn);
real!(EXECVP, real_execvp, c"execvp", ExecvFn);
real!(EXECVPE, real_execvpe, c"execvpe", ExecveFn);

pub fn resolve() {
    for real in [&FORK, &EXECVE, &EXECV, &EXECVP, &EXECVPE] {
        let _ = real.addr();
    }
}

/// Interposes `fork`. The ledger lock is held across the fork, so the child's copy of the
/// tables is consistent (no other thread was mid-update); the child then empties it (what
/// the parent holds is the parent's to release) and takes ownership under its own pid.
///
/// # Safety
/// The C library's contract for `fork`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fork() -> pid_t {
    let Some(real) = real_fork() else {
        sys::set_errno(libc::ENOSYS);
        return -1;
    };
    let entered = Entered::enter();
    let config = state::config();
    let (Some(_entered), Some(config)) = (entered, config) else {
        // SAFETY: forwarded.
        return unsafe { real() };
    };
    if !state::own_process() {
        // SAFETY: forwarded.
        return unsafe { real() };
    }
    count(config, Op::Fork, true);
    let mut ledger = LEDGER.lock();
    // SAFETY: forwarded. Handlers registered with pthread_atfork run inside; their
    // interposed calls see this thread inside the bookkeeping and pass through.
    let pid = unsafe { real() };
    let saved = SavedErrno::save();
    if pid == 0 {
        let me = sys::getpid();
        ledger.reset_for_child(me);
        OWNER_PID.store(me, core::sync::atomic::Ordering::Relaxed);
        state::reset_local_calls();
    }
    drop(ledger);
    drop(saved);
    pid
}

/// Before an exec: writes the old image's report (its descriptors that survive the exec).
fn before_exec() {
    let _ = super::book(|config| {
        count(config, Op::Exec, true);
        report::write_file(config, Event::Exec);
    });
}

/// Interposes `execve`.
///
/// # Safety
/// The C library's contract for `execve`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn execve(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    before_exec();
    match real_execve() {
        // SAFETY: forwarded.
        Some(f) => unsafe { f(path, argv, envp) },
        None => {
            sys::set_errno(libc::ENOSYS);
            -1
        }
    }
}

/// Interposes `execv`.
///
/// # Safety
/// The C library's contract for `execv`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn execv(path: *const c_char, argv: *const *const c_char) -> c_int {
    before_exec();
    match real_execv() {
        // SAFETY: forwarded.
        Some(f) => unsafe { f(path, argv) },
        None => {
            sys::set_errno(libc::ENOSYS);
            -1
        }
    }
}

/// Interposes `execvp`.
///
/// # Safety
/// The C library's contract for `execvp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn execvp(file: *const c_char, argv: *const *const c_char) -> c_int {
    before_exec();
    match real_execvp() {
        // SAFETY: forwarded.
        Some(f) => unsafe { f(file, argv) },
        None => {
            sys::set_errno(libc::ENOSYS);
            -1
        }
    }
}

/// Interposes `execvpe`.
///
/// # Safety
/// The C library's contract for `execvpe`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn execvpe(
    file: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    before_exec();
    match real_execvpe() {
        // SAFETY: forwarded.
        Some(f) => unsafe { f(file, argv, envp) },
        None => {
            sys::set_errno(libc::ENOSYS);
            -1
        }
    }
}
