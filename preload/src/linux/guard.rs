//! Reentrancy and mutual exclusion without allocating or blocking in the C library.

use core::cell::{Cell, UnsafeCell};
use core::sync::atomic::{AtomicBool, Ordering};

thread_local! {
    // `const` with a `Copy` value and no destructor: a plain TLS slot, never lazily
    // registered, usable from the first instruction of a thread to its last (and from
    // signal handlers), so reading it can neither allocate nor fail.
    static IN_BOOKKEEPING: Cell<bool> = const { Cell::new(false) };
}

/// Proof that this thread is inside the preload's bookkeeping; interposed calls made while it
/// lives (by the backtrace capture, by the C library on our behalf, by a signal handler that
/// interrupted us) pass straight through.
pub struct Entered(());

impl Entered {
    /// Enters, or `None` if this thread is already inside.
    pub fn enter() -> Option<Entered> {
        IN_BOOKKEEPING.with(|flag| {
            if flag.get() {
                None
            } else {
                flag.set(true);
                Some(Entered(()))
            }
        })
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        IN_BOOKKEEPING.with(|flag| flag.set(false));
    }
}

/// A spinlock. Never held across a call into another library or a system call that can
/// block, so the wait is bounded by a few table updates of another thread.
pub struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through `SpinGuard`, which exists for one holder of
// `locked` at a time; `T: Send` lets that holder be any thread.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    pub const fn new(value: T) -> SpinLock<T> {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    pub fn lock(&self) -> SpinGuard<'_, T> {
        let mut spins = 0u32;
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(64) {
                std::thread::yield_now();
            } else {
                core::hint::spin_loop();
            }
        }
        SpinGuard { lock: self }
    }

    /// Tries for about `tries` rounds; `None` if another thread keeps the lock (used at exit,
    /// when a thread may be frozen mid-update forever).
    pub fn try_lock_for(&self, tries: u32) -> Option<SpinGuard<'_, T>> {
        for _ in 0..tries {
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return Some(SpinGuard { lock: self });
            }
            std::thread::yield_now();
        }
        None
    }
}

pub struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> core::ops::Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard is the one holder of the lock, so no `&mut T` exists elsewhere.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> core::ops::DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard is the one holder of the lock, and `&mut self` makes this the
        // only reference derived from it.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entered_is_exclusive_per_thread() {
        let first = Entered::enter().unwrap();
        assert!(Entered::enter().is_none());
        std::thread::spawn(|| assert!(Entered::enter().is_some()))
            .join()
            .unwrap();
        drop(first);
        assert!(Entered::enter().is_some());
    }

    #[test]
    fn spinlock_counts_across_threads() {
        static COUNT: SpinLock<u64> = SpinLock::new(0);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..10_000 {
                        *COUNT.lock() += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*COUNT.lock(), 40_000);
        let held = COUNT.lock();
        assert!(COUNT.try_lock_for(3).is_none());
        drop(held);
        assert!(COUNT.try_lock_for(3).is_some());
    }
}
