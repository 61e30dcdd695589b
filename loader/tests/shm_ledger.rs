//! Pool buffers in the resource ledger, through the harness's wrappers of the shm seam: every
//! buffer is an acquisition from its allocation to its release, with the user's call site;
//! leaked handles are released by the pool's drop; injected faults leave nothing behind.
//! Heap provider (except the memfd fault test), so this runs under Miri too.

use loadguard::shm::{Pool, PoolOptions, Provider, RealShm};
use loadguard::testing::{Ledger, ResourceKind, TrackedShm};

fn heap_pool(ledger: &Ledger) -> Pool {
    Pool::with_shm(
        TrackedShm::new(RealShm, ledger),
        PoolOptions::new().providers([Provider::Heap]),
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
    assert_eq!(
        first.label,
        format!("heap buffer {} of 100 bytes", a.id()),
        "{first}"
    );
    assert!(
        first.site.file().ends_with("shm_ledger.rs"),
        "the user's alloc call: {first}"
    );
    drop(a);
    assert_eq!(ledger.live(ResourceKind::PoolBuffer), 1);
    // Sealing keeps the same acquisition; dropping the sealed buffer releases it.
    let b = b.seal().unwrap();
    assert_eq!(ledger.live(ResourceKind::PoolBuffer), 1);
    drop(b);
    ledger.assert_balanced();
    assert_eq!(ledger.acquired(ResourceKind::PoolBuffer), 2);
    drop(pool);
}

#[test]
fn a_forgotten_buffer_stays_counted_until_the_pool_drops() {
    let ledger = Ledger::new();
    let pool = heap_pool(&ledger);
    std::mem::forget(pool.alloc(64).unwrap());
    std::mem::forget(pool.alloc(64).unwrap().lease());
    let retained = pool.alloc(64).unwrap().seal().unwrap().into_pool();
    assert_eq!(ledger.live(ResourceKind::PoolBuffer), 3);
    assert!(pool.retained(retained).is_some());
    drop(pool);
    ledger.assert_balanced();
}

/// A failed `memfd_create` falls back to the next provider and leaves nothing behind; without
/// fallback it is the caller's error, naming the call and errno.
#[cfg(all(target_os = "linux", not(miri)))]
#[test]
fn an_injected_memfd_failure_falls_back_and_leaks_nothing() {
    use loadguard::testing::{Fault, FaultOp, FaultPlan, FaultyShm};

    const ENOMEM: i32 = 12;
    let ledger = Ledger::new();
    let plan = FaultPlan::new()
        .nth(FaultOp::MemfdCreate, 1, Fault::Errno(ENOMEM))
        .nth(FaultOp::MemfdCreate, 3, Fault::Errno(ENOMEM));
    let shm = || TrackedShm::new(FaultyShm::new(RealShm, plan.clone()), &ledger);
    let options = PoolOptions::new().providers([Provider::Memfd, Provider::Heap]);
    let pool = Pool::with_shm(shm(), options.clone());
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

    let strict = Pool::with_shm(shm(), options.fallback(false));
    let err = strict.alloc(4096).unwrap_err();
    assert_eq!(err.op(), Some("memfd_create"), "{err}");
    assert_eq!(err.os_code(), Some(ENOMEM));
    assert!(
        err.to_string().contains("memfd:loadguard (len=4096)"),
        "{err}"
    );
    assert_eq!(plan.injected(), 2);
    ledger.assert_balanced();
}
