//! Pool buffers in the resource ledger: every buffer is an acquisition from its allocation to
//! its free, with the user's call site; leaked handles are released by the pool's drop.
//! Heap provider only, so this runs under Miri too.

use loadguard::shm::{Pool, PoolOptions, Provider};
use loadguard::testing::{Ledger, ResourceKind};

fn heap_pool(ledger: &Ledger) -> Pool {
    Pool::with_options(
        PoolOptions::new()
            .providers([Provider::Heap])
            .ledger(ledger.clone()),
    )
}

#[test]
fn buffers_are_counted_from_alloc_to_free() {
    let ledger = Ledger::new();
    let pool = heap_pool(&ledger);
    let a = pool.alloc(100).unwrap();
    let b = pool.alloc(200).unwrap();
    assert_eq!(ledger.live(ResourceKind::PoolBuffer), 2);
    let leaks = ledger.check_balanced().unwrap_err();
    let first = &leaks.0[0];
    assert!(first.label.starts_with("heap buffer #"), "{first}");
    assert!(first.label.ends_with("of 100 bytes"), "{first}");
    assert!(
        first.site.file().ends_with("shm_ledger.rs"),
        "the user's alloc call: {first}"
    );
    drop(a);
    assert_eq!(ledger.live(ResourceKind::PoolBuffer), 1);
    drop(b);
    ledger.assert_balanced();
    drop(pool);
}

#[test]
fn a_forgotten_buffer_stays_counted_until_the_pool_drops() {
    let ledger = Ledger::new();
    let pool = heap_pool(&ledger);
    std::mem::forget(pool.alloc(64).unwrap());
    let retained = pool.alloc(64).unwrap().into_pool();
    assert_eq!(ledger.live(ResourceKind::PoolBuffer), 2);
    assert!(pool.retained(retained).is_some());
    drop(pool);
    ledger.assert_balanced();
}

/// A failed `memfd_create` falls back to the next provider and leaves nothing behind; without
/// fallback it is the caller's error, naming the call and errno.
#[cfg(all(target_os = "linux", not(miri)))]
#[test]
fn an_injected_memfd_failure_falls_back_and_leaks_nothing() {
    use loadguard::testing::{Fault, FaultOp, FaultPlan};

    const ENOMEM: i32 = 12;
    let ledger = Ledger::new();
    let plan = FaultPlan::new().nth(FaultOp::MemfdCreate, 1, Fault::Errno(ENOMEM));
    let options = PoolOptions::new()
        .providers([Provider::Memfd, Provider::Heap])
        .ledger(ledger.clone())
        .faults(plan.clone());
    let pool = Pool::with_options(options.clone());
    let first = pool.alloc(4096).unwrap();
    assert_eq!(
        first.provider(),
        &Provider::Heap,
        "fell back past the failed memfd"
    );
    let second = pool.alloc(4096).unwrap();
    assert_eq!(
        second.provider(),
        &Provider::Memfd,
        "only the first call was injected"
    );
    drop((first, second));
    ledger.assert_balanced();

    let strict = Pool::with_options(options.fallback(false));
    let _ = plan
        .clone()
        .nth(FaultOp::MemfdCreate, 3, Fault::Errno(ENOMEM));
    let err = strict.alloc(4096).unwrap_err();
    assert_eq!(err.op(), Some("memfd_create"), "{err}");
    assert_eq!(err.os_code(), Some(ENOMEM));
    assert!(err.to_string().contains("len=4096"), "{err}");
    ledger.assert_balanced();
}
