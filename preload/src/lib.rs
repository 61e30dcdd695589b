//! `libloadguard_preload.so`: loaded with `LD_PRELOAD`, it interposes the calls a loader
//! acquires and releases resources with (`open`…`close`, `dup*`, `mmap`…`munmap`, `mremap`,
//! `madvise`, `mlock`/`munlock`, `memfd_create`, `ioctl(DMA_HEAP_IOCTL_ALLOC)`, `read`/`pread`,
//! `dlopen`/`dlclose`/`dlsym`, `fork`/`exec*`), keeps a ledger of what the process holds with
//! the backtrace of each acquire, fails the calls a fault plan names, and writes a report per
//! process. `loadguard trace` and `loadguard faults` drive it; the vocabulary (ops, plans,
//! reports) lives in `loadguard-preload-api`.
//!
//! It must never be the cause of a crash, so:
//! - the bookkeeping never allocates and takes no lock but its own spinlock, which is never
//!   held across a call into anything else: a signal handler that calls `open` while its thread
//!   is in `malloc` finds nothing of ours held;
//! - a thread-local flag makes every interposed call made *by* the bookkeeping (its backtrace
//!   capture, the C library's own calls) a plain pass-through, so there is no recursion;
//! - the real functions are found lazily with `dlsym(RTLD_NEXT, …)`; a call that arrives before
//!   they are found (or while `dlsym` itself is being resolved) goes straight to the system call;
//! - `dlsym(RTLD_NEXT, …)` from the program jumps to the C library's `dlsym` with the caller's
//!   return address intact (a naked trampoline), so "next" still means next after the caller;
//! - `fork` holds the ledger lock across the fork; a child made any other way (`vfork`, raw
//!   `clone`) is seen by its changed pid and is passed through untouched;
//! - every bookkeeping step runs under `catch_unwind` and falls back to passing the call through.
//!
//! Interposition is built for x86_64 Linux with glibc (where it is tested); elsewhere the crate
//! is empty.

#![warn(missing_docs)]

#[cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]
mod linux;
