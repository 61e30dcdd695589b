//! loom model of `loadguard::dylib::Lifecycle`: three threads each acquire and release a
//! session; in every interleaving init and deinit alternate (never overlapping, never twice in
//! a row), and every init is matched by exactly one deinit by the end. A second model starts
//! with an init that fails once: the failure is reported to exactly one acquirer and is never
//! followed by a deinit. A third hands owned guards (over std's `Arc`, the one
//! `acquire_owned` takes in every build) to other threads, so the last release — and the drop
//! of the lifecycle itself — can happen on any of them.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p loom-tests --release --test lifecycle`.

#![cfg(loom)]

use loadguard::dylib::Lifecycle;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// What the fake library observes.
#[derive(Default)]
struct Driver {
    live: AtomicBool,
    inits: AtomicUsize,
    deinits: AtomicUsize,
    /// Inits still to fail.
    fail: AtomicUsize,
}

fn lifecycle(driver: &Arc<Driver>) -> Lifecycle<i32> {
    let on_init = Arc::clone(driver);
    let on_deinit = Arc::clone(driver);
    Lifecycle::new(
        move || {
            on_init.inits.fetch_add(1, Ordering::SeqCst);
            if on_init.fail.load(Ordering::SeqCst) > 0 {
                on_init.fail.fetch_sub(1, Ordering::SeqCst);
                return Err(-1);
            }
            assert!(
                !on_init.live.swap(true, Ordering::SeqCst),
                "init while initialised"
            );
            Ok(())
        },
        move || {
            on_deinit.deinits.fetch_add(1, Ordering::SeqCst);
            assert!(
                on_deinit.live.swap(false, Ordering::SeqCst),
                "deinit while not initialised"
            );
        },
    )
}

fn run(fail_first: usize) {
    loom::model(move || {
        let driver = Arc::new(Driver::default());
        driver.fail.store(fail_first, Ordering::SeqCst);
        let lifecycle = Arc::new(lifecycle(&driver));
        let failures = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let lifecycle = Arc::clone(&lifecycle);
                let failures = Arc::clone(&failures);
                loom::thread::spawn(move || match lifecycle.acquire() {
                    Ok(session) => drop(session),
                    Err(status) => {
                        assert_eq!(status, -1);
                        failures.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let inits = driver.inits.load(Ordering::SeqCst);
        let deinits = driver.deinits.load(Ordering::SeqCst);
        assert_eq!(failures.load(Ordering::SeqCst), fail_first);
        assert_eq!(
            inits - fail_first,
            deinits,
            "every successful init has one deinit"
        );
        assert!(deinits >= 1 || fail_first == 3);
        assert!(!driver.live.load(Ordering::SeqCst), "left initialised");
        assert_eq!(lifecycle.sessions(), 0);
    });
}

#[test]
fn three_threads_acquire_and_release() {
    run(0);
}

#[test]
fn a_failed_init_is_reported_once_and_never_deinitialised() {
    run(1);
}

#[test]
fn owned_guards_released_on_other_threads_pair_init_and_deinit() {
    loom::model(|| {
        let driver = Arc::new(Driver::default());
        let lifecycle = std::sync::Arc::new(lifecycle(&driver));
        let first = lifecycle.acquire_owned().unwrap();
        let releases_first = loom::thread::spawn(move || drop(first));
        let shared = std::sync::Arc::clone(&lifecycle);
        let takes_its_own = loom::thread::spawn(move || {
            let guard = shared.acquire_owned().unwrap();
            drop(shared);
            drop(guard);
        });
        drop(lifecycle);
        releases_first.join().unwrap();
        takes_its_own.join().unwrap();
        let (inits, deinits) = (
            driver.inits.load(Ordering::SeqCst),
            driver.deinits.load(Ordering::SeqCst),
        );
        assert!((1..=2).contains(&inits), "{inits} inits");
        assert_eq!(inits, deinits, "every init has one deinit");
        assert!(!driver.live.load(Ordering::SeqCst), "left initialised");
    });
}
