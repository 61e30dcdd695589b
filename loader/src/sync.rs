//! The one place loadguard takes its locks and atomics from.
//!
//! Under `cfg(loom)` these are loom's model-checked types, so `loom-tests/` explores every
//! interleaving of the registry and pools with the same code that ships. Nothing else in the
//! crate may name `std::sync` directly for shared state.

#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `mutex`, recovering the guard if a previous holder panicked.
///
/// Every critical section in this crate leaves its data consistent before anything that can
/// panic, so a poisoned lock carries no broken invariant; refusing to go on would only turn one
/// panic into many (and a panic inside `Drop` into an abort).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Exclusive access through `&mut` without locking (the type system already proves no other
/// holder exists — the right tool in `Drop`, where taking the lock would be the bug class
/// `lock_in_drop`).
pub(crate) fn get_mut<T>(lock: &mut RwLock<T>) -> &mut T {
    lock.get_mut()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Shared access to `lock`'s data, recovering the guard if a writer panicked (see [`lock`]).
pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Exclusive access to `lock`'s data, recovering the guard if a writer panicked (see [`lock`]).
pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A number no other call in this process returns, for identities that must not be confused
/// even when an address is reused (a pool's, keying the thread-local cache of its index).
///
/// A std atomic even under loom, on purpose: it orders nothing and synchronises nothing (only
/// uniqueness matters), and a loom atomic cannot live in a `static`.
pub(crate) fn unique_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
